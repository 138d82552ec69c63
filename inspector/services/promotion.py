"""Promotion gate: a candidate model replaces production only if it is not worse.

Both models are scored on the same data with the trainer's own evaluation
(:mod:`inspector.services.promotion_eval` runs ``python -m trainer evaluate`` as a
child). This module holds the pure part (metrics, tolerances, the decision, the
side-by-side table) and the DB part (promote with the gate's verdict audited,
QA override with its reason, rollback).

Data sets: the validation folder (DAGM or images/+masks/, optionally a split
file's val subset) and the operator-reviewed inspections (exported with
:mod:`inspector.services.review_export`). The gate fails closed: a data set scored
for one model but not the other, a missing or non-finite metric, or counts that
do not add up fail it. Only a metric that is legitimately undefined on a set
(TPR, escapes, Dice defective without defective images; TNR without good
images) is skipped with a note, and only when the image counts themselves are
present and finite.

Production history: every model that has been production keeps its row with
``promoted_at``, ``promoted_by``, ``gate_passed`` and ``override_reason`` (a
model promoted by QA override carries that mark for good);
:func:`ensure_production_model` registers the shipped model as the first
production model, :func:`rollback` returns to any earlier production model in
one step, and :func:`choose_production_model` picks what a station may load
(refusing a production model whose file is missing or changed).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import queries
from db._scope import Target, reading
from db.models import Model
from db.queries import ModelInfo
from inspector.core.model_card import ModelCard, load_card, sha256_file
from inspector.core.paths import default_model

VALIDATION = "validation"
REVIEWED = "reviewed"


class MetricsError(ValueError):
    """The trainer's metrics are missing a value the gate relies on, or hold one that is not finite."""


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _finite(v: object) -> bool:
    return _is_number(v) and math.isfinite(v)  # type: ignore[arg-type]


def _is_count(v: object) -> bool:
    return _finite(v) and v >= 0 and float(v).is_integer()  # type: ignore[operator, arg-type]


@dataclass(frozen=True, slots=True)
class Metrics:
    """What the gate compares, from the trainer's metrics.json.

    Rates are NaN only where they are undefined on the data (see :meth:`from_trainer`);
    the gate still treats any non-finite value it needs as a failure unless the image
    counts show it is legitimately undefined.
    """

    dice_defective: float
    dice_all: float
    tpr: float
    tnr: float
    false_rejects: int  # good parts flagged (FP)
    escapes: int  # defective parts passed (FN)
    n_images: int
    n_defective: int

    @classmethod
    def from_trainer(cls, m: Mapping[str, Any], source: str = "") -> Metrics:
        """Typed metrics from ``metrics.json``; :class:`MetricsError` on anything missing or not finite.

        Nothing defaults: a missing count is not 0. ``null`` (how metrics.json writes NaN) is
        accepted only for a rate that is undefined on the data: TPR and Dice defective without
        defective images, TNR without good images.
        """
        where = source or str(m.get("model") or "trainer metrics")

        def count(key: str) -> int:
            if key not in m:
                raise MetricsError(f"{where}: metric {key!r} missing")
            v = m[key]
            if not _is_count(v):
                raise MetricsError(f"{where}: metric {key!r} is not a finite count: {v!r}")
            return int(v)

        n_images, n_defective = count("n_images"), count("n_defective")
        fp, fn = count("fp"), count("fn")
        if n_images == 0:
            raise MetricsError(f"{where}: no images were scored")
        if n_defective > n_images or fn > n_defective or fp > n_images - n_defective:
            raise MetricsError(
                f"{where}: counts do not add up (n_images {n_images}, n_defective {n_defective}, "
                f"fp {fp}, fn {fn})"
            )
        undefined = {
            "tpr": n_defective == 0,
            "dice_defective": n_defective == 0,
            "tnr": n_defective == n_images,
            "dice_all": False,
        }

        def rate(key: str) -> float:
            if key not in m:
                raise MetricsError(f"{where}: metric {key!r} missing")
            v = m[key]
            if v is None or (_is_number(v) and math.isnan(v)):
                if undefined[key]:
                    return math.nan
                raise MetricsError(
                    f"{where}: metric {key!r} is not finite although it is defined on this data "
                    f"({n_images} images, {n_defective} defective)"
                )
            if not _finite(v) or not 0.0 <= v <= 1.0:
                raise MetricsError(f"{where}: metric {key!r} is not a finite rate in [0, 1]: {v!r}")
            return float(v)

        return cls(
            rate("dice_defective"), rate("dice_all"), rate("tpr"), rate("tnr"), fp, fn, n_images, n_defective
        )


