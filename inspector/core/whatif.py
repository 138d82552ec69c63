"""What-if analysis of a recipe change over logged inspections (Qt-free).

Two questions a QA engineer asks before applying a recipe:

- *replay*: which past verdicts would this recipe flip? Recomputed from the
  stored probability maps with :func:`inspector.core.rules.decide`, the one
  rules implementation, so a replayed verdict is exactly what the station
  would have said.
- *pr_curve*: on operator-reviewed inspections (the ground truth), how do
  precision, recall, false-reject rate and escape rate move as one parameter
  (the pixel threshold, or the level threshold ``level_ng``) is swept while
  every other rule stays as in the recipe?

Definitions (a "flagged" part is any verdict other than OK: NG is rejected and
REVIEW is held for the operator; neither passes the part on unseen):

- precision = tp / (tp + fp), recall = tp / (tp + fn)
- false-reject rate = fp / (fp + tn): share of good parts that were flagged
- escape rate = fn / (tp + fn): share of defective parts that passed as OK
  (AOI usage: escapes per defective part, i.e. 1 - recall)

A ratio with an empty denominator is NaN, not 0 or 1: "no data" must not read
as a perfect or a useless setting.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from inspector.core.postprocess import decode_prob_png, extract_regions
from inspector.core.progress import ProgressState
from inspector.core.recipe import Recipe
from inspector.core.rules import decide, judge
from inspector.core.types import Verdict

__all__ = [
    "DEFECTIVE_DISPOSITIONS",
    "GOOD_DISPOSITIONS",
    "Flip",
    "PRPoint",
    "ReplayRow",
    "ReviewedRow",
    "default_values",
    "flip_counts",
    "pr_curve",
    "recipe_with",
    "replay",
    "truth_of",
]

# Review dispositions (db.models.DISPOSITIONS) as ground truth.
DEFECTIVE_DISPOSITIONS = frozenset({"confirm_ng", "missed_defect"})
GOOD_DISPOSITIONS = frozenset({"false_reject", "confirm_ok"})

Param = Literal["threshold", "level"]
MapLike = bytes | np.ndarray


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One logged inspection to replay: its id, verdict as logged, stored map (PNG or float)."""

    inspection_id: int
    old_verdict: Verdict | str
    prob: MapLike


@dataclass(frozen=True, slots=True)
class ReviewedRow:
    """A reviewed inspection: stored map plus the operator's truth (True = defective)."""

    inspection_id: int
    prob: MapLike
    defective: bool


@dataclass(frozen=True, slots=True)
class Flip:
    """A verdict the candidate recipe would change."""

    inspection_id: int
    old: Verdict
    new: Verdict
    reasons: tuple[str, ...]

    @property
    def kind(self) -> str:
        return f"{self.old.value}→{self.new.value}"


@dataclass(frozen=True, slots=True)
class PRPoint:
    value: float
    precision: float
    recall: float
    false_reject_rate: float
    escape_rate: float
    tp: int
    fp: int
    tn: int
    fn: int


def truth_of(disposition: str | None) -> bool | None:
    """True = defective, False = good, None = not reviewed / unknown disposition."""
    if disposition in DEFECTIVE_DISPOSITIONS:
        return True
    if disposition in GOOD_DISPOSITIONS:
        return False
    return None


def _as_map(prob: MapLike) -> np.ndarray:
    return decode_prob_png(prob) if isinstance(prob, bytes | bytearray | memoryview) else prob


def _row_tuple(row: ReplayRow | tuple[int, Verdict | str, MapLike]) -> tuple[int, Verdict, MapLike]:
    if isinstance(row, ReplayRow):
        return row.inspection_id, Verdict(row.old_verdict), row.prob
    iid, old, prob = row
    return int(iid), Verdict(old), prob


