"""TensorRTBackend runtime logic on the fake TensorRT + pycuda (numbers come from ONNX Runtime)."""

from __future__ import annotations

import importlib.util
import sys
import threading

import numpy as np
import pytest

from inspector.core.backends.base import BackendUnavailable
from tests.fakes import support as S


def _build(tmp_path, monkeypatch, version="10.3.0", precision="fp32", max_batch=4):
    _, cuda = S.install_fakes(monkeypatch, version)
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    build_engine(model, precision=precision, max_batch=max_batch)
    return model, cuda


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    model, cuda = _build(tmp_path, monkeypatch)
    be = TensorRTBackend(precision="fp32")
    be.load(model)
    yield be, model, cuda
    be.close()


@pytest.mark.parametrize("version", ["10.3.0", "11.0.0"])
def test_outputs_equal_onnxruntime(tmp_path, monkeypatch, version):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    model, cuda = _build(tmp_path, monkeypatch, version)
    with TensorRTBackend(precision="fp32") as be:
        be.load(model)
        x = S.images(3)
        got = be.infer(x)
        np.testing.assert_allclose(got, S.ort_run(model, x), atol=1e-6)
        assert got.dtype == np.float32
        assert got.shape == (3, 32, 48, 1)
    assert cuda.STATS["pageable_async_copies"] == 0, "async copies must use page-locked host buffers"


def test_info_names_version_precision_and_gpu(tmp_path, monkeypatch):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    model, _ = _build(tmp_path, monkeypatch, precision="fp16")
    be = TensorRTBackend()  # fp16 is the default
    be.load(model)
    try:
        info = be.info()
        assert info.name == "tensorrt"
        assert info.display == "TensorRT 10.3 FP16 on NVIDIA L4 (sm_89)"
        assert info.device == "NVIDIA L4 (sm_89)"
        assert info.model_path == model
    finally:
        be.close()


def test_buffers_are_reused_and_grown_only_for_bigger_batches(loaded):
    be, model, cuda = loaded
    ctx = be._context
    allocs0, frees0 = cuda.STATS["mem_alloc"], cuda.STATS["free"]  # the build's parity check ran before
    be.infer(S.images(2, seed=1))
    allocs, ptr = cuda.STATS["mem_alloc"], ctx.get_tensor_address("image")
    assert allocs - allocs0 == 2  # one input, one output buffer
    be.infer(S.images(2, seed=2))
    be.infer(S.images(1, seed=3))
    assert cuda.STATS["mem_alloc"] == allocs, "same or smaller batch must reuse the buffers"
    assert ctx.get_tensor_address("image") == ptr
    x = S.images(4, seed=4)
    got = be.infer(x)
    assert cuda.STATS["mem_alloc"] == allocs + 2, "a bigger batch grows both buffers"
    assert cuda.STATS["free"] - frees0 == 2, "the old device buffers are freed"
    assert ctx.get_tensor_address("image") != ptr
    np.testing.assert_allclose(got, S.ort_run(model, x), atol=1e-6)
    be.infer(S.images(3, seed=5))
    assert cuda.STATS["mem_alloc"] == allocs + 2


def test_results_do_not_alias_the_reused_buffer(loaded):
    be, model, _ = loaded
    a, b = S.images(2, seed=1), S.images(2, seed=2)
    ra = be.infer(a)
    be.infer(b)
    np.testing.assert_allclose(ra, S.ort_run(model, a), atol=1e-6)


def test_batches_above_profile_max_are_split(loaded):
    be, model, _ = loaded
    assert be.max_batch == 4
    x = S.images(10, seed=7)
    got = be.infer(x)
    assert be._context.shape_log == [
        ("image", (4, 32, 48, 1)),
        ("image", (4, 32, 48, 1)),
        ("image", (2, 32, 48, 1)),
    ]
    np.testing.assert_allclose(got, S.ort_run(model, x), atol=1e-6)


def test_input_shape_is_set_for_every_batch(loaded):
    be, _, _ = loaded
    for n in (1, 3, 1):
        be.infer(S.images(n))
    assert [s[0] for _, s in be._context.shape_log] == [1, 3, 1]


