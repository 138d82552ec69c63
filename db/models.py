"""SQLAlchemy 2.0 typed models: the verdict log's schema (docs/architecture.md, Storage).

Keep in step with ``migrations/versions``: tests compare the migrated schema
with this metadata.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from db.coltypes import BigId, UTCDateTime, utcnow

# Named constraints so migrations can drop/alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Disposition(enum.StrEnum):
    """What a reviewer says about a logged verdict."""

    CONFIRM_NG = "confirm_ng"
    FALSE_REJECT = "false_reject"  # logged NG/REVIEW, the part is good
    MISSED_DEFECT = "missed_defect"  # logged OK, the part is bad (mask_png may label it)
    CONFIRM_OK = "confirm_ok"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Station(Base):
    __tablename__ = "station"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Model(Base):
    __tablename__ = "model"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text, default="")
    card: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=False)
    # Set when the model is made production (migration 0003). gate_passed False = promoted by QA
    # override (override_reason says why): a mark the model keeps. None = never gated.
    promoted_by: Mapped[str | None] = mapped_column(String(200))
    gate_passed: Mapped[bool | None] = mapped_column()
    override_reason: Mapped[str | None] = mapped_column(Text)


class RecipeVersion(Base):
    """One immutable recipe version; editing a recipe inserts a new row."""

    __tablename__ = "recipe"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("recipe.id"))
    author: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(RecipeVersion, "before_update")
def _recipes_are_immutable(mapper: Mapper[Any], connection: Any, target: RecipeVersion) -> None:
    # A logged verdict points at its recipe row; changing that row in place
    # would silently rewrite history. New parameters mean a new version.
    raise ValueError(f"recipe {target.name!r} v{target.version} is immutable; save a new version")


class Inspection(Base):
    __tablename__ = "inspection"
    __table_args__ = (
        Index("ix_inspection_station_inspected", "station_id", "inspected_at"),
        Index("ix_inspection_verdict", "verdict"),
        # history pages newest-first over all stations: without it every page sorts the table
        Index("ix_inspection_inspected_id", "inspected_at", "id"),
        Index("ix_inspection_station_source_key", "station_id", "source_key"),
        CheckConstraint("verdict IN ('OK', 'NG', 'REVIEW', 'ERROR')", name="verdict"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    source: Mapped[str] = mapped_column(String(500))
    source_key: Mapped[str] = mapped_column(Text)
    image_path: Mapped[str | None] = mapped_column(Text)
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id"))
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipe.id"))
    backend: Mapped[str] = mapped_column(String(100))
    threshold: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    area_ratio: Mapped[float] = mapped_column(Float, default=0.0)
    # ERROR verdicts: the stage that failed (read, infer, output, selftest...); "" otherwise
    error_stage: Mapped[str] = mapped_column(String(20), default="", server_default="")
    n_regions: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    archive_image_path: Mapped[str | None] = mapped_column(Text)
    archive_overlay_path: Mapped[str | None] = mapped_column(Text)
    # migration 0005: the product, lot and shift the part was inspected in (None: none was set)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"), index=True)
    shift: Mapped[str | None] = mapped_column(String(16), index=True)  # "2026-11-28/1"

    regions: Mapped[list[DefectRegion]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="DefectRegion.index"
    )
    prob_map: Mapped[ProbMap | None] = relationship(cascade="all, delete-orphan")
    reviews: Mapped[list[Review]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="Review.at"
    )


class ProbMap(Base):
    """8-bit PNG of the probability map, apart so paging inspections stays cheap."""

    __tablename__ = "prob_map"
    inspection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inspection.id", ondelete="CASCADE"), primary_key=True
    )
    png: Mapped[bytes] = mapped_column(LargeBinary)


class DefectRegion(Base):
    __tablename__ = "defect_region"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inspection.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column(Integer)
    area_px: Mapped[int] = mapped_column(Integer)
    bbox_x: Mapped[int] = mapped_column(Integer)
    bbox_y: Mapped[int] = mapped_column(Integer)
    bbox_w: Mapped[int] = mapped_column(Integer)
    bbox_h: Mapped[int] = mapped_column(Integer)
    centroid_x: Mapped[float] = mapped_column(Float)
    centroid_y: Mapped[float] = mapped_column(Float)
    mean_prob: Mapped[float] = mapped_column(Float)
    max_prob: Mapped[float] = mapped_column(Float)

    inspection: Mapped[Inspection] = relationship(back_populates="regions")


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (
        CheckConstraint(
            "disposition IN ('confirm_ng', 'false_reject', 'missed_defect', 'confirm_ok')",
            name="disposition",
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inspection.id", ondelete="CASCADE"), index=True
    )
    disposition: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    mask_png: Mapped[bytes | None] = mapped_column(LargeBinary)

    inspection: Mapped[Inspection] = relationship(back_populates="reviews")


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Product(Base):
    """A product (job): model, recipe version, source settings and line I/O under one name the
    operator recognises (migration 0005; inspector.services.products)."""

    __tablename__ = "product"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id"))
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipe.id"))
    # {"source": {...}, "line_io": {...}, "image": {...}, "normal_defect_rate": ...}
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)  # +1 per update
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class Lot(Base):
    """A lot on one station: started and ended by a person; inspections point at it (migration 0005)."""

    __tablename__ = "lot"
    __table_args__ = (
        UniqueConstraint("station_id", "code"),
        Index("ix_lot_station_ended", "station_id", "ended_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(200), index=True)  # typed or scanned
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by: Mapped[str] = mapped_column(String(200), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    """A person's account (migration 0006; rules in inspector.core.accounts, queries in db.users).

    ``password_hash`` is ``pbkdf2_sha256$iterations$salt$hash``; the password itself is never
    stored. ``failed_logins`` counts wrong passwords in a row; ``locked_until`` is when the
    next one is checked again.
    """

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (CheckConstraint("role IN ('operator', 'qa', 'engineer', 'admin')", name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
