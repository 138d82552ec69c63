"""Resume keys, history filters/paging, details, replay, reviews, recipes, models, audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from db import queries as q
from db.blobs import decode_prob_png, encode_mask_png
from db.session import Database, open_db
from db.writer import VerdictWriter
from inspector.core.model_card import ModelCard
from inspector.core.recipe import Recipe
from inspector.core.types import Verdict
from tests.db_factories import MODEL_SHA, T0, make_result


@pytest.fixture
def database(tmp_path: Path) -> Database:
    d = open_db(f"sqlite:///{tmp_path / 'q.db'}")
    yield d
    d.dispose()


@pytest.fixture
def logged(database: Database) -> list[int]:
    """30 inspections a minute apart: every 3rd NG, every 5th REVIEW, rest OK; two sources."""
    verdicts = [Verdict.NG if i % 3 == 0 else Verdict.REVIEW if i % 5 == 0 else Verdict.OK for i in range(30)]
    with VerdictWriter(database, "line-1", flush_interval_s=0.0) as w:
        futs = [
            w.submit(
                make_result(
                    f"/data/{'a' if i < 20 else 'b'}/img_{i:03d}.png",
                    v,
                    source="folder:/data/a" if i < 20 else "folder:/data/b",
                    inspected_at=T0 + timedelta(minutes=i),
                )
            )
            for i, v in enumerate(verdicts)
        ]
    with VerdictWriter(database, "line-2", flush_interval_s=0.0) as w:
        w.submit(make_result("/data/a/img_000.png", source="folder:/data/a")).result(10)
    return [f.result(0) for f in futs]


def test_logged_keys_for_resume(database: Database, logged: list[int]) -> None:
    keys = q.logged_keys(database, "line-1", source="folder:/data/a")
    assert keys == {f"/data/a/img_{i:03d}.png" for i in range(20)}
    assert len(q.logged_keys(database, "line-1", prefix="/data/b/")) == 10
    assert q.logged_keys(database, "line-2") == {"/data/a/img_000.png"}
    assert q.logged_keys(database, "nope") == set()
    # LIKE wildcards in a prefix are literal
    assert q.logged_keys(database, "line-1", prefix="/data/_/") == set()


def test_history_filters_and_paging(database: Database, logged: list[int]) -> None:
    assert q.count_history(database) == 31
    assert q.count_history(database, station="line-1") == 30
    ng = q.history(database, verdict=Verdict.NG, station="line-1", limit=100)
    assert len(ng) == 10
    assert all(r.verdict is Verdict.NG for r in ng)
    assert [r.inspected_at for r in ng] == sorted((r.inspected_at for r in ng), reverse=True)
    both = q.count_history(database, verdict=["NG", "REVIEW"], station="line-1")
    assert both == 10 + 4  # REVIEW: 5, 10, 20, 25 (not multiples of 3)

    window = q.history(
        database, since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=20), order="asc"
    )
    assert [r.id for r in window] == logged[10:20]
    page1 = q.history(database, station="line-1", limit=7, order="asc")
    page2 = q.history(database, station="line-1", limit=7, offset=7, order="asc")
    assert [r.id for r in page1 + page2] == logged[:14]
    assert q.count_history(database, source="folder:/data/b") == 10
    assert len(q.history(database, source_key_prefix="/data/b/")) == 10

    row = page1[0]
    assert (row.station, row.model_sha256, row.recipe_name, row.recipe_version) == (
        "line-1",
        MODEL_SHA,
        "default",
        1,
    )
    assert row.timings["infer"] == 5.5
    assert row.inspected_at.tzinfo is not None


def test_reviewed_filter_and_counts(database: Database, logged: list[int]) -> None:
    q.add_review(database, logged[0], "confirm_ng", "op")
    q.add_review(database, logged[3], "false_reject", "op")
    q.add_review(database, logged[3], "confirm_ng", "qa")  # the latest call wins in listings
    assert {r.id for r in q.history(database, reviewed=True)} == {logged[0], logged[3]}
    assert q.count_history(database, reviewed=False) == 29
    assert q.history(database, reviewed=True, order="asc")[1].review == "confirm_ng"
    assert q.count_history(database, disposition="confirm_ng") == 2
    counts = q.verdict_counts(database, station="line-1")
    assert counts == {Verdict.OK: 16, Verdict.NG: 10, Verdict.REVIEW: 4, Verdict.ERROR: 0}
    assert q.verdict_counts(database, station="line-2")[Verdict.NG] == 0


def test_get_inspection_with_regions_reviews_and_map(database: Database) -> None:
    prob = np.zeros((8, 8), np.float32)
    prob[1:3, 1:3] = 0.9
    with VerdictWriter(database, "st") as w:
        rid = w.submit(make_result("/d/x.png", Verdict.NG, prob=prob)).result(10)
    mask = np.zeros((8, 8), np.uint8)
    mask[5:7, 5:7] = 1
    review_id = q.add_review(
        database, rid, q.Disposition.MISSED_DEFECT, "op", "scratch", encode_mask_png(mask)
    )
    detail = q.get_inspection(database, rid)
    assert detail is not None
    assert detail.row.verdict is Verdict.NG
    assert [g.bbox for g in detail.regions] == [(1, 1, 2, 2)]
    assert detail.prob_map()[1, 1] == pytest.approx(round(0.9 * 255) / 255)
    (rev,) = detail.reviews
    assert (rev.id, rev.disposition, rev.by, rev.note) == (review_id, "missed_defect", "op", "scratch")
    assert np.array_equal(decode_prob_png(rev.mask_png) > 0, mask > 0)
    assert q.audit_events(database, action="review.add")[0].details["inspection_id"] == rid
    assert q.get_inspection(database, 999_999) is None


def test_review_validation(database: Database, logged: list[int]) -> None:
    with pytest.raises(ValueError, match="not_a_disposition"):
        q.add_review(database, logged[0], "not_a_disposition", "op")
    with pytest.raises(LookupError):
        q.add_review(database, 999_999, "confirm_ok", "op")


def test_recent_with_prob_maps_for_replay(database: Database, logged: list[int]) -> None:
    items = q.recent_with_prob_maps(database, 5, station="line-1")
    assert [it.row.id for it in items] == logged[::-1][:5]
    assert items[0].prob_map().shape == (8, 8)
    assert len(q.recent_with_prob_maps(database, 100, verdict="NG")) == 10


def test_recipe_versions_are_immutable_with_parent_and_audit(database: Database) -> None:
    v1 = q.save_recipe_version(database, Recipe(name="cans"), "qa", "initial")
    r2 = Recipe(name="cans").evolve(threshold=0.6)
    v2 = q.save_recipe_version(database, r2, "qa2", "fewer false rejects", parent_id=v1.id)
    assert (v2.version, v2.parent_id, v2.author) == (2, v1.id, "qa2")
    assert v2.recipe() == r2
    with pytest.raises(q.RecipeExistsError):
        q.save_recipe_version(database, Recipe(name="cans", threshold=0.9), "qa", "overwrite?")
    assert [r.version for r in q.recipe_versions(database, "cans")] == [1, 2]
    assert q.get_recipe(database, "cans", 1).params["threshold"] == 0.5  # v1 untouched
    assert q.get_recipe(database, "cans").version == 2
    assert q.get_recipe(database, "other") is None
    assert q.next_recipe_version(database, "cans") == 3
    events = q.audit_events(database, action="recipe.save")
    assert [e.details["version"] for e in events] == [2, 1]
    assert events[0].details["reason"] == "fewer false rejects"
    with pytest.raises(ValueError, match="parent"):
        q.save_recipe_version(database, Recipe(name="x"), "qa", "r", parent_id=12345)


def test_writer_uses_a_saved_recipe(database: Database) -> None:
    saved = q.save_recipe_version(database, Recipe(name="cans", threshold=0.3), "qa", "initial")
    with VerdictWriter(database, "st") as w:
        w.submit(make_result(recipe=("cans", 1))).result(10)
    assert q.recipe_versions(database, "cans") == [saved]


def test_models_register_and_promote(database: Database) -> None:
    a = q.register_model(database, ModelCard(name="a", sha256="1" * 64), "/m/a.onnx", actor="pe")
    assert q.register_model(database, ModelCard(name="a", sha256="1" * 64)).id == a.id  # idempotent
    q.register_model(database, ModelCard(name="b", sha256="2" * 64, threshold=0.3), "/m/b.onnx")
    assert q.active_model(database) is None
    q.promote_model(database, "1" * 64, "pe")
    promoted = q.promote_model(database, "2" * 64, "pe")
    assert promoted.is_active
    assert promoted.promoted_at is not None
    active = q.active_model(database)
    assert (active.sha256, active.model_card().threshold) == ("2" * 64, 0.3)
    assert [m.is_active for m in q.models(database)] == [False, True]
    ev = q.audit_events(database, action="model.promote")[0]
    assert ev.details == {"sha256": "2" * 64, "previous": ["1" * 64]}
    with pytest.raises(LookupError):
        q.promote_model(database, "9" * 64, "pe")
    with pytest.raises(ValueError, match="sha256"):
        q.register_model(database, ModelCard(name="nosha"))


def test_register_fills_a_placeholder_left_by_the_writer(database: Database) -> None:
    with VerdictWriter(database, "st") as w:
        w.submit(make_result()).result(10)
    info = q.register_model(database, ModelCard(name="unet", sha256=MODEL_SHA, threshold=0.45), "/m/u.onnx")
    assert (info.name, info.card["threshold"], info.path) == ("unet", 0.45, "/m/u.onnx")


def test_audit_and_session_targets(database: Database) -> None:
    with database.write() as s:  # helpers join a caller's transaction
        q.audit(s, "qa", "threshold.tune", {"from": 0.5, "to": 0.6})
        assert q.audit_events(s)[0].action == "threshold.tune"
    assert q.audit_events(database)[0].details == {"from": 0.5, "to": 0.6}
