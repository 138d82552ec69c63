"""Score an ONNX model on labelled images with the station's own code.

Inference: onnxruntime directly, fed through ``inspector.core.tiling`` (the
station's own whole-image inference: geometry and tiling as the model card
says, every pixel inspected), so the numbers are what the station would see.
Verdicts: ``inspector.core.rules.decide`` (NG and REVIEW count as "defective").
Pixel metrics use ``prob >= recipe.threshold`` (the comparison the rules use):
- dice_defective / iou_defective: mean of the per-image Dice / IoU over images with a defect;
- dice_all: the same mean over all images, an empty prediction on an empty mask = 1
  (NVIDIA UNet_Industrial convention).
Image score (for AUROC, AP and the image precision/recall curve): the highest pixel
threshold at which the station's rules still call the image defective (0 when no
threshold does), so the ranking is the rules' own, not a raw maximum pixel.

Honest figures: :func:`select_and_report` picks the threshold on the val split and
reports the test split at that threshold; nothing is chosen on the test split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np

from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.model_card import ModelCard, load_card
from inspector.core.recipe import Recipe, load_recipe
from trainer.data.sample import Sample

DEFAULT_RECIPE = Path(__file__).resolve().parent.parent / "resources" / "recipes" / "default.json"
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))


def default_recipe() -> Recipe:
    """resources/recipes/default.json when shipped, else the Recipe defaults (same rules)."""
    return load_recipe(DEFAULT_RECIPE) if DEFAULT_RECIPE.is_file() else Recipe()


Predict = Callable[[np.ndarray], np.ndarray]


class OnnxPredictor:
    """ORT session + the station's whole-image inference; one image at a time (sizes may differ)."""

    def __init__(self, model_path: Path, card: ModelCard | None = None, threads: int = 0) -> None:
        from inspector.core.backends.onnxruntime_backend import make_session

        self.card = card or load_card(model_path)
        self.sess = make_session(model_path, threads)
        self.input = self.sess.get_inputs()[0].name
        if self.input != INPUT_NAME:
            raise ValueError(f"{model_path}: input is named {self.input!r}, the contract says {INPUT_NAME!r}")
        from inspector.core.tiling import Tiler

        self.tiler = Tiler(card=self.card, run=self._run, model_path=Path(model_path), on_cpu=True)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        (out,) = self.sess.run([OUTPUT_NAME], {self.input: batch})
        return np.asarray(out)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Probability map (float32 HxW) at the image's size, every pixel inspected."""
        return self.tiler.infer(image)[0]


class ImageCounts(TypedDict):
    """Image-level confusion counts and rates (NaN where a rate has no denominator)."""

    tp: int
    fn: int
    tn: int
    fp: int
    tpr: float
    tnr: float
    precision: float
    recall: float


class EvalSummary(ImageCounts, total=False):
    """The scalar figures of one evaluation, as metrics.json holds them (NaN written as null).

    ``auroc``/``average_precision`` are absent in a threshold sweep's summaries; ``threshold``
    to ``model_sha256`` are added by :func:`evaluate`.
    """

    dice_defective: float
    dice_all: float
    iou_defective: float
    pixel_precision: float
    pixel_recall: float
    n_images: int
    n_defective: int
    auroc: float
    average_precision: float
    threshold: float
    suggested_threshold: float
    split: str
    ms_per_image: float | None
    model: str
    model_sha256: str


class EvalMetrics(EvalSummary, total=False):
    """What :func:`evaluate` returns and writes to metrics.json: the summary figures plus the
    recipe, the per-image rows and the two curves (:data:`LIST_KEYS`)."""

    recipe: dict[str, Any]
    per_image: list[dict[str, Any]]
    pr_curve: list[dict[str, Any]]
    image_pr_curve: list[dict[str, float]]


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def _image_counts(truth: Sequence[bool], pred: Sequence[bool]) -> ImageCounts:
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


def defect_pixels(prob: np.ndarray, threshold: float) -> np.ndarray:
    """The pixels called defect: ``prob >= threshold``, as ``inspector.core.postprocess`` does."""
    return np.asarray(prob) >= threshold


def rule_score(prob: np.ndarray, recipe: Recipe, steps: int = 12) -> float:
    """Highest pixel threshold (to 1/4096) at which ``decide`` still says NG or REVIEW; 0 if none.

    Raising the threshold only shrinks regions, so "defective" holds below some threshold
    and not above it: bisection finds it.
    """
    from inspector.core.rules import decide

    def flagged(t: float) -> bool:
        return decide(prob, recipe.model_copy(update={"threshold": t})).verdict != "OK"

    lo, hi = 0.0, 1.0
    if not flagged(1.0 / 4096):
        return 0.0
    if flagged(1.0):
        return 1.0
    lo = 1.0 / 4096
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if flagged(mid) else (lo, mid)
    return float(lo)


