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


# --- the custom loop (trainer.dist_loop) and multiworker --------------------------------------

TIGHT = 1e-5  # relative: the custom loop computes the global batch's loss and clipped gradient
# one device, batch 8, lr 4e-3, against two replicas x batch 4, lr 2e-3 (scaled to 4e-3)
ONE = {"batch": 8, "lr": 4e-3}
TWO = {"batch": 4, "lr": 2e-3}
# clipnorm 0.01 clips every step here: Keras' per-replica clip would differ from one device's
DICE_CLIP = {"loss": "dice_bce", "clipnorm": 0.01}
TINY = {"base_filters": 4, "depth": 2, "crop": 32, "steps_per_epoch": 3, "patience": 5}
TINY.update(precision="float32", max_val_images=4, threads=1)

RUNS = """
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from inspector.core.progress import SimpleState
from trainer.config import TrainConfig
from trainer.train import load_keras, train

data, out = sys.argv[1], sys.argv[2]
for spec in sys.argv[3:]:  # one run per JSON spec, one after the other in this process
    kw = json.loads(spec)
    name = kw.pop("name")
    cfg = TrainConfig(data=data, out=f"{out}/{name}", **kw)
    train(cfg, SimpleState())
    hist = json.load(open(cfg.out + "/history.json"))
    np.savez(f"{out}/{name}.npz", *load_keras(cfg.out + "/last.keras").get_weights())
    json.dump([h["loss"] for h in hist], open(f"{out}/{name}.json", "w"))
"""


def _env(tf_config: dict[str, object] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


class _Proc:
    """A child process whose output goes to a log file (read on failure)."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        with log.open("wb") as f:
            self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"{self.log.name}: still running after {timeout} s:\n{self.tail()}"
            ) from None

    def ok(self, timeout: float = 300) -> None:
        rc = self.wait(timeout)
        assert rc == 0, f"{self.log.name}: exit {rc}:\n{self.tail()}"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def events(self) -> list[dict[str, object]]:
        lines = self.log.read_text(errors="replace").splitlines()
        return [json.loads(x) for x in lines if x.startswith('{"event"')]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _runs(out: Path, data: Path, *specs: dict[str, object]) -> _Proc:
    args = [sys.executable, "-c", RUNS, str(data), str(out), *(json.dumps({**TINY, **s}) for s in specs)]
    return _Proc(args, out / f"{specs[0]['name']}.log", _env())


def _diffs(out: Path, a: str, b: str) -> tuple[float, float]:
    """(max relative loss difference over the epochs, max |w_a - w_b| / max |w_b|)."""
    import numpy as np

    la, lb = json.loads((out / f"{a}.json").read_text()), json.loads((out / f"{b}.json").read_text())
    loss = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(la, lb, strict=True))
    wa, wb = np.load(out / f"{a}.npz"), np.load(out / f"{b}.npz")
    scale = max(float(np.max(np.abs(wb[k]))) for k in wb.files)
    return loss, max(float(np.max(np.abs(wa[k] - wb[k]))) for k in wb.files) / scale


@pytest.mark.slow
def test_custom_loop_matches_fit_and_on_two_replicas_one_device(tmp_path: Path) -> None:
    from trainer.data.synth import write_synthetic

    data = tmp_path / "data"
    write_synthetic(data, 12, seed=5, size=32, p_defective=0.5)
    mirrored = {"strategy": "mirrored", "devices": ["/cpu:0", "/cpu:1"], **TWO}
    single = _runs(
        tmp_path,
        data,
        {"name": "fit-bce", "loss": "bce", "epochs": 2, **ONE},
        {"name": "custom-bce", "loss": "bce", "epochs": 2, "loop": "custom", **ONE},
        {"name": "fit-dice", "epochs": 2, **DICE_CLIP, **ONE},
    )
    # its own process: two strategies in one process must not run different collective programs
    mirror = _runs(
        tmp_path, data, {"name": "custom-mirrored", "epochs": 2, "loop": "custom", **DICE_CLIP, **mirrored}
    )
    single.ok()
    mirror.ok()
    same = _diffs(tmp_path, "custom-bce", "fit-bce")
    mir = _diffs(tmp_path, "custom-mirrored", "fit-dice")
    print(f"custom vs fit, one device, bce: loss {same[0]:.2e}, weights {same[1]:.2e}")
    print(
        f"custom, 2 replicas vs fit, one device, dice_bce clip 0.01: loss {mir[0]:.2e}, weights {mir[1]:.2e}"
    )
    assert same[0] < 1e-6
    assert same[1] < 1e-6
    assert mir[0] < TIGHT
    assert mir[1] < TIGHT
    cfg = json.loads((tmp_path / "custom-mirrored" / "config.json").read_text())
    assert (cfg["loop"], cfg["replicas"], cfg["global_batch"]) == ("custom", 2, 8)
    losses = json.loads((tmp_path / "fit-dice.json").read_text())
    assert losses[0] != losses[1]  # the nets trained (not two untouched copies)


# A worker: the CLI, with TensorFlow's health check made quick (trainer.distribute.WATCH); with
# DIE_AFTER=n it kills itself (SIGKILL, no goodbye) at its n-th collective.
WORKER = """
import os, signal, sys
import trainer.distribute as d

d.WATCH = d.Watch(start_timeout_s=float(os.environ.get("START_S", "120")), heartbeat_timeout_s=3.0)
die = int(os.environ.get("DIE_AFTER", "0"))
if die:
    from trainer.dist_loop import CustomLoop

    real, calls = CustomLoop._collective, [0]

    def counted(self, fn):
        calls[0] += 1
        if calls[0] >= die:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, fn)

    CustomLoop._collective = counted
