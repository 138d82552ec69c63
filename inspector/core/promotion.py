"""Promotion gate: a candidate model replaces production only if it is not worse.

Both models are scored on the same data with the trainer's own evaluation
(:mod:`inspector.core.promotion_eval` runs ``python -m trainer evaluate`` as a
child). This module holds the pure part (metrics, tolerances, the decision, the
side-by-side table) and the DB part (promote with the gate's verdict audited,
QA override with its reason, rollback).

Data sets: the validation folder (DAGM or images/+masks/, optionally a split
file's val subset) and the operator-reviewed inspections (exported with
:mod:`inspector.core.review_export`). The gate checks every data set both
models were scored on; a metric that is undefined on a set (no defective images
-> no TPR) is skipped with a note, never counted as a failure.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from db import queries
from db._scope import Target
from db.models import Model
from db.queries import ModelInfo
from inspector.core.model_card import ModelCard

VALIDATION = "validation"
REVIEWED = "reviewed"


@dataclass(frozen=True, slots=True)
class Metrics:
    """What the gate compares, from the trainer's metrics.json."""

    dice_defective: float
    dice_all: float
    tpr: float
    tnr: float
    false_rejects: int  # good parts flagged (FP)
    escapes: int  # defective parts passed (FN)
    n_images: int
    n_defective: int

    @classmethod
    def from_trainer(cls, m: dict[str, Any]) -> Metrics:
        def f(key: str) -> float:
            v = m.get(key)
            return math.nan if v is None else float(v)  # metrics.json writes NaN as null

        return cls(
            f("dice_defective"),
            f("dice_all"),
            f("tpr"),
            f("tnr"),
            int(m.get("fp", 0)),
            int(m.get("fn", 0)),
            int(m.get("n_images", 0)),
            int(m.get("n_defective", 0)),
        )


@dataclass(frozen=True, slots=True)
class DataSpec:
    """A labelled folder to score on; ``split`` restricts it to the split's val images."""

    path: Path
    split: Path | None = None


@dataclass(frozen=True, slots=True)
class ModelEval:
    model_path: Path
    sha256: str
    by_set: dict[str, Metrics]


@dataclass(frozen=True, slots=True)
class GateRules:
    """Tolerances of the agreed checks (fractions, not percent)."""

    tpr_tolerance: float = 0.0  # TPR must not be lower
    max_extra_escapes: int = 0  # escapes must not be higher
    tnr_tolerance: float = 0.005  # TNR may drop by 0.5 pp at most
    dice_defective_tolerance: float = 0.01


@dataclass(frozen=True, slots=True)
class GateDecision:
    passed: bool
    reasons: list[str]  # why it failed (empty when it passed)
    notes: list[str] = field(default_factory=list)  # checks that could not be made

    def text(self) -> str:
        head = "PASSED: not worse on the agreed metrics" if self.passed else "FAILED"
        return "\n".join([head, *(f"- {r}" for r in self.reasons), *(f"  ({n})" for n in self.notes)])


class GateRefusedError(ValueError):
    """Promotion of a model that failed the gate, without an override reason."""


# -- side-by-side table -------------------------------------------------------------------------------
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    # (Metrics field, label, higher is better)
    ("dice_defective", "Dice defective", True),
    ("dice_all", "Dice all", True),
    ("tpr", "TPR", True),
    ("tnr", "TNR", True),
    ("false_rejects", "False rejects (FP)", False),
    ("escapes", "Escapes (FN)", False),
)


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    data_set: str
    metric: str
    candidate: float
    current: float | None

    @property
    def delta(self) -> float | None:
        return None if self.current is None else self.candidate - self.current


def compare(candidate: ModelEval, current: ModelEval | None) -> list[ComparisonRow]:
    rows = []
    for name, cand in candidate.by_set.items():
        cur = current.by_set.get(name) if current is not None else None
        for key, label, _ in COLUMNS:
            rows.append(
                ComparisonRow(
                    name, label, float(getattr(cand, key)), None if cur is None else float(getattr(cur, key))
                )
            )
    return rows


# -- the gate -----------------------------------------------------------------------------------------
def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _check_set(name: str, c: Metrics, p: Metrics, rules: GateRules) -> tuple[list[str], list[str]]:
    fails: list[str] = []
    notes: list[str] = []

    def defined(label: str, a: float, b: float) -> bool:
        if math.isnan(a) or math.isnan(b):
            notes.append(f"{name}: {label} undefined on this data, not checked")
            return False
        return True

    if defined("TPR", c.tpr, p.tpr) and c.tpr < p.tpr - rules.tpr_tolerance - 1e-12:
        fails.append(f"{name}: TPR {_pct(c.tpr)} is lower than production's {_pct(p.tpr)}")
    if c.escapes > p.escapes + rules.max_extra_escapes:
        fails.append(f"{name}: {c.escapes} escapes (missed defects) vs production's {p.escapes}")
    if defined("TNR", c.tnr, p.tnr) and c.tnr < p.tnr - rules.tnr_tolerance - 1e-12:
        fails.append(
            f"{name}: TNR {_pct(c.tnr)} is more than {100 * rules.tnr_tolerance:.1f} pp below "
            f"production's {_pct(p.tnr)}"
        )
    if (
        defined("Dice defective", c.dice_defective, p.dice_defective)
        and c.dice_defective < p.dice_defective - rules.dice_defective_tolerance - 1e-12
    ):
        fails.append(
            f"{name}: Dice defective {c.dice_defective:.3f} is more than "
            f"{rules.dice_defective_tolerance:.3f} below production's {p.dice_defective:.3f}"
        )
    return fails, notes


