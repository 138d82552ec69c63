"""``train --init-from``: an exported tiny U-Net loads back into Keras exactly and fine-tunes;
the Trainer tab offers fine-tuning when the current model's card has its training config.

CPU, seconds: a 2-filter, depth-2 U-Net on 32x32 synthetic images, one 2-step epoch.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from db.session import Database
from inspector.core.model_card import load_card, sha256_file
from inspector.core.progress import SimpleState
from tests.review_helpers import RECIPE
from tests.tiny_model import build_tiny_model
from trainer.config import TrainConfig
from trainer.data.synth import write_synthetic

FAKE = Path(__file__).parent / "fakes" / "fake_trainer.py"

# Keras 3 internals call np.array(tensor) the NumPy-1 way; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
slow = pytest.mark.slow  # the tests that train (TensorFlow); the Qt test below is fast

TINY = {
    "base_filters": 2,
    "depth": 2,
    "crop": 32,
    "batch": 2,
    "steps_per_epoch": 2,
    "epochs": 1,
    "lr": 3e-3,
    "threads": 2,
}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    write_synthetic(root, 6, seed=7, size=32, p_defective=0.5)
    return root


@pytest.fixture(scope="module")
def exported(synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained (1 epoch, 2 steps) and exported tiny model: model.onnx + model.json."""
    from trainer.export import export_run
    from trainer.train import train

    run = tmp_path_factory.mktemp("src")
    train(TrainConfig(data=str(synth), out=str(run), **TINY), SimpleState())
    return export_run(run, run / "export", parity_images=2)


@slow
def test_onnx_weights_load_into_keras_and_match_ort(exported: Path, synth: Path) -> None:
    import onnxruntime as ort

    from trainer.init_from import architecture_of, initialise
    from trainer.train import build_compiled

    arch = architecture_of(exported)
    assert arch == {"base_filters": 2, "depth": 2, "batchnorm": False}
    # float32: a mixed-bfloat16 net computes with 8-bit mantissas, never within 1e-4 of ORT
    # (train() verifies the float32 twin and copies the weights over)
    cfg = TrainConfig(data=str(synth), out="unused", precision="float32", **TINY)
    model = build_compiled(cfg)
    log = initialise(model, exported, [], 2)
    assert log["source"] == "onnx"
    assert log["verify_max_abs_diff"] <= 1e-4
    # independently of initialise's own check: before any step, Keras == ORT
    x = np.random.default_rng(1).random((2, 32, 32, 1), dtype=np.float32)
    sess = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    (want,) = sess.run(["mask"], {"image": x})
    got = np.asarray(model(x, training=False))
    assert np.max(np.abs(got - want)) <= 1e-4
    assert np.std(want) > 0  # a constant output would make the comparison meaningless


@slow
def test_cli_fine_tune_runs_and_records_the_source(exported: Path, synth: Path, tmp_path: Path) -> None:
    from trainer.cli import main

    run = tmp_path / "ft"
    # architecture options omitted: they come from the card
    code = main(
        [
            "train",
            "--data",
            str(synth),
            "--out",
            str(run),
            "--init-from",
            str(exported),
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--batch",
            "2",
            "--crop",
            "32",
            "--threads",
            "2",
        ]
    )
    assert code == 0
    cfg = json.loads((run / "config.json").read_text())
    assert (cfg["base_filters"], cfg["depth"], cfg["batchnorm"]) == (2, 2, False)
    assert cfg["init_from"] == {"path": str(exported.resolve()), "sha256": sha256_file(exported)}
    assert json.loads((run / "result.json").read_text())["status"] == "completed"
    assert (run / "best.keras").is_file()

    from trainer.export import export_run

    card = json.loads(export_run(run, run / "export", parity_images=1).with_suffix(".json").read_text())
    assert card["init_from"]["sha256"] == sha256_file(exported)
    assert card["config"]["init_from"]["path"] == str(exported.resolve())


@slow
def test_fine_tune_from_a_keras_checkpoint(exported: Path, synth: Path, tmp_path: Path) -> None:
    from trainer.init_from import architecture_of
    from trainer.train import train

    best = exported.parent.parent / "best.keras"
    assert architecture_of(best) == {"base_filters": 2, "depth": 2, "batchnorm": False}
    rec = {"path": str(best), "sha256": sha256_file(best)}
    cfg = TrainConfig(data=str(synth), out=str(tmp_path / "k"), init_from=rec, **TINY)
    events: list[dict] = []
    assert train(cfg, SimpleState(), events.append).status == "completed"
    assert next(e for e in events if e["event"] == "init")["source"] == "keras"


