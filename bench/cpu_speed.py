"""Issue 9's benchmark: the station on a CPU against the FP32 seed U-Net under bare ONNX Runtime.

    python bench/cpu_speed.py [--baseline resources/models/dagm-class1-fp32/model.onnx]
                              [--fast resources/models/dagm-class1/model.onnx] [--rounds 5]

In ONE process, in interleaved rounds (every measurement once per round, so a machine that gets
busier or quieter during the run moves all of them alike), with medians over the rounds:

- baseline: the FP32 seed model, bare ONNX Runtime (the station's settings: all cores, spinning
  off), batch 1, pre-processed tensors, inference only;
- the fast model bare, under ONNX Runtime and OpenVINO, at batch 1, 2 and 4, and OpenVINO
  with overlapped calls on a backlog (one image per call, started without waiting: the way the
  station calls it when frames queue up);
- the whole station: ``select_backend("auto")`` (TensorRT, else the probed faster CPU runtime),
  the golden-sample self-test, ``Pipeline`` + ``run_source`` over a folder, every verdict
  committed to a temporary SQLite database by the ``VerdictWriter`` with NG/REVIEW archived, as
  ``inspector inspect`` runs it; the rate counts until the last row is committed. The same for
  the baseline model on ONNX Runtime;
- the same station on decoded frames, as a camera delivers them (no file decode); both also
  with overlapped model calls switched off (each call waited for before the next starts);
- each station run also as a share of the fast model bare on the same backend, called as the
  station calls it (overlapped calls where the backend has them, else batch 1), timed right
  before it (issue 9 item 4), and the station's CPU per part by thread (Linux): when the
  bare model already keeps every core busy, the other stages' CPU cannot be hidden by overlap, and
  the model's share of the station's CPU ("CPU-bound share") is about the most it can keep;
- camera-to-verdict latency at a steady ``--rate`` images/s: a paced live source stamps each
  frame when it is due ("captured"), the verdict time is when its row is committed (the writer
  commits every ``--flush-ms``, as with line I/O); p50/p99 over all paced frames;
- the baseline is timed again right before each other measurement, and each ratio is the median
  over rounds of (rate / that baseline rate): on a shared machine the load changes within seconds.

Then, with ``$DATASETS`` set, the accuracy of each model on its held-out split (the ``val``
keys of the ``split.json`` beside the model) with the station's rules at the card's threshold
(``--no-accuracy`` skips it). Images: the DAGM images under
``$DATASETS/dagm2007-class1/Class1/Train`` when set, else copies of the shipped golden images
scaled to the fast model's input size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.core.backends.base import Backend
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend, default_threads
from inspector.core.image_io import IMAGE_EXTENSIONS, read_image
from inspector.core.model_card import ModelCard, load_card
from inspector.core.paths import default_recipe_path, resources_dir
from inspector.core.recipe import Recipe, load_recipe
from inspector.core.sources.base import SourceStats
from inspector.core.types import Frame

BATCHES = (1, 2, 4)


def default_models() -> tuple[Path, Path | None]:
    """(baseline, fast): the FP32 model moves to dagm-class1-fp32 when the fast one ships as
    dagm-class1; until then dagm-class1 is the FP32 model and the fast one must be named."""
    models = resources_dir() / "models"
    fp32 = models / "dagm-class1-fp32" / "model.onnx"
    if fp32.is_file():
        return fp32, models / "dagm-class1" / "model.onnx"
    return models / "dagm-class1" / "model.onnx", None


def image_folder(tmp: Path, n: int, size: tuple[int, int]) -> Path:
    """DAGM Class1/Train under $DATASETS, else ``n`` copies of the shipped golden images scaled to
    ``size`` (H, W: the fast model's input; the golden images are smaller than the DAGM ones)."""
    if os.environ.get("DATASETS"):
        folder = Path(os.environ["DATASETS"]) / "dagm2007-class1" / "Class1" / "Train"
        if folder.is_dir():
            return folder
        print(f"note: {folder} not found: using the shipped golden images", file=sys.stderr)
    golden = sorted(
        p for p in (resources_dir() / "models").glob("*/golden/*") if p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not golden:
        raise SystemExit("no images: set DATASETS or keep the shipped models' golden images")
    out = tmp / "images"
    out.mkdir()
    import cv2

    for i in range(n):
        src = golden[i % len(golden)]
        img = read_image(src)[0]
        if img.shape[:2] != size:
            img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(out / f"{i:04d}_{src.stem}.png"), img)
    return out


def image_files(folder: Path, n: int) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)[:n]
    if len(files) < n:
        raise SystemExit(f"{folder}: {len(files)} images, {n} needed")
    return files


