"""best.keras -> ONNX (opset 17, ``image`` -> ``mask``) + model card, parity-checked.

Route: a ``tf.function`` with a dynamic [None, None, None, 1] signature fed to
``tf2onnx.convert.from_function`` (works with Keras 3, where tf2onnx's
``from_keras`` does not). The file is written only after ONNX Runtime matches
Keras on real images within ``PARITY_TOL``. The card's preprocessing is the run's
(``TrainConfig.card``); its metrics are the test split's at the threshold chosen
on val (``trainer.evaluate.select_and_report``), and its golden samples come from val.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.contract import INPUT_NAME, OUTPUT_NAME
from inspector.core.model_card import ModelCard, sha256_file, write_card
from inspector.core.recipe import Recipe, load_recipe

OPSET = 17
PARITY_TOL = 1e-4


class ExportError(ValueError):
    """The export would not be faithful (parity) or the run is incomplete."""


def to_onnx(model: Any) -> Any:
    """ONNX ModelProto of a Keras U-Net with the contract names and dynamic N, H, W."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec([None, None, None, 1], tf.float32, name=INPUT_NAME),)

    @tf.function(input_signature=spec)
    def serve(image: Any) -> dict[str, Any]:
        return {OUTPUT_NAME: model(image, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=OPSET)
    names = ([i.name for i in proto.graph.input], [o.name for o in proto.graph.output])
    if names != ([INPUT_NAME], [OUTPUT_NAME]):
        raise ExportError(
            f"converter produced inputs/outputs {names}, expected [{INPUT_NAME!r}] / [{OUTPUT_NAME!r}]"
        )
    return canonical_names(proto)


def canonical_names(proto: Any) -> Any:
    """Rename nodes, tensors and initializers by position (n0_Conv, t0, ...), in place.

    tf2onnx numbers its generated constants with process-wide counters, so the
    same weights exported twice gave different bytes, hence a different sha256,
    which is the model's identity. After this, same weights -> same file for
    exports in fresh processes (the CLI); a second conversion inside one process
    can still come out in another node order.
    """
    import onnx

    g = proto.graph
    keep = {i.name for i in g.input} | {o.name for o in g.output}
    mapping: dict[str, str] = {}

    def new(name: str) -> str:
        if name in keep or not name:
            return name
        return mapping.setdefault(name, f"t{len(mapping)}")

    for node in g.node:  # node order is topological, so first use numbers the tensors
        for name in (*node.input, *node.output):
            new(name)
    for init in g.initializer:
        init.name = new(init.name)
    inits = sorted(g.initializer, key=lambda t: int(t.name[1:]))
    del g.initializer[:]
    g.initializer.extend(inits)
    for k, node in enumerate(g.node):
        node.name = f"n{k}_{node.op_type}"
        node.input[:] = [new(x) for x in node.input]
        node.output[:] = [new(x) for x in node.output]
    for vi in g.value_info:
        vi.name = new(vi.name)
    for vi in (*g.input, *g.output):  # counter-named symbolic dims (unk__123) -> N, H, W
        for d, label in zip(vi.type.tensor_type.shape.dim, ("N", "H", "W"), strict=False):
            if not d.HasField("dim_value"):
                d.dim_param = label
    onnx.checker.check_model(proto)
    return proto


def parity(model: Any, onnx_path: Path, tensors: list[np.ndarray]) -> float:
    """Max |ORT - Keras| over ``tensors`` (each HxWx1 float32, already normalised)."""
    from inspector.core.backends.onnxruntime_backend import make_session

    sess = make_session(onnx_path)
    worst = 0.0
    for x in tensors:
        ref = np.asarray(model.predict_on_batch(x[None]))
        (got,) = sess.run([OUTPUT_NAME], {INPUT_NAME: x[None]})
        worst = max(worst, float(np.max(np.abs(got - ref))))
    return worst


def _parity_samples(samples: list[Any], n: int) -> list[Any]:
    """Half defective (where the net fires, so where a mismatch would matter), half clean."""
    defective = [s for s in samples if s.defective]
    clean = [s for s in samples if not s.defective]
    k = min(len(defective), max(1, n // 2))
    return (defective[:k] + clean[: n - k])[:n] or samples[:n]


def export_run(
    run_dir: Path,
    out_dir: Path | None = None,
    name: str = "model",
    parity_images: int = 4,
    recipe: Path | None = None,
    reproduce: str = "",
    card_name: str | None = None,
) -> Path:
    """Export ``run_dir/best.keras`` to ``out_dir/<name>.onnx`` + card; returns the .onnx path.

    ``card_name`` (what the station shows) defaults to the output folder's name
    (``resources/models/demo`` -> "demo"), or the run's when exporting into it.
    """
    from inspector.core.preprocess import prepare
    from trainer.config import TrainConfig
    from trainer.data import load_samples, load_split
    from trainer.data.io import read_raw
    from trainer.data.split import select
    from trainer.evaluate import default_recipe, select_and_report, summary_of
    from trainer.golden import golden_from_evaluation
    from trainer.train import load_keras

    run_dir = Path(run_dir)
    best = run_dir / "best.keras"
    if not best.is_file():
        raise ExportError(f"{run_dir}: no best.keras (did training finish at least one epoch?)")
    cfg = TrainConfig.load(run_dir / "config.json")
    split = load_split(run_dir / "split.json")
    out_dir = Path(out_dir) if out_dir else run_dir / "export"
    out_dir.mkdir(parents=True, exist_ok=True)
    from trainer.train import twin

    model = twin(load_keras(best), cfg)  # float32 even when trained in mixed bfloat16

    samples = load_samples(Path(cfg.data), ("Train", "Test"))  # a DAGM Test/ folder may be the test split
    val = select(samples, split.val, run_dir / "split.json")
    test = select(samples, split.test, run_dir / "split.json")
    first = read_raw(val[0].image)
    # the run's own card (its normalisation: what training, validation and the station feed the net)
    card = cfg.card(
        card_name or (out_dir.name if out_dir != run_dir / "export" else run_dir.name),
        (int(first.shape[0]), int(first.shape[1])),
    )

    tmp = out_dir / f".{name}.tmp.onnx"
    tmp.write_bytes(to_onnx(model).SerializeToString())
    try:
        # parity on the tensors the station would feed (its own prepare), real val images
        tensors = [prepare(read_raw(s.image), card)[0] for s in _parity_samples(val, parity_images)]
        diff = parity(model, tmp, tensors)
        if not diff <= PARITY_TOL:
            raise ExportError(
                f"{tmp}: ONNX Runtime differs from Keras by {diff:.3g} > {PARITY_TOL}; not written"
            )
        rec: Recipe = load_recipe(recipe) if recipe else default_recipe()
        # ONNX Runtime through the station's tiler and rules: threshold on val, figures on test
        report = select_and_report(tmp, val, test, rec, run_dir, card)
        metrics = report["val"]
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    onnx_path = out_dir / f"{name}.onnx"
    os.replace(tmp, onnx_path)
    reported = report["test"] if report["test"] is not None else metrics
    drop = ("model", "model_sha256")
    summary = {k: v for k, v in summary_of(reported).items() if k not in drop}
    val_summary = {k: v for k, v in summary_of(metrics).items() if k not in drop}
    history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
    result = (
        json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
        if (run_dir / "result.json").is_file()
        else {}
    )
    card = card.model_copy(
        update={
            "sha256": sha256_file(onnx_path),
            "threshold": report["threshold"],
            "trained_on": f"{cfg.data} (train split: {split.counts.get('train')} images, "
            f"{split.counts.get('train_defective')} defective)",
            # figures on the test split (never used to choose anything) at the threshold chosen
            # on val; without a test split (older runs) they are val's, and "split" says so
            "metrics": {**summary, "split": report["report_split"], "threshold_from": "val"},
            "metrics_val": {**val_summary, "split": "val", "note": "chose the checkpoint and the threshold"},
            "config": cfg.model_dump(),
            "created_at": datetime.now(UTC),
        }
    )
    extra = {
        "split": {
            "seed": split.seed,
            "val_fraction": split.val_fraction,
            "test_fraction": split.test_fraction,
            "grouping": split.grouping,
            "test_source": split.test_source,
            "counts": split.counts,
            "val_keys": split.val,
            "test_keys": split.test,
        },
        "training": {
            k: result.get(k)
            for k in (
                "status",
                "epochs_done",
                "best_epoch",
                "best_val_dice",
                "train_seconds",
                "train_img_per_s",
            )
        }
        | {"epochs_logged": len(history)},
        "export": {
            "opset": OPSET,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "layout": "NHWC [N,H,W,1] float32",
            "parity_max_abs_diff": diff,
            "parity_images": len(tensors),
        },
        "reproduce": reproduce,
    }
    if cfg.init_from:
        extra["init_from"] = cfg.init_from  # also inside "config"; top level for readers of the card
    # the station's self-test: correctly decided val images (the user's data), copied beside the model
    extra["golden"] = golden_from_evaluation(metrics["per_image"], val, out_dir)
    card = ModelCard.model_validate({**card.model_dump(), **extra})
    write_card(card, onnx_path)
    for f in ("curves.png", "split.json"):
        if (run_dir / f).is_file():
            shutil.copyfile(run_dir / f, out_dir / f)
    shown = run_dir / ("eval_test" if report["test"] is not None else "eval_val")
    if (shown / "pr_curve.png").is_file():
        shutil.copyfile(shown / "pr_curve.png", out_dir / "pr_curve.png")
    return onnx_path
