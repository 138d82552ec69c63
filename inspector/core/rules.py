"""The decision step: probability map + recipe -> Decision.

This is THE implementation: the station, the replay of logged maps and the
trainer's evaluation all call :func:`decide`, so a verdict is the same wherever
it is recomputed.

Choices worth knowing:
- A region is judged by its centroid: it counts when the centroid lies inside
  (or on the edge of) any ROI zone (no ROI = whole image) and inside no
  exclusion zone. Regions smaller than ``min_area_px`` are ignored first.
- ``area_ratio`` = counted defect area / *inspected* area, where the inspected
  area is the ROI union (whole image when no ROI) minus the exclusion zones,
  clipped to the image. So a 1 % limit means 1 % of what is actually inspected.
- Region indices are those of :func:`extract_regions` (1 = largest) and stay
  the same in ``regions`` and ``ignored``, so reasons and overlay labels match.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from inspector.core.postprocess import as_prob_map, decode_prob_png, extract_regions
from inspector.core.recipe import Recipe, Zone
from inspector.core.types import Decision, Region, Verdict

__all__ = ["decide", "decide_from_png", "inspected_area", "region_level"]

_Poly = tuple[tuple[float, float], ...]


def region_level(region: Region, mode: str) -> float:
    """A region's defect level: its max or mean probability (recipe.level_mode)."""
    return region.mean_prob if mode == "mean" else region.max_prob


def _polys(zones: Sequence[Zone]) -> tuple[_Poly, ...]:
    return tuple(tuple((float(x), float(y)) for x, y in z.points) for z in zones)


def _contour(poly: _Poly) -> np.ndarray:
    return np.asarray(poly, dtype=np.float32).reshape(-1, 1, 2)


def _inside_any(point: tuple[float, float], contours: Sequence[np.ndarray]) -> bool:
    # >= 0: a centroid exactly on a zone edge is inside (operators draw edges on features)
    return any(cv2.pointPolygonTest(c, point, False) >= 0 for c in contours)


@lru_cache(maxsize=64)
def _inspected_area(shape: tuple[int, int], roi: tuple[_Poly, ...], excl: tuple[_Poly, ...]) -> int:
    # Cached: a station runs one recipe over thousands of same-size images.
    h, w = shape
    if not roi and not excl:
        return h * w
    mask = np.zeros((h, w), np.uint8) if roi else np.ones((h, w), np.uint8)
    # One fillPoly per zone: a single call with several polygons treats overlaps as holes.
    for polys, value in ((roi, 1), (excl, 0)):
        for p in polys:
            cv2.fillPoly(mask, [np.rint(_contour(p)).astype(np.int32)], value)
    return int(np.count_nonzero(mask))


def inspected_area(shape: tuple[int, int], recipe: Recipe) -> int:
    """Pixels the recipe inspects in an image of ``shape`` (H, W): the area-ratio denominator."""
    return _inspected_area((int(shape[0]), int(shape[1])), _polys(recipe.roi), _polys(recipe.exclusions))


_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt}


def _decimals(value: float, checks: Sequence[tuple[str, float]], base: int = 2) -> int:
    """Fewest decimals (from ``base``) at which the printed numbers still satisfy ``checks``.

    So 0.8996 in a review band below 0.90 never reads "0.90 < 0.90".
    """
    for d in range(base, base + 4):
        if all(_OPS[op](round(value, d), round(limit, d)) for op, limit in checks):
            return d
    return base + 4


def _filter(regions: list[Region], recipe: Recipe) -> tuple[list[Region], list[Region]]:
    roi = [_contour(p) for p in _polys(recipe.roi)]
    excl = [_contour(p) for p in _polys(recipe.exclusions)]
    counted: list[Region] = []
    ignored: list[Region] = []
    for r in regions:
        skip = (
            r.area_px < recipe.min_area_px
            or (bool(roi) and not _inside_any(r.centroid, roi))
            or (bool(excl) and _inside_any(r.centroid, excl))
        )
        (ignored if skip else counted).append(r)
    return counted, ignored


def decide(prob: np.ndarray, recipe: Recipe) -> Decision:
    """Apply ``recipe`` to a float probability map (HxW or HxWx1, original image size)."""
    p = as_prob_map(prob)
    return judge(extract_regions(p, recipe.threshold), p.shape[:2], recipe)


def judge(regions: list[Region], shape: tuple[int, ...], recipe: Recipe) -> Decision:
    """The rule step of :func:`decide` on regions already extracted at ``recipe.threshold``.

    Split out so a sweep over a non-threshold parameter (e.g. the defect level)
    finds the connected components of each map once instead of once per value.
    """
    counted, ignored = _filter(regions, recipe)
    levels = [region_level(r, recipe.level_mode) for r in counted]
    total_area = sum(r.area_px for r in counted)
    ratio = total_area / max(1, inspected_area((int(shape[0]), int(shape[1])), recipe))

    ng: list[str] = []
    if recipe.max_count is not None and len(counted) > recipe.max_count:
        noun = "region" if len(counted) == 1 else "regions"
        ng.append(f"{len(counted)} {noun} > max {recipe.max_count}")
    if recipe.max_region_area_px is not None:
        ng += [
            f"region {r.index}: area {r.area_px} px > {recipe.max_region_area_px} px"
            for r in counted
            if r.area_px > recipe.max_region_area_px
        ]
    if recipe.max_area_ratio is not None and ratio > recipe.max_area_ratio:
        pct, lim = ratio * 100.0, recipe.max_area_ratio * 100.0
        d = _decimals(pct, [(">", lim)], base=1)
        ng.append(f"defect area {pct:.{d}f} % > {lim:.{d}f} %")
    if recipe.level_ng is not None:
        for r, lv in zip(counted, levels, strict=True):
            if lv >= recipe.level_ng:
                d = _decimals(lv, [(">=", recipe.level_ng)])
                ng.append(f"region {r.index}: level {lv:.{d}f} >= {recipe.level_ng:.{d}f}")

    verdict = Verdict.NG if ng else Verdict.OK
    reasons = ng
    if not ng and recipe.level_review is not None:
        lo, hi = recipe.level_review, recipe.level_ng
        reasons = []
        for r, lv in zip(counted, levels, strict=True):
            if lv < lo or (hi is not None and lv >= hi):
                continue
            if hi is None:
                d = _decimals(lv, [(">=", lo)])
                reasons.append(f"region {r.index}: level {lv:.{d}f} >= review {lo:.{d}f}")
            else:
                d = _decimals(lv, [(">=", lo), ("<", hi)])
                reasons.append(f"region {r.index}: level {lv:.{d}f} in review band [{lo:.{d}f}, {hi:.{d}f})")
        if reasons:
            verdict = Verdict.REVIEW
    if verdict is Verdict.OK:
        skipped = f" ({len(ignored)} ignored)" if ignored else ""
        if counted:
            noun = "region" if len(counted) == 1 else "regions"
            reasons = [f"{len(counted)} {noun} within limits{skipped}"]
        else:
            reasons = [f"no defect regions{skipped}"]

    return Decision(
        verdict=verdict,
        reasons=reasons,
        regions=counted,
        ignored=ignored,
        score=max(levels, default=0.0),
        area_ratio=ratio,
    )


def decide_from_png(png_bytes: bytes, recipe: Recipe) -> Decision:
    """:func:`decide` on a map stored by :func:`~inspector.core.postprocess.encode_prob_png` (replay)."""
    return decide(decode_prob_png(png_bytes), recipe)
