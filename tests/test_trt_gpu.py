"""The real thing: TensorRT + pycuda on an NVIDIA GPU. Skipped where any of them is missing.

Run on a GPU machine with ``pytest -m gpu`` (scripts/gpu_check.sh does).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gpu
REPO = Path(__file__).resolve().parents[1]
DAGM = REPO / "resources" / "models" / "dagm-class1" / "model.onnx"

from tests.fakes import support as S  # noqa: E402


@pytest.fixture(scope="module")
def real_trt():
    try:
        import pycuda.driver as cuda
        import tensorrt as trt
    except Exception as exc:  # ImportError, or OSError for missing CUDA libraries
        pytest.skip(f"tensorrt/pycuda not available: {exc}")
    if str(S.FAKES) in str(getattr(trt, "__file__", "")):
        pytest.skip("the fake tensorrt is on sys.path")
    try:
        cuda.init()
        if cuda.Device.count() < 1:
            pytest.skip("no NVIDIA GPU")
    except Exception as exc:
        pytest.skip(f"no usable NVIDIA GPU: {exc}")
    return trt


def _fp16_possible(trt) -> bool:
    if hasattr(trt.BuilderFlag, "FP16"):
        return True
    # TensorRT 11: an FP16 ONNX from ModelOpt AutoCast, else onnxconverter-common
    return any(importlib.util.find_spec(m) is not None for m in ("modelopt", "onnxconverter_common"))


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_build_check_infer_parity_on_gpu(tmp_path, real_trt, precision):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.core.backends.trt_engine_file import check_engine
    from inspector.services.engine.build import build_engine
    from inspector.services.engine.parity import parity_check

    if precision == "fp16" and not _fp16_possible(real_trt):
        pytest.skip("TensorRT 11 FP16 needs nvidia-modelopt or onnxconverter-common")
    model = S.make_model(tmp_path / "m.onnx", card_hw=(64, 96))
    sc = build_engine(model, precision=precision, max_batch=4, workspace_mb=256)
    assert sc.tensorrt_version == real_trt.__version__
    assert sc.parity_passed, sc.parity  # the build ends with its parity check
    # fp32 means fp32: TensorRT enables TF32 by default, the build clears it
    assert sc.compute_precision == ("fp16" if precision == "fp16" else "fp32"), sc.builder
    st = check_engine(model, precision)
    assert st.ok, st.reason
    be = TensorRTBackend(precision=precision)
    be.load(model)
    try:
        assert be.info().display.startswith(f"TensorRT {'.'.join(real_trt.__version__.split('.')[:2])} ")
        x = S.images(10, 64, 96)  # > max_batch: exercises the split
        got = be.infer(x)
        ref = S.ort_run(model, x)
        np.testing.assert_allclose(got, ref, atol=1e-4 if precision == "fp32" else 5e-3)
        report = parity_check(model, be, x)
        assert report.passed, report.reason
    finally:
        be.close()


@pytest.mark.skipif(not DAGM.is_file(), reason="shipped DAGM model not present")
def test_shipped_model_builds_and_passes_parity(tmp_path, real_trt):
    from inspector.services.engine.__main__ import main

    precision = os.environ.get("GPU_CHECK_PRECISION", "fp16" if _fp16_possible(real_trt) else "fp32")
    out = tmp_path / f"model.{precision}.engine"
    args = ["build", "--onnx", str(DAGM), "--precision", precision, "--out", str(out), "--progress", "json"]
    datasets = os.environ.get("DATASETS", "datasets")
    images = Path(os.environ.get("DAGM", os.path.join(datasets, "dagm2007-class1/Class1/Train")))
    if images.is_dir():  # parity on real DAGM images, not only synthetic textures
        args += ["--images", str(images)]
    assert main(args) == 0
