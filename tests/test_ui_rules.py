"""Rules panel: live re-decision, what-if replay, PR plot, apply/restore with roles and audit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from db import queries
from db.models import AuditEvent
from db.session import Database
from inspector.core.recipe import Zone
from inspector.core.types import Verdict
from inspector.core.whatif import ReviewedRow, default_values, pr_curve
from tests.test_ui_history import add_inspections, blob_map, make_ctx

pytestmark = pytest.mark.filterwarnings("error")  # pyqtgraph/Qt warnings are bugs here

P90, P70, P60, P30 = 230 / 255, 179 / 255, 153 / 255, 77 / 255
# Logged oldest first under BASE (any region >= 0.5 -> NG): NG NG NG OK OK NG
VALUES = [P90, P60, P60, 0.0, P30, P90]


@pytest.fixture
def ids(db: Database) -> list[int]:
    return add_inspections(db, [blob_map(v) for v in VALUES])


@pytest.fixture
def ctx(db: Database, ids: list[int], tmp_path: Path):
    return make_ctx(db, tmp_path)


@pytest.fixture
def panel(qtbot, ctx):
    from inspector.ui.rules_panel import RulesPanel

    p = RulesPanel(ctx, replay_n=50, debounce_ms=5)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    p.show()
    # the latest inspection and the versions are read off the UI thread
    qtbot.waitUntil(lambda: p.view is not None and p.versions.rowCount() > 0, timeout=5000)
    yield p
    p.shutdown()


def show(qtbot, panel, inspection_id: int) -> None:
    """Select an inspection and wait for the task runner to bring it in."""
    panel.set_inspection(inspection_id)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.id == inspection_id, timeout=5000)


def wait_version(qtbot, panel, ctx, version: int) -> None:
    """A version is saved on the write lane; it is current (and listed) once committed."""
    qtbot.waitUntil(
        lambda: ctx.recipe.version == version
        and not panel.is_saving()
        and panel.versions.item(0, 0) is not None
        and panel.versions.item(0, 0).text().startswith(f"v{version}"),
        timeout=10_000,
    )


def _wait_replay(qtbot, panel, threshold: float):
    qtbot.waitUntil(
        lambda: (
            panel.runner.last_replay is not None and panel.runner.last_replay.recipe.threshold == threshold
        ),
        timeout=10_000,
    )
    return panel.runner.last_replay


def test_live_verdict_and_replay_flips_follow_the_threshold(qtbot, panel, ids: list[int]) -> None:
    assert panel.view is not None
    assert panel.view.id == ids[-1]  # latest inspection by default
    show(qtbot, panel, ids[1])  # the 0.60 blob, logged NG
    assert panel.live.verdict is Verdict.NG
    assert "unchanged" in panel.live_label.text()
    assert _wait_replay(qtbot, panel, 0.5).flips == []

    panel.editor.set_value("threshold", 0.7)
    # live: no waiting, the stored map is re-decided on the edit itself
    assert panel.candidate.threshold == 0.7
    assert panel.live.verdict is Verdict.OK
    assert "flips NG → OK" in panel.live_label.text()
    out = _wait_replay(qtbot, panel, 0.7)
    assert out.replayed == 6
    assert out.counts == {"NG→OK": 2}
    assert sorted(f.inspection_id for f in out.flips) == sorted(ids[1:3])
    assert panel.flips.table.rowCount() == 2
    assert "2 would change" in panel.flips.summary.text()

    panel.editor.set_value("threshold", 0.25)
    assert _wait_replay(qtbot, panel, 0.25).counts == {"OK→NG": 1}
    assert panel.live.verdict is Verdict.NG

    # clicking a flip shows that inspection under the candidate recipe
    panel.flips.table.setCurrentCell(0, 0)
    qtbot.waitUntil(lambda: panel.view.id == ids[4], timeout=5000)
    assert panel.live.verdict is Verdict.NG
    assert panel.image.has_image()


def test_other_rules_and_zones_redecide_live(qtbot, panel, ids: list[int]) -> None:
    show(qtbot, panel, ids[0])  # 0.90 blob at x 12..17, y 10..15
    assert panel.live.verdict is Verdict.NG
    panel.editor.set_value("max_count", None)  # count rule off: nothing else enabled
    assert panel.live.verdict is Verdict.OK
    panel.editor.set_value("level_ng", 0.8)
    assert panel.live.verdict is Verdict.NG
    panel.editor.exclusions.add_rect(10, 8, 10, 10)  # covers the blob's centroid
    assert panel.live.verdict is Verdict.OK
    assert panel.candidate.exclusions == [Zone.rect(10, 8, 10, 10)]
    panel.editor.set_value("level_review", 0.95)  # review must be below NG
    assert "level_review" in panel.editor.error()
    assert not panel.apply_button.isEnabled()


def test_apply_needs_qa_and_creates_version_2_with_parent_and_audit(qtbot, panel, ctx, db) -> None:
    messages: list[tuple[str, str]] = []
    ctx.message.connect(lambda lvl, txt: messages.append((lvl, txt)))
    panel.editor.set_value("threshold", 0.7)
    panel.reason_edit.setText("fewer false rejects on line 2")

    assert not panel.apply_button.isEnabled()  # operator mode
    assert panel.apply() is None
    assert messages[-1][0] == "warning"
    assert "QA" in messages[-1][1]
    assert [s.version for s in queries.recipe_versions(db, "default")] == [1]

    ctx.set_role("qa", "quinn")
    assert panel.apply_button.isEnabled()
    _wait_replay(qtbot, panel, 0.7)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert not panel.apply_button.isEnabled()  # while the version is written
    wait_version(qtbot, panel, ctx, 2)
    v1, v2 = queries.recipe_versions(db, "default")
    assert (v2.version, v2.parent_id, v2.author, v2.reason) == (
        2,
        v1.id,
        "quinn",
        "fewer false rejects on line 2",
    )
    assert v2.params["threshold"] == 0.7
    assert ctx.recipe.version == 2
    assert ctx.recipe.threshold == 0.7
    assert panel.editor.base.version == 2
    assert not panel.editor.is_modified()
    assert panel.reason_edit.text() == ""
    with db.read() as s:
        events = {e.action: e.details for e in s.scalars(select(AuditEvent))}
    assert events["recipe.save"]["version"] == 2
    assert events["recipe.apply"]["parent_id"] == v1.id
    assert events["recipe.apply"]["flips"] == {"NG→OK": 2}  # what QA saw is kept with the change
    assert panel.versions.item(0, 0).text() == "v2 (current)"

    # no reason, no version
    panel.editor.set_value("threshold", 0.6)
    assert panel.apply() is None
    assert "reason" in messages[-1][1]


def test_restore_creates_a_new_version_equal_to_the_old_one(qtbot, panel, ctx, db) -> None:
    ctx.set_role("qa", "quinn")
    panel.editor.set_value("threshold", 0.7)
    assert panel.apply("try 0.7").result(10).version == 2
    wait_version(qtbot, panel, ctx, 2)
    ctx.set_role("operator", "olga")
    assert panel.restore(1) is None  # refused for operators
    ctx.set_role("qa", "quinn")
    panel.versions.setCurrentCell(1, 0)  # newest first: row 1 = v1
    qtbot.mouseClick(panel.restore_button, Qt.MouseButton.LeftButton)
    # the button asks first, showing what restoring changes; Cancel is the default
    box = panel.restore_dialog
    assert box is not None
    assert box.isVisible()
    assert "Pixel threshold: 0.7 → 0.5" in box.informativeText()
    assert box.defaultButton() is box.button(box.StandardButton.Cancel)
    box.button(box.StandardButton.Yes).click()
    wait_version(qtbot, panel, ctx, 3)
    v1, v2, v3 = queries.recipe_versions(db, "default")
    assert v3.params == v1.params
    assert v3.parent_id == v2.id
    assert v3.reason == "restore v1"
    assert ctx.recipe.version == 3
    assert ctx.recipe.threshold == 0.5
    assert panel.editor.boxes["threshold"].value() == 0.5
    assert panel.restore(1) is None  # v1's settings already run: no duplicate version
    assert len(queries.recipe_versions(db, "default")) == 3
    events = queries.audit_events(db, action="recipe.restore")
    assert events[0].details["restored_version"] == 1
    assert events[0].actor == "quinn"


def test_pr_plot_shows_the_sweep_of_reviewed_inspections(qtbot, panel, ctx, db, ids: list[int]) -> None:
    # truth: 0.90 blobs and the 0.30 blob are defects; one 0.60 blob and the clean part are good
    truth = {
        ids[0]: "confirm_ng",
        ids[1]: "false_reject",
        ids[3]: "confirm_ok",
        ids[4]: "missed_defect",
        ids[5]: "confirm_ng",
    }
    for iid, disp in truth.items():
        queries.add_review(db, iid, disp, by="qa")
    panel.runner.run_now()
    qtbot.waitUntil(
        lambda: (
            panel.runner.last_pr is not None
            and panel.runner.last_pr.reviewed == 5
            and panel.runner.last_pr.complete
        ),
        timeout=15_000,
    )
    pts = panel.plot.plots["threshold"].points
    at = {round(p.value, 2): p for p in pts}[0.5]
    # at 0.5: flagged 0.90, 0.90, 0.60 -> tp 2, fp 1 (the good 0.60), tn 1, fn 1 (the 0.30 defect)
    assert (at.tp, at.fp, at.tn, at.fn) == (2, 1, 1, 1)
    assert at.precision == pytest.approx(2 / 3)
    assert at.escape_rate == pytest.approx(1 / 3)
    maps = {iid: blob_map(VALUES[ids.index(iid)]) for iid in truth}
    expected = pr_curve(
        [ReviewedRow(i, maps[i], truth[i] in ("confirm_ng", "missed_defect")) for i in truth],
        "threshold",
        default_values(),
        ctx.recipe,
    )
    x, y = panel.plot.plots["threshold"].curve_data("recall")
    assert np.allclose(x, [p.value for p in expected])
    assert np.allclose(y, [p.recall for p in expected])
    assert panel.plot.plots["threshold"].marker.value() == pytest.approx(0.5)
    assert not panel.plot.plots["level"].marker.isVisible()  # level rule off in BASE
    panel.editor.set_value("level_ng", 0.8)
    assert panel.plot.plots["level"].marker.value() == pytest.approx(0.8)
    assert "5 reviewed" in panel.pr_label.text()
