"""Scoring a candidate and the production model on the same data, for the promotion gate.

The numbers come from ``python -m trainer evaluate`` run as a child process:
``trainer.evaluate`` imports ``trainer.losses``, which reaches TensorFlow, and
the station process never imports that (import-linter contract). A child also
cannot take the station down, and it scores exactly as ``inspector-train`` does.

The child has a time limit (``timeout_s``, default :data:`EVAL_TIMEOUT_S`, or
``$INSPECTOR_EVAL_TIMEOUT_S``) and follows the caller's cancel (``state.cancelled()``):
either way it is killed (its whole process group) and the caller gets a readable
error (``TimeoutError`` / ``InterruptedError``), never a hung Trainer tab.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from db._scope import Target
from inspector.core.model_card import ModelCard, load_card, sha256_file
from inspector.core.progress import ProgressState, SimpleState
from inspector.core.recipe import Recipe
from inspector.services.promotion import (
    REVIEWED,
    VALIDATION,
    DataSpec,
    GoldenCheck,
    Metrics,
    ModelEval,
    compression_of,
)

# (model, data, out dir) -> the metrics dict of trainer.evaluate
Evaluator = Callable[[Path, DataSpec, Path], dict[str, Any]]
# (model, recipe) -> the candidate's golden-sample self-test
GoldenChecker = Callable[[Path, Recipe | None], GoldenCheck]

EVAL_TIMEOUT_S = 3600.0  # one `trainer evaluate` child; a big validation set on a CPU takes minutes
EVAL_TIMEOUT_ENV = "INSPECTOR_EVAL_TIMEOUT_S"
_POLL_S = 0.2  # how often a running child is checked for cancel and the time limit


def eval_timeout_s() -> float:
    """The time limit of one evaluation child: $INSPECTOR_EVAL_TIMEOUT_S when set (> 0), else the default."""
    raw = os.environ.get(EVAL_TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else EVAL_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{EVAL_TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    return value if value > 0 else EVAL_TIMEOUT_S


def project_root() -> Path:
    """The checkout that holds ``trainer``: the child must import the same code as the station."""
    return Path(__file__).resolve().parents[2]


def trainer_command() -> list[str]:
    return [sys.executable, "-m", "trainer"]


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill the child and whatever it started (its own process group on POSIX), then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    # unkillable (e.g. stuck in the kernel): do not hang the caller too
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=10)


def run_child(
    cmd: Sequence[str], what: str, timeout_s: float | None = None, state: ProgressState | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in the project root with a time limit and the caller's cancel; output captured.

    Raises ``TimeoutError`` (after ``timeout_s``, default :func:`eval_timeout_s`) or
    ``InterruptedError`` (``state.cancelled()``); the child is killed in both cases.
    """
    limit = eval_timeout_s() if timeout_s is None else float(timeout_s)
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project_root(),
        start_new_session=os.name == "posix",  # its own process group: a kill reaches its children too
    )
    deadline = time.monotonic() + limit
    while True:
        try:
            out, err = proc.communicate(timeout=_POLL_S)
            return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        except subprocess.TimeoutExpired:
            pass
        if state is not None and state.cancelled():
            _kill(proc)
            raise InterruptedError(f"{what}: cancelled, the child process was stopped")
        if time.monotonic() >= deadline:
            _kill(proc)
            raise TimeoutError(
                f"{what} took longer than {limit:g} s: the child process was stopped "
                f"(set {EVAL_TIMEOUT_ENV} to allow more)"
            )


def run_trainer_evaluate(
    model: Path,
    data: DataSpec,
    out: Path,
    recipe: Path | None = None,
    *,
    timeout_s: float | None = None,
    state: ProgressState | None = None,
) -> dict[str, Any]:
    """``python -m trainer evaluate`` (time-limited, cancellable); returns the metrics.json it writes."""
    cmd = [*trainer_command(), "evaluate", "--model", str(model), "--data", str(data.path), "--out", str(out)]
    if data.split is not None:
        cmd += ["--split", str(data.split), "--subset", "val"]
    if recipe is not None:
        cmd += ["--recipe", str(recipe)]
    what = f"evaluating {Path(model).name} on {data.path}"
    proc = run_child(cmd, what, timeout_s, state)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise ValueError(f"{what} failed: {last[0]}")
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def check_golden(model: Path, recipe: Recipe | None = None) -> GoldenCheck:
    """The candidate's self-test as the station would run it after promotion: its card (sha256
    checked), the output probes and its golden samples, through the pipeline on ONNX Runtime
    (the backend every station has) with ``recipe``. Any problem is a failed check, never a raise."""
    from inspector.core.selftest import selftest_model

    try:
        n_golden = len(load_card(model).golden)
    except (OSError, ValueError) as exc:  # a model that cannot load fails its self-test
        return GoldenCheck(False, f"the model could not be loaded: {exc}", 0)
    try:
        report = selftest_model(model, recipe)
    except Exception as exc:  # a model or card the station refuses, or a crash: a failed check
        return GoldenCheck(False, f"the model could not be loaded or self-tested: {exc}", n_golden)
    return GoldenCheck(report.passed, report.reason, n_golden)


