"""Engine build against the fake TensorRT 10 and 11 APIs (no GPU needed)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.core.backends.base import BackendUnavailable, ModelLoadError
from tests.fakes import support as S


def _header(engine: Path) -> dict:
    data = engine.read_bytes()
    (n,) = struct.unpack("<I", data[8:12])
    return json.loads(data[12 : 12 + n])


def test_trt10_fp16_uses_builder_flag_and_writes_engine_and_sidecar(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch, "10.3.0")
    from inspector.core.backends.trt_engine_file import engine_path_for, read_sidecar, sidecar_path_for
    from inspector.core.model_card import sha256_file
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx", card_hw=(32, 48))
    sc = build_engine(model, precision="fp16", max_batch=8, opt_batch=2, workspace_mb=64)
    engine = engine_path_for(model, "fp16")
    assert engine.name == "m.fp16.engine"
    assert sidecar_path_for(engine).name == "m.fp16.engine.json"
    assert read_sidecar(engine) == sc
    assert (sc.tensorrt_version, sc.gpu_name, sc.compute_capability) == ("10.3.0", "NVIDIA L4", "8.9")
    assert sc.onnx_sha256 == sha256_file(model)
    # the build ends with its parity check: only a verified engine is ever used
    assert (sc.precision, sc.max_batch, sc.opt_batch, sc.status) == ("fp16", 8, 2, "verified")
    assert sc.parity is not None
    assert sc.parity["passed"] is True
    assert sc.parity["images"] == "16 synthetic textures"
    assert (sc.compute_precision, sc.onnx_hw) == ("fp16", (None, None))
    assert sc.builder["fp16"] == "BuilderFlag.FP16"
    assert sc.builder["network_flags"] == 0  # weakly typed: the FP16 flag requires it on TRT 10
    hdr = _header(engine)
    assert hdr["fp16"] is True
    assert hdr["workspace"] == 64 << 20
    # dynamic H, W in the ONNX -> the card's input size; batch 1..8, opt 2
    assert hdr["profiles"][0]["image"] == [[1, 32, 48, 1], [2, 32, 48, 1], [8, 32, 48, 1]]
    assert not list(tmp_path.glob("*.tmp-*")), "temp files must be renamed away"


def test_fixed_spatial_dims_in_onnx_win_over_card(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx", hw=(16, 24), card_hw=(512, 512))
    sc = build_engine(model, precision="fp32", max_batch=4)
    assert (sc.input_height, sc.input_width) == (16, 24)


def test_trt11_fp32_is_strongly_typed_without_removed_flags(tmp_path, monkeypatch):
    trt, _ = S.install_fakes(monkeypatch, "11.0.0")
    assert not hasattr(trt.BuilderFlag, "FP16")
    assert not hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH")
    from inspector.services.engine.build import build_engine

    sc = build_engine(S.make_model(tmp_path / "m.onnx"), precision="fp32")
    assert sc.tensorrt_version == "11.0.0"
    assert sc.builder["network_flags"] == 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert "fp16" not in sc.builder


def test_trt11_fp16_without_converter_is_refused_clearly(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch, "11.0.0")
    S.block_modules(
        monkeypatch, "onnxconverter_common", "modelopt", "modelopt.onnx", "modelopt.onnx.autocast"
    )
    from inspector.core.backends.trt_engine_file import engine_path_for
    from inspector.services.engine.build import build_engine
    from inspector.services.engine.fp16 import Fp16ConversionUnavailable

    model = S.make_model(tmp_path / "m.onnx")
    with pytest.raises(
        Fp16ConversionUnavailable, match=r"TensorRT 11.*onnxconverter-common.*--precision fp32"
    ):
        build_engine(model, precision="fp16")
    assert not engine_path_for(model, "fp16").exists()


def test_trt11_fp16_builds_from_converted_onnx(tmp_path, monkeypatch):
    """The converted graph (not the FP32 one) reaches the parser; the sidecar still names the FP32 ONNX."""
    import types

    import numpy as np
    import onnx

    S.install_fakes(monkeypatch, "11.0.0")
    calls = []

    def convert_float_to_float16(model, keep_io_types=False):
        # stand-in converter: float16 weights + Cast nodes, float32 I/O kept
        calls.append(keep_io_types)
        g = model.graph
        for init in g.initializer:
            arr = onnx.numpy_helper.to_array(init).astype(np.float16)
            init.CopyFrom(onnx.numpy_helper.from_array(arr, init.name))
        conv = next(n for n in g.node if n.op_type == "Conv")
        cast_in = onnx.helper.make_node("Cast", [conv.input[0]], ["nchw16"], to=onnx.TensorProto.FLOAT16)
        cast_out = onnx.helper.make_node("Cast", ["conv16"], ["conv"], to=onnx.TensorProto.FLOAT)
        conv.input[0], conv.output[0] = "nchw16", "conv16"
        idx = list(g.node).index(conv)
        g.node.insert(idx + 1, cast_out)
        g.node.insert(idx, cast_in)
        return model

    fake = types.ModuleType("onnxconverter_common")
    fake.float16 = types.SimpleNamespace(convert_float_to_float16=convert_float_to_float16)
    monkeypatch.setitem(sys.modules, "onnxconverter_common", fake)
    from inspector.core.backends.trt_engine_file import engine_path_for
    from inspector.core.model_card import sha256_file
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    sc = build_engine(model, precision="fp16")
    assert calls == [True]  # keep_io_types: the backend contract stays float32
    assert sc.builder["fp16"] == "fp16 ONNX via onnxconverter-common"
    assert sc.onnx_sha256 == sha256_file(model)
    assert _header(engine_path_for(model, "fp16"))["fp16"] is True  # float16 weights were parsed


def test_trt11_fp16_with_real_converter(tmp_path, monkeypatch):
    pytest.importorskip("onnxconverter_common")
    S.install_fakes(monkeypatch, "11.0.0")
    from inspector.services.engine.build import build_engine

    sc = build_engine(S.make_model(tmp_path / "m.onnx"), precision="fp16")
    assert sc.builder["fp16"] == "fp16 ONNX via onnxconverter-common"


def test_strongly_typed_plus_fp16_flag_is_rejected_by_fake(tmp_path, monkeypatch):
    """The fake enforces TensorRT's rule, so the build code's flag choice is really tested."""
    trt, _ = S.install_fakes(monkeypatch, "10.3.0")
    import inspector.services.engine.build as build

    monkeypatch.setattr(
        build, "_network_flags", lambda t, p: 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    )
    with pytest.raises(build.EngineBuildError, match="strongly typed"):
        build.build_engine(S.make_model(tmp_path / "m.onnx"), precision="fp16")


def test_every_parser_error_is_reported(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.services.engine.build import EngineBuildError, build_engine

    model = S.make_model(tmp_path / "m.onnx", bad_ops=("FancyOp", "OtherOp"))
    with pytest.raises(EngineBuildError) as info:
        build_engine(model, precision="fp32")
    msg = str(info.value)
    assert "2 error(s)" in msg
    assert "FancyOp" in msg
    assert "OtherOp" in msg
    assert str(model) in msg


def test_corrupt_onnx_is_a_parse_error(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.services.engine.build import EngineBuildError, build_engine

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not a protobuf\xff" * 8)
    with pytest.raises(EngineBuildError, match="could not parse"):
        build_engine(bad, precision="fp32")


def test_contract_violation_is_a_model_error(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.services.engine.build import build_engine

    with pytest.raises(ModelLoadError, match="input 'image'"):
        build_engine(S.make_model(tmp_path / "m.onnx", input_name="x"), precision="fp32")


def test_timing_cache_is_written_and_reused(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.services.engine.build import build_engine

    model, cache = S.make_model(tmp_path / "m.onnx"), tmp_path / "trt.cache"
    build_engine(model, precision="fp32", timing_cache_path=cache)
    first = cache.read_bytes()
    build_engine(model, precision="fp32", timing_cache_path=cache)
    assert json.loads(first[7:])["entries"] == 1
    assert json.loads(cache.read_bytes()[7:])["entries"] == 2  # loaded, then extended


def test_rebuild_replaces_engine_and_sidecar(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.core.backends.trt_engine_file import read_sidecar
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    first = build_engine(model, precision="fp32", max_batch=4)
    S.make_model(model, sign=-1.0)
    second = build_engine(model, precision="fp32", max_batch=2)
    assert first.onnx_sha256 != second.onnx_sha256
    assert read_sidecar(tmp_path / "m.fp32.engine") == second


def test_no_gpu_and_no_tensorrt_raise_backend_unavailable(tmp_path, monkeypatch):
    from inspector.services.engine.build import build_engine

    model = S.make_model(tmp_path / "m.onnx")
    S.install_fakes(monkeypatch, devices=0)
    with pytest.raises(BackendUnavailable, match="no usable NVIDIA GPU"):
        build_engine(model, precision="fp32")
    S.block_modules(monkeypatch, "tensorrt")
    with pytest.raises(BackendUnavailable, match="TensorRT is not installed"):
        build_engine(model, precision="fp32")


def test_cancel_stops_between_steps(tmp_path, monkeypatch):
    S.install_fakes(monkeypatch)
    from inspector.core.progress import SimpleState
    from inspector.services.engine.build import BuildCancelled, build_engine

    state = SimpleState()
    state.cancel()
    with pytest.raises(BuildCancelled):
        build_engine(S.make_model(tmp_path / "m.onnx"), precision="fp32", state=state)
    assert not (tmp_path / "m.fp32.engine").exists()


def test_importing_the_trt_code_does_not_import_tensorrt_or_pycuda():
    """Rule 3, checked in a fresh interpreter where the fakes *are* importable."""
    code = (
        "import sys\n"
        "import inspector, inspector.core.backends.tensorrt_backend, inspector.services.engine\n"
        "import inspector.services.engine.build, inspector.services.engine.parity\n"
        "import inspector.services.engine.__main__\n"
        "heavy = ('tensorrt', 'pycuda', 'pycuda.driver', 'onnxconverter_common')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env_path = f"{S.FAKES}:{Path(__file__).resolve().parents[1]}"
    res = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": env_path, "PATH": ""}, capture_output=True
    )
    assert res.returncode == 0, res.stderr.decode()
