"""A training loop of our own (``strategy.run`` per step): what ``--strategy multiworker`` trains
with, and any strategy with ``--loop custom``.

Keras 3.15's ``model.fit`` cannot train under ``MultiWorkerMirroredStrategy``: before the first
step it reduces a distributed batch to build the model and fails ("Attempt to convert a value
(PerReplica:...) with an unsupported type ... to a Tensor", in Keras' ``_maybe_symbolic_build``).
:class:`CustomLoop` replaces ``model.fit`` for one epoch; the data pipeline, validation,
checkpoints, events, cancel and resume stay ``trainer.train``'s.

One step on R replicas computes what one device computes on the global batch:

- the loss: each replica returns its share, and the shares sum to the global batch's loss. BCE
  (a per-pixel mean) is the replica's mean / R. The soft Dice is batch-global: its intersection
  and sums are all-reduced inside the step, each replica reports 1/R of the one global Dice and
  differentiates its own pixels' part of it (the chain rule through the global sums);
- the gradient: summed over the replicas, then clipped per variable (``clipnorm``), as one device
  clips the global batch's gradient (Keras 3 clips each replica's gradient before the sum);
- the metrics (crop Dice and IoU): means over the global batch.

Several workers (processes, machines) stay in lockstep: every worker runs the same code, so
every collective (the creation of each variable too: the chief broadcasts its first value)
happens in the same order everywhere. Hence:

- every worker builds the model and optimizer the same way; a resumed chief loads its
  checkpoint into them afterwards, and :meth:`CustomLoop.start` sends the chief's weights,
  optimizer state and run state (epoch, best score, lr, history) to every worker;
- the settings that shape training must be equal on all workers (checked at start);
- decisions are agreed: a cancel on any worker stops all after the same step
  (:class:`AgreedState`), and the per-epoch validation figures are the chief's
  (:meth:`CustomLoop.agree`), so best checkpoint, lr halving and early stop match;
- only the chief writes the run dir; any other worker trains in a temporary dir
  (:func:`worker_run`, removed when the process ends);
- a worker that dies makes the others fail with a :class:`DistributeError`
  (TensorFlow's health check, :data:`trainer.distribute.WATCH`) instead of waiting forever.

``jit_compile`` does not apply to this loop (the step runs as a plain ``tf.function``).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.progress import ProgressState
from trainer.config import TrainConfig
from trainer.distribute import DistributeError, check_tf_config, shard_by_data

Fn = Callable[[Any, Any], Any]

# settings that may differ between workers (paths on each machine, its CPU threads)
PER_MACHINE = frozenset({"out", "data", "split", "threads", "devices", "init_from"})

_WORKER_DIRS: list[tempfile.TemporaryDirectory[str]] = []


def uses_custom_loop(cfg: TrainConfig) -> bool:
    """``multiworker`` always trains with this loop (``model.fit`` fails there)."""
    return cfg.loop == "custom" or cfg.strategy == "multiworker"


def worker_run(cfg: TrainConfig, resume: bool) -> tuple[TrainConfig, bool]:
    """Where this process writes. The chief (``chief``, or worker 0 without one) writes ``--out``;
    any other worker trains in a temporary dir, removed when the process ends, and never
    resumes from files: :meth:`CustomLoop.start` gives it the chief's state."""
    spec = check_tf_config()
    if spec.is_chief:
        return cfg, resume
    tmp = tempfile.TemporaryDirectory(prefix=f"inspector-train-{spec.task_type}{spec.task_index}-")
    _WORKER_DIRS.append(tmp)
    return cfg.model_copy(update={"out": tmp.name}), False


def _split_digest(run: Path) -> str:
    from trainer.data import load_split

    split = load_split(run / "split.json")
    keys = {"train": list(split.train), "val": list(split.val), "test": list(split.test)}
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()


