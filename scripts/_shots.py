"""What the screenshot scripts share: the repository on ``sys.path``, waiting on the Qt event loop,
a demo run on the Live tab and closing the station window.

A script in ``scripts/`` imports it as ``_shots`` (its own folder is first on ``sys.path``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "scripts"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def pump(app: object, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def wait_for(app: object, cond: object, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def run_demo(app: object, window: object, images: int) -> None:
    """Run the demo source on the Live tab until ``images`` verdicts, then stop and wait for idle."""
    live = window.live  # type: ignore[attr-defined]
    live.set_source("demo")
    live.start()
    wait_for(app, lambda: live.counters.total >= images, 120)
    live.stop()
    wait_for(app, lambda: live.controller.state == "idle", 10)


def close_window(window: object) -> None:
    """Close the station window, its audit log and its database."""
    window.close()  # type: ignore[attr-defined]
    window.audit_log.close()  # type: ignore[attr-defined]
    window.ctx.db.dispose()  # type: ignore[attr-defined]
