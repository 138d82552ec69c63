"""Training, resume, SIGTERM, export parity and evaluation on tiny synthetic data.

All CPU, seconds each: a 4-filter, depth-3 U-Net on 64x64 synthetic images.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from trainer.config import TrainConfig
from trainer.data.synth import write_synthetic

pytestmark = [
    pytest.mark.slow,
    # Keras 3 internals call np.array(tensor) the NumPy-1 way; not ours to fix
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]

TINY = {"base_filters": 4, "depth": 3, "crop": 32, "batch": 8, "steps_per_epoch": 6, "lr": 3e-3, "threads": 2}


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    write_synthetic(root, 24, seed=11, size=64, p_defective=0.5)
    return root


@pytest.fixture(scope="module")
def trained_run(synth_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    from trainer.train import train

    run = tmp_path_factory.mktemp("run")
    events: list[dict] = []
    cfg = TrainConfig(data=str(synth_data), out=str(run), epochs=4, patience=10, **TINY)
    result = train(cfg, SimpleState(), events.append)
    assert result.status == "completed"
    return run, events


def test_training_loss_falls_and_run_dir_is_complete(trained_run: tuple[Path, list[dict]]) -> None:
    run, events = trained_run
    history = json.loads((run / "history.json").read_text())
    assert len(history) == 4
    assert history[-1]["loss"] < history[0]["loss"]
    for name in ("config.json", "split.json", "best.keras", "last.keras", "state.json", "curves.png"):
        assert (run / name).is_file(), name
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start"
    assert kinds[-1] == "done"
    assert kinds.count("epoch") == 4
    step = next(e for e in events if e["event"] == "step")
    assert {"epoch", "step", "steps", "loss", "metrics", "eta_s", "img_per_s"} <= set(step)
    split = json.loads((run / "split.json").read_text())
    assert not set(split["train"]) & set(split["val"])


def test_same_seed_same_training(
    trained_run: tuple[Path, list[dict]], synth_data: Path, tmp_path: Path
) -> None:
    from trainer.train import train

    # same epochs too: the cosine learning-rate schedule depends on them
    cfg = TrainConfig(data=str(synth_data), out=str(tmp_path / "again"), epochs=4, patience=10, **TINY)
    train(cfg, SimpleState())
    first = json.loads((trained_run[0] / "history.json").read_text())
    again = json.loads((tmp_path / "again" / "history.json").read_text())
    assert [h["loss"] for h in again] == pytest.approx([h["loss"] for h in first], rel=1e-5)
    assert (tmp_path / "again" / "split.json").read_text() == (trained_run[0] / "split.json").read_text()


def test_resume_continues_from_last_epoch(trained_run: tuple[Path, list[dict]], tmp_path: Path) -> None:
    import shutil

    from trainer.train import train

    run = tmp_path / "resumed"
    shutil.copytree(trained_run[0], run)
    cfg = TrainConfig.load(run / "config.json").model_copy(update={"out": str(run), "epochs": 5})
    cfg.save(run / "config.json")
    result = train(cfg, SimpleState(), resume=True)
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert result.epochs_done == 5


def test_cancel_before_first_epoch_still_leaves_a_model(synth_data: Path, tmp_path: Path) -> None:
    from trainer.train import load_keras, train

    state = SimpleState()
    state.cancel()
    cfg = TrainConfig(data=str(synth_data), out=str(tmp_path / "r"), epochs=3, **TINY)
    result = train(cfg, state)
    assert result.status == "cancelled"
    assert load_keras(tmp_path / "r" / "best.keras") is not None


def test_sigterm_during_training_keeps_best_model(synth_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "sig"
    args = [
        sys.executable,
        "-m",
        "trainer",
        "train",
        "--data",
        str(synth_data),
        "--out",
        str(run),
        "--progress",
        "json",
        "--epochs",
        "500",
        "--patience",
        "500",
    ]
    args += [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    events = []
    assert proc.stdout is not None
    for line in proc.stdout:
        events.append(json.loads(line))  # every stdout line is one JSON object
        if events[-1]["event"] == "epoch":
            proc.send_signal(signal.SIGTERM)
            break
    rest, err = proc.communicate(timeout=60)
    events += [json.loads(x) for x in rest.splitlines()]
    assert proc.returncode == 130, err[-2000:]
    assert events[-1]["event"] == "done"
    assert events[-1]["status"] == "cancelled"
    assert events[-1]["epochs_done"] < 500
    result = json.loads((run / "result.json").read_text())
    assert result["best_epoch"] >= 1

    from trainer.train import load_keras

    model = load_keras(run / "best.keras")
    assert model.predict_on_batch(np.zeros((1, 64, 64, 1), np.float32)).shape == (1, 64, 64, 1)


def test_export_parity_and_card(trained_run: tuple[Path, list[dict]], tmp_path: Path) -> None:
    import onnxruntime as ort

    from inspector.core.model_card import load_card
    from trainer.export import export_run

    onnx_path = export_run(trained_run[0], tmp_path / "out", name="tiny", reproduce="inspector-train ...")
    assert onnx_path == tmp_path / "out" / "tiny.onnx"
    card = load_card(onnx_path)
    assert not hasattr(card, "card_sha_mismatch")
    assert card.name == "out"  # the output folder names the model
    assert card.resize == "native"
    assert card.multiple == 4
    assert card.export["parity_max_abs_diff"] <= 1e-4
    assert card.export["opset"] == 17
    assert card.reproduce == "inspector-train ..."
    assert {"tpr", "tnr", "dice_defective", "dice_all", "iou_defective"} <= set(card.metrics)
    assert 0.0 < card.threshold < 1.0
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["image"]
    assert [o.name for o in sess.get_outputs()] == ["mask"]
    (out,) = sess.run(["mask"], {"image": np.zeros((3, 48, 80, 1), np.float32)})  # dynamic N, H, W
    assert out.shape == (3, 48, 80, 1)


def test_export_is_byte_deterministic(trained_run: tuple[Path, list[dict]], tmp_path: Path) -> None:
    """Same weights -> same bytes -> same sha256 (the model's identity), export by export.

    Each export is a fresh process, as from the CLI/GUI: within one process tf2onnx
    may order a second conversion differently.
    """
    from inspector.core.model_card import sha256_file

    for out in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "trainer",
                "export",
                str(trained_run[0]),
                "--out",
                str(tmp_path / out),
                "--parity-images",
                "1",
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    assert sha256_file(tmp_path / "a" / "model.onnx") == sha256_file(tmp_path / "b" / "model.onnx")


def test_export_refuses_when_parity_fails(
    trained_run: tuple[Path, list[dict]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trainer import export

    monkeypatch.setattr(export, "PARITY_TOL", -1.0)
    with pytest.raises(export.ExportError, match="differs from Keras"):
        export.export_run(trained_run[0], tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.onnx"))


# --- evaluation with known numbers -------------------------------------------------------------


def _identity_onnx(path: Path) -> Path:
    """mask = image / 255 * 255 / 255: the prediction *is* the image, so we control it exactly."""
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["mask"])],
        "identity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", "H", "W", 1])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", "H", "W", 1])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    card = {
        "name": "identity",
        "resize": "native",
        "multiple": 1,
        "threshold": 0.5,
        "normalisation": {"scale": 255.0, "mean": 0.0, "std": 1.0},
    }
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


def _known_set(root: Path) -> None:
    """Five 40x40 images; image = predicted map, mask = truth.

    a: defect 10x10, predicted exactly          -> TP, dice 1
    b: defect 10x10, nothing predicted          -> FN, dice 0
    c: clean, 10x10 false blob (100 px >= 20)   -> FP, dice 0
    d: clean, nothing predicted                 -> TN, dice 1
    e: defect 10x10, half predicted (50 px)     -> TP, dice 2*50/150
    f: clean, 3x3 speck (9 px < min_area 20)    -> TN (ignored region), pixel dice 0
    """
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    z = np.zeros((40, 40), np.uint8)
    sq = z.copy()
    sq[10:20, 10:20] = 255
    half = z.copy()
    half[10:15, 10:20] = 255
    speck = z.copy()
    speck[30:33, 30:33] = 255
    cases = {
        "a": (sq, sq),
        "b": (z, sq),
        "c": (sq, None),
        "d": (z, None),
        "e": (half, sq),
        "f": (speck, None),
    }
    for k, (img, mask) in cases.items():
        cv2.imwrite(str(root / "images" / f"{k}.png"), img)
        if mask is not None:
            cv2.imwrite(str(root / "masks" / f"{k}.png"), mask)


def test_evaluate_known_numbers(tmp_path: Path) -> None:
    from trainer.evaluate import evaluate_cli

    _known_set(tmp_path / "data")
    model = _identity_onnx(tmp_path / "identity.onnx")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(Recipe().model_dump_json())  # threshold 0.5, min_area 20, max_count 0
    m = evaluate_cli(model, tmp_path / "data", tmp_path / "eval", recipe=recipe)
    assert m["n_images"] == 6
    assert m["n_defective"] == 3
    assert (m["tp"], m["fn"], m["tn"], m["fp"]) == (2, 1, 2, 1)
    assert m["tpr"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["tnr"] == pytest.approx(2 / 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["dice_defective"] == pytest.approx((1 + 0 + 100 / 150) / 3)
    assert m["dice_all"] == pytest.approx((1 + 0 + 0 + 1 + 100 / 150 + 0) / 6)
    assert m["iou_defective"] == pytest.approx((1 + 0 + 0.5) / 3)
    verdicts = {r["key"]: r["verdict"] for r in m["per_image"]}
    assert verdicts == {"a": "NG", "b": "OK", "c": "NG", "d": "OK", "e": "NG", "f": "OK"}
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    for key in (
        "tpr",
        "tnr",
        "precision",
        "recall",
        "dice_defective",
        "dice_all",
        "iou_defective",
        "n_images",
        "n_defective",
        "per_image",
    ):
        assert key in saved
    # the typed result names every key evaluate returns and writes, and nothing else
    from typing import get_type_hints

    from trainer.evaluate import EvalMetrics

    assert set(m) == set(saved) == set(get_type_hints(EvalMetrics))
    curve = json.loads((tmp_path / "eval" / "pr_curve.json").read_text())
    assert [round(r["threshold"], 2) for r in curve][:2] == [0.05, 0.1]
    # binary maps: every threshold gives the same answer
    assert {r["image_recall"] for r in curve} == {2 / 3}
    assert (tmp_path / "eval" / "pr_curve.png").stat().st_size > 1000
    assert (tmp_path / "eval" / "per_image.csv").read_text().count("\n") == 7


def test_evaluate_cli_bad_model_is_a_clear_error(tmp_path: Path) -> None:
    from trainer.cli import main

    _known_set(tmp_path / "data")
    rc = main(
        [
            "evaluate",
            "--model",
            str(tmp_path / "missing.onnx"),
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(tmp_path / "e"),
        ]
    )
    assert rc == 1
