"""Static INT8 quantisation of a station model (ONNX QDQ), validated, never trusted.

1. ``trainer.onnx_split``: each conv on a Concat is split into one conv per input plus Adds, so
   the U-Net's skip is not quantised under the up-path's scale (FP32 parity checked).
2. ONNX Runtime static QDQ: activations U8, weights S8, per-channel, MinMax ranges from
   ``calib_images`` train-split images (cached in ``calib.json``, so each variant below
   reuses them).
3. Sensitivity search, on ``check_images`` *other* train-split images (never the held-out split):
   quantise everything, and if the INT8 model loses accuracy against the FP32 one (image TPR,
   TNR, Dice on defective images, by the station's rules), rank the quantised nodes by the error
   each one alone causes and keep the worst in FP32, one at a time, until it holds; then put back
   in INT8 every kept node that is not needed.

A node "kept in FP32" is ONNX Runtime's ``nodes_to_exclude``: float weights, float output; its
input stays quantised when the node producing it is quantised (the producer's output is), so a
tensor that must stay float costs both its producer and its consumers, and the search finds
that too (each is a node that alone costs accuracy).

``sensitivity.json`` records every layer's error and every candidate's figures.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.progress import ProgressState
from trainer.data.sample import Sample
from trainer.events import Emit, null_emitter

NOT_LAYERS = ("QuantizeLinear", "DequantizeLinear", "Shape")  # Shape reads a tensor's size only
PARITY_TOL = 1e-4


class QuantError(ValueError):
    """The quantised model cannot be made faithful (named, with the reason)."""


@dataclass(frozen=True, slots=True)
class QuantSettings:
    calib_images: int = 50
    check_images: int = 40
    max_dice_drop: float = 0.005  # INT8 vs FP32, mean Dice on the check set's defective images
    max_tnr_drop: float = 0.0  # INT8 vs FP32 image TNR on the check set (TPR may never drop)
    per_channel: bool = True
    reduce_range: bool = False  # 7-bit weights: for CPUs without VNNI, where U8S8 may saturate
    seed: int = 0
    threads: int = 0
    calib_max_outputs: int = 5  # calibration holds at most this many images' activations


@dataclass(slots=True)
class Scored:
    """A model's figures on the check images (the station's rules at the card's threshold)."""

    tpr: float
    tnr: float
    dice_defective: float
    probs: list[np.ndarray] = field(repr=False, default_factory=list)

    def figures(self) -> dict[str, float]:
        return {"tpr": self.tpr, "tnr": self.tnr, "dice_defective": self.dice_defective}


def accepts(ref: Scored, got: Scored, s: QuantSettings) -> bool:
    """``got`` (INT8) keeps ``ref``'s (FP32) accuracy within the settings' margins."""

    def val(x: float) -> float:
        return -1.0 if math.isnan(x) else x

    return (
        val(got.tpr) >= val(ref.tpr)
        and val(got.tnr) >= val(ref.tnr) - s.max_tnr_drop - 1e-12
        and val(got.dice_defective) >= val(ref.dice_defective) - s.max_dice_drop - 1e-12
    )


def layer_error(
    ref: Sequence[np.ndarray], got: Sequence[np.ndarray], threshold: float
) -> tuple[float, float]:
    """(pixels whose ``p >= threshold`` decision flips, over the reference's defect pixels + 1;
    mean |p - p_ref|): how much one quantised layer changes what the station would see."""
    flips = sum(
        int(np.count_nonzero((a >= threshold) != (b >= threshold))) for a, b in zip(ref, got, strict=True)
    )
    pos = sum(int(np.count_nonzero(a >= threshold)) for a in ref)
    diff = float(np.mean([np.mean(np.abs(a - b)) for a, b in zip(ref, got, strict=True)]))
    return flips / (pos + 1), diff