@dataclass(frozen=True, slots=True)
class DataSpec:
    """A labelled folder to score on; ``split`` restricts it to the split's val images."""

    path: Path
    split: Path | None = None


@dataclass(frozen=True, slots=True)
class GoldenCheck:
    """The candidate's golden-sample self-test (its card's reference images, through the pipeline)."""

    passed: bool
    reason: str  # why it failed ("" when it passed)
    n_samples: int


@dataclass(frozen=True, slots=True)
class Compression:
    """What a model card says about compression: its precision and the model it was distilled from."""

    precision: str  # "fp32", "fp16", "int8"...
    teacher_sha256: str | None

    @property
    def compressed(self) -> bool:
        return self.precision != "fp32" or self.teacher_sha256 is not None


def compression_of(card: ModelCard) -> Compression:
    """Precision and teacher from a card (``precision``; ``teacher`` {sha256} or ``teacher_sha256``);
    a card that says neither is a plain FP32 model."""
    extra = dict(card.model_extra or {})
    precision = str(extra.get("precision") or "fp32").lower()
    teacher = extra.get("teacher")
    sha = (teacher.get("sha256") if isinstance(teacher, Mapping) else None) or extra.get("teacher_sha256")
    return Compression(precision, str(sha) if sha else None)


@dataclass(frozen=True, slots=True)
class ModelEval:
    model_path: Path
    sha256: str
    by_set: dict[str, Metrics]
    golden: GoldenCheck | None = None  # None: not checked
    compression: Compression = Compression("fp32", None)


@dataclass(frozen=True, slots=True)
class GateRules:
    """Tolerances of the agreed checks (fractions, not percent)."""

    tpr_tolerance: float = 0.0  # TPR must not be lower
    max_extra_escapes: int = 0  # escapes must not be higher
    tnr_tolerance: float = 0.005  # TNR may drop by 0.5 pp at most
    dice_defective_tolerance: float = 0.01

    def capped(self, limit: GateRules) -> GateRules:
        """These rules, no looser than ``limit`` on any check."""
        return GateRules(
            min(self.tpr_tolerance, limit.tpr_tolerance),
            min(self.max_extra_escapes, limit.max_extra_escapes),
            min(self.tnr_tolerance, limit.tnr_tolerance),
            min(self.dice_defective_tolerance, limit.dice_defective_tolerance),
        )


# A compressed model (smaller student, INT8...) replaces its FP32 model only if: image TPR not
# lower, no extra escapes, TNR lower by at most one image in a hundred, Dice on defective images
# within 0.01, and its golden samples pass. QA may set stricter tolerances, never looser ones.
COMPRESSED_LIMITS = GateRules(
    tpr_tolerance=0.0, max_extra_escapes=0, tnr_tolerance=0.01, dice_defective_tolerance=0.01
)


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
    """Candidate vs production per data set and metric; a set scored for one model only shows "–" (NaN)."""
    rows = []
    names = list(candidate.by_set) + [
        n for n in (current.by_set if current else {}) if n not in candidate.by_set
    ]
    for name in names:
        cand = candidate.by_set.get(name)
        cur = current.by_set.get(name) if current is not None else None
        for key, label, _ in COLUMNS:
            rows.append(
                ComparisonRow(
                    name,
                    label,
                    math.nan if cand is None else float(getattr(cand, key)),
                    None if cur is None else float(getattr(cur, key)),
                )
            )
    return rows


