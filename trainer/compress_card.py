"""The ``evaluate`` step of ``compress``: teacher, FP32 student and INT8 student on the teacher's
held-out split, with the station's code, and the card of the model that goes to ``out/final``.

Every model is scored with the recipe the station runs (default: the shipped one; its pixel
threshold, not the card's suggestion, which the station does not read) on the ``val`` part of
the teacher's split, which neither network trained on and the quantisation never looked at
(its calibration and check images are train-split images). The card records the precision,
the teacher (sha256 and metrics measured here), the differences, whether the issue's target
holds (image TPR not below the teacher's, TNR at most 0.01 below, Dice on defective images at
most 0.01 below), the compression settings, the FP32 layers and the commands. Golden samples
come from that evaluation (``trainer.golden``) and the station's self-test must pass on the
written model, or the step fails.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspector.core.progress import ProgressState
from trainer.compress import CompressConfig, CompressError, portable
from trainer.events import Emit, null_emitter

log = logging.getLogger(__name__)

COMPARED = ("tpr", "tnr", "dice_defective", "dice_all", "iou_defective", "auroc", "average_precision")
TPR_DROP = 0.0  # the target: no defect missed that the teacher finds
TNR_DROP = 0.01  # at most 1 clean image in 100 more rejected
DICE_DROP = 0.01


def versus(model: dict[str, Any], teacher: dict[str, Any]) -> dict[str, Any]:
    """``model - teacher`` per figure, and whether the target holds."""
    diff = {
        k: float(model[k]) - float(teacher[k])
        for k in COMPARED
        if isinstance(model.get(k), int | float) and isinstance(teacher.get(k), int | float)
    }

    def drop_ok(key: str, limit: float) -> bool:
        d = diff.get(key)
        return d is not None and not math.isnan(d) and d >= -limit - 1e-12

    meets = drop_ok("tpr", TPR_DROP) and drop_ok("tnr", TNR_DROP) and drop_ok("dice_defective", DICE_DROP)
    return {
        "minus_teacher": diff,
        "target": f"TPR >= teacher, TNR >= teacher - {TNR_DROP}, Dice defective >= teacher - {DICE_DROP}",
        "meets_target": meets,
    }


def _portable_tree(v: Any) -> Any:
    if isinstance(v, str):
        return portable(v)
    if isinstance(v, dict):
        return {k: _portable_tree(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_portable_tree(x) for x in v]
    return v


def commands(out: Path, steps: tuple[str, ...] | None = None) -> str:
    """The compress commands that made ``out``: for each step, the last recorded run of it. A
    student started from another compress run's checkpoint (``--init-from OUT/student/...``)
    gets that run's distill command in front."""
    from trainer.compress import STEPS, reproduce

    log = out / "compress.json"
    fields = CompressConfig.model_fields
    runs = [
        CompressConfig.model_validate({k: v for k, v in r.items() if k in fields})
        for r in json.loads(log.read_text(encoding="utf-8"))
    ]
    picked: list[CompressConfig] = []
    for step in steps or STEPS:
        last = next((r for r in reversed(runs) if step in r.steps), None)
        if last is not None and last not in picked:
            picked.append(last)
    parts = [reproduce(r) for r in picked]
    start = next((Path(r.init_from) for r in picked if "distill" in r.steps and r.init_from), None)
    source = start.parent.parent if start is not None and start.parent.name == "student" else None
    if source is not None and source != out and (source / "compress.json").is_file():
        parts.insert(0, commands(source, ("distill",)))
    return " && ".join(parts)


def selftest(model: Path, recipe: Any, threads: int) -> Any:
    """The station's golden-sample self-test of ``model`` with ONNX Runtime (a report)."""
    from inspector.core.selftest import selftest_model

    return selftest_model(model, recipe, threads or None)


def openvino_predictor(model: Path, card: Any, threads: int = 0) -> Any:
    """image -> probability map with the station's OpenVINO backend through the station's tiler, or
    None when OpenVINO is not installed.

    The station's backend, not a bare ``compile_model``: OpenVINO compiles a model with dynamic
    spatial dimensions to other INT8 kernels than one reshaped to the image size, and those were
    measured less accurate (the shipped DAGM student: Dice on defective images 0.8505 with
    dynamic shapes vs 0.8614 as the station runs it, ONNX Runtime 0.8609). The card must record
    what the station will actually do."""
    from inspector.core.backends.base import BackendUnavailable, ModelLoadError
    from inspector.core.backends.openvino_backend import OpenVINOBackend
    from inspector.core.tiling import Tiler

    backend = OpenVINOBackend(threads=threads or None, warm_size=(card.input_height, card.input_width))
    try:
        backend.load(Path(model))
    except (BackendUnavailable, ModelLoadError) as exc:  # no record: the station keeps ONNX Runtime
        log.warning("OpenVINO cannot run %s: %s", model, exc)
        return None
    tiler = Tiler(card=card, run=backend.infer, model_path=Path(model), on_cpu=True)
    return lambda image: tiler.infer(image)[0]


