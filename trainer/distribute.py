"""Training on several devices or machines (``--strategy``): ``tf.distribute`` wiring.

- ``default``: one device (TensorFlow's default strategy), as before;
- ``mirrored``: :class:`tf.distribute.MirroredStrategy` over all local GPUs, or over the
  logical devices named in ``devices`` (e.g. ``["/cpu:0", "/cpu:1"]``);
- ``multiworker``: :class:`tf.distribute.MultiWorkerMirroredStrategy`, the cluster read
  from the ``TF_CONFIG`` environment variable.

A worker that dies or never comes must not leave the others waiting forever: :data:`WATCH`
sets the timeouts of TensorFlow's coordination service for ``multiworker`` (heartbeats from
every worker; a silent one aborts the collectives, so the waiting step fails with
``UnavailableError``) and bounds the wait for every worker to come up.

Scaling rule: ``batch`` is the per-replica batch, so a step sees
``global_batch = batch * replicas`` crops, and the learning rate is scaled linearly,
``lr_used = lr * replicas`` (``lr_min``, the floor, is not scaled). With one replica
nothing changes.

:func:`check_tf_config` needs no TensorFlow: it runs before the data are read and the
model is built, so a missing or malformed ``TF_CONFIG`` fails in a second.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Strategy = Literal["default", "mirrored", "multiworker"]
STRATEGIES: tuple[str, ...] = ("default", "mirrored", "multiworker")


class DistributeError(ValueError):
    """A strategy that cannot be set up (bad TF_CONFIG, unknown devices); a user error."""


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """What ``TF_CONFIG`` says: the workers, this process's role and index."""

    workers: int
    task_type: str
    task_index: int

    @property
    def is_chief(self) -> bool:
        # without a 'chief' entry, worker 0 is the chief (TensorFlow's rule)
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_index == 0)


def check_tf_config(env: dict[str, str] | None = None) -> ClusterSpec:
    """Parse and check ``TF_CONFIG`` (JSON with ``cluster`` and ``task``); raise a clear
    :class:`DistributeError` when it is missing or malformed."""
    environ = os.environ if env is None else env
    raw = environ.get("TF_CONFIG", "")
    example = (
        'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    if not raw.strip():
        raise DistributeError(f"--strategy multiworker needs the TF_CONFIG environment variable; {example}")
    try:
        conf = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({exc}); {example}") from exc
    if not isinstance(conf, dict):
        raise DistributeError(f"TF_CONFIG must be a JSON object; {example}")
    cluster, task = conf.get("cluster"), conf.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise DistributeError(f"TF_CONFIG has no 'cluster' object; {example}")
    for role, addrs in cluster.items():
        if role not in ("chief", "worker", "evaluator", "ps"):
            raise DistributeError(f"TF_CONFIG cluster: unknown role {role!r}")
        if role == "ps":
            raise DistributeError("TF_CONFIG cluster: parameter servers ('ps') are not supported")
        if not isinstance(addrs, list) or not addrs:
            raise DistributeError(f"TF_CONFIG cluster.{role} must be a non-empty list of 'host:port'")
        for a in addrs:
            host, _, port = str(a).rpartition(":") if isinstance(a, str) else ("", "", "")
            if not host or not port.isdigit():
                raise DistributeError(f"TF_CONFIG cluster.{role}: {a!r} is not 'host:port'")
    if "chief" in cluster and len(cluster["chief"]) != 1:
        raise DistributeError("TF_CONFIG cluster.chief must name exactly one address")
    if "worker" not in cluster and "chief" not in cluster:
        raise DistributeError(f"TF_CONFIG cluster names no 'worker' (or 'chief'); {example}")
    if not isinstance(task, dict):
        raise DistributeError(f"TF_CONFIG has no 'task' object (this process's role); {example}")
    ttype, tindex = task.get("type"), task.get("index", 0)
    if ttype not in cluster:
        raise DistributeError(f"TF_CONFIG task.type {ttype!r} is not a role in the cluster {sorted(cluster)}")
    if ttype == "evaluator":
        raise DistributeError("TF_CONFIG task.type 'evaluator' does not train; run it as a worker")
    if not isinstance(tindex, int) or isinstance(tindex, bool) or not 0 <= tindex < len(cluster[ttype]):
        raise DistributeError(
            f"TF_CONFIG task.index {tindex!r} is out of range for {len(cluster[ttype])} {ttype} address(es)"
        )
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    return ClusterSpec(workers, str(ttype), int(tindex))


def check_strategy(strategy: str, devices: list[str] | None = None) -> ClusterSpec | None:
    """Check the settings without TensorFlow (the cluster for ``multiworker``)."""
    if strategy not in STRATEGIES:
        raise DistributeError(f"--strategy must be one of {', '.join(STRATEGIES)} (got {strategy!r})")
    if devices and strategy != "mirrored":
        raise DistributeError("--devices is for --strategy mirrored only")
    if strategy == "multiworker":
        return check_tf_config()
    return None


@dataclass(frozen=True, slots=True)
class Watch:
    """How ``multiworker`` notices a worker that never comes or is lost: TensorFlow's
    coordination service (which ``MultiWorkerMirroredStrategy`` starts; its leader is the chief).

    ``start_timeout_s``: every worker must join within this (TensorFlow's default: an hour);
    ``heartbeat_timeout_s``: a worker whose heartbeats (a background thread, not the
    Python loop) stop this long is taken as dead, and every collective is aborted, so the step
    waiting on it raises ``UnavailableError`` on the others. TensorFlow's per-collective timeout
    (``CommunicationOptions(timeout_seconds=...)``) is not used: it starts a thread per
    collective and is meant for debugging.
    """

    start_timeout_s: float = 600.0
    heartbeat_timeout_s: float = 30.0


WATCH = Watch()


def _coordination(watch: Watch) -> None:
    """Configure the coordination service as ``MultiWorkerMirroredStrategy`` would (the same
    leader and jobs), with ``watch``'s timeouts; the strategy keeps a configured one."""
    from tensorflow.python.distribute import collective_all_reduce_strategy as cars
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.distribute.cluster_resolver import TFConfigClusterResolver
    from tensorflow.python.eager import context

    ctx = context.context()
    if ctx.coordination_service is not None:
        return
    spec = TFConfigClusterResolver().cluster_spec()
    jobs = [
        cars.coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
        for job in ("chief", "worker")
        if job in spec.jobs
    ]
    ctx.configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(spec),
        cluster_register_timeout_in_ms=int(watch.start_timeout_s * 1000),
        heartbeat_timeout_in_ms=int(watch.heartbeat_timeout_s * 1000),
        coordinated_jobs=jobs,
    )
    # without the barrier, TensorFlow 2.21 waits for the others up to an hour whatever the timeout
    ctx.coordination_service.cluster_register_with_barrier = True


