"""--strategy: TF_CONFIG checks (no TensorFlow) and mirrored training over two logical CPUs.

The mirrored run happens in a subprocess: the two logical CPU devices must be set before
TensorFlow initialises, which the rest of the suite must not see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trainer.distribute import DistributeError, check_strategy, check_tf_config, scaled_lr

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-4  # relative, on the loss and on every weight (max abs diff / max abs weight)


def _cluster(task: dict[str, object]) -> dict[str, str]:
    return {"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1000", "b:1000"]}, "task": task})}


def test_tf_config_parsed() -> None:
    spec = check_tf_config(_cluster({"type": "worker", "index": 1}))
    assert (spec.workers, spec.task_type, spec.task_index, spec.is_chief) == (2, "worker", 1, False)
    assert check_tf_config(_cluster({"type": "worker", "index": 0})).is_chief


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, "needs the TF_CONFIG environment variable"),
        ({"TF_CONFIG": "{not json"}, "not valid JSON"),
        ({"TF_CONFIG": "[]"}, "must be a JSON object"),
        ({"TF_CONFIG": json.dumps({"task": {"type": "worker", "index": 0}})}, "no 'cluster'"),
        (
            {"TF_CONFIG": json.dumps({"cluster": {"worker": ["nohost"]}, "task": {"type": "worker"}})},
            "host:port",
        ),
        ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}})}, "no 'task'"),
        (_cluster({"type": "chief", "index": 0}), "not a role in the cluster"),
        (_cluster({"type": "worker", "index": 2}), "out of range"),
    ],
)
def test_bad_tf_config_refused(env: dict[str, str], words: str) -> None:
    with pytest.raises(DistributeError, match=words):
        check_tf_config(env)


def test_strategy_settings_checked() -> None:
    with pytest.raises(DistributeError, match="mirrored only"):
        check_strategy("default", ["/cpu:0"])
    assert check_strategy("mirrored", ["/cpu:0"]) is None
    assert scaled_lr(1e-3, 4) == pytest.approx(4e-3)
    assert scaled_lr(1e-3, 1) == 1e-3


def test_multiworker_without_tf_config_refused_before_tensorflow(tmp_path: Path) -> None:
    """The CLI refuses it with a clear message, exit 1, no traceback, and TensorFlow never loaded."""
    from trainer.data.synth import write_synthetic

    write_synthetic(tmp_path / "data", 8, seed=3, size=32, p_defective=0.5)
    code = textwrap.dedent(
        """
        import sys
        from trainer.cli import main
        rc = main(sys.argv[1:])
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TF loaded"
        sys.exit(rc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    args = [
        "train",
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "run"),
        "--strategy",
        "multiworker",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    assert "needs the TF_CONFIG environment variable" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "config.json").exists()


def test_train_refuses_multiworker_before_reading_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.core.progress import SimpleState
    from trainer.config import TrainConfig
    from trainer.train import train

    monkeypatch.delenv("TF_CONFIG", raising=False)
    cfg = TrainConfig(data=str(tmp_path / "nowhere"), out=str(tmp_path / "run"), strategy="multiworker")
    with pytest.raises(DistributeError, match="TF_CONFIG"):
        train(cfg, SimpleState())


MIRRORED = """
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from inspector.core.progress import SimpleState
from trainer.config import TrainConfig
from trainer.train import load_keras, train

data, out = sys.argv[1], sys.argv[2]
common = dict(
    data=data, base_filters=4, depth=2, crop=32, steps_per_epoch=3, epochs=2, patience=5,
    loss="bce", precision="float32", max_val_images=4, threads=1, lr=2e-3,
)
runs = {
    # 2 replicas x 4 crops, lr 2e-3 scaled to 4e-3 ...
    "mirrored": TrainConfig(out=out + "/mirrored", strategy="mirrored", devices=["/cpu:0", "/cpu:1"],
                            batch=4, **common),
    # ... against one device with the same global batch (8) and the same lr (4e-3)
    "single": TrainConfig(out=out + "/single", batch=8, **{**common, "lr": 4e-3}),
}
res = {}
for name, cfg in runs.items():
    train(cfg, SimpleState())
    saved = TrainConfig.load(cfg.out + "/config.json")
    hist = json.load(open(cfg.out + "/history.json"))
    weights = load_keras(cfg.out + "/last.keras").get_weights()
    np.savez(out + f"/{name}.npz", *weights)
    res[name] = {
        "replicas": saved.replicas, "global_batch": saved.global_batch, "scaled_lr": saved.scaled_lr,
        "batch": saved.batch, "loss": [h["loss"] for h in hist], "lr": [h["lr"] for h in hist],
    }
# resume under mirrored: one epoch, then on to the second, lands on the two-epoch run's weights
first = runs["mirrored"].model_copy(update={"out": out + "/resumed", "epochs": 1})
train(first, SimpleState())
train(first.model_copy(update={"epochs": 2}), SimpleState(), resume=True)
np.savez(out + "/resumed.npz", *load_keras(out + "/resumed/last.keras").get_weights())
res["resumed"] = {"replicas": TrainConfig.load(out + "/resumed/config.json").replicas}
# ... and continued on one device: the lr is rescaled to one replica's
first = first.model_copy(update={"out": out + "/moved"})
train(first, SimpleState())
moved = first.model_copy(update={"epochs": 2, "strategy": "default", "devices": None})
train(moved, SimpleState(), resume=True)
hist = json.load(open(out + "/moved/history.json"))
moved_replicas = TrainConfig.load(out + "/moved/config.json").replicas
res["moved"] = {"lr": [h["lr"] for h in hist], "replicas": moved_replicas}
json.dump(res, open(out + "/result.json", "w"))
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_mirrored_two_cpus_matches_one_device(tmp_path: Path) -> None:
    import numpy as np

    from trainer.data.synth import write_synthetic

    write_synthetic(tmp_path / "data", 12, seed=5, size=32, p_defective=0.5)
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(tmp_path / "data"), str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads((tmp_path / "result.json").read_text())
    mir, one = res["mirrored"], res["single"]
    assert (mir["replicas"], mir["global_batch"], mir["batch"]) == (2, 8, 4)
    assert mir["scaled_lr"] == pytest.approx(4e-3)
    assert (one["replicas"], one["global_batch"], one["scaled_lr"]) == (1, 8, pytest.approx(4e-3))
    assert mir["lr"] == pytest.approx(one["lr"])
    loss_diff = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(mir["loss"], one["loss"], strict=True))
    wm, wo = np.load(tmp_path / "mirrored.npz"), np.load(tmp_path / "single.npz")
    assert len(wm.files) == len(wo.files)
    w_abs = max(float(np.max(np.abs(wm[k] - wo[k]))) for k in wo.files)
    w_scale = max(float(np.max(np.abs(wo[k]))) for k in wo.files)
    print(f"mirrored vs single: loss rel diff {loss_diff:.2e}, weight max abs diff {w_abs:.2e}")
    assert loss_diff < TOL
    assert w_abs / w_scale < TOL
    wr = np.load(tmp_path / "resumed.npz")
    assert res["resumed"]["replicas"] == 2
    assert res["moved"]["replicas"] == 1
    assert res["moved"]["lr"] == pytest.approx([4e-3, 2e-3])
    assert max(float(np.max(np.abs(wr[k] - wm[k]))) for k in wm.files) / w_scale < TOL
    # and training moved the weights (the comparison is not of two untouched nets)
    assert mir["loss"][-1] != mir["loss"][0]