# -- the gate -----------------------------------------------------------------------------------------
def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _shown(v: object) -> str:
    return "missing" if v is None else repr(v)


def _count_problems(name: str, who: str, m: Metrics) -> list[str]:
    """The image counts every other check depends on: present, finite, consistent."""
    bad = [
        f"{name}: metric {label} missing/not finite for the {who} ({_shown(v)})"
        for label, v in (("n_images", m.n_images), ("n_defective", m.n_defective))
        if not _is_count(v)
    ]
    if bad:
        return bad
    if m.n_images == 0:
        return [f"{name}: no images were scored for the {who}"]
    if m.n_defective > m.n_images:
        return [
            f"{name}: {m.n_defective} defective of {m.n_images} images for the {who}: counts do not add up"
        ]
    return []


def _check_set(name: str, c: Metrics, p: Metrics, rules: GateRules) -> tuple[list[str], list[str]]:
    fails = _count_problems(name, "candidate", c) + _count_problems(name, "production model", p)
    notes: list[str] = []
    if fails:
        return fails, notes
    if (c.n_images, c.n_defective) != (p.n_images, p.n_defective):
        fails.append(
            f"{name}: the models were scored on different images (candidate {c.n_images} images, "
            f"{c.n_defective} defective; production {p.n_images}, {p.n_defective})"
        )
        return fails, notes
    no_defective = c.n_defective == 0
    no_good = c.n_images == c.n_defective

    def usable(label: str, a: object, b: object, undefined: bool, why: str) -> bool:
        """True when both values can be compared; else a failure, or a note if undefined on this data."""
        if _finite(a) and _finite(b):
            return True
        if undefined:
            notes.append(f"{name}: {label} undefined ({why}), not checked")
            return False
        which = ", ".join(
            f"{who} {_shown(v)}" for who, v in (("candidate", a), ("production", b)) if not _finite(v)
        )
        fails.append(f"{name}: metric {label} missing/not finite ({which})")
        return False

    if (
        usable("TPR", c.tpr, p.tpr, no_defective, "no defective images")
        and c.tpr < p.tpr - rules.tpr_tolerance - 1e-12
    ):
        fails.append(f"{name}: TPR {_pct(c.tpr)} is lower than production's {_pct(p.tpr)}")
    if (
        usable("escapes", c.escapes, p.escapes, no_defective, "no defective images")
        and c.escapes > p.escapes + rules.max_extra_escapes
    ):
        fails.append(f"{name}: {c.escapes} escapes (missed defects) vs production's {p.escapes}")
    if usable("TNR", c.tnr, p.tnr, no_good, "no good images") and c.tnr < p.tnr - rules.tnr_tolerance - 1e-12:
        fails.append(
            f"{name}: TNR {_pct(c.tnr)} is more than {100 * rules.tnr_tolerance:.1f} pp below "
            f"production's {_pct(p.tnr)}"
        )
    if (
        usable("Dice defective", c.dice_defective, p.dice_defective, no_defective, "no defective images")
        and c.dice_defective < p.dice_defective - rules.dice_defective_tolerance - 1e-12
    ):
        fails.append(
            f"{name}: Dice defective {c.dice_defective:.3f} is more than "
            f"{rules.dice_defective_tolerance:.3f} below production's {p.dice_defective:.3f}"
        )
    return fails, notes


def _rule_problems(rules: GateRules) -> list[str]:
    return [
        f"gate tolerance {label} is not a finite non-negative number ({v!r})"
        for label, v in (
            ("tpr_tolerance", rules.tpr_tolerance),
            ("max_extra_escapes", rules.max_extra_escapes),
            ("tnr_tolerance", rules.tnr_tolerance),
            ("dice_defective_tolerance", rules.dice_defective_tolerance),
        )
        if not _finite(v) or v < 0
    ]


