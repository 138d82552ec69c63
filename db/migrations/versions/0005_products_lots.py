"""Products (jobs) and lots; every inspection row records its product, lot and shift.

New tables ``product`` (model, recipe version, source and line I/O settings under one name)
and ``lot`` (started and ended on one station, by a person); new nullable columns
``inspection.product_id``, ``inspection.lot_id`` and ``inspection.shift`` ("2026-11-28/1").
Rows logged before this revision keep NULL there: they belong to no product, lot or shift.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("recipe_id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name=op.f("fk_product_model_id_model")),
        sa.ForeignKeyConstraint(["recipe_id"], ["recipe.id"], name=op.f("fk_product_recipe_id_recipe")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("name", name=op.f("uq_product_name")),
    )
    op.create_table(
        "lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"], name=op.f("fk_lot_station_id_station")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_lot_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot")),
        sa.UniqueConstraint("station_id", "code", name=op.f("uq_lot_station_id_code")),
    )
    op.create_index(op.f("ix_lot_code"), "lot", ["code"])
    op.create_index("ix_lot_station_ended", "lot", ["station_id", "ended_at"])
    with op.batch_alter_table("inspection") as batch:
        batch.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lot_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("shift", sa.String(length=16), nullable=True))
        batch.create_foreign_key(op.f("fk_inspection_product_id_product"), "product", ["product_id"], ["id"])
        batch.create_foreign_key(op.f("fk_inspection_lot_id_lot"), "lot", ["lot_id"], ["id"])
        batch.create_index(op.f("ix_inspection_product_id"), ["product_id"])
        batch.create_index(op.f("ix_inspection_lot_id"), ["lot_id"])
        batch.create_index(op.f("ix_inspection_shift"), ["shift"])


def downgrade() -> None:
    with op.batch_alter_table("inspection") as batch:
        batch.drop_index(op.f("ix_inspection_shift"))
        batch.drop_index(op.f("ix_inspection_lot_id"))
        batch.drop_index(op.f("ix_inspection_product_id"))
        batch.drop_constraint(op.f("fk_inspection_lot_id_lot"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_inspection_product_id_product"), type_="foreignkey")
        batch.drop_column("shift")
        batch.drop_column("lot_id")
        batch.drop_column("product_id")
    op.drop_index("ix_lot_station_ended", table_name="lot")
    op.drop_index(op.f("ix_lot_code"), table_name="lot")
    op.drop_table("lot")
    op.drop_table("product")
