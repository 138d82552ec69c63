"""UI-thread stalls while a person works the station against a slow or locked database.

A scripted session on the real main window (no inspection run): in History, review 20
rows with the one-key dispositions (N / F / O, an operator's pace), page through all
2,000 logged rows with PageDown (every row's page and the selected row's detail and
image are read), then in Rules type a new threshold and Apply it as QA. A 10 ms QTimer
heartbeat on the UI thread measures every gap: time the window could not paint or take
a key. Target: no gap over 100 ms, whatever the database does.

    python bench/ui_stall_slowdb.py                  # every mode below, each in its own process
    python bench/ui_stall_slowdb.py --slow delay     # one mode
    xvfb-run -a -s "-screen 0 1600x1000x24" python bench/ui_stall_slowdb.py --platform xcb

Modes (``--slow``):

* ``none``  - a healthy SQLite file;
* ``lock``  - another program holds SQLite's write lock for ``--hold-s`` seconds (default 5),
  lets go for 0.2 s, takes it again, for the whole session: every write waits;
* ``delay`` - every database transaction (read or write) starts ``--delay-s`` late
  (default 2 s): a database server far away or very busy.

It prints the heartbeat's max and p99 gap, the gaps over 100 ms, and when the last
review, page and recipe version were in (the work is done later, never lost). The heartbeat
and the idle baseline are scripts/ui_stall.py's.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

MODES = ("none", "lock", "delay")
TARGET_MS = 100.0
N_ROWS = 2000
N_REVIEWS = 20


# -- the database ------------------------------------------------------------------------------------
def populate(db: Any, folder: Path, n: int = N_ROWS) -> None:
    """``n`` logged inspections with maps and images (512x512 PNGs), oldest first."""
    import cv2
    import numpy as np
    from sqlalchemy import insert, select

    from db import registry
    from db.models import Inspection, ProbMap
    from inspector.core.postprocess import encode_prob_png

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    images, maps = [], []
    for k in range(10):
        img = rng.integers(60, 120, (512, 512), dtype=np.uint8)
        prob = np.zeros((512, 512), np.float32)
        if k % 3 == 0:
            cv2.circle(img, (100 + 30 * k, 200), 12, 240, -1)
            prob[188:212, 88 + 30 * k : 112 + 30 * k] = 0.9
        path = folder / f"part_{k}.png"
        cv2.imwrite(str(path), img)
        images.append(str(path))
        maps.append(encode_prob_png(prob))
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    verdicts = ["OK"] * 6 + ["NG"] * 3 + ["REVIEW"]
    with db.write() as s:
        station = registry.ensure_station(s, "bench", "host")
        model = registry.ensure_model(s, "ef" * 32, "bench-model")
        recipe = registry.ensure_recipe(s, "default", 1, {})
    rows = [
        {
            "station_id": station,
            "source": "folder:/line",
            "source_key": f"/line/part_{i:05d}.png",
            "image_path": images[i % 10],
            "captured_at": t0 + timedelta(seconds=i),
            "inspected_at": t0 + timedelta(seconds=i),
            "model_id": model,
            "recipe_id": recipe,
            "backend": "cpu",
            "threshold": 0.5,
            "verdict": verdicts[i % 10],
            "score": 0.9 if verdicts[i % 10] != "OK" else 0.1,
            "area_ratio": 0.0,
            "n_regions": 1 if verdicts[i % 10] != "OK" else 0,
            "reasons": [] if verdicts[i % 10] == "OK" else ["region 1: level 0.90 >= 0.50"],
            "timings": {},
        }
        for i in range(n)
    ]
    with db.write() as s:
        s.execute(insert(Inspection), rows)
        ids = list(s.scalars(select(Inspection.id).order_by(Inspection.id)))
        s.execute(insert(ProbMap), [{"inspection_id": iid, "png": maps[k % 10]} for k, iid in enumerate(ids)])


class LockHolder(threading.Thread):
    """Another program that keeps taking SQLite's write lock: held ``hold_s``, free 0.2 s, again."""

    def __init__(self, path: Path, hold_s: float) -> None:
        super().__init__(daemon=True, name="lock-holder")
        self.path, self.hold_s = path, hold_s
        self.stop = threading.Event()
        self.held_s = 0.0

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        while not self.stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            t0 = time.monotonic()
            self.stop.wait(self.hold_s)
            conn.rollback()
            self.held_s += time.monotonic() - t0
            self.stop.wait(0.2)
        conn.close()


class StallWatch(threading.Thread):
    """Prints the UI thread's stack when the heartbeat is 80 ms late (once per stall)."""

    def __init__(self, beats: list[float]) -> None:
        super().__init__(daemon=True, name="stall-watch")
        self.beats = beats
        self.ui = threading.main_thread().ident

    def run(self) -> None:
        import traceback

        reported = 0.0
        while True:
            time.sleep(0.02)
            last = self.beats[-1] if self.beats else time.perf_counter()
            if time.perf_counter() - last > 0.08 and last != reported:
                reported = last
                frame = sys._current_frames().get(self.ui or 0)
                if frame is not None:
                    stack = "".join(traceback.format_stack(frame)[-12:])
                    print(
                        f"--- UI thread late by {1e3 * (time.perf_counter() - last):.0f} ms:\n{stack}",
                        file=sys.stderr,
                    )


