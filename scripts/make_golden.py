"""Make synthetic golden samples for a model and record them in its card (the self-test's input).

    .venv/bin/python scripts/make_golden.py --model resources/models/demo/model.onnx \
        --out resources/models/demo/golden

Candidates come from the synthetic generators in ``trainer/golden.py`` (no data-set image, so
they may live in the repository); only candidates whose verdict under the recipe is verifiably
the expected one are kept (see that module). Then the card's ``golden`` field is replaced and the
station's self-test is run on the result. Exit 0: written and the self-test passes; 1: the
self-test fails or no sample could be verified; 2: bad arguments or model.

When the model flags no synthetic defect verifiably, the golden set is OK-only and this says so.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend  # noqa: E402
from inspector.core.model_card import load_card, verify_card  # noqa: E402
from inspector.core.paths import default_recipe_path  # noqa: E402
from inspector.core.pipeline import Pipeline, check_prob_map  # noqa: E402
from inspector.core.recipe import Recipe, load_recipe  # noqa: E402
from inspector.core.selftest import run_selftest  # noqa: E402
from trainer.golden import (  # noqa: E402
    GENERATORS,
    Expected,
    Measured,
    candidates,
    measure,
    set_card_golden,
    write_synthetic_golden,
)

KINDS: tuple[Expected, ...] = ("OK", "NG")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="the ONNX model (its card is beside it)")
    p.add_argument("--out", type=Path, required=True, help="folder for the PNGs (e.g. <model dir>/golden)")
    p.add_argument("--recipe", type=Path, help="recipe JSON (default: resources/recipes/default.json)")
    p.add_argument("--generator", default="auto", choices=["auto", *GENERATORS],
                   help="auto: try each generator in turn (synth, then grain)")
    p.add_argument("--size", type=int, default=256, help="image size in pixels (square; default 256)")
    p.add_argument("--ok", type=int, default=2, help="OK samples to keep (default 2)")
    p.add_argument("--ng", type=int, default=2, help="NG samples to keep (default 2)")
    p.add_argument("--seed", type=int, default=7000, help="base seed (each generator adds its index)")
    p.add_argument("--tries", type=int, default=24, help="candidates per generator and kind")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    return p.parse_args(argv)


def collect(
    infer: Callable[[np.ndarray], np.ndarray],
    recipe: Recipe,
    generator: str,
    seed: int,
    size: int,
    want: dict[Expected, int],
    tries: int,
) -> dict[Expected, list[Measured]]:
    """Verified candidates of ``generator``, up to ``want`` of each kind; prints every one."""
    kept: dict[Expected, list[Measured]] = {"OK": [], "NG": []}
    for kind in KINDS:
        for cand in candidates(generator, seed, size, kind, tries):
            if len(kept[kind]) >= want[kind]:
                break
            m = measure(infer, recipe, cand)
            mark = "keep" if m.verified else "drop"
            print(f"  {mark} {kind:2} {cand.origin:22} {m.verdict:6} regions {m.n_regions} "
                  f"max p {m.max_prob:.3f} defect found {m.coverage:4.0%} {m.why}")
            if m.verified:
                kept[kind].append(m)
    return kept


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    try:
        recipe = load_recipe(a.recipe or default_recipe_path())
        card = verify_card(load_card(a.model), a.model)
    except (OSError, ValueError) as exc:
        print(f"make_golden: {exc}", file=sys.stderr)
        return 2
    backend = OnnxRuntimeBackend(threads=a.threads)
    backend.load(a.model)
    pipeline = Pipeline(backend, card, recipe)

    def infer(image: np.ndarray) -> np.ndarray:
        prob, _ = pipeline.infer_prob(image)
        check_prob_map(prob)
        return prob

    want: dict[Expected, int] = {"OK": a.ok, "NG": a.ng}
    print(f"model {card.name!r} ({card.sha256[:12]}), recipe {recipe.name!r} v{recipe.version}, "
          f"threshold {recipe.threshold}, min area {recipe.min_area_px} px")
    # auto: the first generator that gives the whole set; else the one that gives most. One
    # generator for both kinds: an NG means something only if that texture's clean images are OK.
    best: dict[Expected, list[Measured]] = {"OK": [], "NG": []}
    generators = GENERATORS if a.generator == "auto" else (a.generator,)
    for g_index, gen in enumerate(generators):
        kept = collect(infer, recipe, gen, a.seed + g_index, a.size, want, a.tries)
        if sum(map(len, kept.values())) > sum(map(len, best.values())):
            best = kept
        if all(len(kept[k]) >= want[k] for k in KINDS):
            break
    kept = best
    backend.close()
    chosen = kept["OK"] + kept["NG"]
    if not chosen:
        print("make_golden: no candidate could be verified; the card is left as it is", file=sys.stderr)
        return 1
    if len(kept["NG"]) < a.ng:
        print(f"make_golden: WARNING: only {len(kept['NG'])} of {a.ng} NG samples: this model flags no "
              "(more) synthetic defects verifiably; the self-test then checks the OK side and the "
              "output sanity probes only for the defect side", file=sys.stderr)
    if len(kept["OK"]) < a.ok:
        print(f"make_golden: WARNING: only {len(kept['OK'])} of {a.ok} OK samples", file=sys.stderr)
    for old in (*a.out.glob("ok_*.png"), *a.out.glob("ng_*.png")):  # a previous set
        old.unlink()
    entries = write_synthetic_golden(a.model, chosen, a.out)
    cpath = set_card_golden(a.model, entries)
    print(f"wrote {len(entries)} golden samples to {a.out} and {cpath}")

    card = verify_card(load_card(a.model), a.model)
    backend = OnnxRuntimeBackend(threads=a.threads)
    backend.load(a.model)
    try:
        report = run_selftest(Pipeline(backend, card, recipe))
    finally:
        backend.close()
    print("\n".join(report.lines()))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