def _watched_multiworker(watch: Watch) -> Any:
    """``MultiWorkerMirroredStrategy`` with the coordination service's timeouts from ``watch``."""
    import tensorflow as tf

    with contextlib.suppress(ImportError, AttributeError):  # another TensorFlow layout: its defaults
        _coordination(watch)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError) as exc:
        raise DistributeError(
            f"multiworker: not every worker in TF_CONFIG came up within {watch.start_timeout_s:.0f} s "
            "(start the same command on each machine, each with its own task index in TF_CONFIG): "
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
        ) from exc


def make_strategy(strategy: str, devices: list[str] | None = None) -> Any:
    """The ``tf.distribute`` strategy. Call before any model or optimizer is built; build
    them inside ``strategy.scope()``."""
    check_strategy(strategy, devices)
    import tensorflow as tf

    if strategy == "mirrored":
        if devices:

            def key(name: str) -> tuple[str, int]:
                spec = tf.DeviceSpec.from_string(name)
                return (str(spec.device_type or "").upper(), int(spec.device_index or 0))

            known = {key(d.name) for d in tf.config.list_logical_devices()}
            missing = [d for d in devices if key(d) not in known]
            if missing:
                have = sorted(d.name for d in tf.config.list_logical_devices())
                raise DistributeError(f"--devices: unknown device(s) {missing}; this machine has {have}")
            return tf.distribute.MirroredStrategy(devices=list(devices))
        return tf.distribute.MirroredStrategy()
    if strategy == "multiworker":
        return _watched_multiworker(WATCH)
    return tf.distribute.get_strategy()


def scaled_lr(lr: float, replicas: int) -> float:
    """The linear scaling rule: ``lr * replicas`` (the global batch grew by that factor)."""
    return float(lr) * max(1, int(replicas))


def shard_by_data(ds: Any) -> Any:
    """A generated dataset has no files to shard: every worker makes the same global batches
    (same seed) and keeps its share of each (``AutoShardPolicy.DATA``)."""
    import tensorflow as tf

    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts)


def replica_loss(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fn`` (a loss already reduced to a scalar) made right for several replicas.

    Keras divides a per-replica loss by the replicas (so the summed gradients are those of
    the global batch) only when the loss is not yet a scalar; our losses are scalars, which
    it passes through, doubling the gradients on two replicas. As a 1-vector the value is
    reduced and scaled the usual way (unchanged on one replica). The name stays ``fn``'s, so
    a saved model loads with the same custom objects.
    """
    import tensorflow as tf

    def wrapped(y_true: Any, y_pred: Any) -> Any:
        return tf.reshape(fn(y_true, y_pred), [1])

    wrapped.__name__ = getattr(fn, "__name__", "loss")
    wrapped.__qualname__ = wrapped.__name__
    wrapped.__module__ = getattr(fn, "__module__", __name__)
    return wrapped