def slow_transactions(db: Any, delay_s: float) -> None:
    """Every transaction of the station's engine starts ``delay_s`` late (before its BEGIN)."""
    from sqlalchemy import event

    def late(_conn: Any) -> None:
        time.sleep(delay_s)

    event.listen(db.engine, "begin", late, insert=True)


def count(path: Path, sql: str) -> int:
    """Read a count through a connection of our own (not the station's, so never slowed)."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


# -- the session --------------------------------------------------------------------------------------
def session(window: Any, qtest: Any, Qt: Any, marks: dict[str, float]) -> Iterator[int]:
    """The person's actions; each ``yield`` is a pause in ms (the event loop runs meanwhile)."""
    history = window.panels["History"]
    rules = window.panels["Rules"]
    table = history.table
    window.tabs.setCurrentWidget(history)
    while history.model.rowCount() == 0:
        yield 50
    marks["history_shown"] = time.perf_counter()
    table.setFocus()
    qtest.keyClick(table, Qt.Key.Key_Home)
    yield 300
    keys = {
        "NG": (Qt.Key.Key_N, Qt.Key.Key_F),
        "REVIEW": (Qt.Key.Key_N, Qt.Key.Key_F),
        "OK": (Qt.Key.Key_O, Qt.Key.Key_O),
    }
    reviewed = 0
    for step in range(200):
        if reviewed >= N_REVIEWS:
            break
        row = history.current_row()
        if row is not None and row.verdict.value in keys:
            qtest.keyClick(table, keys[row.verdict.value][reviewed % 2])
            reviewed += 1
            yield 150  # an operator's pace: look, press, next
        qtest.keyClick(table, Qt.Key.Key_J)
        yield 120 if step % 5 else 250
    marks["reviews_pressed"] = time.perf_counter()
    marks["reviews"] = reviewed
    # page through every row: PageDown until the last row is current
    n = history.model.rowCount()
    for _ in range(400):
        qtest.keyClick(table, Qt.Key.Key_PageDown)
        yield 30
        if table.currentIndex().row() >= n - 1:
            break
    marks["paged_to"] = table.currentIndex().row()
    qtest.keyClick(table, Qt.Key.Key_Home)
    yield 200
    marks["paging_done"] = time.perf_counter()
    # Rules: type a new threshold and apply it as QA
    window.ctx.set_role("qa", "bench")
    window.tabs.setCurrentWidget(rules)
    yield 300
    box = rules.editor.boxes["threshold"]
    box.setFocus()
    box.lineEdit().selectAll()
    qtest.keyClicks(box.lineEdit(), "0.65")
    yield 400  # the what-if replay starts after its debounce
    rules.reason_edit.setText("bench: slow database")
    qtest.mouseClick(rules.apply_button, Qt.MouseButton.LeftButton)
    marks["apply_clicked"] = time.perf_counter()
    yield 500


