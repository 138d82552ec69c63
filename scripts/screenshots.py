"""Render a screenshot of every panel on demo data, for docs and look-and-feel review.

Run under a real X server (the offscreen platform skips native rendering paths):

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshots.py --out screenshots/

(Debian/Ubuntu packages: xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0.)

Everything lives in a temp folder (DB, settings, data dir with the QA PIN, archive) unless --db is given.
Besides one shot per tab: rules_zones.png (zones drawn on the Rules image, the version list
with a diff) and trainer_1440.png (the Trainer tab at the default 1440x900 window).
Uses the shipped demo model; without one, a hand-built stand-in model
(scripts/demo_standin_model.py) runs so the screenshots still show real verdicts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _shots import close_window, pump, run_demo, wait_for


def shoot_errors(app: object, window: object, tmp: Path, shoot: object) -> None:
    """live_error.png and history_error.png: a folder run over a few good images and files that
    cannot be decoded, so the last part is an ERROR (banner, Errors tile, tinted History rows)."""
    import cv2

    live = window.live  # type: ignore[attr-defined]
    folder = tmp / "with-unreadable"
    folder.mkdir(parents=True, exist_ok=True)
    for row in range(min(live.recent.count(), 3)):
        r = live.recent.result_at(row)
        if r is not None and r.frame.image is not None:
            cv2.imwrite(str(folder / f"part_{row:03d}.png"), r.frame.image)
    # two undecodable files (the newest row selected in History, the other one showing its tint)
    (folder / "part_998.jpg").write_text("not a jpeg")
    (folder / "part_999.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # truncated PNG
    live.set_source("folder", str(folder))
    live.last_summary = None
    live.start()
    wait_for(app, lambda: live.last_summary is not None, 60)
    pump(app, 0.5)  # the display timer draws the last (ERROR) result
    window.tabs.setCurrentIndex(0)  # type: ignore[attr-defined]
    shoot(window, "live_error.png")  # type: ignore[operator]

    history = window.panels.get("History")  # type: ignore[attr-defined]
    if history is None:
        return
    window.tabs.setCurrentWidget(history)  # type: ignore[attr-defined]
    pump(app, 1.0)
    history.refresh()
    for row in range(min(history.model.rowCount(), 40)):
        hist = history.model.row_at(row)
        if hist is not None and hist.verdict.value == "ERROR":
            history.select_row(row)
            break
    pump(app, 1.0)
    shoot(window, "history_error.png")  # type: ignore[operator]
    window.tabs.setCurrentIndex(0)  # type: ignore[attr-defined]


def shoot_rules_zones(app: object, window: object, ng_id: int | None, shoot: object) -> None:
    """rules_zones.png: zones drawn on the Rules image (an ROI and an exclusion, as dragging makes
    them) and the version list with the selected old version's parameters and diff."""
    rules = window.panels.get("Rules")  # type: ignore[attr-defined]
    if rules is None or not hasattr(rules, "zones"):
        return
    ctx = window.ctx  # type: ignore[attr-defined]
    window.tabs.setCurrentWidget(rules)  # type: ignore[attr-defined]
    if ng_id is not None:
        rules.set_inspection(ng_id)
    wait_for(app, lambda: rules.view is not None, 10)
    pump(app, 0.5)
    size = rules.image.image_size() or (512, 512)
    w, h = size
    ctx.set_role("qa", "Dana (QA)")
    for kind, (x0, y0, x1, y1) in (("roi", (0.06, 0.06, 0.94, 0.94)), ("exclusion", (0.66, 0.08, 0.9, 0.3))):
        rules.draw_buttons[kind].setChecked(True)  # as the Draw buttons do, then a drag on the image
        rules.zones.begin_draw(x0 * w, y0 * h)
        rules.zones.drag_to((x0 + x1) / 2 * w, (y0 + y1) / 2 * h)
        rules.zones.finish_draw(x1 * w, y1 * h)
        rules.draw_buttons[kind].setChecked(False)
    job = rules.apply("ROI around the part, label area excluded")
    wait_for(app, lambda: job is None or (job.done() and not rules.is_saving()), 20)
    rules.editor.set_value("threshold", 0.6)
    rules.editor.set_value("min_area_px", 30)
    job = rules.apply("fewer false rejects on small specks")
    wait_for(app, lambda: job is None or (job.done() and not rules.is_saving()), 20)
    pump(app, 1.0)
    last = rules.versions.rowCount() - 1  # the oldest version: its diff to the running one
    rules.bottom_tabs.setCurrentIndex(rules.bottom_tabs.count() - 1)  # the Versions tab
    rules.versions.setCurrentCell(last, 0)
    rules.zones.select("exclusion", 0)
    pump(app, 1.5)  # what-if replay and the version list come in off the UI thread
    shoot(window, "rules_zones.png")  # type: ignore[operator]
    ctx.set_role("operator")


