"""ERROR verdict: parts that could not be fully inspected get a row of their own.

Widens the verdict check constraint to allow 'ERROR' and adds
``inspection.error_stage`` (which step failed: read, infer, output, selftest...).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OLD = "verdict IN ('OK', 'NG', 'REVIEW')"
_NEW = "verdict IN ('OK', 'NG', 'REVIEW', 'ERROR')"


def upgrade() -> None:
    with op.batch_alter_table("inspection") as batch:
        batch.drop_constraint(op.f("ck_inspection_verdict"), type_="check")
        batch.create_check_constraint("verdict", _NEW)
        batch.add_column(sa.Column("error_stage", sa.String(length=20), nullable=False, server_default=""))


def downgrade() -> None:
    # ERROR rows cannot be represented in the old schema; they are kept as NG (never as OK).
    op.execute("UPDATE inspection SET verdict = 'NG' WHERE verdict = 'ERROR'")
    with op.batch_alter_table("inspection") as batch:
        batch.drop_column("error_stage")
        batch.drop_constraint(op.f("ck_inspection_verdict"), type_="check")
        batch.create_check_constraint("verdict", _OLD)
