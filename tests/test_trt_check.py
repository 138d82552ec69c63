"""check_engine: every reason an engine may not be used, decided before deserialising."""

from __future__ import annotations

import sys

import pytest

from tests.fakes import support as S


@pytest.fixture
def built(tmp_path, monkeypatch):
    """An FP16 engine built with TensorRT 10.3.0 on an NVIDIA L4 (sm_89)."""
    S.install_fakes(monkeypatch, "10.3.0", "NVIDIA L4", "8.9")
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    build_engine(model, precision="fp16")
    return model


def _check(model, precision="fp16"):
    from inspector.core.backends.trt_engine_file import check_engine

    return check_engine(model, precision)


def test_matching_engine_is_ok(built):
    from inspector.core.backends.trt_engine_file import EngineProblem

    st = _check(built)
    assert st.ok, st.reason
    assert st.problem is EngineProblem.OK
    assert st.engine_path == built.with_name("m.fp16.engine")
    assert st.sidecar is not None
    assert st.sidecar.gpu_name == "NVIDIA L4"
    assert st.reason == (
        "engine matches: TensorRT 10.3.0 FP16 on NVIDIA L4 (sm_89), parity-checked against ONNX Runtime"
    )


def test_missing_engine(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    st = _check(S.make_model(tmp_path / "m.onnx"))
    assert not st.ok
    assert st.problem == "engine_missing"
    assert "no TensorRT engine" in st.reason
    assert "python -m inspector.services.engine build" in st.reason


def test_missing_onnx(tmp_path):
    st = _check(tmp_path / "nope.onnx")
    assert (st.ok, st.problem) == (False, "onnx_missing")


def test_missing_sidecar(built):
    built.with_name("m.fp16.engine.json").unlink()
    st = _check(built)
    assert (st.ok, st.problem) == (False, "sidecar_missing")
    assert "no sidecar" in st.reason


@pytest.mark.parametrize("content", ["{not json", '{"tensorrt_version": "10.3.0"}', ""])
def test_corrupt_sidecar(built, content):
    built.with_name("m.fp16.engine.json").write_text(content)
    st = _check(built)
    assert (st.ok, st.problem) == (False, "sidecar_corrupt")
    assert "unreadable" in st.reason


def test_changed_onnx_makes_engine_stale(built):
    S.make_model(built, sign=-1.0)  # same name, other weights -> other sha256
    st = _check(built)
    assert (st.ok, st.problem) == (False, "stale")
    assert "stale" in st.reason


def test_other_precision_is_not_this_engine(built):
    st = _check(built, "fp32")
    assert (st.ok, st.problem) == (False, "engine_missing")  # fp32 has its own file
    from inspector.core.backends.trt_engine_file import check_engine

    st = check_engine(built, "fp32", engine_path=built.with_name("m.fp16.engine"))
    assert (st.ok, st.problem) == (False, "precision")


def test_other_tensorrt_version(built, monkeypatch):
    S.install_fakes(monkeypatch, "10.4.0")
    st = _check(built)
    assert (st.ok, st.problem) == (False, "trt_version")
    assert "built with TensorRT 10.3.0, this machine has TensorRT 10.4.0" in st.reason


def test_foreign_gpu(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch, gpu="NVIDIA A100", cc="8.0")
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    build_engine(model, precision="fp16")
    S.install_fakes(monkeypatch, gpu="NVIDIA L4", cc="8.9")
    st = _check(model)
    assert (st.ok, st.problem) == (False, "foreign_gpu")
    assert st.reason.startswith(
        "engine was built for NVIDIA A100 (sm_80), this GPU is NVIDIA L4 (sm_89): rebuild needed"
    )


def test_same_cc_other_gpu_model_is_foreign_too(built, monkeypatch):
    S.install_fakes(monkeypatch, gpu="NVIDIA GeForce RTX 4090", cc="8.9")
    assert _check(built).problem == "foreign_gpu"


def test_tensorrt_or_pycuda_not_importable(built, monkeypatch):
    S.block_modules(monkeypatch, "tensorrt")
    st = _check(built)
    assert (st.ok, st.problem) == (False, "no_tensorrt")
    assert "TensorRT is not installed" in st.reason
    monkeypatch.undo()
    S.install_fakes(monkeypatch)
    S.block_modules(monkeypatch, "pycuda.driver")
    st = _check(built)
    assert (st.ok, st.problem) == (False, "no_tensorrt")
    assert "pycuda" in st.reason


def test_no_gpu(built, monkeypatch):
    S.install_fakes(monkeypatch, devices=0)
    st = _check(built)
    assert (st.ok, st.problem) == (False, "no_gpu")
    assert "no CUDA-capable device" in st.reason


def test_check_never_deserialises(built, monkeypatch):
    trt = sys.modules["tensorrt"]

    def boom(*a, **k):
        raise AssertionError("check_engine must not deserialise")

    monkeypatch.setattr(trt.Runtime, "deserialize_cuda_engine", boom)
    assert _check(built).ok


def test_sidecar_round_trip(tmp_path):
    from inspector.core.backends.trt_engine_file import EngineSidecar, read_sidecar, write_sidecar

    sc = EngineSidecar(
        tensorrt_version="10.3.0",
        gpu_name="NVIDIA L4",
        compute_capability="8.9",
        onnx_sha256="ab" * 32,
        precision="fp16",
        max_batch=8,
        input_height=512,
        input_width=512,
        builder={"workspace_mb": 1024},
    )
    write_sidecar(sc, tmp_path / "x.fp16.engine")
    assert read_sidecar(tmp_path / "x.fp16.engine") == sc
    assert sc.sm == "sm_89"