def evaluate_and_write(cc: CompressConfig, state: ProgressState, emit: Emit = null_emitter) -> Path:
    """Score the three models on the held-out split, write ``out/final`` and check it; returns
    ``out/final/model.onnx``."""
    from inspector.core.model_card import ModelCard, load_card, sha256_file, verify_card, write_card
    from inspector.core.recipe import load_recipe
    from trainer.data import load_samples, load_split
    from trainer.data.split import select
    from trainer.evaluate import default_recipe, evaluate, summary_of
    from trainer.golden import golden_from_evaluation

    teacher = Path(cc.teacher)
    models = {"teacher": teacher, "fp32": cc.student_onnx, "int8": cc.path("quant", "model.onnx")}
    for name, path in models.items():
        if not path.is_file():
            raise CompressError(f"{path}: no {name} model (run the earlier steps)")
    cards = {name: verify_card(load_card(path), path) for name, path in models.items()}
    split = load_split(Path(cc.split))
    if not split.val:
        raise CompressError(f"{cc.split}: no val (held-out) part to score on")
    val = select(load_samples(Path(cc.data), ("Train", "Test")), split.val, cc.split)
    recipe = load_recipe(Path(cc.recipe)) if cc.recipe else default_recipe()
    scored: dict[str, dict[str, Any]] = {}
    for i, (name, path) in enumerate(models.items()):
        if state.cancelled():
            raise InterruptedError("cancelled during the evaluation")
        state.progress(i, len(models), f"scoring {name} on {len(val)} held-out images")
        scored[name] = evaluate(path, val, recipe, cc.path("eval", name), cards[name], split="val")
        emit({"event": "compress", "step": "evaluate", "model": name, **_figures(scored[name])})
    ov = openvino_predictor(models["int8"], cards["int8"], cc.threads)
    if ov is not None:  # the same INT8 file as OpenVINO reads it (it reads QDQ its own way)
        state.progress(len(models), len(models) + 1, "scoring int8 under OpenVINO")
        scored["int8_openvino"] = evaluate(ov, val, recipe, cc.path("eval", "int8_openvino"), split="val")
        emit(
            {
                "event": "compress",
                "step": "evaluate",
                "model": "int8_openvino",
                **_figures(scored["int8_openvino"]),
            }
        )
    t = summary_of(scored["teacher"])
    report = {
        name: {**_figures(m), "vs_teacher": versus(m, t) if name != "teacher" else None}
        for name, m in scored.items()
    }
    (cc.path("eval")).mkdir(parents=True, exist_ok=True)
    (cc.path("eval", "compare.json")).write_text(json.dumps(report, indent=2, default=str) + "\n", "utf-8")

    chosen = cc.final
    final_dir = cc.path("final")
    final_dir.mkdir(parents=True, exist_ok=True)
    dst = final_dir / "model.onnx"
    shutil.copyfile(models[chosen], dst)
    base = cards[chosen].model_dump(mode="json")
    for stale in ("metrics_val", "card_sha_mismatch", "golden"):
        base.pop(stale, None)
    m = scored[chosen]
    drop = ("model", "model_sha256")
    quant = (
        json.loads(cc.path("quant", "sensitivity.json").read_text("utf-8"))
        if cc.path("quant", "sensitivity.json").is_file()
        else {}
    )
    distill_rec = cc.path("student", "distill.json")
    card = {
        **base,
        "name": f"{cards['teacher'].name}-{chosen}",
        "sha256": sha256_file(dst),
        "precision": chosen,
        "metrics": {
            **{k: v for k, v in summary_of(m).items() if k not in drop},
            "split": "val",
            "threshold_from": f"recipe {recipe.name!r} v{recipe.version}",
            "note": "the teacher's held-out split; scored with the station's tiler and rules",
        },
        "teacher": {
            "name": cards["teacher"].name,
            "path": str(teacher),
            "sha256": cards["teacher"].sha256,
            "metrics": {k: v for k, v in summary_of(scored["teacher"]).items() if k not in drop},
        },
        "vs_teacher": report[chosen]["vs_teacher"],
        "compared": report,
        "compression": {
            "student": {k: base.get("config", {}).get(k) for k in ("base_filters", "depth", "batchnorm")},
            "student_fp32_sha256": cards["fp32"].sha256,
            "distillation": json.loads(distill_rec.read_text("utf-8")) if distill_rec.is_file() else None,
            "quantization": (cards["int8"].model_extra or {}).get("quantization")
            if chosen == "int8"
            else None,
            "quantization_search": {
                k: quant.get(k)
                for k in ("fp32", "int8", "excluded", "layer_error", "openvino", "openvino_vs_ort")
            }
            if chosen == "int8" and quant
            else None,
        },
        "reproduce": commands(Path(cc.out)),
        "created_at": datetime.now(UTC).isoformat(),
    }
    card["golden"] = golden_from_evaluation(m["per_image"], val, final_dir)
    kinds = {g["expected"] for g in card["golden"]}
    if kinds != {"OK", "NG"}:
        # a model verified on clean images only would pass a self-test while finding nothing
        missing = " and ".join(k for k in ("OK", "NG") if k not in kinds)
        raise CompressError(f"{dst}: no val image decided right to verify it with as {missing} (golden)")
    written = ModelCard.model_validate(_portable_tree(card))
    write_card(written, dst)
    report_st = selftest(dst, recipe, cc.threads)
    emit({"event": "compress", "step": "selftest", "passed": report_st.passed, "reason": report_st.reason})
    if not report_st.passed:
        raise CompressError(f"{dst}: the station's self-test fails: {report_st.reason}")
    return dst


def _figures(m: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "tpr",
        "tnr",
        "tp",
        "fn",
        "tn",
        "fp",
        "dice_defective",
        "dice_all",
        "iou_defective",
        "auroc",
        "average_precision",
        "threshold",
        "n_images",
        "n_defective",
        "ms_per_image",
    )
    return {k: m.get(k) for k in keep}