def default_rules(compression: Compression) -> GateRules:
    """The agreed tolerances: a plain retrain's, or a compressed model's (:data:`COMPRESSED_LIMITS`)."""
    return COMPRESSED_LIMITS if compression.compressed else GateRules()


def gate(candidate: ModelEval, current: ModelEval | None, rules: GateRules | None = None) -> GateDecision:
    """Pass only if the candidate is not worse than ``current`` on every data set; fails closed.

    ``rules`` None: :func:`default_rules`. A compressed candidate is held to
    :data:`COMPRESSED_LIMITS` whatever ``rules`` say (tighter rules still apply), must have passed
    its golden samples, and needs a production model to be compared with."""
    comp = candidate.compression
    rules = rules or default_rules(comp)
    reasons = _rule_problems(rules)
    notes: list[str] = []
    if comp.compressed:
        rules = rules.capped(COMPRESSED_LIMITS) if not reasons else rules
        notes.append(
            f"compressed candidate ({comp.precision}"
            + (f", distilled from {comp.teacher_sha256[:12]}" if comp.teacher_sha256 else "")
            + f"): TNR may drop by {100 * rules.tnr_tolerance:.1f} pp at most, Dice defective by "
            f"{rules.dice_defective_tolerance:.3f}, TPR not at all; golden samples must pass"
        )
    golden = candidate.golden
    if golden is None:
        if comp.compressed:
            reasons.append("the compressed candidate's golden samples were not checked")
        else:
            notes.append("golden samples not checked")
    elif not golden.passed:
        reasons.append(f"golden samples: {golden.reason or 'failed'}")
    if not candidate.by_set:
        reasons.append("the candidate was not scored on any data")
    if current is None:
        if comp.compressed:
            reasons.append("a compressed model needs a production model to be compared with")
        for name, m in candidate.by_set.items():
            reasons += _count_problems(name, "candidate", m)
        return GateDecision(not reasons, reasons, [*notes, "no production model to compare with"])
    if comp.teacher_sha256 and comp.teacher_sha256 != current.sha256:
        notes.append(
            f"the candidate was distilled from {comp.teacher_sha256[:12]}, not from the production "
            f"model {current.sha256[:12]}: compared with production"
        )
    reasons += [
        f"{n}: data set scored for the candidate but not for the production model"
        for n in candidate.by_set
        if n not in current.by_set
    ]
    reasons += [
        f"{n}: data set scored for the production model but not for the candidate"
        for n in current.by_set
        if n not in candidate.by_set
    ]
    shared = [n for n in candidate.by_set if n in current.by_set]
    if not shared:
        reasons.append("the two models were not scored on the same data")
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
    if not Path(model_path).is_file():
        raise FileNotFoundError(f"model file not found: {model_path}")
    if sha256_file(Path(model_path)) != card.sha256:
        raise ValueError(f"{model_path} does not match its card's sha256 {card.sha256[:12]}: export it again")
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
        promoted = queries.promote_model(s, info.sha256, actor)
        # the mark stays on the row: rolling back to this model later shows it again
        _set_release(s, info.sha256, actor, decision.passed, None if decision.passed else reason)
        return promoted


def _set_release(s: Session, sha256: str, actor: str, gate_passed: bool | None, override: str | None) -> None:
    values: dict[str, Any] = {"promoted_by": actor}
    if gate_passed is not None or override is not None:
        values.update(gate_passed=gate_passed, override_reason=override)
    s.execute(update(Model).where(Model.sha256 == sha256).values(**values))


# -- production history ---------------------------------------------------------------------------
INITIAL = "model.register_initial"


@dataclass(frozen=True, slots=True)
class ProductionEntry:
    """A model that has been production: when it was last made active, by whom, how it got there."""

    sha256: str
    name: str
    path: str
    promoted_at: datetime
    promoted_by: str
    gate_passed: bool | None  # None: never gated (the shipped model registered at first start, or older rows)
    override_reason: str | None
    is_active: bool

    @property
    def overridden(self) -> bool:
        """Promoted by QA override without passing the gate (a permanent mark of this model)."""
        return self.gate_passed is False

    def gate_text(self) -> str:
        if self.overridden:
            return f"⚠ OVERRIDE: {self.override_reason or '(no reason recorded)'}"
        return "gate passed" if self.gate_passed else "not gated (registered)"


