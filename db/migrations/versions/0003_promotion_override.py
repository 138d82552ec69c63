"""Promotion marks on model: promoted_by, gate_passed, override_reason.

Revision ID: 0003
Revises: 0002

A model promoted by QA override (failed gate) keeps ``gate_passed = false`` and its
``override_reason``, so the station can show the mark while that model runs. Rows
promoted before this revision are filled in from the audit trail
(``model.promote.gate`` / ``model.promote.override`` events) where it has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_audit = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("details", sa.JSON()),
)
_model = sa.table(
    "model",
    sa.column("sha256", sa.String()),
    sa.column("promoted_by", sa.String()),
    sa.column("gate_passed", sa.Boolean()),
    sa.column("override_reason", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("model") as batch:
        batch.add_column(sa.Column("promoted_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("gate_passed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
    _backfill(op.get_bind())


def _backfill(bind: Any) -> None:
    """The latest gated promotion of each model, from the audit trail (oldest event first)."""
    rows = bind.execute(
        sa.select(_audit.c.actor, _audit.c.action, _audit.c.details)
        .where(_audit.c.action.in_(("model.promote.override", "model.promote.gate")))
        .order_by(_audit.c.id)
    )
    reasons: dict[str, str] = {}
    marks: dict[str, tuple[str, bool, str | None]] = {}
    for actor, action, details in rows:
        sha = (details or {}).get("sha256")
        if not sha:
            continue
        if action == "model.promote.override":  # written just before its gate event
            reasons[sha] = str(details.get("reason") or "") or "(no reason recorded)"
            continue
        passed = bool(details.get("gate_passed"))
        marks[sha] = (actor, passed, None if passed else reasons.get(sha, "(no reason recorded)"))
    for sha, (actor, passed, reason) in marks.items():
        bind.execute(
            sa.update(_model)
            .where(_model.c.sha256 == sha)
            .values(promoted_by=actor, gate_passed=passed, override_reason=reason)
        )


def downgrade() -> None:
    with op.batch_alter_table("model") as batch:
        batch.drop_column("override_reason")
        batch.drop_column("gate_passed")
        batch.drop_column("promoted_by")
