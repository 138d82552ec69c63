"""Whole image vs 256-pixel tiles on the DAGM model: time per image, memory per pixel, verdicts.

    python bench/tiling.py DAGM_TRAIN_DIR \
        --model resources/models/dagm-class1/model.onnx --n 50 [--verdicts]

DAGM_TRAIN_DIR: the DAGM 2007 class 1 ``Train`` folder (512x512 PNG).

"full": the shipped card (``native``: one 512x512 inference per image).
"tiled": a copy of that card with ``resize: pad`` and a 256x256 input (in a temp
folder), so each 512x512 image is cut into 3x3 tiles of 256 on the model's grid
(overlap 128, centre-stitched) and batched through the backend. Both run through
``Pipeline.infer_prob``, alternating per image so a machine that gets busier
during the run does not favour one; the figure is the median per image of
preprocess + infer + restore. The model's footprint (bytes per input pixel,
receptive margin) is measured fresh, and the budget and the plan for an
8192x8192 image are shown.

``--verdicts`` decides every image of the folder with the default recipe and
counts NG for full, tiled, and the old pad behaviour (top-left 256x256 only,
the rest never inspected).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.image_io import IMAGE_EXTENSIONS, read_image
from inspector.core.model_card import load_card
from inspector.core.paths import default_recipe_path
from inspector.core.pipeline import Pipeline
from inspector.core.preprocess import normalise, to_gray_float
from inspector.core.recipe import load_recipe
from inspector.core.rules import decide
from inspector.core.tiling import Tiler, measure_footprint, memory_budget_bytes

TILE = 256


def pad_copy(model: Path, folder: Path) -> Path:
    """The model with a copy of its card that says ``resize: pad`` at TILE x TILE."""
    out = folder / model.name
    shutil.copy(model, out)
    card = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    card.update(resize="pad", input_height=TILE, input_width=TILE)
    out.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    return out


def pipeline(model: Path, threads: int | None) -> Pipeline:
    backend = OnnxRuntimeBackend(threads=threads)
    backend.load(model)
    return Pipeline(backend, load_card(model), load_recipe(default_recipe_path()))


def old_crop_prob(p: Pipeline, image: np.ndarray) -> np.ndarray:
    """What a pad card did before tiling: the top-left input-sized crop, zeros elsewhere."""
    g = normalise(to_gray_float(image), p.card.normalisation)
    prob = np.zeros(g.shape, np.float32)
    crop = np.ascontiguousarray(g[:TILE, :TILE])
    prob[: crop.shape[0], : crop.shape[1]] = p.backend.infer(crop[None, :, :, None])[0, ..., 0]
    return prob


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", type=Path, default=Path("resources/models/dagm-class1/model.onnx"))
    ap.add_argument("--n", type=int, default=50, help="images timed (median over them)")
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: all cores)")
    ap.add_argument("--verdicts", action="store_true", help="NG counts over every image of the folder")
    args = ap.parse_args()

    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise SystemExit(f"no images in {args.folder}")
    card = load_card(args.model)
    fp = measure_footprint(args.model, card)
    budget = memory_budget_bytes()
    print(f"model {args.model} ({card.resize}, {card.input_width}x{card.input_height})")
    print(f"  footprint: {fp.bytes_per_pixel:.0f} B per input pixel + {fp.fixed_bytes / 2**20:.1f} MiB")
    print(f"             ({fp.method}; points {[(px, round(b / 2**20, 1)) for px, b in fp.points]} MiB)")
    print(f"  receptive margin: {fp.margin_px} px")
    print(f"  budget: {budget / 2**30:.2f} GiB -> {fp.max_pixels(budget) / 1e6:.1f} Mpixel per inference")
    big = Tiler(card, lambda b: b, footprint=fp, budget_bytes=budget).plan((8192, 8192))
    print(
        f"  8192x8192 would need {fp.bytes_for(8192 * 8192) / 2**30:.1f} GiB whole; planned as "
        f"{big.n_tiles} tiles of {big.tile_hw[1]}x{big.tile_hw[0]}, overlap {big.overlap[0]}, "
        f"batch {big.batch}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        full = pipeline(args.model, args.threads)
        tiled = pipeline(pad_copy(args.model, Path(tmp)), args.threads)
        images = [read_image(p)[0] for p in files[: args.n]]
        plan = Tiler.for_backend(tiled.backend, tiled.card).plan(images[0].shape[:2])
        print(
            f"tiled: {plan.n_tiles} tiles of {TILE}x{TILE} per {images[0].shape[1]}x{images[0].shape[0]} "
            f"image, origins {plan.ys}, overlap {plan.overlap[0]}, batch {plan.batch}"
        )
        for p in (full, tiled):  # warm-up (and the tiled footprint measurement)
            p.infer_prob(images[0])
        times: dict[str, list[float]] = {"full": [], "tiled": []}
        for img in images:
            for name, p in (("full", full), ("tiled", tiled)):
                t0 = time.perf_counter()
                p.infer_prob(img)
                times[name].append((time.perf_counter() - t0) * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"time per image, median of {len(images)} ({full.backend.info().display}):")
        print(f"  full  {med['full']:7.1f} ms")
        print(f"  tiled {med['tiled']:7.1f} ms  ({med['tiled'] / med['full']:.2f}x)")

        if args.verdicts:
            recipe = full.recipe
            ng = {"full": 0, "tiled": 0, "old crop": 0}
            flips = 0
            for path in files:
                img = read_image(path)[0]
                a = decide(full.infer_prob(img)[0], recipe).verdict != "OK"
                b = decide(tiled.infer_prob(img)[0], recipe).verdict != "OK"
                c = decide(old_crop_prob(tiled, img), recipe).verdict != "OK"
                ng["full"] += a
                ng["tiled"] += b
                ng["old crop"] += c
                flips += a != b
            print(f"NG of {len(files)} images (recipe {recipe.name} v{recipe.version}): {ng}")
            print(f"  verdicts that differ full vs tiled: {flips}")


if __name__ == "__main__":
    main()
