"""Review findings on the sources."""

from __future__ import annotations

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