from trainer.cli import main

sys.exit(main(sys.argv[1:]))
"""


def _free_ports(n: int) -> list[int]:
    import socket

    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


def _cli_args(data: Path, out: Path, epochs: int, resume: bool = False) -> list[str]:
    args = [
        "train",
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        "--progress",
        "json",
        "--strategy",
        "multiworker",
    ]
    if resume:
        return [*args, "--resume"]
    opts = {**TINY, **TWO, **DICE_CLIP, "data": data}
    for k, v in opts.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def _workers(
    tmp: Path, tag: str, per_worker: list[list[str]], env: dict[str, dict[str, str]] | None = None
) -> list[_Proc]:
    """One process per worker (``env``: extra variables by worker index); TMPDIR is ``tmp``, so a
    killed worker's temporary run dir stays there."""
    ports = _free_ports(len(per_worker))
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for i, args in enumerate(per_worker):
        e = {
            **_env({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            **(env or {}).get(str(i), {}),
            "TMPDIR": str(tmp),
        }
        procs.append(_Proc([sys.executable, "-c", WORKER, *args], tmp / f"{tag}-w{i}.log", e))
    return procs


@pytest.mark.slow
def test_two_workers_train_resume_and_match_one_device(tmp_path: Path) -> None:
    """Two workers on localhost: the chief's run dir holds every artefact, the other worker
    writes nothing outside a temporary dir; a resumed chief continues to the weights of an
    uninterrupted single-device run with the same global batch."""
    from trainer.data.synth import write_synthetic

    data, chief, other = tmp_path / "data", tmp_path / "chief", tmp_path / "other"
    write_synthetic(data, 12, seed=5, size=32, p_defective=0.5)
    ref = _runs(tmp_path, data, {"name": "one-device", "epochs": 2, **DICE_CLIP, **ONE})
    first = _workers(tmp_path, "first", [_cli_args(data, chief, 1), _cli_args(data, other, 1)])
    second: list[_Proc] = []
    try:
        for p in first:
            p.ok()
        for name in ("config.json", "split.json", "data_summary.json", "best.keras", "last.keras"):
            assert (chief / name).is_file(), name
        for name in ("state.json", "history.json", "curves.png", "result.json"):
            assert (chief / name).is_file(), name
        assert (chief / "eval_test" / "metrics.json").is_file()
        assert not other.exists()  # only the chief writes
        done = next(e for e in first[1].events() if e["event"] == "done")
        assert not Path(str(done["run_dir"])).exists()  # the worker's temporary dir is gone
        cfg = json.loads((chief / "config.json").read_text())
        assert (cfg["strategy"], cfg["loop"], cfg["replicas"], cfg["global_batch"]) == (
            "multiworker",
            "custom",
            2,
            8,
        )
        # the chief resumes; the other worker runs the same command as before (no files to resume)
        second += _workers(
            tmp_path, "second", [_cli_args(data, chief, 2, resume=True), _cli_args(data, other, 2)]
        )
        for p in second:
            p.ok()
        ref.ok()
    finally:
        for p in (*first, *second, ref):
            p.stop()
    starts = [next(e for e in p.events() if e["event"] == "start") for p in second]
    assert [s["resume_epoch"] for s in starts] == [1, 1]  # the worker took the chief's state
    hist = json.loads((chief / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]
    import numpy as np

    from trainer.train import load_keras

    np.savez(tmp_path / "chief.npz", *load_keras(chief / "last.keras").get_weights())
    (tmp_path / "chief.json").write_text(json.dumps([h["loss"] for h in hist]))
    loss, weights = _diffs(tmp_path, "chief", "one-device")
    print(f"2 workers (epoch 1, then resumed) vs one device: loss {loss:.2e}, weights {weights:.2e}")
    assert loss < TIGHT
    assert weights < TIGHT


@pytest.mark.slow
def test_a_dead_worker_fails_the_chief_with_a_clear_error(tmp_path: Path) -> None:
    """Worker 1 is killed (SIGKILL) in its first epoch: the chief must exit 1 saying so, not wait."""
    from trainer.data.synth import write_synthetic

    data = tmp_path / "data"
    write_synthetic(data, 12, seed=5, size=32, p_defective=0.5)
    args = [_cli_args(data, tmp_path / f"w{i}", 3) for i in range(2)]
    # worker 1's collectives: 4 at start (settings, state, weights), then 2 per step
    procs = _workers(tmp_path, "dead", args, env={"1": {"DIE_AFTER": "7"}})
    try:
        assert procs[1].wait(120) == -9
        rc = procs[0].wait(180)  # a hang fails here (the test's guard, not a timing assertion)
    finally:
        for p in procs:
            p.stop()
    out = procs[0].tail()
    assert rc == 1, out
    assert "lost another worker" in out
    assert "Traceback" not in out
    assert not (tmp_path / "w0" / "result.json").exists()


@pytest.mark.slow
def test_a_cancel_on_the_chief_stops_every_worker(tmp_path: Path) -> None:
    """SIGINT to the chief only (as the GUI's stop does): both stop after the same step, exit
    130, and the chief keeps a best.keras marked cancelled, as on one device."""
    import signal
    import time

    from trainer.data.synth import write_synthetic

    data = tmp_path / "data"
    write_synthetic(data, 12, seed=5, size=32, p_defective=0.5)
    args = [[*_cli_args(data, tmp_path / f"w{i}", 3), "--steps-per-epoch", "50"] for i in range(2)]
    procs = _workers(tmp_path, "cancel", args)
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a timing assertion
        while not any(e["event"] == "step" for e in procs[0].events()):
            assert procs[0].proc.poll() is None, procs[0].tail()
            assert time.monotonic() < deadline, procs[0].tail()
            time.sleep(0.2)
        procs[0].proc.send_signal(signal.SIGINT)
        rcs = [p.wait(180) for p in procs]
    finally:
        for p in procs:
            p.stop()
    assert rcs == [130, 130], procs[1].tail()
    result = json.loads((tmp_path / "w0" / "result.json").read_text())
    assert result["status"] == "cancelled"
    assert (tmp_path / "w0" / "best.keras").is_file()
    steps = [[e["step"] for e in p.events() if e["event"] == "step"] for p in procs]
    assert steps[0] == steps[1]  # the same steps on both
    assert steps[0][-1] < 50


@pytest.mark.slow
def test_workers_with_other_settings_are_refused(tmp_path: Path) -> None:
    """Worker 1 was started with another seed (another split and crops): both stop at start,
    naming the setting, before any step."""
    from trainer.data.synth import write_synthetic

    data = tmp_path / "data"
    write_synthetic(data, 12, seed=5, size=32, p_defective=0.5)
    args = [_cli_args(data, tmp_path / "w0", 1), [*_cli_args(data, tmp_path / "w1", 1), "--seed", "1"]]
    procs = _workers(tmp_path, "differ", args)
    try:
        rcs = [p.wait(180) for p in procs]
    finally:
        for p in procs:
            p.stop()
    assert rcs == [1, 1], procs[0].tail()
    for p in procs:
        assert "settings differ from the chief's in seed, split_keys_sha256" in p.tail()
        assert not any(e["event"] == "step" for e in p.events())


@pytest.mark.slow
def test_a_worker_that_never_comes_is_reported(tmp_path: Path) -> None:
    """The cluster names two workers and only the chief starts: it gives up after the start
    timeout with the reason, instead of waiting forever (TensorFlow's default)."""
    from trainer.data.synth import write_synthetic

    data = tmp_path / "data"
    write_synthetic(data, 12, seed=5, size=32, p_defective=0.5)
    cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
    env = {**_env({"cluster": cluster, "task": {"type": "worker", "index": 0}}), "START_S": "3"}
    chief = _Proc(
        [sys.executable, "-c", WORKER, *_cli_args(data, tmp_path / "w0", 1)], tmp_path / "alone.log", env
    )
    try:
        rc = chief.wait(120)
    finally:
        chief.stop()
    assert rc == 1, chief.tail()
    assert "not every worker in TF_CONFIG came up within 3 s" in chief.tail()