def evaluate_pair(
    candidate: Path,
    current: Path | None,
    data: Sequence[tuple[str, DataSpec]],
    state: ProgressState | None = None,
    evaluator: Evaluator | None = None,
    golden_checker: GoldenChecker | None = check_golden,
    recipe: Recipe | None = None,
) -> tuple[ModelEval, ModelEval | None]:
    """Score both models on every ``(name, spec)`` data set with the same evaluator, and run the
    candidate's golden-sample self-test (``golden_checker`` None: not checked)."""
    state = state or SimpleState()
    evaluator = evaluator or functools.partial(run_trainer_evaluate, state=state)
    models = [("candidate", Path(candidate))] + ([("production", Path(current))] if current else [])
    results: dict[str, dict[str, Metrics]] = {who: {} for who, _ in models}
    total = len(models) * len(data)
    with tempfile.TemporaryDirectory(prefix="gate-eval-") as tmp:
        for k, ((set_name, spec), (who, path)) in enumerate((d, m) for d in data for m in models):
            if state.cancelled():
                raise InterruptedError("evaluation cancelled")
            state.progress(k, total, f"scoring the {who} model on the {set_name} data")
            results[who][set_name] = Metrics.from_trainer(
                evaluator(path, spec, Path(tmp) / f"{who}-{set_name}")
            )
    golden = None
    if golden_checker is not None:
        state.progress(total, total, "checking the candidate's golden samples")
        golden = golden_checker(Path(candidate), recipe)
    state.progress(total, total, "scored")

    try:
        compression = compression_of(load_card(Path(candidate)))
    except (OSError, ValueError):  # an unreadable card: the golden check has failed already
        compression = compression_of(ModelCard())
    cand = ModelEval(Path(candidate), sha256_file(Path(candidate)), results["candidate"], golden, compression)
    cur = ModelEval(Path(current), sha256_file(Path(current)), results["production"]) if current else None
    return cand, cur


def evaluate_for_gate(
    candidate: Path,
    current: Path | None,
    validation: DataSpec | None,
    db: Target | None = None,
    state: ProgressState | None = None,
    evaluator: Evaluator | None = None,
    since: datetime | None = None,
    station: str | None = None,
    recipe: Recipe | None = None,
    golden_checker: GoldenChecker | None = check_golden,
) -> tuple[ModelEval, ModelEval | None, list[str]]:
    """Validation data and (with ``db``) the reviewed inspections; returns (candidate, current, notes).

    ``recipe``: the rules the verdicts are judged with (the station's current recipe, so
    TPR/TNR are what the line would see); default: the trainer's default recipe.
    """
    from inspector.core.recipe import save_recipe
    from inspector.services.review_export import export_reviewed

    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gate-reviewed-") as tmp:
        if evaluator is None and recipe is not None:
            recipe_path = Path(tmp) / "recipe.json"
            save_recipe(recipe, recipe_path)
            evaluator = functools.partial(run_trainer_evaluate, recipe=recipe_path, state=state)
        data: list[tuple[str, DataSpec]] = []
        if validation is not None:
            data.append((VALIDATION, validation))
        if db is not None:
            report = export_reviewed(db, Path(tmp) / "reviewed", since=since, station=station)
            notes += report.warnings
            if report.written:
                data.append((REVIEWED, DataSpec(Path(tmp) / "reviewed")))
            else:
                notes.append("no usable reviewed inspections: scored on the validation data only")
        if not data:
            raise ValueError("nothing to score on: pick validation data or review some inspections first")
        cand, cur = evaluate_pair(
            candidate, current, data, state, evaluator, golden_checker=golden_checker, recipe=recipe
        )
    return cand, cur, notes