# ------------------------------------------------------------------ measurements
@dataclass
class Row:
    label: str
    run: Callable[[], float]  # one round: images/s
    rates: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # rate / the baseline timed just before it
    paced: bool = False  # its rate is the camera's: no ratio
    bare: Row | None = None  # the same model bare on the same backend: timed right before, too
    vs_bare: list[float] = field(default_factory=list)  # rate / that bare rate, per round


def bare(backend: Backend, tensors: list[np.ndarray], batch: int, images: int) -> Callable[[], float]:
    calls = max(1, images // batch)
    batches = [
        np.stack([tensors[(k * batch + j) % len(tensors)] for j in range(batch)]) for k in range(calls)
    ]
    backend.infer(batches[0])  # warm-up: first runs allocate (and compile, for OpenVINO)

    def run() -> float:
        c0, t0 = time.process_time(), time.perf_counter()
        for b in batches:
            backend.infer(b)
        rate = calls * batch / (time.perf_counter() - t0)
        run.cpu_per_image = (time.process_time() - c0) / (calls * batch)  # type: ignore[attr-defined]
        return rate

    return run


def bare_overlapped(backend: Backend, tensors: list[np.ndarray], images: int) -> Callable[[], float]:
    """The backend bare as the station calls it on a queue of frames: one image per call,
    started without waiting (``infer_async`` with a backlog), the maps collected in order."""
    if backend.infer_async(tensors[0][None, ...], backlog=True) is None:
        raise ValueError(f"{backend.info().display} does not overlap calls")

    def run() -> float:
        c0, t0 = time.process_time(), time.perf_counter()
        futures = [
            backend.infer_async(tensors[k % len(tensors)][None, ...], backlog=True) for k in range(images)
        ]
        for f in futures:
            f.result(timeout=300)  # type: ignore[union-attr]
        rate = images / (time.perf_counter() - t0)
        run.cpu_per_image = (time.process_time() - c0) / images  # type: ignore[attr-defined]
        return rate

    return run


def thread_cpu() -> dict[tuple[int, str], float]:
    """CPU seconds used so far by each thread of this process, keyed (native id, Python thread
    name without its number; "native" for the runtimes' own threads). Linux only: {} elsewhere."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return {}
    names = {t.native_id: t.name.rstrip("_0123456789") for t in threading.enumerate()}
    hz = os.sysconf("SC_CLK_TCK")
    out: dict[tuple[int, str], float] = {}
    for tid in os.listdir(tasks):
        try:
            fields = (tasks / tid / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[(int(tid), names.get(int(tid), "native"))] = (int(fields[11]) + int(fields[12])) / hz
    return out


def cpu_by_thread(
    before: dict[tuple[int, str], float], after: dict[tuple[int, str], float]
) -> dict[str, float]:
    used: dict[str, float] = {}
    for key, t in after.items():
        used[key[1]] = used.get(key[1], 0.0) + t - before.get(key, 0.0)
    return used


class Station:
    """The station as ``inspector inspect`` runs it: backend, self-test, pipeline, writer, DB."""

    def __init__(
        self, name: str, model: Path, backend: Backend, recipe: Recipe, tmp: Path, flush_s: float
    ) -> None:
        from db.session import open_db
        from db.writer import VerdictWriter
        from inspector.core.overlay import render_result
        from inspector.core.pipeline import Pipeline
        from inspector.core.selftest import run_selftest

        self.card = load_card(model)
        self.backend = backend
        self.pipeline = Pipeline(backend, self.card, recipe)
        report = run_selftest(self.pipeline)
        if not report.passed:  # as the CLI's gate: a blocked station logs every part as ERROR
            self.pipeline.blocked = report.reason
        self.selftest = "passed" if report.passed else report.reason
        self.db = open_db(f"sqlite:///{tmp}/{name}.db")
        self.writers = {
            flush: VerdictWriter(
                self.db,
                f"bench-{name}",
                archive_dir=tmp / f"archive-{name}",
                overlay=render_result,
                recipes=[recipe],
                models=[(self.card, str(model.resolve()))],
                flush_interval_s=flush,
            )
            for flush in {0.2, flush_s}  # 0.2 s: the CLI's default; flush_s: with line I/O
        }
        self.verdicts: dict[str, int] = {}
        self.cpu: dict[str, dict[str, float]] = {}  # run -> thread -> CPU seconds per part (last round)

    def _count(self, result: Any) -> None:
        v = result.decision.verdict.value
        self.verdicts[v] = self.verdicts.get(v, 0) + 1

    def folder_run(self, folder: Path, n: int, overlap: bool = True) -> Callable[[], float]:
        from inspector.core.sources.folder import FolderSource

        name = "folder" if overlap else "folder, no overlap"
        return self._timed_run(lambda: FolderSource(folder), n, name, overlap)

    def memory_run(self, images: list[np.ndarray], n: int, overlap: bool = True) -> Callable[[], float]:
        """Frames already decoded, as a camera delivers them (GenICam, OpenCV): no file to read,
        so no decode; the rest as the folder run (archived NG/REVIEW parts are encoded as PNG)."""
        rounds = iter(range(1_000_000))
        name = "memory" if overlap else "memory, no overlap"
        return self._timed_run(lambda: MemorySource(images, n, f"m{next(rounds)}"), n, name, overlap)

    def _timed_run(
        self, make_source: Callable[[], Any], n: int, name: str, overlap: bool = True
    ) -> Callable[[], float]:
        from inspector.core.pipeline import run_source
        from inspector.core.progress import SimpleState

        writer = self.writers[0.2]

        def run() -> float:
            futures = []
            at_last: dict[tuple[int, str], float] = {}

            def sink(result: Any) -> None:
                self._count(result)
                futures.append(writer.submit(result))
                if len(futures) == n:  # the run's threads end with it: their CPU is read now
                    at_last.update(thread_cpu())

            source = _CpuAtEnd(make_source(), at_last)
            self.pipeline.overlap = overlap  # False: each model call waited for (for comparison)
            before = thread_cpu()
            t0 = time.perf_counter()
            summary = run_source(source, self.pipeline, sink, SimpleState(), limit=n)
            writer.flush(timeout=300)  # the end of a run commits at once, as `inspector inspect` does
            for f in futures:
                f.result(timeout=300)
            elapsed = time.perf_counter() - t0
            after = thread_cpu()
            after.update({k: v for k, v in at_last.items() if k not in after})
            self.cpu[name] = {k: v / n for k, v in cpu_by_thread(before, after).items()}
            if summary.inspected != n or len(futures) != n:
                raise RuntimeError(f"{summary.inspected} of {n} parts came out of the pipeline")
            return n / elapsed

        return run

    def paced_run(self, image: np.ndarray, rate: float, frames: int, flush_s: float) -> Callable[[], float]:
        from inspector.core.pipeline import run_source
        from inspector.core.progress import SimpleState

        writer = self.writers[flush_s]
        self.latencies: list[float] = []
        rounds = iter(range(1_000_000))

        def run() -> float:
            due: dict[str, float] = {}
            committed: dict[str, float] = {}
            lock = threading.Lock()
            futures = []

            def sink(result: Any) -> None:
                self._count(result)
                fut = writer.submit(result)
                key = result.frame.key

                def done(_f: Any, key: str = key) -> None:
                    with lock:
                        committed[key] = time.perf_counter()

                fut.add_done_callback(done)
                futures.append(fut)

            source = PacedSource(image, rate, frames, due, f"r{next(rounds)}")
            t0 = time.perf_counter()
            run_source(source, self.pipeline, sink, SimpleState())
            for f in futures:
                f.result(timeout=300)
            elapsed = time.perf_counter() - t0
            with lock:
                if set(committed) != set(due):
                    raise RuntimeError(f"{len(committed)} of {len(due)} paced frames committed")
                self.latencies += [committed[k] - due[k] for k in due]
            return frames / elapsed

        return run

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        self.backend.close()
        self.db.dispose()


class _CpuAtEnd:
    """A source whose thread's CPU is read when its last frame has been taken: a prefetch thread
    ends with the source, before the run does, and a thread that has ended cannot be read."""

    def __init__(self, source: Any, into: dict[tuple[int, str], float]) -> None:
        self._source, self._into = source, into
        self.live, self.name = source.live, source.name

    def frames(self, stop: Callable[[], bool]) -> Iterator[Any]:
        try:
            yield from self._source.frames(stop)
        finally:
            self._into.update(thread_cpu())

    def stats(self) -> Any:
        return self._source.stats()

    def close(self) -> None:
        self._source.close()


class PacedSource:
    """A camera at a steady rate: frame i is due at t0 + i / rate and stamped with that time."""

    live = True

    def __init__(self, image: np.ndarray, rate: float, count: int, due: dict[str, float], tag: str) -> None:
        self.name = f"paced camera {rate:g}/s"
        self.image, self.rate, self.count, self.due, self.tag = image, rate, count, due, tag
        self._produced = 0

    def frames(self, stop: Callable[[], bool]) -> Iterator[Frame]:
        t0 = time.perf_counter() + 0.05
        for i in range(self.count):
            when = t0 + i / self.rate
            wait = when - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            if stop():
                return
            key = f"paced:{self.tag}:{i}"
            self.due[key] = when  # captured when due, however late the pipeline asks for it
            self._produced += 1
            yield Frame(key=key, image=self.image, source=self.name, captured_at=datetime.now(UTC), seq=i)

    def stats(self) -> SourceStats:
        return SourceStats(produced=self._produced)

    def close(self) -> None:
        pass


class MemorySource:
    """A fast camera: ``count`` decoded frames, cycling through ``images``, as fast as asked."""

    live = True

    def __init__(self, images: list[np.ndarray], count: int, tag: str) -> None:
        self.name = "decoded frames"
        self.images, self.count, self.tag = images, count, tag
        self._produced = 0

    def frames(self, stop: Callable[[], bool]) -> Iterator[Frame]:
        for i in range(self.count):
            if stop():
                return
            self._produced += 1
            image = self.images[i % len(self.images)]
            yield Frame(
                key=f"mem:{self.tag}:{i}", image=image, source=self.name, captured_at=datetime.now(UTC), seq=i
            )

    def stats(self) -> SourceStats:
        return SourceStats(produced=self._produced)

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ accuracy
def split_for(model: Path, fallback: Path) -> Path:
    """The model's held-out split: split.json beside it, else the baseline's (the compressed
    model is made from the baseline's train split, so the baseline's val part is held out for it)."""
    own = model.with_name("split.json")
    return own if own.is_file() else fallback.with_name("split.json")


def accuracy(split_path: Path, backend: Backend, card: ModelCard, recipe: Recipe) -> dict[str, Any] | str:
    """Image TPR/TNR and mean Dice on the val keys of ``split_path`` through ``backend``, with the
    station's tiling and rules at the card's threshold."""
    from inspector.core.tiling import Tiler
    from trainer.data import load_samples, load_split
    from trainer.data.split import select
    from trainer.evaluate import predict_samples, score_maps

    if not split_path.is_file():
        return f"no {split_path}"
    split = load_split(split_path)
    data = Path(os.path.expandvars(split.data or "$DATASETS/dagm2007-class1/Class1/Train"))
    samples = select(load_samples(data, ("Train", "Test")), split.val, split_path)
    tiler = Tiler.for_backend(backend, card)
    masks, probs = predict_samples(lambda img: tiler.infer(img)[0], samples, card)
    rec = recipe.model_copy(update={"threshold": float(card.threshold)})
    s = score_maps([x.key for x in samples], masks, probs, rec, with_scores=False)["summary"]
    return s | {"threshold": float(card.threshold)}


def print_accuracy(evals: list[tuple[str, Path, Backend, ModelCard]], recipe: Recipe) -> None:
    print(
        "\naccuracy on the held-out split (val keys of the model's split.json), station rules at the "
        "card's threshold:"
    )
    print("| model | backend | split | threshold | images | TPR | TNR | Dice (defective) | Dice (all) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, split, be, card in evals:
        m = accuracy(split, be, card, recipe)
        if isinstance(m, str):
            print(f"| {name} | {be.info().display} | {m} | | | | | | |")
            continue
        print(
            f"| {name} | {be.info().display} | {split.parent.name}/{split.name} | {m['threshold']:g} | "
            f"{m['n_images']} | {m['tpr']:.3f} | {m['tnr']:.3f} | {m['dice_defective']:.4f} | "
            f"{m['dice_all']:.4f} |"
        )


# ------------------------------------------------------------------ main
def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, q))


def parse_args() -> argparse.Namespace:
    base_default, fast_default = default_models()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, default=base_default, help=f"FP32 seed model ({base_default})")
    ap.add_argument(
        "--fast",
        type=Path,
        default=fast_default,
        help="the fast model (default: resources/models/dagm-class1 once the FP32 model has "
        "moved to dagm-class1-fp32)",
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bare-images", type=int, default=32, help="images per bare configuration per round")
    ap.add_argument(
        "--station-images",
        type=int,
        default=300,
        help="parts per station run per round (a run's start and last commit are paid once per run)",
    )
    ap.add_argument("--baseline-station-images", type=int, default=8)
    ap.add_argument("--rate", type=float, default=10.0, help="paced camera, images/s")
    ap.add_argument("--paced-frames", type=int, default=30, help="paced frames per round")
    ap.add_argument("--flush-ms", type=float, default=20.0, help="writer commit interval of the paced run")
    ap.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    ap.add_argument("--no-accuracy", action="store_true", help="skip the held-out accuracy")
    args = ap.parse_args()
    if args.fast is None:
        ap.error("name the fast model with --fast (resources/models/dagm-class1 is still the FP32 model)")
    if args.rounds < 5:
        print("note: fewer than 5 rounds: the medians are rough", file=sys.stderr)
    return args


def print_rates(rows: list[Row], rounds: int) -> None:
    print(
        f"\n{rounds} interleaved rounds; images/s median (min-max); ratio = median over rounds of "
        "rate / the baseline's rate timed just before it\n"
    )
    print("| measurement | images/s | min-max | vs baseline |")
    print("|---|---|---|---|")
    for row in rows:
        ratio = "1.00x" if row is rows[0] else f"{statistics.median(row.ratios):.2f}x"
        print(
            f"| {row.label} | {statistics.median(row.rates):.2f} | "
            f"{min(row.rates):.2f}-{max(row.rates):.2f} | {'(paced)' if row.paced else ratio} |"
        )


def print_same_backend(station: Station, rows: list[Row], backend: str) -> None:
    """Issue 9 item 4: the station's rate as a share of the same model bare on the same backend
    (called as the station calls it, timed right before each station round), and where the
    station's CPU goes."""
    ref = rows[0].bare.label if rows[0].bare else "?"
    print(f"\nstation vs the fast model bare on the same backend ({ref}), median over rounds:")
    for row in rows:
        if row.vs_bare:
            print(f"  {row.label}: {statistics.median(row.vs_bare) * 100:.1f} % (issue 9: >= 95 %)")
    if not station.cpu:
        return
    bare_cpu = getattr(rows[0].bare.run, "cpu_per_image", None) if rows[0].bare else None
    if bare_cpu:
        print(
            f"\nthe fast model bare on {backend}, as the station calls it: "
            f"{bare_cpu * 1e3:.2f} core-ms per image"
        )
    print(
        "\nCPU per part in the last round, core-ms by thread (MainThread, native and openvino-wait: "
        "the model; source-prefetch: read, decode, hash, preprocess; inspection-post: rules; verdict-encode: "
        "map PNG, archive; verdict-writer: the DB):"
    )
    names = sorted(
        {k for cpu in station.cpu.values() for k, v in cpu.items() if v >= 5e-6},  # >= 0.005 ms
        key=lambda k: -max(c.get(k, 0) for c in station.cpu.values()),
    )
    print("| run | " + " | ".join(names) + " | model | the rest | CPU-bound share |")
    print("|---" * (len(names) + 4) + "|")
    for run, cpu in station.cpu.items():
        model = sum(cpu.get(k, 0.0) for k in ("MainThread", "native", "openvino-wait"))
        rest = sum(cpu.values()) - model
        cells = " | ".join(f"{cpu.get(k, 0.0) * 1e3:.2f}" for k in names)
        # with every core busy, no overlap makes the model's CPU share of the work any larger
        print(
            f"| {run} | {cells} | {model * 1e3:.2f} | {rest * 1e3:.2f} | "
            f"{model / (model + rest) * 100:.1f} % |"
        )


def main() -> int:
    args = parse_args()
    threads = args.threads or default_threads()
    recipe = load_recipe(default_recipe_path())
    from inspector.core.backends.openvino_backend import OpenVINOBackend, openvino_version
    from inspector.core.backends.probe import cpu_name
    from inspector.core.backends.select import select_backend
    from inspector.core.preprocess import prepare

    have_ov = bool(openvino_version())
    flush_s = args.flush_ms / 1e3
    n_files = max(args.station_images, args.baseline_station_images)
    with tempfile.TemporaryDirectory(prefix="cpu-speed-") as tmp_name:
        tmp = Path(tmp_name)
        base_card, fast_card = load_card(args.baseline), load_card(args.fast)
        folder = image_folder(tmp, n_files, (fast_card.input_height, fast_card.input_width))
        raw = [read_image(p)[0] for p in image_files(folder, n_files)[:8]]
        base_t = [prepare(im, base_card)[0] for im in raw]
        fast_t = [prepare(im, fast_card)[0] for im in raw]

        base_ort = OnnxRuntimeBackend(threads=threads)
        base_ort.load(args.baseline)
        rows = [
            Row(
                "baseline: FP32 seed model, bare ONNX Runtime, batch 1",
                bare(base_ort, base_t, 1, args.bare_images),
            )
        ]
        fast_bare: list[tuple[str, Backend]] = [("ONNX Runtime", OnnxRuntimeBackend(threads=threads))]
        if have_ov:
            size = (fast_card.input_height, fast_card.input_width)
            fast_bare.append(("OpenVINO", OpenVINOBackend(threads=threads, warm_size=size)))
        for label, be in fast_bare:
            be.load(args.fast)
            for b in BATCHES:
                rows.append(
                    Row(f"fast model, bare {label}, batch {b}", bare(be, fast_t, b, max(b, args.bare_images)))
                )
            if isinstance(be, OpenVINOBackend):
                rows.append(
                    Row(
                        f"fast model, bare {label}, overlapped calls with a backlog "
                        "(as the station calls it)",
                        bare_overlapped(be, fast_t, max(2 * args.bare_images, 32)),
                    )
                )
        # the station as it starts: auto backend (probe cache in the temporary folder), self-test
        auto = select_backend("auto", args.fast, threads=args.threads, probe_cache=tmp / "probe.json")
        station = Station("fast", args.fast, auto, recipe, tmp, flush_s)
        base_be = OnnxRuntimeBackend(threads=threads)
        base_be.load(args.baseline)
        base_station = Station("baseline", args.baseline, base_be, recipe, tmp, flush_s)
        # item 4 of the issue: the station against the same model bare on the same backend
        same = "OpenVINO" if isinstance(auto, OpenVINOBackend) else "ONNX Runtime"
        # the reference: the same backend bare, called as the station calls it (overlapped calls
        # where the backend has them, else batch 1)
        same_bare = next(
            (r for r in rows if r.label.startswith(f"fast model, bare {same}, overlapped")), None
        )
        same_bare = same_bare or next(
            (r for r in rows if r.label == f"fast model, bare {same}, batch 1"), None
        )
        decoded = [read_image(p)[0] for p in image_files(folder, min(n_files, 64))]
        station_row = Row(
            f"station, fast model, {auto.info().display}, folder -> SQLite",
            station.folder_run(folder, args.station_images),
            bare=same_bare,
        )
        memory_row = Row(
            "station, fast model, decoded frames (a camera, no file decode) -> SQLite",
            station.memory_run(decoded, args.station_images),
            bare=same_bare,
        )
        # the same two without overlapped model calls (each call waited for before the next)
        plain_rows = [
            Row(
                "station, fast model, folder -> SQLite, no overlap",
                station.folder_run(folder, args.station_images, overlap=False),
                bare=same_bare,
            ),
            Row(
                "station, fast model, decoded frames -> SQLite, no overlap",
                station.memory_run(decoded, args.station_images, overlap=False),
                bare=same_bare,
            ),
        ]
        rows += [
            station_row,
            memory_row,
            *plain_rows,
            Row(
                "station, FP32 seed model, ONNX Runtime, folder -> SQLite",
                base_station.folder_run(folder, args.baseline_station_images),
            ),
            Row(
                f"station, fast model, paced {args.rate:g}/s camera (latency run)",
                station.paced_run(raw[0], args.rate, args.paced_frames, flush_s),
                paced=True,
            ),
        ]
        where = (
            folder if os.environ.get("DATASETS") else "the shipped golden images, scaled to the card's size"
        )
        print(f"CPU: {cpu_name()}; inference threads: {threads}; images: {where}")
        precision = (fast_card.model_extra or {}).get("precision", "?")
        print(
            f"baseline model: {args.baseline} ({base_card.sha256[:12]}); fast model: {args.fast} "
            f"({fast_card.sha256[:12]}, precision {precision})"
        )
        print(f"station backend (auto): {auto.info().display}")
        if auto.info().notice:
            print(f"  notice: {auto.info().notice}")
        print(f"self-test: fast model {station.selftest}; baseline {base_station.selftest}")
        for row in rows:  # warm-up round, not counted: first runs allocate, open files, start threads
            row.run()
        station.latencies.clear()
        baseline = rows[0]
        for r in range(args.rounds):
            # the baseline is timed right before each measurement: on a shared machine the load
            # changes within seconds, and each ratio compares neighbours in time
            for row in rows[1:]:
                if row.bare is not None:  # its own neighbour too, not counted as a bare round
                    same_rate = row.bare.run()
                b = baseline.run()
                baseline.rates.append(b)
                row.rates.append(row.run())
                row.ratios.append(row.rates[-1] / b)
                if row.bare is not None:
                    row.vs_bare.append(row.rates[-1] / same_rate)
            print(
                f"  round {r + 1}/{args.rounds}: baseline {baseline.rates[-1]:.2f}/s, "
                f"station {station_row.rates[-1]:.2f}/s",
                file=sys.stderr,
                flush=True,
            )
        print_rates(rows, args.rounds)
        station_ratio = statistics.median(station_row.ratios)
        print(
            f"\nstation with the fast model vs bare FP32 ONNX Runtime: {station_ratio:.2f}x (issue 9: >= 4x)"
        )
        print_same_backend(station, [station_row, memory_row, *plain_rows], same)
        lat = station.latencies
        print(
            f"\ncamera-to-verdict latency at {args.rate:g} images/s ({len(lat)} frames, capture -> row "
            f"committed, writer commit interval {args.flush_ms:g} ms): p50 {pct(lat, 50):.1f} ms, "
            f"p99 {pct(lat, 99):.1f} ms, max {max(lat) * 1e3:.1f} ms"
        )
        print(f"verdicts logged: fast station {station.verdicts}; baseline station {base_station.verdicts}")

        if args.no_accuracy or not os.environ.get("DATASETS"):
            why = "--no-accuracy" if args.no_accuracy else "DATASETS is not set"
            print(f"\naccuracy: skipped ({why})")
        else:
            base_split = split_for(args.baseline, args.baseline)
            fast_split = split_for(args.fast, args.baseline)
            evals = [("FP32 seed", base_split, base_ort, base_card)]
            evals += [("fast", fast_split, be, fast_card) for _, be in fast_bare]
            print_accuracy(evals, recipe)
        station.close()
        base_station.close()
        for be in [base_ort, *(be for _, be in fast_bare)]:
            be.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