@slow
def test_a_mismatching_architecture_is_refused(
    exported: Path, synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trainer.cli import main

    args = ["train", "--data", str(synth), "--out", str(tmp_path / "x"), "--init-from", str(exported)]
    assert main([*args, "--base-filters", "4", "--depth", "2"]) == 1
    err = capsys.readouterr().err
    assert "architecture differs" in err
    assert "--base-filters 4 (the model has 2)" in err
    assert not (tmp_path / "x" / "config.json").exists()  # refused before anything was written

    assert main([*args, "--resume"]) == 1
    assert "--init-from starts a new run" in capsys.readouterr().err


@slow
def test_a_card_that_lies_about_the_architecture_is_refused(
    exported: Path, synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trainer.cli import main

    lying = tmp_path / "lying" / "model.onnx"
    lying.parent.mkdir()
    shutil.copy(exported, lying)
    card = json.loads(exported.with_suffix(".json").read_text())
    card["config"]["base_filters"] = 4
    lying.with_suffix(".json").write_text(json.dumps(card))
    args = ["train", "--data", str(synth), "--out", str(tmp_path / "y"), "--init-from", str(lying)]
    assert main([*args, "--epochs", "1", "--steps-per-epoch", "1", "--threads", "2"]) == 1
    err = capsys.readouterr().err
    assert "do not fit layer down0_conv1" in err
    assert not (tmp_path / "y" / "best.keras").exists()

    del card["config"]
    lying.with_suffix(".json").write_text(json.dumps(card))
    assert main(args) == 1
    assert "has no training config" in capsys.readouterr().err


@slow
def test_verification_refuses_a_model_that_does_not_match(exported: Path, synth: Path) -> None:
    from trainer.init_from import InitFromError, load_onnx_weights, verify_against_onnx
    from trainer.train import build_compiled

    model = build_compiled(TrainConfig(data=str(synth), out="unused", **TINY))
    load_onnx_weights(model, exported)
    head = model.get_layer("mask")
    kernel, bias = head.get_weights()
    head.set_weights([kernel, bias + 1.0])  # what a wrong transpose or a lost bias would look like
    with pytest.raises(InitFromError, match="differs from ONNX Runtime"):
        verify_against_onnx(model, exported, [], 2)


def test_trainer_tab_offers_fine_tuning_when_the_card_has_a_config(
    qtbot, db: Database, synth: Path, tmp_path: Path
) -> None:
    from inspector.ui.context import AppContext, ModelState
    from inspector.ui.trainer_panel import TrainerPanel

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("trainer/runs_dir", str(tmp_path / "runs"))
    bare = build_tiny_model(tmp_path / "bare" / "model.onnx", card={"name": "bare"})
    arch = {"base_filters": 8, "depth": 2, "batchnorm": False}
    prod = build_tiny_model(tmp_path / "prod" / "model.onnx", card={"name": "prod", "config": arch})
    ctx = AppContext(db, "test", settings, RECIPE, ModelState(bare, load_card(bare)))
    ctx.set_role("engineer", "erin")  # training needs an engineer
    panel = TrainerPanel(ctx)
    qtbot.addWidget(panel)
    panel.trainer_cmd = [sys.executable, str(FAKE), "--mode", "ok"]
    panel.data_edit.setText(str(synth))
    panel.params["--epochs"].setValue(1)
    panel.params["--steps-per-epoch"].setValue(2)
    panel.params["--base-filters"].setValue(4)

    # a card without a training config: the net cannot be rebuilt, and the tab says why
    assert not panel.finetune_radio.isEnabled()
    assert "no training config" in panel.finetune_note.text()

    ctx.set_model(ModelState(prod, load_card(prod)))
    # whether its file is there is checked off the UI thread; the radio follows the answer
    qtbot.waitUntil(panel.finetune_radio.isEnabled, timeout=5000)
    assert "prod (8 base filters, depth 2)" in panel.finetune_note.text()
    panel.finetune_radio.setChecked(True)
    # the architecture is the model's: shown and locked
    assert panel.params["--base-filters"].value() == 8
    assert not panel.params["--base-filters"].isEnabled()
    assert panel.start_training()  # accepted; the data folder is checked off the UI thread
    qtbot.waitUntil(lambda: "fine-tuning prod" in panel.status_label.text(), timeout=10000)
    qtbot.waitUntil(lambda: panel.status == "idle", timeout=20000)
    assert "Finished" in panel.status_label.text()
    command = next(ln for ln in panel.log_view.toPlainText().splitlines() if ln.startswith("$ "))
    assert f"--init-from {prod}" in command
    assert "--base-filters" not in command  # the trainer takes it from the card

    panel.fresh_radio.setChecked(True)
    assert panel.params["--base-filters"].isEnabled()
    assert panel.params["--base-filters"].value() == 4
    assert "--init-from" not in panel.train_args(synth, tmp_path / "r")

    # switching to a model without a config falls back to a fresh net
    panel.finetune_radio.setChecked(True)
    ctx.set_model(ModelState(bare, load_card(bare)))
    assert panel.fresh_radio.isChecked()
    assert not panel.finetune_radio.isEnabled()
    assert panel.params["--base-filters"].isEnabled()