def gate(candidate: ModelEval, current: ModelEval | None, rules: GateRules | None = None) -> GateDecision:
    """Pass only if the candidate is not worse than ``current`` on every shared data set."""
    rules = rules or GateRules()
    if current is None:
        return GateDecision(True, [], ["no production model to compare with"])
    shared = [n for n in candidate.by_set if n in current.by_set]
    if not shared:
        return GateDecision(False, ["the two models were not scored on the same data"])
    reasons: list[str] = []
    notes: list[str] = []
    for name in shared:
        f, n = _check_set(name, candidate.by_set[name], current.by_set[name], rules)
        reasons += f
        notes += n
    return GateDecision(not reasons, reasons, notes)


# -- promote / rollback ---------------------------------------------------------------------------
def _decision_details(decision: GateDecision) -> dict[str, Any]:
    return {
        "gate_passed": decision.passed,
        "gate_reasons": list(decision.reasons),
        "gate_notes": decision.notes,
    }


def promote(
    db: Target,
    model_path: Path,
    card: ModelCard,
    actor: str,
    decision: GateDecision,
    override_reason: str | None = None,
    comparison: list[ComparisonRow] | None = None,
) -> ModelInfo:
    """Register + activate ``model_path`` in one transaction, with the gate's verdict audited.

    A failed gate needs ``override_reason`` (the GUI offers that to QA only); the
    override is its own audit event so it stands out in the trail.
    """
    reason = (override_reason or "").strip()
    if not decision.passed and not reason:
        raise GateRefusedError(
            "the candidate failed the promotion gate; an override needs a reason: "
            + "; ".join(decision.reasons)
        )
    details: dict[str, Any] = {
        "sha256": card.sha256,
        "name": card.name,
        "path": str(model_path),
        **_decision_details(decision),
    }
    if comparison is not None:
        details["comparison"] = [
            {
                "data_set": r.data_set,
                "metric": r.metric,
                "candidate": _json_num(r.candidate),
                "production": _json_num(r.current),
            }
            for r in comparison
        ]
    with _transaction(db) as s:
        previous = queries.active_model(s)
        info = queries.register_model(s, card, model_path, actor=actor)
        if Path(info.path) != Path(model_path) and not Path(info.path or "").is_file():
            # registered earlier from a file that is gone (a deleted run): rollback needs a real path
            s.execute(update(Model).where(Model.sha256 == info.sha256).values(path=str(model_path)))
        if not decision.passed:
            queries.audit(s, actor, "model.promote.override", {**details, "reason": reason})
        queries.audit(
            s, actor, "model.promote.gate", {**details, "previous": previous.sha256 if previous else None}
        )
        return queries.promote_model(s, info.sha256, actor)


def previous_model(db: Target) -> ModelInfo | None:
    """The model that was active before the current one became active (None if there is none)."""
    active = queries.active_model(db)
    if active is None:
        return None
    known = {m.sha256: m for m in queries.models(db)}
    for ev in queries.audit_events(db, action="model.promote", limit=1000):
        if ev.details.get("sha256") != active.sha256:
            continue
        for sha in ev.details.get("previous") or []:
            if sha in known and sha != active.sha256:
                return known[sha]
        break
    # no trail (models promoted before auditing): the most recently promoted other one
    others = [m for m in known.values() if m.sha256 != active.sha256 and m.promoted_at is not None]
    return max(others, key=lambda m: m.promoted_at or m.created_at, default=None)


def rollback(db: Target, actor: str, to_sha: str | None = None, reason: str = "") -> ModelInfo:
    """Re-activate the previous model (or ``to_sha``); audited. LookupError when there is none."""
    with _transaction(db) as s:
        active = queries.active_model(s)
        target = (
            next((m for m in queries.models(s) if m.sha256 == to_sha), None) if to_sha else previous_model(s)
        )
        if target is None:
            raise LookupError(
                f"model {to_sha} is not registered" if to_sha else "no previous model to roll back to"
            )
        if not Path(target.path).is_file():
            # the station could not load it; better to refuse now than to stop the line later
            raise FileNotFoundError(
                f"model file of {target.name} ({target.sha256[:8]}) not found: {target.path}"
            )
        queries.audit(
            s,
            actor,
            "model.rollback",
            {"from": active.sha256 if active else None, "to": target.sha256, "reason": reason},
        )
        return queries.promote_model(s, target.sha256, actor)


def _json_num(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else v


@contextmanager
def _transaction(db: Target) -> Iterator[Target]:
    """One write transaction for a Database; a caller's Session is used as it is."""
    if isinstance(db, Session):
        yield db
        db.flush()
        return
    with db.write() as s:
        yield s


def install_model(model_path: Path, models_dir: Path) -> Path:
    """Copy an exported model (+ card) to ``models_dir/<name>-<sha12>/``: runs may be deleted, production not.

    Idempotent: the folder is named by the ONNX sha256, so installing the same file twice is a no-op.
    """
    from inspector.core.model_card import card_path_for, sha256_file

    model_path = Path(model_path)
    sha = sha256_file(model_path)
    dest = Path(models_dir) / f"{model_path.stem}-{sha[:12]}"
    target = dest / "model.onnx"
    if target.is_file() and sha256_file(target) == sha:
        return target
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model_path, target)
    card = card_path_for(model_path)
    if card.is_file():
        shutil.copy2(card, card_path_for(target))
    return target
