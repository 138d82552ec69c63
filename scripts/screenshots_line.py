"""Screenshots of the operator's line view (OK, NG, ERROR), the product picker and a lot report.

Run under a real X server at the size of a line monitor:

    xvfb-run -a -s "-screen 0 1920x1080x24" \
        .venv/bin/python scripts/screenshots_line.py --out docs/screenshots

Everything lives in a temp folder (DB, settings, data dir). A product "Housing A, camera 2" is set up
on demo images (plus one file that cannot be decoded), a lot is started, the line view runs it full
screen, and one part of each verdict is shown for its shot. Uses the shipped demo model, else the
hand-built stand-in model (scripts/demo_standin_model.py). Prints each file with its size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _shots import close_window, pump, wait_for

PRODUCT = "Housing A, camera 2"
LOT = "LOT-2411-07"


def demo_folder(folder: Path, n: int) -> Path:
    """``n`` demo images as PNG files and one file that cannot be decoded (an ERROR part)."""
    import cv2

    from inspector.core.demo import DemoSource
    from inspector.core.types import Frame

    folder.mkdir(parents=True, exist_ok=True)
    for i, item in enumerate(DemoSource(n=n).frames(lambda: False)):
        if isinstance(item, Frame) and item.image is not None:
            cv2.imwrite(str(folder / f"part_{i:04d}.png"), item.image)
    (folder / "part_9999.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # truncated: ERROR
    return folder


def make_product(db: object, model: Path, folder: Path) -> None:
    from db import queries
    from inspector.core.model_card import load_card
    from inspector.core.recipe import Recipe
    from inspector.services import products
    from inspector.services.promotion import ensure_production_model

    card = load_card(model)
    ensure_production_model(db, card, model, "qa")
    queries.save_recipe_version(db, Recipe(name="housing", version=2, min_area_px=20), "qa", "housing A")
    spec = products.ProductSpec(
        name=PRODUCT,
        description="Die-cast housing, top face, camera 2",
        model_sha256=card.sha256,
        recipe_name="housing",
        recipe_version=2,
        source=products.SourceSettings(kind="folder", spec=str(folder)),
    )
    products.create_product(db, spec, "qa")
    products.create_product(
        db, spec.model_copy(update={"name": "Bracket B", "description": "Steel bracket"}), "qa"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("screenshots"))
    p.add_argument("--model", type=Path, help="ONNX model (default: shipped demo model, else a stand-in)")
    p.add_argument("--images", type=int, default=24, help="demo images in the lot")
    args = p.parse_args(argv)

    out: Path = args.out.resolve()
    requested = args.model.resolve() if args.model else None
    tmp = Path(tempfile.mkdtemp(prefix="inspector-line-shots-"))
    os.chdir(tmp)  # the product's folder and the reports as relative paths: no temp names in the shots
    os.environ.setdefault("INSPECTOR_SETTINGS", str(tmp / "settings.ini"))
    os.environ.setdefault("INSPECTOR_DATA_DIR", "data")
    from demo_standin_model import pick_model
    from PySide6.QtWidgets import QApplication

    from inspector.ui.app import StartOptions, create_window
    from inspector.ui.style import apply_style

    app = QApplication([sys.argv[0]])
    apply_style(app)
    out.mkdir(parents=True, exist_ok=True)
    model = pick_model(tmp, requested)
    window = create_window(
        StartOptions(
            db_url=f"sqlite:///{tmp / 'station.db'}",
            model=model,
            station="line-3-cam-2",
            archive_dir=tmp / "archive",
            autostart=False,
        )
    )
    window.resize(1600, 1000)
    window.show()
    pump(app, 0.5)
    shots: list[Path] = []

    def shoot(widget: object, name: str) -> None:
        pump(app, 0.4)
        path = out / name
        widget.grab().save(str(path), "PNG", 0)  # type: ignore[attr-defined]
        shots.append(path)

    make_product(window.ctx.db, model, demo_folder(Path("parts"), args.images))
    pc = window.products
    picker = pc.choose_dialog()
    wait_for(app, lambda: picker.list.count() > 0, 10)
    picker.select(PRODUCT)
    shoot(picker, "product_picker.png")
    picker.choose_selected()
    wait_for(app, lambda: pc.product is not None, 20)
    pc.start_lot(LOT)
    wait_for(app, lambda: pc.lot is not None, 10)

    mode = window.line_view
    mode.enter()
    window.setGeometry(app.primaryScreen().geometry())  # Xvfb has no window manager to do it
    pump(app, 0.5)
    live = window.live
    mode.space()  # start, as the operator does
    wait_for(app, lambda: live.last_summary is not None, 180)
    pump(app, 1.0)
    view = mode.view
    view.message_label.clear()  # the run's messages name the temp folder: not for the docs
    picks: dict[str, object] = {}
    for row in range(live.recent.count()):  # newest first: the newest of each verdict
        r = live.recent.result_at(row)
        if r is not None:
            picks.setdefault(r.decision.verdict.value, r)
    for verdict in ("OK", "NG", "ERROR"):
        if verdict in picks:
            view.show_result(picks[verdict])  # type: ignore[arg-type]
            shoot(window, f"line_view_{verdict.lower()}.png")

    mode.leave()
    pc.end_lot(confirm=False)
    wait_for(app, lambda: pc.lot is None, 20)
    dialog = pc.toolbar.open_report()
    wait_for(app, lambda: dialog.lot_box.findData(LOT) >= 0, 10)
    dialog.generate()
    wait_for(app, lambda: len(dialog.written) == 2, 60)
    shoot(dialog, "lot_report.png")

    close_window(window)
    for path in shots:
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