def auroc(truth: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve of ``scores`` (ties count half); NaN without both classes."""
    t = np.asarray(truth, bool)
    x = np.asarray(scores, np.float64)
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    if not n_pos or not n_neg:
        return math.nan
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), np.float64)
    xs = x[order]
    i = 0
    while i < len(xs):  # average ranks over ties
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i : j + 1]] = 0.5 * (i + j) + 1.0
        i = j + 1
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def image_pr_curve(truth: Sequence[bool], scores: Sequence[float]) -> list[dict[str, float]]:
    """Image precision/recall at every distinct image score (highest first)."""
    t = np.asarray(truth, bool)
    x = np.asarray(scores, np.float64)
    n_pos = int(t.sum())
    out: list[dict[str, float]] = []
    for thr in sorted(set(x.tolist()), reverse=True):
        flagged = x >= thr
        tp = int((flagged & t).sum())
        fp = int((flagged & ~t).sum())
        out.append(
            {
                "score": float(thr),
                "precision": _ratio(tp, tp + fp),
                "recall": _ratio(tp, n_pos),
                "fpr": _ratio(fp, int((~t).sum())),
            }
        )
    return out


def average_precision(truth: Sequence[bool], scores: Sequence[float]) -> float:
    """Sum over score thresholds of (recall gained) x precision; NaN without defective images."""
    if not any(truth):
        return math.nan
    ap, last_recall = 0.0, 0.0
    for p in image_pr_curve(truth, scores):
        ap += (p["recall"] - last_recall) * p["precision"]
        last_recall = p["recall"]
    return float(ap)


def score_maps(
    keys: Sequence[str],
    masks: Sequence[np.ndarray],
    probs: Sequence[np.ndarray],
    recipe: Recipe,
    with_scores: bool = True,
) -> dict[str, Any]:
    """All metrics for one recipe; ``masks`` {0,1} and ``probs`` float HxW at the same size.
    ``with_scores``: also the image scores, AUROC and AP (a threshold sweep leaves them out)."""
    from inspector.core.rules import decide
    from trainer.losses import dice_np, iou_np

    rows: list[dict[str, Any]] = []
    inter = pred_px = truth_px = 0
    for key, mask, prob in zip(keys, masks, probs, strict=True):
        if mask.shape != prob.shape:
            raise ValueError(f"{key}: mask {mask.shape} and prediction {prob.shape} differ in size")
        decision = decide(prob, recipe)
        pred = defect_pixels(prob, recipe.threshold)
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
                "image_score": rule_score(prob, recipe) if with_scores else math.nan,
            }
        )
    truth = [r["defective"] for r in rows]
    d_def = [r["dice"] for r in rows if r["defective"]]
    i_def = [r["iou"] for r in rows if r["defective"]]
    summary: EvalSummary = {
        **_image_counts(truth, [r["predicted_defective"] for r in rows]),
        "dice_defective": float(np.mean(d_def)) if d_def else math.nan,
        "dice_all": float(np.mean([r["dice"] for r in rows])) if rows else math.nan,
        "iou_defective": float(np.mean(i_def)) if i_def else math.nan,
        "pixel_precision": _ratio(inter, pred_px),
        "pixel_recall": _ratio(inter, truth_px),
        "n_images": len(rows),
        "n_defective": sum(truth),
    }
    if with_scores:
        scores = [r["image_score"] for r in rows]
        summary["auroc"] = auroc(truth, scores)
        summary["average_precision"] = average_precision(truth, scores)
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
        s = score_maps(keys, masks, probs, recipe.model_copy(update={"threshold": float(t)}), False)[
            "summary"
        ]
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
    then best sum of the two Dice figures, then nearest 0.5.

    Without defect-free images (TNR undefined) TPR alone would pick the lowest threshold
    (flag everything), so there the best Dice decides, then nearest 0.5.
    """

    def nz(v: float) -> float:
        return -1.0 if v is None or (isinstance(v, float) and math.isnan(v)) else v

    if all(nz(r["image_tnr"]) < 0 for r in curve):
        return float(
            max(curve, key=lambda r: (round(nz(r["dice_defective"]), 2), -abs(r["threshold"] - 0.5)))[
                "threshold"
            ]
        )

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
    model: Path | Predict,
    samples: Sequence[Sample],
    card: ModelCard | None = None,
    timing: dict | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(masks {0,1}, probability maps) for ``samples``, read and run like the station does.

    ``model``: an ONNX file (run by ONNX Runtime through the station's tiler) or a
    function image -> probability map (the trainer's Keras model, through the same tiler).
    ``timing`` (if given) receives ``ms_per_image``: preprocess + inference + restore, no disk I/O.
    """
    import time

    from trainer.data.io import read_mask, read_raw

    predictor: Predict = model if callable(model) else OnnxPredictor(Path(model), card)
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
    if isinstance(v, list | tuple):
        return [_json_safe(x) for x in v]
    return v


LIST_KEYS = ("per_image", "pr_curve", "image_pr_curve", "recipe")


def summary_of(metrics: EvalMetrics | dict[str, Any]) -> EvalSummary:
    """The scalar figures of a metrics dict (no per-image rows, curves or recipe)."""
    return cast(EvalSummary, {k: v for k, v in metrics.items() if k not in LIST_KEYS})


def _metrics(
    keys: Sequence[str], masks: list[np.ndarray], probs: list[np.ndarray], recipe: Recipe
) -> EvalMetrics:
    scored = score_maps(keys, masks, probs, recipe)
    curve = sweep(keys, masks, probs, recipe)
    truth = [r["defective"] for r in scored["rows"]]
    return {
        **scored["summary"],
        "threshold": float(recipe.threshold),
        "suggested_threshold": suggest_threshold(curve),
        "recipe": recipe.model_dump(mode="json"),
        "per_image": scored["rows"],
        "pr_curve": curve,
        "image_pr_curve": image_pr_curve(truth, [r["image_score"] for r in scored["rows"]]),
    }


def write_metrics(metrics: EvalMetrics, out: Path) -> None:
    """metrics.json, pr_curve.json, per_image.csv and pr_curve.png in ``out``."""
    import csv

    from trainer.plots import pr_curve

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(_json_safe(metrics), indent=2) + "\n", encoding="utf-8")
    curve = metrics["pr_curve"]
    (out / "pr_curve.json").write_text(json.dumps(_json_safe(curve), indent=2) + "\n", encoding="utf-8")
    rows = metrics["per_image"]
    with open(out / "per_image.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    pr_curve(curve, out / "pr_curve.png", metrics.get("image_pr_curve"), metrics.get("split", ""))


def evaluate(
    model_path: Path | Predict,
    samples: Sequence[Sample],
    recipe: Recipe,
    out: Path | None = None,
    card: ModelCard | None = None,
    split: str = "",
) -> EvalMetrics:
    """Metrics dict (summary keys + ``per_image`` + curves); writes files when ``out`` is given.

    ``model_path``: an ONNX file, or a predict function (``model``/``model_sha256`` then empty).
    """
    from inspector.core.model_card import sha256_file

    if not samples:
        raise ValueError("no images to evaluate")
    timing: dict[str, float] = {}
    masks, probs = predict_samples(model_path, samples, card, timing)
    metrics = _metrics([s.key for s in samples], masks, probs, recipe)
    is_file = not callable(model_path)
    metrics.update(
        {
            "split": split,
            "ms_per_image": timing.get("ms_per_image"),
            "model": str(model_path) if is_file else "",
            "model_sha256": sha256_file(Path(model_path)) if is_file else "",  # type: ignore[arg-type]
        }
    )
    if out is not None:
        write_metrics(metrics, out)
    return metrics


def select_and_report(
    model: Path | Predict,
    val: Sequence[Sample],
    test: Sequence[Sample],
    recipe: Recipe,
    out: Path,
    card: ModelCard | None = None,
) -> dict[str, Any]:
    """Threshold chosen on ``val`` (:func:`suggest_threshold`), figures reported on ``test`` at it.

    Writes ``out/eval_val`` and ``out/eval_test`` (metrics, curves, per-image rows) and
    returns ``{"threshold", "val": metrics, "test": metrics or None, "report_split"}``;
    without a test split the report falls back to val, and says so.
    """
    m_val = evaluate(model, val, recipe, Path(out) / "eval_val", card, split="val")
    threshold = float(m_val["suggested_threshold"])
    m_test = None
    if test:
        rec = recipe.model_copy(update={"threshold": threshold})
        m_test = evaluate(model, test, rec, Path(out) / "eval_test", card, split="test")
    return {
        "threshold": threshold,
        "threshold_from": "val",
        "val": m_val,
        "test": m_test,
        "report_split": "test" if m_test is not None else "val",
    }


def evaluate_cli(
    model: Path,
    data: Path,
    out: Path,
    split: Path | None = None,
    recipe: Path | None = None,
    subset: str = "val",
) -> EvalMetrics:
    """Score ``model`` on ``data``: a split file's subset, else every image, where a DAGM class
    (or root) folder means its ``Test/`` part (its ``Train/`` only when there is no Test/)."""
    from trainer.data import load_samples, load_split
    from trainer.data.split import select

    if split is not None:
        samples = load_samples(data, ("Train", "Test"))
        sp = load_split(split)
        keys = {"val": sp.val, "train": sp.train, "test": sp.test}[subset]
        if not keys:
            raise ValueError(f"{split}: the {subset} split is empty")
        samples = select(samples, keys, split)
        name = subset
    else:
        samples = load_samples(data, ("Test",))
        name = "all"
    rec = load_recipe(recipe) if recipe else default_recipe()
    return evaluate(model, samples, rec, out, split=name)
