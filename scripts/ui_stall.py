"""Measure the longest UI-thread stall while the station inspects N images.

A 10 ms QTimer heartbeat runs on the UI thread; every gap between two beats
beyond the interval is time the UI could not react (paint, clicks, keys). The
run goes through the real main window (worker thread, DB writer, display
timer, recent strip), on the demo source or a folder.

    python scripts/ui_stall.py                       # 200 demo images, offscreen
    python scripts/ui_stall.py --folder DIR --n 200
    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/ui_stall.py --platform xcb

    python scripts/ui_stall.py --threads 2           # ONNX Runtime threads of the run (default: the GUI's)

Prints the max and p99 gap and the throughput. Uses the shipped demo model,
else the stand-in model of scripts/demo_standin_model.py (similar CPU cost).
The stalls a slow or locked database could cause while a person reviews, pages
History and saves recipes are measured by bench/ui_stall_slowdb.py, with the heartbeat and
the idle baseline of this script (``Heartbeat``, ``use_platform``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def use_platform(platform: str | None) -> None:
    """The Qt platform: ``platform`` when given, else offscreen unless DISPLAY is set."""
    if platform:
        os.environ["QT_QPA_PLATFORM"] = platform
    elif not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Heartbeat:
    """A QTimer on the UI thread that notes the time of every beat in ``beats``; every gap between
    two beats beyond the interval is time the UI could not react."""

    def __init__(self, interval_ms: int = 10) -> None:
        from PySide6.QtCore import QTimer

        self.interval_ms = interval_ms
        self.beats: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def gaps_ms(self) -> np.ndarray:
        """The gaps between the beats so far, in ms."""
        import numpy as np

        return np.diff(np.asarray(self.beats)) * 1e3

    def idle_baseline(self, seconds: float) -> np.ndarray | None:
        """Beat ``seconds`` with the window idle and hand back those gaps (None for 0 s): on a
        shared machine the OS alone causes gaps, and the baseline tells them apart. The beats
        are cleared for the measurement that follows."""
        if seconds <= 0:
            return None
        from PySide6.QtCore import QEventLoop, QTimer

        self.start()
        # A local loop, not app.exec()/app.quit(): quitting the application closes its windows.
        idle = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), idle.quit)
        idle.exec()
        self.stop()
        baseline = self.gaps_ms()
        self.beats.clear()
        return baseline


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="images to inspect")
    p.add_argument("--folder", type=Path, help="inspect this folder instead of the demo source")
    p.add_argument("--model", type=Path)
    p.add_argument("--interval-ms", type=int, default=10)
    p.add_argument(
        "--baseline-s",
        type=float,
        default=3.0,
        help="first measure this long with the window idle: on a shared machine the OS alone "
        "causes gaps, and the baseline tells them apart (0: skip)",
    )
    p.add_argument(
        "--no-prepare",
        action="store_true",
        help="skip run_gui's prepare_runtime() (pre-imports + gc.freeze) to see its effect",
    )
    p.add_argument("--platform", default=None, help="Qt platform (default: offscreen unless DISPLAY is set)")
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="inference threads for the run (the live/threads setting; 0: the GUI's default)",
    )
    args = p.parse_args(argv)

    use_platform(args.platform)
    tmp = Path(tempfile.mkdtemp(prefix="inspector-stall-"))
    os.environ["INSPECTOR_SETTINGS"] = str(tmp / "settings.ini")

    import numpy as np
    from demo_standin_model import pick_model
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from inspector.ui.app import StartOptions, create_window, prepare_runtime
    from inspector.ui.style import apply_style

    app = QApplication([sys.argv[0]])
    apply_style(app)
    model = pick_model(tmp, args.model)
    window = create_window(
        StartOptions(
            db_url=f"sqlite:///{tmp / 'station.db'}",
            model=model,
            station="stall-test",
            archive_dir=tmp / "archive",
            autostart=False,
        )
    )
    window.resize(1500, 940)
    if args.threads > 0:
        window.ctx.settings.setValue("live/threads", args.threads)
    if not args.no_prepare:
        prepare_runtime()  # what run_gui does before showing the window
    window.show()
    live = window.live
    if args.folder:
        live.set_source("folder", str(args.folder))
        live.chooser.skip_check.setChecked(False)
    else:
        live.set_source("demo")
        window.ctx.settings.setValue("live/demo_fps", 0)  # unpaced: as many results as the model gives
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # let the first paint and panel set-up finish before measuring
        app.processEvents()

    heart = Heartbeat(args.interval_ms)
    baseline = heart.idle_baseline(args.baseline_s)

    state = {"t0": 0.0, "t1": 0.0}

    def check() -> None:
        if live.counters.total >= args.n and not state["t1"]:
            state["t1"] = time.perf_counter()
            live.stop()
        if live.last_summary is not None:  # the run has ended (stopped, or the folder is done)
            state["t1"] = state["t1"] or time.perf_counter()
            loop.quit()

    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(5)
    live.last_summary = None
    heart.start()
    state["t0"] = time.perf_counter()
    live.start()
    loop.exec()
    heart.stop()
    n = live.counters.total
    elapsed = (state["t1"] or time.perf_counter()) - state["t0"]
    gaps = heart.gaps_ms()
    window.close()
    window.audit_log.close()
    if gaps.size == 0:
        print("no heartbeat recorded")
        return 1
    print(
        f"images inspected: {n} in {elapsed:.1f} s ({n / elapsed:.1f} img/s), model {model.name}, "
        f"backend {window.ctx.model.backend_display}, threads {window.live.inference_threads()}"
    )
    print(
        f"heartbeat {args.interval_ms} ms: {gaps.size} gaps, median {np.median(gaps):.1f} ms, "
        f"p99 {np.percentile(gaps, 99):.1f} ms, max {gaps.max():.1f} ms"
    )
    if baseline is not None and baseline.size:
        print(
            f"idle baseline ({args.baseline_s:.0f} s, no run): median {np.median(baseline):.1f} ms, "
            f"p99 {np.percentile(baseline, 99):.1f} ms, max {baseline.max():.1f} ms"
        )
    worst = np.argsort(gaps)[::-1][:5]
    at = ", ".join(f"{gaps[i]:.0f} ms at +{heart.beats[i] - state['t0']:.2f} s" for i in sorted(worst))
    print(f"longest gaps (time since Start): {at}")
    print(f"MAX UI STALL: {gaps.max():.1f} ms")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