class CustomLoop:
    """``model.fit`` for one epoch, written out: a ``tf.function`` step that runs
    ``strategy.run`` (forward, loss share, gradient, ``optimizer.apply_gradients`` in the
    replica context) and ``strategy.reduce`` of the loss and metrics.

    ``loss`` / ``metrics``: another objective (``trainer.train.TrainHooks``); a custom loss is
    taken as a mean over its batch (each replica's value / R). Default: the config's loss
    from :mod:`trainer.losses` over the global batch, and the crop Dice and IoU.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        strategy: Any,
        model: Any,
        loss: Fn | None = None,
        metrics: list[Fn] | None = None,
    ) -> None:
        from trainer.losses import dice_metric, iou_metric

        self.cfg = cfg
        self.strategy = strategy
        self.model = model
        self.replicas = int(strategy.num_replicas_in_sync)
        self.multiworker = cfg.strategy == "multiworker"
        self.chief = check_tf_config().is_chief if self.multiworker else True
        self.custom_loss = loss
        self.metrics = list(metrics) if metrics else [dice_metric, iou_metric]
        self.names = ["loss", *(getattr(m, "__name__", f"metric{i}") for i, m in enumerate(self.metrics))]
        self._step_fn: Any = None
        self._sum_fn: Any = None

    # --- one step -------------------------------------------------------------------------
    def _loss_share(self, y: Any, p: Any) -> tuple[Any, Any]:
        """(this replica's share of the global batch's loss, a share to differentiate): the
        shares sum to the loss one device computes on the global batch, and the gradients of
        the second sum to its gradient."""
        import tensorflow as tf

        from trainer import losses

        r = self.replicas
        if self.custom_loss is not None:
            share = self.custom_loss(y, p) / r
            return share, share
        if r == 1:
            share = losses.get_loss(self.cfg.loss)(y, p)  # exactly what model.fit computes
            return share, share
        value, grad = [], []
        if self.cfg.loss in ("dice", "dice_bce"):
            # losses.dice_loss over the global batch: 1 - (2 I + s) / (D + s) with I and D summed
            # over every replica. Its gradient on this replica's pixels is a I_r' + b D_r' with
            # a = -2 / (D + s), b = (2 I + s) / (D + s)^2 (global, constant for the step).
            yt = tf.cast(y, p.dtype)
            mine = tf.stack([tf.reduce_sum(yt * p), tf.reduce_sum(yt) + tf.reduce_sum(p)])
            inter, denom = tf.unstack(
                tf.distribute.get_replica_context().all_reduce("sum", tf.stop_gradient(mine))
            )
            s = losses.SMOOTH
            value.append((1.0 - (2.0 * inter + s) / (denom + s)) / r)
            a, b = -2.0 / (denom + s), (2.0 * inter + s) / tf.square(denom + s)
            grad.append(a * mine[0] + b * mine[1])
        if self.cfg.loss in ("bce", "dice_bce"):
            bce = losses.bce_loss(y, p) / r
            value.append(bce)
            grad.append(bce)
        return tf.add_n(value), tf.add_n(grad)

    def _replica_step(self, x: Any, y: Any) -> list[Any]:
        import tensorflow as tf

        model, r = self.model, self.replicas
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            share, to_grad = self._loss_share(y, p)
            if model.losses:  # regularisers (none in the U-Net), a mean like the loss
                extra = tf.add_n(model.losses) / r
                share, to_grad = share + extra, to_grad + extra
        variables = model.trainable_variables
        grads = tape.gradient(to_grad, variables)
        opt = model.optimizer
        if r > 1 and opt.clipnorm:
            # clip the global batch's gradient, as one device does; Keras then sums the
            # replicas' (equal) 1/R shares back, and its own clip finds nothing to do
            grads = tf.distribute.get_replica_context().all_reduce("sum", grads)
            grads = [tf.clip_by_norm(g, opt.clipnorm) / r for g in grads]
        opt.apply_gradients(zip(grads, variables, strict=True))
        return [share, *(tf.cast(m(y, p), tf.float32) / r for m in self.metrics)]

    def _make_step(self) -> Any:
        import tensorflow as tf

        strategy = self.strategy

        @tf.function
        def step(batch: Any) -> list[Any]:
            x, y = batch
            per_replica = strategy.run(self._replica_step, args=(x, y))
            return [strategy.reduce("SUM", v, axis=None) for v in per_replica]

        return step

    def fit_epoch(self, ds: Any, steps: int, callback: Any) -> dict[str, float]:
        """Train ``steps`` global batches from ``ds`` (``make_dataset``'s, ``batch x replicas``
        crops each; every replica gets its share). ``callback`` gets Keras' batch calls and may
        set ``model.stop_training``. Returns the epoch means, named as ``model.fit``'s history."""
        if self.replicas > 1 or self.multiworker:
            ds = shard_by_data(ds)
        batches = iter(self.strategy.experimental_distribute_dataset(ds))
        if self._step_fn is None:
            self._step_fn = self._make_step()
        model = self.model
        model.stop_training = False
        callback.set_model(model)
        sums = np.zeros(len(self.names))
        done = 0
        for i in range(steps):
            callback.on_train_batch_begin(i)
            batch = next(batches)
            sums += self._collective(lambda b=batch: [float(v) for v in self._step_fn(b)])
            done += 1
            callback.on_train_batch_end(i, dict(zip(self.names, (sums / done).tolist(), strict=True)))
            if model.stop_training:
                break
        return dict(zip(self.names, (sums / max(1, done)).tolist(), strict=True))

    # --- several workers ------------------------------------------------------------------
    def start(self, st: dict[str, Any], restore: Path | None = None) -> dict[str, Any]:
        """Before the first step. The optimizer's variables are made now, the same way on
        every worker. Multiworker: the chief loads ``restore`` (its ``last.keras`` on
        ``--resume``) into the model and optimizer; the settings are checked to agree; the
        chief's weights, optimizer state and run state ``st`` go to every worker (returned)."""
        opt = self.model.optimizer
        if not opt.built:
            with self.strategy.scope():
                opt.build(self.model.trainable_variables)
        if not self.multiworker:
            return st
        if restore is not None and self.chief:
            self._restore(restore)
        mine = self._fingerprint()
        sent = json.loads(self.broadcast_bytes(json.dumps({"config": mine, "state": st}).encode()))
        keys = sorted(sent["config"])
        differs = self._all_sum(np.array([float(mine.get(k) != sent["config"][k]) for k in keys]), False)
        bad = [k for k, d in zip(keys, differs, strict=True) if d > 0]
        if bad:
            raise DistributeError(
                f"multiworker: the workers' settings differ from the chief's in {', '.join(bad)}; "
                "start every worker with the same options (and data), only TF_CONFIG's task differs"
            )
        self._broadcast_variables()
        return dict(sent["state"])

    def _fingerprint(self) -> dict[str, Any]:
        cfg = self.cfg
        out: dict[str, Any] = cfg.model_dump(mode="json", exclude=set(PER_MACHINE))
        out["init_from_sha256"] = (cfg.init_from or {}).get("sha256")
        out["split_keys_sha256"] = _split_digest(Path(cfg.out))
        return out

    def _restore(self, path: Path) -> None:
        """The chief's checkpoint into the (strategy-built) model and optimizer. Loaded outside
        the strategy: a plain model, whose variables are made without collectives."""
        from trainer.train import load_keras

        src = load_keras(path, compile=True)
        self.model.set_weights(src.get_weights())
        have, saved = self.model.optimizer.variables, src.optimizer.variables
        shapes = [tuple(v.shape) for v in have], [tuple(v.shape) for v in saved]
        if shapes[0] != shapes[1]:
            raise DistributeError(
                f"{path}: its optimizer state does not fit this model ({len(saved)} variables)"
            )
        for dst, v in zip(have, saved, strict=True):
            dst.assign(np.asarray(v.numpy()))

    def _broadcast_variables(self) -> None:
        variables = [*self.model.weights, *self.model.optimizer.variables]
        flat = np.concatenate([np.ravel(np.asarray(v.numpy(), dtype=np.float64)) for v in variables])
        got = self._all_sum(flat, True)
        at = 0
        for v in variables:
            n = int(np.prod(v.shape))
            v.assign(got[at : at + n].reshape(tuple(v.shape)).astype(np.dtype(str(v.dtype))))
            at += n

    def broadcast_bytes(self, data: bytes) -> bytes:
        """The chief's ``data`` on every worker."""
        n = int(self._all_sum(np.array([float(len(data))]), True)[0])
        buf = np.frombuffer(data, np.uint8).astype(np.float64) if self.chief else np.zeros(n)
        return bytes(self._all_sum(buf, True).astype(np.uint8))

    def any_flag(self, flag: bool) -> bool:
        """True on every worker when ``flag`` is true on any (a collective: call it at the same
        point on every worker)."""
        if not self.multiworker:
            return flag
        return bool(self._all_sum(np.array([1.0 if flag else 0.0]), False)[0] > 0)

    def agree(self, values: dict[str, float]) -> dict[str, float]:
        """The chief's figures on every worker (the same keys everywhere), so that decisions
        taken from them (best checkpoint, lr halving, early stop) cannot differ between
        machines whose float rounding differs."""
        if not self.multiworker:
            return values
        keys = sorted(values)
        got = self._all_sum(np.array([float(values[k]) for k in keys]), True)
        return {k: float(v) for k, v in zip(keys, got, strict=True)}

    def finish(self) -> None:
        """After the last epoch: a last barrier (so that no worker leaves while another still
        reads from it), then TensorFlow's health check is stopped, since the chief's final
        evaluation goes on alone while the others exit."""
        if not self.multiworker:
            return
        try:
            self._all_sum(np.zeros(1), False)
        except DistributeError:
            if not self.chief:
                raise
        stop = getattr(self.strategy.extended, "_check_health_thread_should_stop", None)
        if stop is not None:
            stop.set()  # the daemon thread ends after its sleep; no join (that waits that long)

    def _all_sum(self, x: np.ndarray, chief_only: bool) -> np.ndarray:
        """Sum of ``x`` over the replicas (``chief_only``: only replica 0's, the chief's,
        which broadcasts it exactly: x + 0 = x). Float64, so integers up to 2**53 stay exact."""
        import tensorflow as tf

        if self._sum_fn is None:
            strategy = self.strategy

            def replica(v: Any, only0: Any) -> Any:
                ctx = tf.distribute.get_replica_context()
                keep = tf.logical_or(tf.logical_not(only0), tf.equal(ctx.replica_id_in_sync_group, 0))
                return ctx.all_reduce("sum", tf.where(keep, v, tf.zeros_like(v)))

            @tf.function(input_signature=[tf.TensorSpec([None], tf.float64), tf.TensorSpec([], tf.bool)])
            def fn(v: Any, only0: Any) -> Any:
                return strategy.experimental_local_results(strategy.run(replica, args=(v, only0)))[0]

            self._sum_fn = fn
        return self._collective(
            lambda: np.asarray(self._sum_fn(tf.constant(x, tf.float64), tf.constant(chief_only)))
        )

    def _collective(self, fn: Callable[[], Any]) -> Any:
        """``fn()``; on several workers, a failure of the cluster becomes a clear error."""
        if not self.multiworker:
            return fn()
        import tensorflow as tf

        lost = (
            tf.errors.UnavailableError,
            tf.errors.DeadlineExceededError,
            tf.errors.AbortedError,
            tf.errors.CancelledError,
            tf.errors.FailedPreconditionError,
            tf.errors.InternalError,
        )
        try:
            return fn()
        except lost as exc:
            raise DistributeError(
                "multiworker: lost another worker (it stopped, crashed or cannot be reached; "
                f"every worker must run until the end): {type(exc).__name__}: {_reason(exc)}"
            ) from exc


def _reason(exc: Exception) -> str:
    """The telling line of a TensorFlow cluster error, and the tasks it names."""
    text = str(getattr(exc, "message", "") or exc)
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    words = ("unhealthy", "heartbeat", "aborted", "unavailable", "socket", "connect")
    line = next((x for x in lines if any(w in x.lower() for w in words)), lines[0] if lines else "")
    tasks = sorted(set(re.findall(r"/job:\w+/replica:\d+/task:\d+", text)))
    return line[:300] + (f" [{', '.join(tasks)}]" if tasks else "")


class AgreedState:
    """A :class:`ProgressState` for several workers: a cancel seen by any worker (a signal to
    one of them) stops all after the same step. Each ``cancelled()`` is a collective, so every
    worker must ask at the same points (the training loop does)."""

    def __init__(self, state: ProgressState, loop: CustomLoop) -> None:
        self._state = state
        self._loop = loop

    def progress(self, done: int, total: int | None, message: str = "") -> None:
        self._state.progress(done, total, message)

    def cancelled(self) -> bool:
        return self._loop.any_flag(self._state.cancelled())