def replay(
    rows: Iterable[ReplayRow | tuple[int, Verdict | str, MapLike]],
    recipe: Recipe,
    state: ProgressState | None = None,
) -> list[Flip]:
    """The inspections whose verdict ``recipe`` would change, in input order.

    ERROR verdicts are left alone: the part was never inspected, so there is no
    map to re-decide and no recipe can turn it into a pass.

    Stops early (returning what it has) when ``state`` is cancelled: a newer
    parameter edit makes this result useless anyway.
    """
    items = list(rows)
    flips: list[Flip] = []
    for n, row in enumerate(items):
        if state is not None and state.cancelled():
            break
        iid, old, prob = _row_tuple(row)
        if old is Verdict.ERROR or prob is None:
            continue  # never inspected: no map to re-decide, and no rule can make it OK
        d = decide(_as_map(prob), recipe)
        if d.verdict is not old:
            flips.append(Flip(iid, old, d.verdict, tuple(d.reasons)))
        if state is not None:
            state.progress(n + 1, len(items), "replay")
    return flips


def flip_counts(flips: Iterable[Flip]) -> dict[str, int]:
    """How many flips of each kind ("OK→NG": 3, ...), most frequent first."""
    return dict(Counter(f.kind for f in flips).most_common())


def recipe_with(recipe: Recipe, param: Param, value: float) -> Recipe:
    """``recipe`` with one swept parameter set (same version: a candidate, never logged).

    For "level" the REVIEW band is kept where it still fits below the new
    ``level_ng`` and dropped otherwise (the recipe forbids review >= ng).
    """
    data = recipe.model_dump(mode="json")
    # model_validate, not model_copy: it re-runs the range and band checks.
    if param == "threshold":
        return Recipe.model_validate({**data, "threshold": float(value)})
    if param == "level":
        review = recipe.level_review
        if review is not None and review >= value:
            review = None
        return Recipe.model_validate({**data, "level_ng": float(value), "level_review": review})
    raise ValueError(f"unknown sweep parameter {param!r}; use 'threshold' or 'level'")


def default_values(n: int = 19) -> list[float]:
    """An even grid strictly inside (0, 1) (threshold must be < 1; levels are probabilities)."""
    return [round(float(v), 4) for v in np.linspace(0.05, 0.95, n)]


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def pr_curve(
    rows: Sequence[ReviewedRow | tuple[int, MapLike, bool]],
    param: Param,
    values: Sequence[float],
    recipe: Recipe | None = None,
    state: ProgressState | None = None,
) -> list[PRPoint]:
    """Confusion counts and rates at each value of ``param`` over reviewed rows.

    ``recipe`` (default: ``Recipe()``) supplies every other rule. Maps are
    decoded once and reused for every value; the decisions always go through
    the station's rules (:func:`decide`, or :func:`judge` on regions found once
    per map when the swept parameter is not the pixel threshold).
    """
    base = recipe or Recipe()
    maps: list[tuple[np.ndarray, bool]] = []
    for row in rows:
        prob, truth = (row.prob, row.defective) if isinstance(row, ReviewedRow) else (row[1], row[2])
        maps.append((_as_map(prob), bool(truth)))
    # the level sweep keeps the pixel threshold, so each map's regions stay the same
    regions = [extract_regions(prob, base.threshold) for prob, _ in maps] if param != "threshold" else None
    points: list[PRPoint] = []
    for k, value in enumerate(values):
        if state is not None and state.cancelled():
            break
        candidate = recipe_with(base, param, value)
        tp = fp = tn = fn = 0
        for i, (prob, defective) in enumerate(maps):
            decision = (
                decide(prob, candidate) if regions is None else judge(regions[i], prob.shape, candidate)
            )
            flagged = decision.verdict is not Verdict.OK
            if defective:
                tp, fn = (tp + 1, fn) if flagged else (tp, fn + 1)
            else:
                fp, tn = (fp + 1, tn) if flagged else (fp, tn + 1)
        points.append(
            PRPoint(
                value=float(value),
                precision=_ratio(tp, tp + fp),
                recall=_ratio(tp, tp + fn),
                false_reject_rate=_ratio(fp, fp + tn),
                escape_rate=_ratio(fn, tp + fn),
                tp=tp,
                fp=fp,
                tn=tn,
                fn=fn,
            )
        )
        if state is not None:
            state.progress(k + 1, len(values), f"{param} sweep")
    return points
