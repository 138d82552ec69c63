"""Parity: TensorRT (fake, numbers from ORT with FP16 rounding) vs ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import support as S


def test_dice():
    from inspector.services.engine.parity import dice

    a = np.zeros((4, 4), bool)
    assert dice(a, a) == 1.0  # both empty: they agree
    b = a.copy()
    b[0, :2] = True
    assert dice(a, b) == 0.0
    c = b.copy()
    c[1, 0] = True
    assert dice(b, c) == pytest.approx(2 * 2 / 5)


def _backend_for(tmp_path, monkeypatch, sign=1.0, precision="fp16"):
    from inspector.core.backends.tensorrt_backend import TensorRTBackend
    from inspector.services.engine.build import build_engine

    S.install_fakes(monkeypatch)
    model = S.make_model(tmp_path / f"m{int(sign)}.onnx", sign=sign)
    build_engine(model, precision=precision, max_batch=4)
    be = TensorRTBackend(precision=precision)
    be.load(model)
    return model, be


def test_fp16_engine_passes_parity_and_is_marked_verified(tmp_path, monkeypatch):
    from inspector.core.backends.trt_engine_file import check_engine, read_sidecar
    from inspector.services.engine.parity import parity_check, record_parity

    model, be = _backend_for(tmp_path, monkeypatch)
    try:
        report = parity_check(model, be, S.images(6), threshold=0.5)
    finally:
        be.close()
    assert report.passed, report.reason
    assert report.dice_agreement >= 0.99
    assert 0 < report.max_abs_diff < 1e-2  # FP16 rounding shows, but stays small
    assert report.n_images == 6
    engine = model.with_name(f"{model.stem}.fp16.engine")
    record_parity(engine, report)
    sc = read_sidecar(engine)
    assert sc.status == "verified"
    assert sc.parity["dice_agreement"] == report.dice_agreement
    st = check_engine(model, "fp16")
    assert st.ok
    assert "not parity-checked" not in st.reason


def test_disagreeing_engine_fails_parity_is_deleted_and_refused(tmp_path, monkeypatch):
    from inspector.core.backends.trt_engine_file import check_engine
    from inspector.services.engine.parity import parity_check, record_parity

    good = S.make_model(tmp_path / "good.onnx", sign=1.0)
    _, be = _backend_for(tmp_path, monkeypatch, sign=-1.0)  # an engine that computes the inverse mask
    try:
        report = parity_check(good, be, S.images(6))
    finally:
        be.close()
    assert not report.passed
    assert report.dice_agreement < 0.5
    assert "Dice" in report.reason
    engine = tmp_path / "m-1.fp16.engine"
    record_parity(engine, report)
    assert not engine.exists(), "an engine that failed parity is never used"
    st = check_engine(tmp_path / "m-1.onnx", "fp16")
    assert (st.ok, st.problem) == (False, "parity_failed")
    assert "parity" in st.reason


def test_max_abs_tolerance_can_fail_a_matching_mask(tmp_path, monkeypatch):
    from inspector.services.engine.parity import parity_check

    model, be = _backend_for(tmp_path, monkeypatch)
    try:
        report = parity_check(model, be, S.images(2), max_abs_tol=1e-9)
    finally:
        be.close()
    assert report.dice_agreement >= 0.99
    assert not report.passed
    assert "max |diff|" in report.reason


def test_synthetic_images_give_nonempty_masks():
    from inspector.services.engine.parity import synthetic_images

    x = synthetic_images(4, 32, 48)
    assert x.shape == (4, 32, 48, 1)
    assert x.dtype == np.float32
    assert x.min() >= 0.0
    assert x.max() <= 1.0
    assert x.std() > 0.05
