"""Score an ONNX model on labelled images with the station's own code.

Inference: onnxruntime directly, fed through ``inspector.core.tiling`` (the
station's own whole-image inference: geometry and tiling as the model card
says, every pixel inspected), so the numbers are what the station would see.
Verdicts: ``inspector.core.rules.decide`` (NG and REVIEW count as "defective").
Pixel metrics use ``prob >= recipe.threshold``:
- dice_defective / iou_defective: mean over images with a defect;
- dice_all: mean over all images, an empty prediction on an empty mask = 1
  (NVIDIA UNet_Industrial convention).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.model_card import ModelCard, load_card
from inspector.core.recipe import Recipe, load_recipe
from trainer.data.sample import Sample

DEFAULT_RECIPE = Path(__file__).resolve().parent.parent / "resources" / "recipes" / "default.json"
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))


def default_recipe() -> Recipe:
    """resources/recipes/default.json when shipped, else the Recipe defaults (same rules)."""
    return load_recipe(DEFAULT_RECIPE) if DEFAULT_RECIPE.is_file() else Recipe()


class OnnxPredictor:
    """ORT session + the station's whole-image inference; one image at a time (sizes may differ)."""

    def __init__(self, model_path: Path, card: ModelCard | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        self.card = card or load_card(model_path)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0].name
        if self.input != "image":
            raise ValueError(f"{model_path}: input is named {self.input!r}, the contract says 'image'")
        from inspector.core.tiling import Tiler

        self.tiler = Tiler(card=self.card, run=self._run, model_path=Path(model_path), on_cpu=True)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        (out,) = self.sess.run(["mask"], {self.input: batch})
        return np.asarray(out)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Probability map (float32 HxW) at the image's size, every pixel inspected."""
        return self.tiler.infer(image)[0]


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def _image_counts(truth: Sequence[bool], pred: Sequence[bool]) -> dict[str, float]:
    tp = sum(t and p for t, p in zip(truth, pred, strict=True))
    fn = sum(t and not p for t, p in zip(truth, pred, strict=True))
    tn = sum(not t and not p for t, p in zip(truth, pred, strict=True))
    fp = sum(not t and p for t, p in zip(truth, pred, strict=True))
    return {
        "tp": tp,
        "fn": fn,
        "tn": tn,
        "fp": fp,
        "tpr": _ratio(tp, tp + fn),
        "tnr": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
    }


def score_maps(
    keys: Sequence[str], masks: Sequence[np.ndarray], probs: Sequence[np.ndarray], recipe: Recipe
) -> dict[str, Any]:
    """All metrics for one recipe; ``masks`` {0,1} and ``probs`` float HxW at the same size."""
    from inspector.core.rules import decide
    from trainer.losses import dice_np, iou_np

    rows: list[dict[str, Any]] = []
    inter = pred_px = truth_px = 0
    for key, mask, prob in zip(keys, masks, probs, strict=True):
        if mask.shape != prob.shape:
            raise ValueError(f"{key}: mask {mask.shape} and prediction {prob.shape} differ in size")
        decision = decide(prob, recipe)
        pred = prob >= recipe.threshold
        t = mask.astype(bool)
        inter += int(np.logical_and(t, pred).sum())
        pred_px += int(pred.sum())
        truth_px += int(t.sum())
        rows.append(
            {
                "key": key,
                "defective": bool(t.any()),
                "verdict": str(decision.verdict),
                "predicted_defective": decision.verdict != "OK",
                "n_regions": len(decision.regions),
                "score": float(decision.score),
                "dice": dice_np(t, pred),
                "iou": iou_np(t, pred),
                "truth_px": int(t.sum()),
                "pred_px": int(pred.sum()),
                "max_prob": float(prob.max()),
            }
        )
    truth = [r["defective"] for r in rows]
    d_def = [r["dice"] for r in rows if r["defective"]]
    i_def = [r["iou"] for r in rows if r["defective"]]
    summary: dict[str, Any] = {
        **_image_counts(truth, [r["predicted_defective"] for r in rows]),
        "dice_defective": float(np.mean(d_def)) if d_def else math.nan,
        "dice_all": float(np.mean([r["dice"] for r in rows])) if rows else math.nan,
        "iou_defective": float(np.mean(i_def)) if i_def else math.nan,
        "pixel_precision": _ratio(inter, pred_px),
        "pixel_recall": _ratio(inter, truth_px),
        "n_images": len(rows),
        "n_defective": sum(truth),
    }
    return {"summary": summary, "rows": rows}


