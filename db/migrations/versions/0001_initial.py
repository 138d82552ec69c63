"""Initial schema: station, model, recipe, inspection, prob_map, defect_region, review, audit_event.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Types are spelled out here rather than imported from db.models so this
revision keeps meaning the same schema when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, ref: str, **kw: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{ref}.id"], name=op.f(f"fk_{table}_{column}_{ref}"), **kw)


def upgrade() -> None:
    op.create_table(
        "station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station")),
        sa.UniqueConstraint("name", name=op.f("uq_station_name")),
    )
    op.create_table(
        "model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("promoted_at", TS, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model")),
        sa.UniqueConstraint("sha256", name=op.f("uq_model_sha256")),
    )
    op.create_table(
        "recipe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("recipe", "parent_id", "recipe"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipe")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_recipe_name_version")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"])
    op.create_table(
        "inspection",
        sa.Column("id", BigId, nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("image_path", sa.Text(), nullable=True),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("captured_at", TS, nullable=False),
        sa.Column("inspected_at", TS, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("recipe_id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=100), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("area_ratio", sa.Float(), nullable=False),
        sa.Column("n_regions", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("archive_image_path", sa.Text(), nullable=True),
        sa.Column("archive_overlay_path", sa.Text(), nullable=True),
        sa.CheckConstraint("verdict IN ('OK', 'NG', 'REVIEW')", name=op.f("ck_inspection_verdict")),
        _fk("inspection", "station_id", "station"),
        _fk("inspection", "model_id", "model"),
        _fk("inspection", "recipe_id", "recipe"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
    )
    op.create_index("ix_inspection_station_inspected", "inspection", ["station_id", "inspected_at"])
    op.create_index("ix_inspection_station_source_key", "inspection", ["station_id", "source_key"])
    op.create_index("ix_inspection_verdict", "inspection", ["verdict"])
    op.create_table(
        "prob_map",
        sa.Column("inspection_id", BigId, nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        _fk("prob_map", "inspection_id", "inspection", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("inspection_id", name=op.f("pk_prob_map")),
    )
    op.create_table(
        "defect_region",
        sa.Column("id", BigId, nullable=False),
        sa.Column("inspection_id", BigId, nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("area_px", sa.Integer(), nullable=False),
        sa.Column("bbox_x", sa.Integer(), nullable=False),
        sa.Column("bbox_y", sa.Integer(), nullable=False),
        sa.Column("bbox_w", sa.Integer(), nullable=False),
        sa.Column("bbox_h", sa.Integer(), nullable=False),
        sa.Column("centroid_x", sa.Float(), nullable=False),
        sa.Column("centroid_y", sa.Float(), nullable=False),
        sa.Column("mean_prob", sa.Float(), nullable=False),
        sa.Column("max_prob", sa.Float(), nullable=False),
        _fk("defect_region", "inspection_id", "inspection", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defect_region")),
    )
    op.create_index(op.f("ix_defect_region_inspection_id"), "defect_region", ["inspection_id"])
    op.create_table(
        "review",
        sa.Column("id", BigId, nullable=False),
        sa.Column("inspection_id", BigId, nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("mask_png", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "disposition IN ('confirm_ng', 'false_reject', 'missed_defect', 'confirm_ok')",
            name=op.f("ck_review_disposition"),
        ),
        _fk("review", "inspection_id", "inspection", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
    )
    op.create_index(op.f("ix_review_inspection_id"), "review", ["inspection_id"])


def downgrade() -> None:
    for table in ("review", "defect_region", "prob_map", "inspection", "audit_event", "recipe", "model"):
        op.drop_table(table)
    op.drop_table("station")