def _entry(row: Model) -> ProductionEntry:
    assert row.promoted_at is not None
    return ProductionEntry(
        row.sha256,
        row.name,
        row.path,
        row.promoted_at,
        row.promoted_by or "",
        row.gate_passed,
        row.override_reason,
        row.is_active,
    )


def production_history(db: Target) -> list[ProductionEntry]:
    """Every model that has been production, the most recently activated first."""
    with reading(db) as s:
        q = (
            select(Model)
            .where(Model.promoted_at.is_not(None))
            .order_by(Model.promoted_at.desc(), Model.id.desc())
        )
        return [_entry(r) for r in s.scalars(q)]


def production_entry(db: Target, sha256: str) -> ProductionEntry | None:
    with reading(db) as s:
        row = s.scalar(select(Model).where(Model.sha256 == sha256, Model.promoted_at.is_not(None)))
        return _entry(row) if row is not None else None


def override_mark(db: Target, sha256: str) -> str | None:
    """The override reason when model ``sha256`` was promoted without passing the gate, else None.

    For any view of a model (History detail, status bar): one indexed row read.
    """
    with reading(db) as s:
        row = s.execute(
            select(Model.gate_passed, Model.override_reason).where(Model.sha256 == sha256)
        ).one_or_none()
    if row is None or row.gate_passed is not False:
        return None
    return row.override_reason or "(no reason recorded)"


def ensure_production_model(db: Target, card: ModelCard, path: Path, actor: str) -> ModelInfo | None:
    """Register ``card``/``path`` (the shipped model) as the first production model; idempotent.

    Does nothing and returns None when a production model is active already. Otherwise,
    in one transaction: the model row (registered if new), made active with ``promoted_at``
    and ``promoted_by``, never gated, and a ``model.register_initial`` audit event; returns it.
    So rollback always has the model the station started with to return to.
    """
    if not card.sha256:
        raise ValueError(f"model card {card.name!r} has no sha256; load it with load_card()")
    if queries.active_model(db) is not None:  # cheap read first: the usual case writes nothing
        return None
    with _transaction(db) as s:
        if queries.active_model(s) is not None:  # another station got there first
            return None
        info = queries.register_model(s, card, path, actor=actor)
        if Path(info.path) != Path(path) and not Path(info.path or "").is_file():
            s.execute(update(Model).where(Model.sha256 == info.sha256).values(path=str(path)))
        queries.audit(s, actor, INITIAL, {"sha256": card.sha256, "name": card.name, "path": str(path)})
        promoted = queries.promote_model(s, info.sha256, actor)
        _set_release(s, info.sha256, actor, None, None)
        return promoted


def ensure_shipped_production_model(db: Target, actor: str, path: Path | None = None) -> ModelInfo | None:
    """:func:`ensure_production_model` for the shipped default model (``paths.default_model()``).

    None when a production model is active already or there is no shipped model file.
    """
    path = Path(path) if path is not None else default_model()
    if not path.is_file() or queries.active_model(db) is not None:
        return None
    return ensure_production_model(db, load_card(path), path, actor)


def check_model_file(path: str | Path, sha256: str) -> tuple[ModelCard | None, str]:
    """(card, "") when ``path`` holds exactly model ``sha256``; else (None, why it may not be loaded)."""
    p = Path(path) if path else None
    if p is None or not p.is_file():
        return None, f"model file not found: {path or '(no path recorded)'}"
    try:
        card = load_card(p)
    except (OSError, ValueError) as exc:
        return None, f"model file {p} is unusable: {exc}"
    if card.sha256 != sha256:
        return None, f"model file {p} has changed: sha256 {card.sha256[:12]}, production is {sha256[:12]}"
    return card, ""