def pick_subsets(
    samples: Sequence[Sample], n_calib: int, n_check: int, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """Disjoint (calibration, check) subsets of ``samples``, seeded. Calibration takes defective
    images in their share of the set; the check set up to half defective (Dice needs them)."""
    rng = np.random.default_rng(seed)
    defective = [samples[i] for i in rng.permutation(len(samples)) if samples[i].defective]
    clean = [samples[i] for i in rng.permutation(len(samples)) if not samples[i].defective]
    n_calib = min(n_calib, len(samples) - 1)
    share = len(defective) / max(1, len(samples))
    k_def = min(len(defective), max(1 if defective else 0, round(n_calib * share)))
    calib = defective[:k_def] + clean[: n_calib - k_def]
    defective, clean = defective[k_def:], clean[n_calib - k_def :]
    n_check = min(n_check, len(defective) + len(clean))
    c_def = min(len(defective), max(n_check // 2, n_check - len(clean)))
    check = defective[:c_def] + clean[: n_check - c_def]
    return calib, check


class _Reader:
    """ONNX Runtime's CalibrationDataReader over prepared image tensors, in strides (its
    ``CalibStridedMinMax``: ranges are merged stride by stride, so memory holds one stride's
    activations, not every image's)."""

    def __init__(self, tensors: Sequence[np.ndarray]) -> None:
        self.tensors = list(tensors)
        self.set_range(0, len(self.tensors))

    def __len__(self) -> int:
        return len(self.tensors)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it: Iterator[np.ndarray] = iter(self.tensors[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._it, None)
        return None if x is None else {INPUT_NAME: x[None]}


def stride_for(n: int, most: int) -> int:
    """The largest stride <= ``most`` that divides ``n`` (ONNX Runtime requires it to divide)."""
    return next(k for k in range(max(1, min(most, n)), 0, -1) if n % k == 0)


def layers_of(qdq: Any) -> list[str]:
    """The nodes the search can keep in FP32: those that read a dequantised tensor in the fully
    quantised model ``qdq`` (convs, pools, adds, the sigmoid, ...), in graph order."""
    dq = {o for n in qdq.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return [n.name for n in qdq.graph.node if n.op_type not in NOT_LAYERS and any(x in dq for x in n.input)]


def quantize(
    model_path: Path,
    out_path: Path,
    calib: Sequence[np.ndarray] | None,
    cache: Path,
    s: QuantSettings,
    exclude: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> Path:
    """Static QDQ U8/S8 of ``model_path`` into ``out_path``; ranges from ``cache`` when it exists,
    else calibrated on ``calib`` (prepared HxWx1 tensors) and cached. ``exclude``: nodes kept in
    FP32; ``only``: quantise just these nodes."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    reader = _Reader(calib) if calib is not None and not cache.is_file() else None
    quantize_static(
        str(model_path),
        str(out_path),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=s.per_channel,
        reduce_range=s.reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_quantize=list(only) if only is not None else None,
        nodes_to_exclude=list(exclude),
        calibrate_method=CalibrationMethod.MinMax,
        # not CalibMaxIntermediateOutputs: in onnxruntime 1.32 it drops the collected ranges
        extra_options={"CalibStridedMinMax": stride_for(len(calib), s.calib_max_outputs)} if reader else {},
        calibration_cache_path=str(cache),
    )
    return out_path


def _scorer(samples: Sequence[Sample], card: Any, threshold: float, threads: int) -> Callable[[Path], Scored]:
    """model path -> its figures on ``samples`` (read once), through the station's inference."""
    from trainer.data.io import read_mask, read_raw
    from trainer.evaluate import OnnxPredictor, default_recipe, score_maps

    raws = [read_raw(x.image) for x in samples]
    masks = [read_mask(x.mask, r.shape[:2], x.image) for x, r in zip(samples, raws, strict=True)]
    recipe = default_recipe().model_copy(update={"threshold": threshold})

    def score(path: Path) -> Scored:
        predict = OnnxPredictor(path, card, threads)
        probs = [predict(r) for r in raws]
        m = score_maps([x.key for x in samples], masks, probs, recipe, with_scores=False)["summary"]
        return Scored(float(m["tpr"]), float(m["tnr"]), float(m["dice_defective"]), probs)

    return score


def openvino_check(path: Path, tensor: np.ndarray, ort_out: np.ndarray, threshold: float) -> dict[str, Any]:
    """Does OpenVINO compile ``path`` on the CPU (float parts in f32, not the bf16 it picks on
    CPUs that have it), and how far is it from ONNX Runtime on one tensor (largest and mean
    difference, pixels whose ``p >= threshold`` decision differs)? Advisory: OpenVINO reads the
    QDQ model its own way, so its INT8 accuracy is that backend's to validate."""
    try:
        import openvino as ov
    except ImportError:
        return {"openvino": "not installed"}
    try:
        compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        got = np.asarray(compiled(tensor[None])[compiled.output(0)])
        return {
            "openvino": f"compiles and runs ({ov.__version__})",
            "openvino_vs_ort": {
                "max_abs_diff": float(np.max(np.abs(got - ort_out))),
                "mean_abs_diff": float(np.mean(np.abs(got - ort_out))),
                "pixels_flipped": int(np.count_nonzero((got >= threshold) != (ort_out >= threshold))),
                "pixels_defect_ort": int(np.count_nonzero(ort_out >= threshold)),
            },
        }
    except Exception as exc:  # recorded: advisory, for another backend
        return {"openvino": f"failed: {type(exc).__name__}: {exc}"[:300]}


def _parity(a: Path, b: Path, tensors: Sequence[np.ndarray]) -> float:
    from inspector.core.backends.onnxruntime_backend import make_session

    sa, sb = make_session(a), make_session(b)
    worst = 0.0
    for x in tensors:
        (ya,) = sa.run([OUTPUT_NAME], {INPUT_NAME: x[None]})
        (yb,) = sb.run([OUTPUT_NAME], {INPUT_NAME: x[None]})
        worst = max(worst, float(np.max(np.abs(np.asarray(ya) - np.asarray(yb)))))
    return worst


def quantize_model(
    student: Path,
    train: Sequence[Sample],
    out_dir: Path,
    s: QuantSettings,
    state: ProgressState,
    emit: Emit = null_emitter,
) -> Path:
    """Quantise ``student`` (ONNX + card) into ``out_dir/model.onnx`` (+ card) as the module says;
    ``train``: the train split (calibration and check images come from it only)."""
    import onnx

    from inspector.core.model_card import ModelCard, copy_golden, load_card, sha256_file, write_card
    from inspector.core.preprocess import prepare
    from trainer.data.io import read_raw
    from trainer.onnx_split import split_concat_convs

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    card = load_card(student)
    calib_s, check_s = pick_subsets(train, s.calib_images, s.check_images, s.seed)
    if not check_s or not any(x.defective for x in check_s):
        raise QuantError(
            f"{student}: too few train images for a check set with defects ({len(train)} in all)"
        )
    # 1. the Concat split, FP32 parity on real tensors
    split_model, rewritten = split_concat_convs(onnx.load(str(student)))
    split_path = out_dir / "split.onnx"
    onnx.save(split_model, str(split_path))
    calib = [prepare(read_raw(x.image), card)[0] for x in calib_s]
    diff = _parity(student, split_path, calib[:2])
    if not diff <= PARITY_TOL:
        raise QuantError(f"{split_path}: the Concat split changed the output by {diff:.3g} > {PARITY_TOL}")
    emit({"event": "quantize", "stage": "split", "rewritten": rewritten, "parity_max_abs_diff": diff})
    # 2. calibration (once; every variant reads the cache)
    cache = out_dir / "calib.json"
    cache.unlink(missing_ok=True)  # ranges of this student and these images only
    work = out_dir / "work"
    work.mkdir(exist_ok=True)
    state.progress(0, None, f"calibrating on {len(calib)} train images")
    all_q = quantize(split_path, work / "all.onnx", calib, cache, s)
    del calib
    # 3. the search
    score = _scorer(check_s, card, card.threshold, s.threads)
    ref = score(student)
    layers = layers_of(onnx.load(str(all_q)))
    record: dict[str, Any] = {
        "settings": asdict(s),
        "calibration_keys": [x.key for x in calib_s],
        "check_keys": [x.key for x in check_s],
        "concat_split": rewritten,
        "split_parity_max_abs_diff": diff,
        "fp32": ref.figures(),
        "layers": layers,
        "candidates": [],
    }

    def judge(path: Path, excluded: list[str]) -> Scored:
        got = score(path)
        ok = accepts(ref, got, s)
        record["candidates"].append({"excluded": list(excluded), **got.figures(), "accepted": ok})
        emit(
            {"event": "quantize", "stage": "candidate", "excluded": excluded, **got.figures(), "accepted": ok}
        )
        return got

    excluded: list[str] = []
    best, final = all_q, judge(all_q, [])
    if not accepts(ref, final, s):
        errors: dict[str, tuple[float, float]] = {}
        ref_probs = ref.probs
        for i, name in enumerate(layers):
            if state.cancelled():
                raise InterruptedError("cancelled during the sensitivity search")
            one = quantize(split_path, work / "one.onnx", None, cache, s, only=[name])
            errors[name] = layer_error(ref_probs, score(one).probs, card.threshold)
            state.progress(i + 1, len(layers), f"layer {name}: error {errors[name][0]:.4f}")
        ranked = sorted(layers, key=lambda n: errors[n], reverse=True)
        record["layer_error"] = {n: {"flips": errors[n][0], "mean_abs_diff": errors[n][1]} for n in ranked}
        emit({"event": "quantize", "stage": "ranked", "ranked": ranked[:8]})
        found = False
        for name in ranked:
            if state.cancelled():
                raise InterruptedError("cancelled during the sensitivity search")
            excluded.append(name)
            cand = quantize(split_path, work / "cand.onnx", None, cache, s, exclude=excluded)
            if accepts(ref, judge(cand, excluded), s):
                found = True
                break
        if not found:
            raise QuantError(
                f"{student}: no INT8 model keeps the FP32 accuracy on the check images, even with every "
                f"conv in FP32 (see {out_dir / 'sensitivity.json'})"
            )
        for name in list(reversed(excluded[:-1])):  # back to INT8 whatever is not needed
            trial = [n for n in excluded if n != name]
            cand = quantize(split_path, work / "cand.onnx", None, cache, s, exclude=trial)
            if accepts(ref, judge(cand, trial), s):
                excluded = trial
        best = quantize(split_path, work / "best.onnx", None, cache, s, exclude=excluded)
        final = judge(best, excluded)
        if not accepts(ref, final, s):
            raise QuantError(f"{best}: the chosen INT8 model no longer holds on the check images")
    out = out_dir / "model.onnx"
    best.replace(out)
    probe = prepare(read_raw(check_s[0].image), card)[0]
    from inspector.core.backends.onnxruntime_backend import make_session

    (ort_out,) = make_session(out).run([OUTPUT_NAME], {INPUT_NAME: probe[None]})
    record.update(
        excluded=excluded,
        int8=final.figures(),
        seconds=time.perf_counter() - t0,
        **openvino_check(out, probe, np.asarray(ort_out), card.threshold),
    )
    (out_dir / "sensitivity.json").write_text(
        json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8"
    )
    q_card = ModelCard.model_validate(
        card.model_dump()
        | {
            "sha256": sha256_file(out),
            "precision": "int8",
            "quantization": {
                "format": "QDQ",
                "activations": "uint8 (asymmetric)",
                "weights": "int8 (per-channel)" if s.per_channel else "int8",
                "reduce_range": s.reduce_range,
                "calibration": f"MinMax, {len(calib_s)} train-split images",
                "concat_split": rewritten,
                "fp32_layers": excluded,
                "check": {"images": len(check_s), "fp32": ref.figures(), "int8": final.figures()},
                "student_sha256": sha256_file(student),
            },
        }
    )
    write_card(q_card, out)
    copy_golden(student, out)  # the student's self-test images, until evaluate picks INT8's own
    emit({"event": "quantize", "stage": "done", "model": str(out), "excluded": excluded, **final.figures()})
    return out