def run_mode(args: argparse.Namespace) -> int:
    from ui_stall import Heartbeat, use_platform

    use_platform(args.platform)
    tmp = Path(tempfile.mkdtemp(prefix="inspector-slowdb-"))
    os.environ["INSPECTOR_SETTINGS"] = str(tmp / "settings.ini")
    os.environ["INSPECTOR_DATA_DIR"] = str(tmp / "data")
    os.environ["INSPECTOR_RESOURCES"] = str(tmp / "resources")  # no model: nothing runs but the person

    import numpy as np
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from db.session import open_db
    from inspector.ui.app import StartOptions, create_window, prepare_runtime
    from inspector.ui.style import apply_style

    db_path = tmp / "station.db"
    seed = open_db(f"sqlite:///{db_path}")
    populate(seed, tmp / "images")
    seed.dispose()

    app = QApplication([sys.argv[0]])
    apply_style(app)
    window = create_window(
        StartOptions(
            db_url=f"sqlite:///{db_path}",
            model=tmp / "none.onnx",
            station="bench",
            archive_dir=tmp / "archive",
            autostart=False,
        )
    )
    window.resize(1500, 940)
    prepare_runtime()
    window.show()
    window.raise_()
    window.activateWindow()  # the review keys are shortcuts of the active window
    end = time.monotonic() + 1.0
    while time.monotonic() < end or (not window.isActiveWindow() and time.monotonic() < end + 4):
        app.processEvents()  # first paint, panel set-up

    holder: LockHolder | None = None
    if args.slow == "lock":
        holder = LockHolder(db_path, args.hold_s)
        holder.start()
    elif args.slow == "delay":
        slow_transactions(window.ctx.db, args.delay_s)

    heart = Heartbeat(10)
    baseline = heart.idle_baseline(args.baseline_s)  # the window idle: the OS alone makes gaps
    marks: dict[str, float] = {}
    script = session(window, QTest, Qt, marks)
    loop = QEventLoop()

    def step() -> None:
        try:
            QTimer.singleShot(next(script), step)
        except StopIteration:
            loop.quit()

    heart.start()
    if args.why:
        StallWatch(heart.beats).start()
    t0 = time.perf_counter()
    QTimer.singleShot(0, step)
    QTimer.singleShot(int(args.timeout_s * 1000), loop.quit)
    loop.exec()
    t_script = time.perf_counter() - t0

    # keep beating until the database has caught up with what the person did
    expected_reviews = int(marks.get("reviews", 0))
    done: dict[str, float] = {}
    wait_until = time.perf_counter() + args.timeout_s

    def caught_up() -> bool:
        if "reviews" not in done and count(db_path, "SELECT COUNT(*) FROM review") >= expected_reviews:
            done["reviews"] = time.perf_counter() - t0
        if "recipe" not in done and count(db_path, "SELECT MAX(version) FROM recipe") >= 2:
            done["recipe"] = time.perf_counter() - t0
        return ("reviews" in done and "recipe" in done) or time.perf_counter() > wait_until

    checker_done = threading.Event()

    def watch(check: Callable[[], bool]) -> None:  # polled off the UI thread: it reads the file itself
        while not check():
            time.sleep(0.1)
        checker_done.set()

    threading.Thread(target=watch, args=(caught_up,), daemon=True).start()
    settle = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: settle.quit() if checker_done.is_set() else None)
    poll.start(50)
    settle.exec()
    poll.stop()
    heart.stop()
    if holder is not None:
        holder.stop.set()
        holder.join()

    gaps = heart.gaps_ms()
    t_all = time.perf_counter() - t0
    window.ctx.set_role("operator")
    window.close()
    window.audit_log.close()
    window.ctx.db.dispose()
    over = gaps[gaps > TARGET_MS]
    label = {
        "none": "healthy DB",
        "lock": f"write lock held {args.hold_s:g} s at a time",
        "delay": f"every transaction {args.delay_s:g} s late",
    }[args.slow]
    print(f"mode {args.slow} ({label}); platform {os.environ.get('QT_QPA_PLATFORM', 'default')}")
    paged = int(marks.get("paged_to", -1)) + 1
    t_reviews, t_recipe = done.get("reviews", float("nan")), done.get("recipe", float("nan"))
    stored = count(db_path, "SELECT COUNT(*) FROM review")
    print(
        f"  session: {expected_reviews} review keys, paged to row {paged} of {N_ROWS}, 1 recipe apply; "
        f"script {t_script:.1f} s; {stored} reviews stored (all at +{t_reviews:.1f} s), recipe v2 stored "
        f"at +{t_recipe:.1f} s (of {t_all:.1f} s)"
    )
    p99, worst = float(np.percentile(gaps, 99)), float(gaps.max())
    print(
        f"  heartbeat 10 ms: {gaps.size} gaps, median {np.median(gaps):.1f} ms, p99 {p99:.1f} ms, "
        f"max {worst:.1f} ms, {over.size} gaps > {TARGET_MS:.0f} ms"
    )
    if baseline is not None and baseline.size:
        b99, bmax = float(np.percentile(baseline, 99)), float(baseline.max())
        print(f"  idle baseline ({args.baseline_s:g} s, nothing to do): p99 {b99:.1f} ms, max {bmax:.1f} ms")
    print(f"RESULT {args.slow} max_ms={worst:.1f} p99_ms={p99:.1f} over_100={over.size}")
    sys.stdout.flush()
    return 0 if gaps.max() <= TARGET_MS else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--slow", choices=(*MODES, "all"), default="all")
    p.add_argument("--hold-s", type=float, default=5.0, help="lock mode: seconds the write lock is held")
    p.add_argument("--delay-s", type=float, default=2.0, help="delay mode: seconds every transaction waits")
    p.add_argument("--timeout-s", type=float, default=240.0)
    p.add_argument("--baseline-s", type=float, default=2.0, help="measure the idle window first (0: skip)")
    p.add_argument("--platform", default=None, help="Qt platform (default: offscreen unless DISPLAY is set)")
    p.add_argument(
        "--why",
        action="store_true",
        help="print the UI thread's stack whenever it has not beaten for 80 ms (what stalls it)",
    )
    args = p.parse_args(argv)
    if args.slow != "all":
        return run_mode(args)
    if args.why:
        p.error("--why needs one --slow mode")
    worst = 0
    for mode in MODES:  # each in a fresh process: nothing left over from the previous one
        cmd = [
            sys.executable,
            __file__,
            "--slow",
            mode,
            "--hold-s",
            str(args.hold_s),
            "--delay-s",
            str(args.delay_s),
            "--timeout-s",
            str(args.timeout_s),
            "--baseline-s",
            str(args.baseline_s),
        ]
        if args.platform:
            cmd += ["--platform", args.platform]
        worst = max(worst, subprocess.run(cmd, check=False).returncode)
    return worst


if __name__ == "__main__":
    sys.exit(main())