@dataclass(frozen=True, slots=True)
class ProductionChoice:
    """What a station may load: the active production model, else the newest usable earlier one."""

    active: ProductionEntry | None  # what the database names as production (None: nothing promoted)
    entry: ProductionEntry | None  # the model to load (None: none is usable)
    card: ModelCard | None
    refused: list[tuple[ProductionEntry, str]] = field(default_factory=list)  # (model, why), active first

    @property
    def fallback(self) -> bool:
        return self.entry is not None and self.active is not None and self.entry.sha256 != self.active.sha256


def choose_production_model(db: Target) -> ProductionChoice:
    """The active production model if its file is there and unchanged; else the previous production
    model (then older ones, newest first) that is. Reads only: the database keeps naming the active
    model, so the refusal shows at every start until QA rolls back or the file is restored."""
    history = production_history(db)
    active = next((e for e in history if e.is_active), None)
    if active is None:
        return ProductionChoice(None, None, None)
    previous = previous_model(db)
    order = [active]
    order += [e for e in history if previous is not None and e.sha256 == previous.sha256]
    order += [e for e in history if e not in order]
    refused: list[tuple[ProductionEntry, str]] = []
    for e in order:
        card, why = check_model_file(e.path, e.sha256)
        if card is not None:
            return ProductionChoice(active, e, card, refused)
        refused.append((e, why))
    return ProductionChoice(active, None, None, refused)


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
    """Re-activate the previous production model, or any earlier one (``to_sha``), in one step; audited.

    LookupError when there is none (or ``to_sha`` was never production); ValueError when it is
    active already; FileNotFoundError / ValueError when its file is gone or changed.
    """
    with _transaction(db) as s:
        active = queries.active_model(s)
        if to_sha:
            row = s.scalar(select(Model).where(Model.sha256 == to_sha))
            if row is None:
                raise LookupError(f"model {to_sha} is not registered")
            if row.promoted_at is None:
                raise LookupError(
                    f"model {row.name} ({to_sha[:8]}) was never production: promote it through the gate"
                )
            target = next(m for m in queries.models(s) if m.sha256 == to_sha)
        else:
            found = previous_model(s)
            if found is None:
                raise LookupError("no previous production model to roll back to")
            target = found
        if active is not None and target.sha256 == active.sha256:
            raise ValueError(f"model {target.name} ({target.sha256[:8]}) is the production model already")
        if not Path(target.path).is_file():
            # the station could not load it; better to refuse now than to stop the line later
            raise FileNotFoundError(
                f"model file of {target.name} ({target.sha256[:8]}) not found: {target.path}"
            )
        _card, why = check_model_file(target.path, target.sha256)
        if why:
            raise ValueError(f"cannot roll back to {target.name} ({target.sha256[:8]}): {why}")
        mark = override_mark(s, target.sha256)
        queries.audit(
            s,
            actor,
            "model.rollback",
            {
                "from": active.sha256 if active else None,
                "to": target.sha256,
                "reason": reason,
                "to_override_reason": mark,
            },
        )
        info = queries.promote_model(s, target.sha256, actor)
        _set_release(s, target.sha256, actor, None, None)
        return info


def _json_num(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else v


@contextmanager
def _transaction(db: Target) -> Iterator[Session]:
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
    from inspector.core.model_card import card_path_for, copy_golden

    model_path = Path(model_path)
    sha = sha256_file(model_path)
    dest = Path(models_dir) / f"{model_path.stem}-{sha[:12]}"
    target = dest / "model.onnx"
    if target.is_file() and sha256_file(target) == sha:
        copy_golden(model_path, target)  # an earlier install may predate golden samples
        return target
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model_path, target)
    card = card_path_for(model_path)
    if card.is_file():
        shutil.copy2(card, card_path_for(target))
        # the golden samples travel with the model: without them its self-test blocks the station
        copy_golden(model_path, target)
    return target