def shoot_trainer_1440(app: object, window: object, shoot: object) -> None:
    """trainer_1440.png: the Trainer tab at the default window size (1440x900)."""
    trainer = window.panels.get("Trainer")  # type: ignore[attr-defined]
    if trainer is None:
        return
    window.resize(1440, 900)  # type: ignore[attr-defined]
    window.tabs.setCurrentWidget(trainer)  # type: ignore[attr-defined]
    pump(app, 1.5)
    shoot(window, "trainer_1440.png")  # type: ignore[operator]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("screenshots"))
    p.add_argument("--model", type=Path, help="ONNX model (default: shipped demo model, else a tiny one)")
    p.add_argument("--db", help="SQLAlchemy URL (default: a temp SQLite file)")
    p.add_argument("--images", type=int, default=40, help="demo images to inspect before the Live shot")
    p.add_argument("--size", default="1500x940", help="window size WxH")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="inspector-shots-"))
    import os

    os.environ.setdefault("INSPECTOR_SETTINGS", str(tmp / "settings.ini"))
    os.environ.setdefault("INSPECTOR_DATA_DIR", str(tmp / "data"))  # the QA PIN's secrets file
    from demo_standin_model import pick_model
    from PySide6.QtWidgets import QApplication

    from inspector.core.secret_store import SecretStore
    from inspector.ui.app import StartOptions, create_window
    from inspector.ui.style import apply_style

    pins = SecretStore()
    if tmp in pins.path.parents and not pins.has_pin():
        # A throwaway PIN in the temp data dir: the login dialog shows the usual prompt, not "QA is locked".
        pins.set_pin("246810")

    app = QApplication([sys.argv[0]])
    apply_style(app)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model = pick_model(tmp, args.model)
    db_url = args.db or f"sqlite:///{tmp / 'station.db'}"
    window = create_window(
        StartOptions(
            db_url=db_url, model=model, station="line-3", archive_dir=tmp / "archive", autostart=False
        )
    )
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.show()
    pump(app, 0.5)
    shots: list[Path] = []

    def shoot(widget: object, name: str) -> None:
        pump(app, 0.3)
        path = out / name
        widget.grab().save(str(path))  # type: ignore[attr-defined]
        shots.append(path)

    live = window.live
    run_demo(app, window, args.images)
    # Show the clearest NG among the recent verdicts (largest defect): it is the interesting case.
    best, best_area = -1, 0
    for row in range(live.recent.count()):
        r = live.recent.result_at(row)
        area = sum(g.area_px for g in r.decision.regions) if r is not None else 0
        if r is not None and r.decision.verdict.value == "NG" and area > best_area:
            best, best_area = row, area
    if best >= 0:
        live.recent.setCurrentRow(best)
    window.tabs.setCurrentIndex(0)
    shoot(window, "live.png")
    live.image_view.set_mode("heatmap")
    shoot(window, "live_heatmap.png")
    live.image_view.set_mode("contours")
    live.follow_live()

    ng_id: int | None = None
    for index in range(1, window.tabs.count()):  # History, Rules, and any other tab installed
        window.tabs.setCurrentIndex(index)
        pump(app, 1.5)  # panels load their rows off the UI thread
        panel = window.tabs.widget(index)
        if hasattr(panel, "select_row") and hasattr(panel, "model"):
            # show a rejected part with its detail, as an operator reviewing would
            for row in range(min(panel.model.rowCount(), 40)):
                hist = panel.model.row_at(row)
                if hist is not None and hist.verdict.value == "NG":
                    panel.select_row(row)
                    ng_id = hist.id
                    break
            pump(app, 1.0)
        elif hasattr(panel, "set_inspection") and ng_id is not None:
            panel.set_inspection(ng_id)
            pump(app, 1.5)
        shoot(window, f"{window.tabs.tabText(index).lower()}.png")
    window.tabs.setCurrentIndex(0)
    shoot_errors(app, window, tmp, shoot)

    dlg = window.roles.request_qa()
    if dlg is not None:
        shoot(dlg, "qa_login.png")
        dlg.reject()
    shoot(window.show_shortcuts(), "shortcuts.png")
    window.shortcuts_dialog.close()
    shoot_rules_zones(app, window, ng_id, shoot)
    shoot_trainer_1440(app, window, shoot)

    close_window(window)
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
