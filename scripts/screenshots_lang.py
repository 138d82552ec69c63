"""Screenshots of the station in another language (German by default), to check texts that are cut off.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshots_lang.py --lang de \
        --main docs/screenshots/main_de.png --out screenshots/de/

The main window (Live tab, after a few demo images) goes to --main (kept under 300 KB: saved as an
8-bit palette PNG); every tab, the line view, the login, settings, product picker and report
dialogs go to --out for review. Everything else lives in a temp folder (DB, settings, data dir).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _shots import close_window, pump, run_demo

MAX_BYTES = 300_000


def save_small(pixmap: object, path: Path) -> int:
    """Save as PNG; as an 8-bit palette PNG when the full-colour one is over MAX_BYTES. Returns bytes."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixmap.save(str(path))  # type: ignore[attr-defined]
    if path.stat().st_size > MAX_BYTES:
        Image.open(path).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(
            path, optimize=True
        )
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lang", default="de", help="language code (default: de)")
    p.add_argument(
        "--main", type=Path, help="where the main window's shot goes (e.g. docs/screenshots/main_de.png)"
    )
    p.add_argument("--out", type=Path, default=Path("screenshots/lang"), help="folder for the other shots")
    p.add_argument("--images", type=int, default=30, help="demo images to inspect before the Live shot")
    p.add_argument("--size", default="1600x1000", help="window size WxH")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="inspector-lang-shots-"))
    os.environ["INSPECTOR_SETTINGS"] = str(tmp / "settings.ini")
    os.environ["INSPECTOR_DATA_DIR"] = str(tmp / "data")
    from demo_standin_model import pick_model
    from PySide6.QtWidgets import QApplication

    from inspector.core.secret_store import SecretStore
    from inspector.ui import i18n
    from inspector.ui.app import StartOptions, create_window
    from inspector.ui.style import apply_style

    SecretStore().set_pin("246810")  # the login dialog shows its prompt, not "QA is locked"
    app = QApplication([sys.argv[0]])
    loaded = i18n.install(args.lang, app)  # before any widget, as run_gui does
    print("translations:", *loaded, sep="\n  ")
    apply_style(app)
    window = create_window(
        StartOptions(
            db_url=f"sqlite:///{tmp / 'station.db'}",
            model=pick_model(tmp, None),
            station="linie-3",
            archive_dir=tmp / "archive",
            autostart=False,
        )
    )
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.show()
    pump(app, 0.5)
    out: Path = args.out

    def shoot(widget: object, name: str) -> None:
        pump(app, 0.4)
        size = save_small(widget.grab(), out / name)  # type: ignore[attr-defined]
        print(f"{out / name} ({size / 1000:.0f} kB)")

    run_demo(app, window, args.images)
    window.tabs.setCurrentIndex(0)
    pump(app, 0.5)
    if args.main is not None:
        size = save_small(window.grab(), args.main)
        print(f"{args.main} ({size / 1000:.0f} kB)")
    shoot(window, "live.png")
    for index in range(1, window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        pump(app, 1.5)  # panels read their rows off the UI thread
        shoot(window, f"tab_{index}.png")
    window.tabs.setCurrentIndex(0)
    for name, dialog in (
        ("login.png", window.roles.request_login()),
        ("settings.png", window.show_settings()),
        ("shortcuts.png", window.show_shortcuts()),
        ("products.png", window.products.choose_dialog()),
        ("report.png", window.products.toolbar.open_report()),
    ):
        if dialog is not None:
            shoot(dialog, name)
            dialog.close()
    window.line_view.toggle()
    pump(app, 1.0)
    shoot(window, "line_view.png")
    window.line_view.toggle()
    close_window(window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
