"""Memory soak of the headless station: does a long run grow?

    python bench/soak.py --n 10000                 # a folder of N generated images
    python bench/soak.py --n 10000 --hot           # a hot folder fed by a thread, stopped by SIGINT
    python bench/soak.py --n 10000 --tracemalloc   # and where the growth after 1,000 images was allocated

Runs the real ``inspector inspect`` code path in this process (folder or hot-folder source,
pipeline, verdict writer on a SQLite file, NG archive, CSV export) with the tiny test model
(tests/tiny_model.py), and reads this process's resident memory (VmRSS in /proc/self/status)
every 1,000 images. Prints the RSS at 1k, 2k, ... and the growth after the first 1,000 images:
what a run keeps per image. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.cli import inspect_cmd
from inspector.cli.main import main
from tests.tiny_model import build_tiny_model, synthetic_image

EVERY = 1000
TARGET_GROWTH_MB = 20.0


def rss_mb() -> float:
    """This process's resident set size in MB, from /proc/self/status."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (not Linux?)")


def _image(i: int, size: int) -> Any:
    img, _ = synthetic_image(size, defect=i % 10 == 0, seed=i)  # 1 in 10 NG: archived with an overlay
    return img


def make_folder(folder: Path, n: int, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"part_{i:06d}.png"), _image(i, size))


class Sampler:
    """Samples RSS every ``EVERY`` images from the CLI's progress callback."""

    def __init__(self, trace: bool) -> None:
        self.samples: list[tuple[int, float]] = []
        self.done = 0
        self.trace = trace
        self.first: tracemalloc.Snapshot | None = None
        self.last: tracemalloc.Snapshot | None = None

    def on_progress(self, done: int) -> None:
        self.done = done
        if done % EVERY:
            return
        self.samples.append((done, rss_mb()))
        if self.trace:
            if done == EVERY:
                tracemalloc.start(10)
            elif self.first is None:
                self.first = tracemalloc.take_snapshot()
            else:
                self.last = tracemalloc.take_snapshot()


def feed_hot_folder(folder: Path, n: int, size: int, sampler: Sampler, rate: float) -> None:
    """Drop ``n`` images into ``folder`` (written aside, then renamed in: complete files only),
    then stop the run with SIGINT, like an operator's Ctrl-C, once all were inspected."""
    staging = folder.parent / "staging"
    staging.mkdir(exist_ok=True)
    for i in range(n):
        tmp = staging / f"part_{i:06d}.png"
        cv2.imwrite(str(tmp), _image(i, size))
        os.replace(tmp, folder / tmp.name)
        while rate and sampler.done < i - rate:  # keep at most `rate` files waiting
            time.sleep(0.01)
    deadline = time.monotonic() + 600
    while sampler.done < n and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGINT)


def main_soak() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000, help="images (default 10000)")
    p.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    p.add_argument("--hot", action="store_true", help="a hot folder fed by a thread instead of a folder")
    p.add_argument("--backlog", type=int, default=200, help="hot: most files waiting at once")
    p.add_argument("--tracemalloc", action="store_true", help="show where memory grew after 1k")
    p.add_argument("--keep", type=Path, help="work in this folder (kept) instead of a temp one")
    args = p.parse_args()

    sampler = Sampler(args.tracemalloc)
    real_progress = inspect_cmd.CliState.progress

    def progress(self: inspect_cmd.CliState, done: int, total: int | None, message: str = "") -> None:
        real_progress(self, done, total, message)
        sampler.on_progress(done)

    inspect_cmd.CliState.progress = progress  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        model = build_tiny_model(work / "model" / "tiny.onnx")
        images = work / "images"
        t0 = time.perf_counter()
        if args.hot:
            images.mkdir(exist_ok=True)
            feeder = threading.Thread(
                target=feed_hot_folder,
                args=(images, args.n, args.size, sampler, args.backlog),
                daemon=True,
            )
            spec = f"hot:{images}"
        else:
            make_folder(images, args.n, args.size)
            print(f"generated {args.n} images in {time.perf_counter() - t0:.0f} s", flush=True)
            spec = str(images)
        db = work / "soak.db"
        for old in (db, db.with_suffix(".db-wal"), db.with_suffix(".db-shm")):
            old.unlink(missing_ok=True)
        argv = [
            *("inspect", spec, "--model", str(model), "--db", f"sqlite:///{db}"),
            *("--archive", str(work / "archive"), "--station", "soak", "--no-progress"),
            *("--export", str(work / "soak.csv")),
        ]
        print(f"start RSS {rss_mb():.1f} MB; running: inspector {' '.join(argv)}", flush=True)
        if args.hot:
            feeder.start()
        t0 = time.perf_counter()
        rc = main(argv)
        elapsed = time.perf_counter() - t0
        rows = sum(1 for _ in (work / "soak.csv").open(encoding="utf-8")) - 1
    print(f"exit code {rc}; {sampler.done} images in {elapsed:.0f} s; export rows {rows}")
    print("images   RSS MB")
    for done, rss in sampler.samples:
        print(f"{done:6d}  {rss:7.1f}")
    if len(sampler.samples) < 2:
        print("too few samples for a growth figure")
        return 1
    (n1, r1), (nk, rk) = sampler.samples[0], sampler.samples[-1]
    growth = rk - r1
    verdict = "OK" if growth < TARGET_GROWTH_MB else "TOO MUCH"
    print(
        f"growth {n1}->{nk} images: {growth:+.1f} MB ({growth * 1024 / max(1, nk - n1) * 1024:.0f} "
        f"bytes/image); target < {TARGET_GROWTH_MB:g} MB: {verdict}"
    )
    if sampler.first is not None and sampler.last is not None:
        print("tracemalloc: largest growth between the 2nd and the last sample")
        for stat in sampler.last.compare_to(sampler.first, "lineno")[:15]:
            print(f"  {stat}")
    return 0 if growth < TARGET_GROWTH_MB else 1


if __name__ == "__main__":
    sys.exit(main_soak())
