"""Review findings on the sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.core.preprocess import to_gray_float
from inspector.core.sources.genicam import component_to_array
from tests.test_sources_genicam import Component


@pytest.mark.parametrize(("fmt", "bits"), [("Mono10", 10), ("Mono12", 12), ("Mono14", 14), ("Mono16", 16)])
def test_mono_n_full_scale_reaches_full_scale(fmt: str, bits: int) -> None:
    # uint16 means 0..65535 to preprocess (it divides by 257); a 12-bit camera's white (4095)
    # must not reach the model as 16/255, nearly black.
    white = (1 << bits) - 1
    raw = np.array([[0, white // 2], [white, 1]], np.uint16)
    out = component_to_array(Component(raw, fmt))
    assert out.dtype == np.uint16
    assert to_gray_float(out)[1, 0] >= 254.0
    assert out[0, 0] == 0
    # order is kept and nothing overflows
    assert out[1, 0] > out[0, 1] > out[1, 1] > out[0, 0]


@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_source_spec_is_refused_not_the_working_directory(spec: str) -> None:
    from inspector.core.sources import open_source

    with pytest.raises(ValueError, match="empty"):
        open_source(spec)


def test_idle_wait_of_a_hot_folder_is_not_logged_as_read_time(tiny_model: Path, tmp_path: Path) -> None:
    # per-stage timings are logged with every verdict; "read" (and "total") must be the time
    # spent reading the file, not how long the line took to deliver the next part
    import threading
    import time

    import cv2

    from inspector.core.backends.select import select_backend
    from inspector.core.model_card import load_card
    from inspector.core.pipeline import Pipeline, run_source
    from inspector.core.progress import SimpleState
    from inspector.core.recipe import Recipe
    from inspector.core.sources import HotFolderSource
    from tests.tiny_model import synthetic_image

    hot = tmp_path / "hot"
    hot.mkdir()
    pipeline = Pipeline(select_backend("onnxruntime", tiny_model), load_card(tiny_model), Recipe())
    state = SimpleState()
    results = []

    def sink(r: object) -> None:
        results.append(r)
        state.cancel()

    def drop_later() -> None:
        time.sleep(1.5)
        (hot / "a.tmp").write_bytes(cv2.imencode(".png", synthetic_image(64, defect=False)[0])[1].tobytes())
        (hot / "a.tmp").rename(hot / "a.png")

    t = threading.Thread(target=drop_later)
    t.start()
    guard = threading.Timer(15, state.cancel)  # never hang the suite
    guard.daemon = True
    guard.start()
    run_source(HotFolderSource(hot, settle_s=0.05, poll_interval_s=0.05), pipeline, sink, state)
    t.join()
    assert len(results) == 1
    assert results[0].timings_ms["read"] < 500, results[0].timings_ms