def sweep(
    keys: Sequence[str],
    masks: Sequence[np.ndarray],
    probs: Sequence[np.ndarray],
    recipe: Recipe,
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[dict[str, Any]]:
    """Image- and pixel-level precision/recall per pixel threshold (other rules as in ``recipe``)."""
    out = []
    for t in thresholds:
        s = score_maps(keys, masks, probs, recipe.model_copy(update={"threshold": float(t)}))["summary"]
        out.append(
            {
                "threshold": float(t),
                "image_precision": s["precision"],
                "image_recall": s["recall"],
                "image_tnr": s["tnr"],
                "pixel_precision": s["pixel_precision"],
                "pixel_recall": s["pixel_recall"],
                "dice_defective": s["dice_defective"],
                "dice_all": s["dice_all"],
            }
        )
    return out


def suggest_threshold(curve: list[dict[str, Any]]) -> float:
    """Highest image TPR (a missed defect costs more than a false reject), then highest TNR,
    then best sum of the two Dice figures, then nearest 0.5."""

    def nz(v: float) -> float:
        return -1.0 if v is None or (isinstance(v, float) and math.isnan(v)) else v

    def key(r: dict[str, Any]) -> tuple[float, float, float, float]:
        dice = nz(r["dice_defective"]) + nz(r["dice_all"])
        return (
            round(nz(r["image_recall"]), 6),
            round(nz(r["image_tnr"]), 6),
            round(dice, 2),  # finer differences are noise on a val split of ~100 images
            -abs(r["threshold"] - 0.5),
        )

    return float(max(curve, key=key)["threshold"])


def predict_samples(
    model_path: Path, samples: Sequence[Sample], card: ModelCard | None = None, timing: dict | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(masks {0,1}, probability maps) for ``samples``, read and run like the station does.

    ``timing`` (if given) receives ``ms_per_image``: preprocess + ORT + restore, no disk I/O.
    """
    import time

    from trainer.data.io import read_mask, read_raw

    predictor = OnnxPredictor(model_path, card)
    masks, probs = [], []
    spent = 0.0
    for s in samples:
        raw = read_raw(s.image)
        t0 = time.perf_counter()
        prob = predictor(raw)
        spent += time.perf_counter() - t0
        masks.append(read_mask(s.mask, raw.shape[:2], s.image))
        probs.append(prob)
    if timing is not None and samples:
        timing["ms_per_image"] = 1000.0 * spent / len(samples)
    return masks, probs


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def evaluate(
    model_path: Path,
    samples: Sequence[Sample],
    recipe: Recipe,
    out: Path | None = None,
    card: ModelCard | None = None,
) -> dict[str, Any]:
    """Metrics dict (summary keys + ``per_image`` + ``pr_curve``); writes files when ``out`` is given."""
    import csv

    from inspector.core.model_card import sha256_file

    if not samples:
        raise ValueError("no images to evaluate")
    timing: dict[str, float] = {}
    masks, probs = predict_samples(Path(model_path), samples, card, timing)
    keys = [s.key for s in samples]
    scored = score_maps(keys, masks, probs, recipe)
    curve = sweep(keys, masks, probs, recipe)
    metrics: dict[str, Any] = {
        **scored["summary"],
        "suggested_threshold": suggest_threshold(curve),
        "ms_per_image": timing.get("ms_per_image"),
        "model": str(model_path),
        "model_sha256": sha256_file(Path(model_path)),
        "recipe": recipe.model_dump(mode="json"),
        "per_image": scored["rows"],
        "pr_curve": curve,
    }
    if out is not None:
        from trainer.plots import pr_curve

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(_json_safe(metrics), indent=2) + "\n", encoding="utf-8")
        (out / "pr_curve.json").write_text(json.dumps(_json_safe(curve), indent=2) + "\n", encoding="utf-8")
        with open(out / "per_image.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(scored["rows"][0]))
            w.writeheader()
            w.writerows(scored["rows"])
        pr_curve(curve, out / "pr_curve.png")
    return metrics


def evaluate_cli(
    model: Path,
    data: Path,
    out: Path,
    split: Path | None = None,
    recipe: Path | None = None,
    subset: str = "val",
) -> dict[str, Any]:
    from trainer.data import load_samples, load_split
    from trainer.data.split import select

    samples = load_samples(data)
    if split is not None:
        sp = load_split(split)
        samples = select(samples, sp.val if subset == "val" else sp.train, split)
    rec = load_recipe(recipe) if recipe else default_recipe()
    return evaluate(model, samples, rec, out)