def test_wrong_image_size_is_a_clear_error(loaded):
    be, _, _ = loaded
    with pytest.raises(ValueError, match=r"\[N, 32, 48, 1\]"):
        be.infer(np.zeros((1, 64, 64, 1), np.float32))


def test_float64_and_noncontiguous_input_are_accepted(loaded):
    be, model, _ = loaded
    x = S.images(2)
    y = np.asfortranarray(x.astype(np.float64))
    np.testing.assert_allclose(be.infer(y), S.ort_run(model, x), atol=1e-6)


def test_context_belongs_to_the_loading_thread(loaded):
    be, _, cuda = loaded
    errors = []

    def other():
        for call in (lambda: be.infer(S.images(1)), be.close):
            try:
                call()
            except RuntimeError as exc:
                errors.append(str(exc))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 2
    assert all("thread that called load()" in e for e in errors)
    assert cuda.Context.get_current() is not None  # still loaded and usable here
    be.infer(S.images(1))


def test_worker_thread_owns_context_from_load_to_close(tmp_path, monkeypatch):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    model, cuda = _build(tmp_path, monkeypatch)
    out = {}

    def worker():
        be = TensorRTBackend(precision="fp32")
        be.load(model)
        out["during"] = cuda.Context.get_current() is not None
        out["y"] = be.infer(S.images(2))
        be.close()
        be.close()  # safe twice
        out["after"] = cuda.Context.get_current()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert out["during"] is True
    assert out["after"] is None, "close() pops the context it pushed"
    assert cuda.Context.get_current() is None, "the main thread never had a context pushed"
    np.testing.assert_allclose(out["y"], S.ort_run(model, S.images(2)), atol=1e-6)
    assert cuda.STATS["mem_alloc"] == cuda.STATS["free"], "close() frees device memory"


def test_refuses_with_reason_when_engine_is_stale(tmp_path, monkeypatch):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    model, cuda = _build(tmp_path, monkeypatch)
    S.make_model(model, sign=-1.0)
    with pytest.raises(BackendUnavailable, match="stale"):
        TensorRTBackend(precision="fp32").load(model)
    assert cuda.Context.get_current() is None  # refused before touching CUDA


def test_refuses_on_foreign_gpu(tmp_path, monkeypatch):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    model, _ = _build(tmp_path, monkeypatch)
    S.install_fakes(monkeypatch, gpu="NVIDIA H100 80GB HBM3", cc="9.0")
    with pytest.raises(
        BackendUnavailable, match=r"built for NVIDIA L4 \(sm_89\), this GPU is NVIDIA H100 80GB HBM3"
    ):
        TensorRTBackend(precision="fp32").load(model)


def test_undeserialisable_engine_is_refused_and_context_released(tmp_path, monkeypatch):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend

    model, cuda = _build(tmp_path, monkeypatch)
    model.with_name("m.fp32.engine").write_bytes(b"garbage")
    with pytest.raises(BackendUnavailable, match="could not deserialize"):
        TensorRTBackend(precision="fp32").load(model)
    assert cuda.Context.get_current() is None


def test_importing_backend_module_needs_no_tensorrt(monkeypatch):
    S.block_modules(monkeypatch, "tensorrt", "pycuda", "pycuda.driver")
    monkeypatch.delitem(sys.modules, "inspector.core.backends.tensorrt_backend", raising=False)
    mod = importlib.import_module("inspector.core.backends.tensorrt_backend")
    assert mod.TensorRTBackend.name == "tensorrt"


def test_select_backend_auto_uses_tensorrt_or_falls_back_with_reason(tmp_path, monkeypatch):
    """Integration with backends/select.py (written elsewhere) through check_engine + TensorRTBackend."""
    from inspector.core.backends.select import select_backend

    model, _ = _build(tmp_path, monkeypatch, precision="fp16")
    be = select_backend("auto", model)
    try:
        assert be.info().name == "tensorrt"
    finally:
        be.close()
    S.make_model(model, sign=-1.0)  # the ONNX changed: the engine is stale
    be = select_backend("auto", model)
    try:
        info = be.info()
        assert info.name == "onnxruntime"
        assert "stale" in info.notice
    finally:
        be.close()
    with pytest.raises(BackendUnavailable, match="stale"):
        select_backend("tensorrt", model)
