"""What-if core without Qt: replay flips and PR points on a hand-made reviewed set."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inspector.core.postprocess import encode_prob_png
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.rules import decide
from inspector.core.types import Verdict
from inspector.core.whatif import (
    Flip,
    ReplayRow,
    ReviewedRow,
    flip_counts,
    pr_curve,
    recipe_with,
    replay,
    truth_of,
)

pytestmark = pytest.mark.filterwarnings("error")  # pyqtgraph/Qt warnings are bugs here

# Values on the 8-bit grid, so stored PNG maps hold exactly these levels.
P90, P70, P60, P30 = 230 / 255, 179 / 255, 153 / 255, 77 / 255
COUNT = Recipe(threshold=0.5, min_area_px=4, max_count=0)  # any region -> NG


def blob(value: float) -> np.ndarray:
    p = np.zeros((24, 24), np.float32)
    if value:
        p[8:14, 8:14] = value
    return p


def reviewed() -> list[ReviewedRow]:
    """A, B, E defective (0.90, 0.60, 0.30); C good with a 0.70 blob; D good and clean."""
    spec = [(P90, True), (P60, True), (P70, False), (0.0, False), (P30, True)]
    return [ReviewedRow(i, encode_prob_png(blob(v)), truth) for i, (v, truth) in enumerate(spec)]


def test_truth_of_dispositions() -> None:
    assert truth_of("confirm_ng") is True
    assert truth_of("missed_defect") is True
    assert truth_of("false_reject") is False
    assert truth_of("confirm_ok") is False
    assert truth_of(None) is None


def test_replay_same_recipe_flips_nothing_and_a_change_flips_the_right_rows() -> None:
    maps = [blob(v) for v in (P90, P60, 0.0, P30)]
    rows = [ReplayRow(10 + i, decide(m, COUNT).verdict, encode_prob_png(m)) for i, m in enumerate(maps)]
    assert [r.old_verdict for r in rows] == [Verdict.NG, Verdict.NG, Verdict.OK, Verdict.OK]
    assert replay(rows, COUNT) == []

    flips = replay(rows, COUNT.evolve(threshold=0.65))
    assert [(f.inspection_id, f.kind) for f in flips] == [(11, "NG→OK")]
    assert flips[0].reasons == ("no defect regions",)

    # plain tuples and float maps work too; lowering the threshold catches the faint blob
    flips = replay(
        [(r.inspection_id, r.old_verdict.value, m) for r, m in zip(rows, maps, strict=True)],
        COUNT.evolve(threshold=0.25),
    )
    assert [(f.inspection_id, f.old, f.new) for f in flips] == [(13, Verdict.OK, Verdict.NG)]

    review = COUNT.evolve(max_count=None, level_review=0.5, level_ng=0.8)
    assert flip_counts(replay(rows, review)) == {"NG→REVIEW": 1}
    assert flip_counts(
        [
            Flip(1, Verdict.OK, Verdict.NG, ()),
            Flip(2, Verdict.OK, Verdict.NG, ()),
            Flip(3, Verdict.NG, Verdict.OK, ()),
        ]
    ) == {"OK→NG": 2, "NG→OK": 1}


def test_replay_stops_when_cancelled() -> None:
    class CancelAfterOne(SimpleState):
        def progress(self, done: int, total: int | None, message: str = "") -> None:
            super().progress(done, total, message)
            self.cancel()

    rows = [ReplayRow(i, Verdict.OK, blob(P90)) for i in range(5)]
    state = CancelAfterOne()
    assert len(replay(rows, COUNT, state)) == 1
    assert state.done == 1


def _counts(p: object) -> tuple[int, int, int, int]:
    return p.tp, p.fp, p.tn, p.fn  # type: ignore[attr-defined]


def test_pr_curve_against_the_pixel_threshold() -> None:
    pts = pr_curve(reviewed(), "threshold", [0.2, 0.5, 0.65, 0.8, 0.95], COUNT)
    assert [p.value for p in pts] == [0.2, 0.5, 0.65, 0.8, 0.95]
    assert [_counts(p) for p in pts] == [(3, 1, 1, 0), (2, 1, 1, 1), (1, 1, 1, 2), (1, 0, 2, 2), (0, 0, 2, 3)]
    at = pts[1]
    assert at.precision == pytest.approx(2 / 3)
    assert at.recall == pytest.approx(2 / 3)
    assert at.false_reject_rate == pytest.approx(1 / 2)
    assert at.escape_rate == pytest.approx(1 / 3)
    assert pts[3].precision == 1.0
    assert pts[3].false_reject_rate == 0.0
    assert math.isnan(pts[4].precision)  # nothing flagged: precision undefined, not 0 or 1
    assert pts[4].escape_rate == 1.0


def test_pr_curve_against_the_level_threshold_counts_review_as_flagged() -> None:
    base = Recipe(threshold=0.25, min_area_px=4, max_count=None, level_ng=0.9, level_review=0.5)
    pts = pr_curve(reviewed(), "level", [0.4, 0.65, 0.8, 0.95], base)
    # 0.4: review band dropped (0.5 >= 0.4), NG at max >= 0.4: A B C
    # 0.65: NG A C, REVIEW B; 0.8: NG A, REVIEW B C; 0.95: REVIEW B C, A (0.90) in band too
    assert [_counts(p) for p in pts] == [(2, 1, 1, 1), (2, 1, 1, 1), (2, 1, 1, 1), (2, 1, 1, 1)]
    plain = base.model_copy(update={"level_review": None})
    pts = pr_curve(reviewed(), "level", [0.4, 0.65, 0.8, 0.95], plain)
    assert [_counts(p) for p in pts] == [(2, 1, 1, 1), (1, 1, 1, 2), (1, 0, 2, 2), (0, 0, 2, 3)]
    assert pts[2].recall == pytest.approx(1 / 3)


def test_recipe_with_validates_and_keeps_other_rules() -> None:
    r = recipe_with(COUNT, "threshold", 0.7)
    assert (r.threshold, r.max_count, r.version) == (0.7, 0, COUNT.version)
    r = recipe_with(Recipe(level_ng=0.9, level_review=0.6), "level", 0.5)
    assert (r.level_ng, r.level_review) == (0.5, None)
    with pytest.raises(ValueError, match="threshold"):
        recipe_with(COUNT, "threshold", 1.5)
    with pytest.raises(ValueError, match="sweep"):
        recipe_with(COUNT, "area", 0.5)  # type: ignore[arg-type]


def test_level_sweep_with_regions_found_once_equals_full_decide_per_value() -> None:
    from inspector.core.whatif import pr_curve, recipe_with

    rng = np.random.default_rng(7)
    rows = []
    for i in range(12):
        prob = np.zeros((40, 40), np.float32)
        for _ in range(int(rng.integers(0, 3))):
            y, x = rng.integers(0, 34, 2)
            prob[y : y + 6, x : x + 6] = rng.uniform(0.5, 1.0)
        rows.append((i, prob, bool(i % 2)))
    base = Recipe(min_area_px=4, level_ng=0.7)
    values = [0.55, 0.7, 0.85, 0.95]
    points = pr_curve(rows, "level", values, base)
    for point, value in zip(points, values, strict=True):
        cand = recipe_with(base, "level", value)
        flagged = [decide(p, cand).verdict.value != "OK" for _, p, _ in rows]
        tp = sum(f and d for f, (_, _, d) in zip(flagged, rows, strict=True))
        fp = sum(f and not d for f, (_, _, d) in zip(flagged, rows, strict=True))
        assert (point.tp, point.fp) == (tp, fp)
