"""Every rule of the decision step, alone and combined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.core.postprocess import decode_prob_png, encode_prob_png
from inspector.core.recipe import Recipe, Zone, load_recipe
from inspector.core.rules import decide, decide_from_png, inspected_area
from inspector.core.types import Verdict

# Every rule off: the baseline that each test switches one rule on from.
OFF = Recipe(threshold=0.5, min_area_px=0, max_count=None)


def _map(h: int = 100, w: int = 100) -> np.ndarray:
    return np.zeros((h, w), np.float32)


def _blob(p: np.ndarray, x: int, y: int, w: int, h: int, value: float) -> None:
    p[y : y + h, x : x + w] = value


def _scene() -> np.ndarray:
    """Three regions on 100x100: 400 px @0.95 top-left, 100 px @0.7 centre, 9 px @0.6 bottom-right."""
    p = _map()
    _blob(p, 5, 5, 20, 20, 0.95)
    _blob(p, 45, 45, 10, 10, 0.7)
    _blob(p, 90, 90, 3, 3, 0.6)
    return p


def test_all_rules_disabled_is_ok_even_with_regions() -> None:
    d = decide(_scene(), OFF)
    assert d.verdict is Verdict.OK
    assert len(d.regions) == 3
    assert d.reasons == ["3 regions within limits"]
    assert d.score == pytest.approx(0.95)
    assert d.area_ratio == pytest.approx(509 / 10000)


def test_empty_map_is_ok_with_readable_reason() -> None:
    d = decide(_map(), Recipe())
    assert d.verdict is Verdict.OK
    assert d.reasons == ["no defect regions"]
    assert d.regions == []
    assert d.ignored == []
    assert d.score == 0.0
    assert d.area_ratio == 0.0


def test_count_rule() -> None:
    p = _scene()
    assert decide(p, OFF.model_copy(update={"max_count": 3})).verdict is Verdict.OK
    d = decide(p, OFF.model_copy(update={"max_count": 2}))
    assert d.verdict is Verdict.NG
    assert d.reasons == ["3 regions > max 2"]
    d = decide(_map_with_one(), OFF.model_copy(update={"max_count": 0}))
    assert d.reasons == ["1 region > max 0"]


def _map_with_one() -> np.ndarray:
    p = _map()
    _blob(p, 10, 10, 5, 5, 0.8)
    return p


def test_default_recipe_any_region_is_ng() -> None:
    d = decide(_map_with_one(), Recipe())
    assert d.verdict is Verdict.NG
    assert d.reasons == ["1 region > max 0"]


def test_region_area_rule_names_each_region() -> None:
    d = decide(_scene(), OFF.model_copy(update={"max_region_area_px": 99}))
    assert d.verdict is Verdict.NG
    assert d.reasons == ["region 1: area 400 px > 99 px", "region 2: area 100 px > 99 px"]
    assert decide(_scene(), OFF.model_copy(update={"max_region_area_px": 400})).verdict is Verdict.OK


def test_area_ratio_rule_whole_image() -> None:
    # 509 / 10000 = 5.09 %
    d = decide(_scene(), OFF.model_copy(update={"max_area_ratio": 0.05}))
    assert d.verdict is Verdict.NG
    assert d.reasons == ["defect area 5.1 % > 5.0 %"]
    assert decide(_scene(), OFF.model_copy(update={"max_area_ratio": 0.051})).verdict is Verdict.OK


def test_area_ratio_reason_never_prints_equal_numbers() -> None:
    p2 = np.zeros((100, 1000), np.float32)
    p2[0, :1001] = 1.0  # 1000 / 100000 = 1.0 % exactly
    p2[1, 0] = 1.0  # 1001 -> 1.001 %
    d = decide(p2, OFF.model_copy(update={"max_area_ratio": 0.01}))
    assert d.reasons == ["defect area 1.001 % > 1.000 %"]


def test_area_ratio_uses_roi_minus_exclusions_as_denominator() -> None:
    roi = [Zone.rect(0, 0, 50, 100)]
    excl = [Zone.rect(0, 50, 50, 50)]
    r = OFF.model_copy(update={"roi": roi, "exclusions": excl, "max_area_ratio": 0.15})
    # zone edges are inside (as for centroids): ROI = cols 0..50, rows 0..49 remain
    assert inspected_area((100, 100), r) == 51 * 50
    d = decide(_scene(), r)
    # the 9 px blob lies outside the ROI; the centre blob's centroid (49.5, 49.5) is inside
    assert [x.area_px for x in d.regions] == [400, 100]
    assert d.area_ratio == pytest.approx(500 / 2550)
    assert d.verdict is Verdict.NG
    assert d.reasons == ["defect area 19.6 % > 15.0 %"]


def test_inspected_area_of_overlapping_zones_is_their_union() -> None:
    r = OFF.model_copy(update={"roi": [Zone.rect(0, 0, 9, 9), Zone.rect(5, 5, 9, 9)]})
    assert inspected_area((100, 100), r) == 2 * 100 - 25
    r = OFF.model_copy(update={"exclusions": [Zone.rect(0, 0, 9, 9), Zone.rect(5, 5, 9, 9)]})
    assert inspected_area((100, 100), r) == 10000 - 175
    # zones reaching past the image are clipped to it
    r = OFF.model_copy(update={"roi": [Zone.rect(-50, -50, 500, 500)]})
    assert inspected_area((100, 100), r) == 10000


def test_level_rule_max_and_mean() -> None:
    p = _map()
    _blob(p, 10, 10, 10, 10, 0.6)
    p[15, 15] = 0.99
    max_r = OFF.model_copy(update={"level_ng": 0.9})
    d = decide(p, max_r)
    assert d.verdict is Verdict.NG
    assert d.reasons == ["region 1: level 0.99 >= 0.90"]
    assert d.score == pytest.approx(0.99)
    mean_r = OFF.model_copy(update={"level_ng": 0.9, "level_mode": "mean"})
    d = decide(p, mean_r)
    assert d.verdict is Verdict.OK
    assert d.score == pytest.approx((99 * 0.6 + 0.99) / 100, abs=1e-6)


def test_level_rule_is_inclusive() -> None:
    p = _map()
    _blob(p, 0, 0, 4, 4, 0.75)
    d = decide(p, OFF.model_copy(update={"level_ng": 0.75}))
    assert d.verdict is Verdict.NG
    assert d.reasons == ["region 1: level 0.75 >= 0.75"]


def test_review_band() -> None:
    r = OFF.model_copy(update={"level_review": 0.65, "level_ng": 0.9})
    p = _map()
    _blob(p, 45, 45, 10, 10, 0.7)
    d = decide(p, r)
    assert d.verdict is Verdict.REVIEW
    assert d.reasons == ["region 1: level 0.70 in review band [0.65, 0.90)"]
    # below the band -> OK
    p[:] = 0
    _blob(p, 45, 45, 10, 10, 0.6)
    assert decide(p, r).verdict is Verdict.OK


def test_review_band_never_overrides_ng() -> None:
    r = OFF.model_copy(update={"level_review": 0.65, "level_ng": 0.9})
    d = decide(_scene(), r)  # 0.95 region -> NG; 0.7 region is in the band but NG wins
    assert d.verdict is Verdict.NG
    assert d.reasons == ["region 1: level 0.95 >= 0.90"]


def test_review_band_without_level_ng_is_open_ended() -> None:
    d = decide(_scene(), OFF.model_copy(update={"level_review": 0.9}))
    assert d.verdict is Verdict.REVIEW
    assert d.reasons == ["region 1: level 0.95 >= review 0.90"]


def test_review_reason_does_not_print_misleading_round_numbers() -> None:
    p = _map()
    _blob(p, 0, 0, 3, 3, 0.8996)
    d = decide(p, OFF.model_copy(update={"level_review": 0.5, "level_ng": 0.9}))
    assert d.verdict is Verdict.REVIEW  # 0.8996 < 0.9
    assert d.reasons == ["region 1: level 0.8996 in review band [0.5000, 0.9000)"]


def test_min_area_ignores_small_regions() -> None:
    r = OFF.model_copy(update={"min_area_px": 10, "max_count": 0})
    d = decide(_scene(), r)
    assert [x.area_px for x in d.regions] == [400, 100]
    assert [x.area_px for x in d.ignored] == [9]
    assert [x.index for x in d.ignored] == [3]  # indices are kept, so reasons match the overlay
    assert d.reasons == ["2 regions > max 0"]
    p = _map()
    _blob(p, 0, 0, 3, 3, 0.99)
    d = decide(p, r.model_copy(update={"level_ng": 0.5}))
    assert d.verdict is Verdict.OK
    assert d.reasons == ["no defect regions (1 ignored)"]
    assert d.score == 0.0


def test_min_area_is_inclusive_of_its_value() -> None:
    p = _map()
    _blob(p, 0, 0, 3, 3, 0.99)  # 9 px
    assert len(decide(p, OFF.model_copy(update={"min_area_px": 9})).regions) == 1
    assert len(decide(p, OFF.model_copy(update={"min_area_px": 10})).regions) == 0


def test_roi_counts_only_centroids_inside() -> None:
    r = OFF.model_copy(update={"roi": [Zone.rect(40, 40, 20, 20)], "max_count": 0})
    d = decide(_scene(), r)
    assert [x.area_px for x in d.regions] == [100]
    assert sorted(x.area_px for x in d.ignored) == [9, 400]
    assert d.reasons == ["1 region > max 0"]


def test_roi_union_of_several_zones_and_triangle() -> None:
    tri = Zone(points=[(80, 80), (99, 80), (99, 99)])  # contains (91, 91) on its diagonal edge
    r = OFF.model_copy(update={"roi": [Zone.rect(0, 0, 30, 30), tri]})
    d = decide(_scene(), r)
    assert sorted(x.area_px for x in d.regions) == [9, 400]


def test_exclusion_zone_ignores_region() -> None:
    r = OFF.model_copy(update={"exclusions": [Zone.rect(0, 0, 30, 30)], "level_ng": 0.9})
    d = decide(_scene(), r)
    assert d.verdict is Verdict.OK  # the 0.95 blob is excluded
    assert [x.area_px for x in d.ignored] == [400]
    assert d.score == pytest.approx(0.7)


def test_exclusion_wins_over_roi() -> None:
    r = OFF.model_copy(update={"roi": [Zone.rect(0, 0, 100, 100)], "exclusions": [Zone.rect(40, 40, 20, 20)]})
    d = decide(_scene(), r)
    assert sorted(x.area_px for x in d.regions) == [9, 400]


def test_combined_rules_report_every_reason_in_order() -> None:
    r = Recipe(
        threshold=0.5,
        min_area_px=5,
        max_count=1,
        max_region_area_px=150,
        max_area_ratio=0.04,
        level_ng=0.9,
    )
    d = decide(_scene(), r)
    assert d.verdict is Verdict.NG
    assert d.reasons == [
        "3 regions > max 1",
        "region 1: area 400 px > 150 px",
        "defect area 5.1 % > 4.0 %",
        "region 1: level 0.95 >= 0.90",
    ]


def test_threshold_from_recipe_changes_regions() -> None:
    d = decide(_scene(), OFF.model_copy(update={"threshold": 0.8}))
    assert [x.area_px for x in d.regions] == [400]


def test_accepts_hwc1() -> None:
    p = _scene()
    assert decide(p[:, :, None], Recipe()) == decide(p, Recipe())


def test_png_replay_equals_float_decision() -> None:
    # a map whose values sit away from every threshold: quantisation cannot flip anything
    rng = np.random.default_rng(7)
    p = _scene()
    noise = rng.uniform(0.0, 0.3, p.shape).astype(np.float32)
    p = np.where(p > 0, p, noise).astype(np.float32)
    r = Recipe(min_area_px=5, max_count=1, max_region_area_px=150, level_ng=0.9, level_review=0.6)
    a = decide(p, r)
    b = decide_from_png(encode_prob_png(p), r)
    assert a.verdict == b.verdict
    assert a.reasons == b.reasons
    assert [x.area_px for x in a.regions] == [x.area_px for x in b.regions]
    assert abs(a.score - b.score) <= 0.5 / 255 + 1e-6


def test_png_replay_is_exact_on_quantised_maps() -> None:
    rng = np.random.default_rng(3)
    p = (rng.integers(0, 256, (64, 64)).astype(np.float32) / np.float32(255.0)).astype(np.float32)
    q = decode_prob_png(encode_prob_png(p))
    np.testing.assert_array_equal(p, q)
    r = Recipe(min_area_px=2, max_count=3, level_ng=0.95, max_area_ratio=0.2)
    assert decide(p, r) == decide_from_png(encode_prob_png(p), r)


def test_shipped_default_recipe_validates_and_matches_defaults() -> None:
    path = Path(__file__).resolve().parent.parent / "resources" / "recipes" / "default.json"
    r = load_recipe(path)
    assert r == Recipe()
    assert (r.name, r.version, r.threshold, r.min_area_px, r.max_count) == ("default", 1, 0.5, 20, 0)
    assert r.max_region_area_px is None
    assert r.max_area_ratio is None
    assert r.level_ng is None
    assert r.level_review is None
