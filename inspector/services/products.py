"""Products (jobs): one name the operator recognises for a model, a recipe version, the source
settings and the line I/O mapping ("Housing A, camera 2").

The operator picks a product, not files: :func:`resolve_product` turns a product into what the
station loads (the model file by its sha256, verified; the recipe version; the source; the line
outputs) or refuses it with a reason. Products live in the database (table ``product``,
migration 0005) and travel between stations as one JSON file (:func:`export_product` /
:func:`import_product`) that carries the model card with its golden-sample hashes and the
recipe's parameters, so the receiving station can check it has exactly the same model.

Two guards keep a product from running on the wrong parts:

- :class:`FrameGuard` checks frames against the product's model card and image settings before
  they are inspected: colour images for a gray model, or a size other than the product's, are
  refused (the station blocks: every part an ERROR row, nothing passes); a ``resize`` card whose
  aspect ratio differs a lot from the images' only warns.
- :class:`DefectRateGuard` warns when the defect rate over the last parts jumps far above the
  product's normal rate ("wrong model for these parts?").

Qt-free; reads and writes the database like :mod:`inspector.services.promotion`.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from db import registry
from db._scope import Target, reading, writing
from db.models import Inspection, Model, Product, RecipeVersion
from inspector.core.model_card import ModelCard, load_card, sha256_file, verify_card
from inspector.core.pipeline import Pipeline
from inspector.core.recipe import Recipe
from inspector.core.types import Frame, Verdict

EXPORT_FORMAT = "defect-inspector-product"
EXPORT_VERSION = 1
SOURCE_KINDS = ("demo", "folder", "hot", "camera", "video", "genicam")

# wrong-model guard (DefectRateGuard): over the last WINDOW judged parts, warn when the defect rate is
# more than FACTOR x the product's normal rate AND more than MIN_RATE; with no normal rate known yet
# (fewer than BASELINE_MIN_PARTS judged parts logged for the product, none set), above NO_BASELINE_RATE
RATE_WINDOW = 50
RATE_FACTOR = 3.0
RATE_MIN = 0.20
NO_BASELINE_RATE = 0.50
BASELINE_MIN_PARTS = 200
BASELINE_PARTS = 10_000  # the long-run rate is taken over the product's latest parts
# FrameGuard: a 3-channel image whose channels differ by more than this (mean |difference|, 8-bit
# levels) is colour; a gray image stored as BGR has equal channels
COLOUR_LEVELS = 6.0
ASPECT_WARN = 1.5  # resize cards: warn when the images' aspect ratio differs from the input's by more


class ProductError(ValueError):
    """The product cannot be used or stored as asked; the message says why and what to do."""


class ProductExistsError(ProductError):
    pass


# -- the product -------------------------------------------------------------------------------
class SourceSettings(BaseModel):
    """What the Live tab's source chooser holds: kind, path/index/URL and options."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["demo", "folder", "hot", "camera", "video", "genicam"] = "demo"
    spec: str = ""  # folder or file path, camera index or URL, GenTL producer path
    recursive: bool = False  # folder: descend into sub-folders
    skip_logged: bool = True  # folder, hot folder, video: resume (skip parts already logged)

    def source_spec(self) -> str:
        """The spec ``inspector inspect`` and ``open_source`` take."""
        from inspector.core.sources.factory import spec_for

        text = self.spec.strip()
        if not text and self.kind != "demo":
            raise ProductError(f"the product's {self.kind} source has no path, index or URL")
        return spec_for(self.kind, text)

    @classmethod
    def from_spec(cls, spec: str, *, recursive: bool = False, skip_logged: bool = True) -> SourceSettings:
        """From an ``inspect`` source spec: demo, DIR, hot:DIR, camera:N, URL, genicam:CTI, video file."""
        lower = spec.strip().lower()
        text = spec.strip()
        if lower in ("demo", "") or lower.startswith("demo:"):
            return cls(kind="demo")
        if lower.startswith("hot:"):
            return cls(kind="hot", spec=text[4:], skip_logged=skip_logged)
        if lower.startswith("genicam:"):
            return cls(kind="genicam", spec=text)
        if lower.startswith("camera:") or text.isdigit() or "://" in text:
            return cls(kind="camera", spec=text.split(":", 1)[1] if lower.startswith("camera:") else text)
        if Path(text).suffix.lower() in (".mp4", ".avi", ".mkv", ".mov"):
            return cls(kind="video", spec=text, skip_logged=skip_logged)
        return cls(kind="folder", spec=text, recursive=recursive, skip_logged=skip_logged)

    def describe(self) -> str:
        return "demo images" if self.kind == "demo" else f"{self.kind} {self.spec}"


class LineSettings(BaseModel):
    """The product's line I/O mapping (docs/line_io.md); every output optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    opcua_port: int | None = Field(None, ge=1, le=65535)
    modbus_port: int | None = Field(None, ge=1, le=65535)
    mqtt: str | None = None  # HOST[:PORT][/PREFIX]
    triggered: bool = False  # inspect a frame only when the line triggers a part
    deadline_s: float = Field(2.0, gt=0.0)
    host: str = "0.0.0.0"  # address the OPC UA and Modbus servers bind to

    @field_validator("mqtt")
    @classmethod
    def _mqtt(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        from inspector.lineio.mqtt_out import parse_target

        parse_target(v.strip())  # ValueError naming what is wrong
        return v.strip()

    @property
    def enabled(self) -> bool:
        return self.opcua_port is not None or self.modbus_port is not None or self.mqtt is not None

    def describe(self) -> str:
        parts = []
        if self.opcua_port is not None:
            parts.append(f"OPC UA :{self.opcua_port}")
        if self.modbus_port is not None:
            parts.append(f"Modbus :{self.modbus_port}")
        if self.mqtt:
            parts.append(f"MQTT {self.mqtt}")
        if not parts:
            return "no line I/O"
        return " · ".join(parts) + (
            f" · triggered (deadline {self.deadline_s:g} s)" if self.triggered else ""
        )

    def as_args(self) -> argparse.Namespace:
        """The ``inspect`` options these settings stand for (inspector.lineio.cli)."""
        return argparse.Namespace(
            opcua=self.opcua_port,
            modbus=self.modbus_port,
            mqtt=self.mqtt,
            triggered=self.triggered,
            line_deadline=self.deadline_s,
            line_host=self.host,
        )


class ImageSpec(BaseModel):
    """The images the product's camera gives; None = not checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    width: int | None = Field(None, ge=1)
    height: int | None = Field(None, ge=1)
    channels: Literal[1, 3] | None = None  # 3: colour images, inspected as gray (explicitly accepted)

    def describe(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "any size"
        return f"{size}, {'any' if self.channels is None else self.channels} channel(s)"


class ProductSpec(BaseModel):
    """A product as the operator and the export file see it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    model_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    recipe_name: str = Field(min_length=1, max_length=200)
    recipe_version: int = Field(ge=1)
    source: SourceSettings = SourceSettings()
    line_io: LineSettings = LineSettings()
    image: ImageSpec = ImageSpec()
    normal_defect_rate: float | None = Field(None, ge=0.0, le=1.0)  # None: learnt from the log

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v or any(ord(c) < 32 for c in v):
            raise ValueError("a product name must be printable text")
        return v

    def settings(self) -> dict[str, Any]:
        return {
            "source": self.source.model_dump(mode="json"),
            "line_io": self.line_io.model_dump(mode="json"),
            "image": self.image.model_dump(mode="json"),
            "normal_defect_rate": self.normal_defect_rate,
        }


@dataclass(frozen=True, slots=True)
class StoredProduct:
    id: int
    spec: ProductSpec
    model_name: str
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @property
    def name(self) -> str:
        return self.spec.name


def _spec_from_row(row: Product, model: Model, recipe: RecipeVersion) -> ProductSpec:
    s = dict(row.settings or {})
    return ProductSpec(
        name=row.name,
        description=row.description,
        model_sha256=model.sha256,
        recipe_name=recipe.name,
        recipe_version=recipe.version,
        source=SourceSettings.model_validate(s.get("source") or {}),
        line_io=LineSettings.model_validate(s.get("line_io") or {}),
        image=ImageSpec.model_validate(s.get("image") or {}),
        normal_defect_rate=s.get("normal_defect_rate"),
    )


def _stored(row: Product, model: Model, recipe: RecipeVersion) -> StoredProduct:
    return StoredProduct(
        row.id,
        _spec_from_row(row, model, recipe),
        model.name,
        row.revision,
        row.created_at,
        row.created_by,
        row.updated_at,
        row.updated_by,
    )


def _select() -> Any:
    return (
        select(Product, Model, RecipeVersion)
        .join(Model, Model.id == Product.model_id)
        .join(RecipeVersion, RecipeVersion.id == Product.recipe_id)
    )


# -- CRUD ----------------------------------------------------------------------------------------
def list_products(db: Target) -> list[StoredProduct]:
    with reading(db) as s:
        return [_stored(p, m, r) for p, m, r in s.execute(_select().order_by(Product.name))]


def get_product(db: Target, name: str) -> StoredProduct | None:
    with reading(db) as s:
        got = s.execute(_select().where(Product.name == name.strip())).one_or_none()
        return _stored(*got) if got is not None else None


def get_product_by_id(db: Target, product_id: int) -> StoredProduct | None:
    with reading(db) as s:
        got = s.execute(_select().where(Product.id == product_id)).one_or_none()
        return _stored(*got) if got is not None else None


def _refs(s: Any, spec: ProductSpec) -> tuple[Model, RecipeVersion]:
    model = s.scalar(select(Model).where(Model.sha256 == spec.model_sha256))
    if model is None:
        raise ProductError(
            f"product {spec.name!r}: model {spec.model_sha256[:12]}… is not registered on this station "
            "(install it, or import the product with --model PATH)"
        )
    recipe = registry.find_recipe(s, spec.recipe_name, spec.recipe_version)
    if recipe is None:
        raise ProductError(
            f"product {spec.name!r}: recipe {spec.recipe_name!r} v{spec.recipe_version} "
            "is not in the database"
        )
    return model, recipe


def create_product(db: Target, spec: ProductSpec, actor: str) -> StoredProduct:
    """Store a new product (audited ``product.create``); ProductExistsError when the name is taken."""
    try:
        with writing(db) as s:
            if s.scalar(select(Product.id).where(Product.name == spec.name)) is not None:
                raise ProductExistsError(f"product {spec.name!r} exists already (update it instead)")
            model, recipe = _refs(s, spec)
            row = Product(
                name=spec.name,
                description=spec.description,
                model_id=model.id,
                recipe_id=recipe.id,
                settings=spec.settings(),
                revision=1,
                created_by=actor,
                updated_by=actor,
            )
            s.add(row)
            s.flush()
            registry.add_audit(s, actor, "product.create", _audit_details(row.id, spec))
            return _stored(row, model, recipe)
    except IntegrityError as exc:  # another station created it between our check and our insert
        raise ProductExistsError(f"product {spec.name!r} exists already") from exc


def update_product(db: Target, spec: ProductSpec, actor: str) -> StoredProduct:
    """New settings for the product named ``spec.name`` (revision + 1, audited ``product.update``)."""
    with writing(db) as s:
        row = s.scalar(select(Product).where(Product.name == spec.name))
        if row is None:
            raise ProductError(f"no product named {spec.name!r}")
        old_model = s.get(Model, row.model_id)
        old_recipe = s.get(RecipeVersion, row.recipe_id)
        assert old_model is not None
        assert old_recipe is not None
        before = _spec_from_row(row, old_model, old_recipe)
        model, recipe = _refs(s, spec)
        row.description = spec.description
        row.model_id, row.recipe_id = model.id, recipe.id
        row.settings = spec.settings()
        row.revision += 1
        row.updated_at = datetime.now(UTC)
        row.updated_by = actor
        s.flush()
        changed = sorted(
            k for k, v in spec.model_dump(mode="json").items() if before.model_dump(mode="json").get(k) != v
        )
        registry.add_audit(
            s,
            actor,
            "product.update",
            {**_audit_details(row.id, spec), "revision": row.revision, "changed": changed},
        )
        return _stored(row, model, recipe)


def _audit_details(product_id: int, spec: ProductSpec) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "name": spec.name,
        "model_sha256": spec.model_sha256,
        "recipe": {"name": spec.recipe_name, "version": spec.recipe_version},
        "source": spec.source.describe(),
        "line_io": spec.line_io.describe(),
    }


# -- export / import -----------------------------------------------------------------------------
def export_product(db: Target, name: str) -> dict[str, Any]:
    """The product as one JSON-able document: the product, its model card (golden samples and their
    sha256 included) and the recipe's parameters."""
    with reading(db) as s:
        got = s.execute(_select().where(Product.name == name.strip())).one_or_none()
        if got is None:
            raise ProductError(f"no product named {name!r}")
        row, model, recipe = got
        spec = _spec_from_row(row, model, recipe)
        card = dict(model.card or {})
        card["sha256"] = model.sha256
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": datetime.now(UTC).isoformat(),
            "product": spec.model_dump(mode="json"),
            "revision": row.revision,
            "model": {"sha256": model.sha256, "name": model.name, "card": card},
            "golden": [
                {k: g.get(k) for k in ("image", "sha256", "expected", "min_regions")}
                for g in card.get("golden") or []
                if isinstance(g, dict)
            ],
            "recipe": {"name": recipe.name, "version": recipe.version, "params": dict(recipe.params)},
        }


def write_export(db: Target, name: str, path: Path) -> Path:
    doc = export_product(db, name)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True, slots=True)
class ImportResult:
    product: StoredProduct
    created: bool  # False: an existing product was replaced
    model_registered: bool  # the model was new to this database
    recipe_created: bool
    model_path: str  # "" when the model file is not on this station yet
    notes: tuple[str, ...]


def read_export(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProductError(f"{path}: not a product file (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise ProductError(f"{path}: not a product file (format is not {EXPORT_FORMAT!r})")
    if int(doc.get("version") or 0) > EXPORT_VERSION:
        raise ProductError(
            f"{path}: product file version {doc.get('version')} is newer than this station reads"
        )
    return doc


def import_product(
    db: Target,
    doc: dict[str, Any],
    actor: str,
    *,
    model_path: Path | None = None,
    replace: bool = False,
) -> ImportResult:
    """Store the product of an export document (audited ``product.import``).

    The model is identified by its sha256: a ``model_path`` given must be exactly that file and
    its card's golden samples must be the exported ones (same images, same sha256). A model new
    to this database is registered with the exported card (without a file it cannot run until
    the file is installed). The recipe version is created when missing and refused when the
    database has it with other parameters. An existing product is replaced only with ``replace``.
    """
    try:
        spec = ProductSpec.model_validate(doc.get("product") or {})
    except ValidationError as exc:
        raise ProductError(f"the product in the file is not valid: {exc}") from None
    model_doc = doc.get("model") or {}
    card_doc = dict(model_doc.get("card") or {})
    if (
        model_doc.get("sha256") != spec.model_sha256
        or card_doc.get("sha256", spec.model_sha256) != spec.model_sha256
    ):
        raise ProductError("the file's model card is not the product's model (sha256 differs)")
    exported_golden = sorted((g.get("image"), g.get("sha256")) for g in doc.get("golden") or [])
    card_golden = sorted((g.get("image"), g.get("sha256")) for g in card_doc.get("golden") or [])
    if exported_golden != card_golden:
        raise ProductError("the file's golden-sample list does not match its model card")
    notes: list[str] = []
    path_text = ""
    if model_path is not None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise ProductError(f"model file not found: {model_path}")
        sha = sha256_file(model_path)
        if sha != spec.model_sha256:
            raise ProductError(
                f"{model_path} is not the product's model: sha256 {sha[:12]}…, the product needs "
                f"{spec.model_sha256[:12]}…"
            )
        local = verify_card(load_card(model_path), model_path)
        local_golden = sorted((g.image, g.sha256) for g in local.golden)
        if local_golden != card_golden:
            raise ProductError(
                f"the card beside {model_path} has other golden samples than the exported one: "
                "the self-test would not check what the exporting station checked"
            )
        path_text = str(model_path.resolve())
    recipe_doc = doc.get("recipe") or {}
    params = dict(recipe_doc.get("params") or {})
    if (recipe_doc.get("name"), recipe_doc.get("version")) != (spec.recipe_name, spec.recipe_version):
        raise ProductError("the file's recipe is not the product's recipe version")
    try:
        Recipe.model_validate({**params, "name": spec.recipe_name, "version": spec.recipe_version})
    except ValidationError as exc:
        raise ProductError(f"the file's recipe parameters are not valid: {exc}") from None
    with writing(db) as s:
        model = s.scalar(select(Model).where(Model.sha256 == spec.model_sha256))
        model_registered = model is None
        if model is None:
            card_doc.pop("sha256", None)
            name = str(model_doc.get("name") or card_doc.get("name") or spec.model_sha256[:12])
            registry.ensure_model(s, spec.model_sha256, name, card_doc, path_text)
            registry.add_audit(s, actor, "model.register", {"sha256": spec.model_sha256, "name": name})
            model = s.scalar(select(Model).where(Model.sha256 == spec.model_sha256))
            assert model is not None
        elif path_text and not Path(model.path or "").is_file():
            model.path = path_text
        if not Path(model.path or "").is_file():
            notes.append(
                f"model {model.name} · {spec.model_sha256[:8]} has no file on this station yet: "
                "import again with --model PATH before the product can run"
            )
        path_text = model.path if Path(model.path or "").is_file() else ""
        existing_recipe = registry.find_recipe(s, spec.recipe_name, spec.recipe_version)
        recipe_created = existing_recipe is None
        if existing_recipe is not None and existing_recipe.params and existing_recipe.params != params:
            raise ProductError(
                f"recipe {spec.recipe_name!r} v{spec.recipe_version} exists here with other parameters: "
                "the product cannot be imported as it is (rename the recipe on one station)"
            )
        if existing_recipe is None:
            registry.ensure_recipe(
                s,
                spec.recipe_name,
                spec.recipe_version,
                params,
                author=actor,
                reason=f"imported with product {spec.name!r}",
            )
            registry.add_audit(
                s,
                actor,
                "recipe.save",
                {"name": spec.recipe_name, "version": spec.recipe_version, "reason": "product import"},
            )
        exists = s.scalar(select(Product.id).where(Product.name == spec.name)) is not None
        if exists and not replace:
            raise ProductExistsError(
                f"product {spec.name!r} exists already (import with --replace to update it)"
            )
        stored = update_product(s, spec, actor) if exists else create_product(s, spec, actor)
        registry.add_audit(
            s,
            actor,
            "product.import",
            {
                "name": spec.name,
                "product_id": stored.id,
                "replaced": exists,
                "model_registered": model_registered,
            },
        )
    return ImportResult(stored, not exists, model_registered, recipe_created, path_text, tuple(notes))


# -- what the station loads ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ResolvedProduct:
    """A product turned into what the station loads, every part checked."""

    stored: StoredProduct
    model_path: Path
    card: ModelCard
    recipe: Recipe
    override_reason: str  # "" unless the model was promoted by QA override
    baseline_rate: float | None  # the product's normal defect rate (None: not known yet)
    baseline_parts: int  # judged parts the long-run rate is over (0: set by hand or unknown)

    @property
    def spec(self) -> ProductSpec:
        return self.stored.spec

    @property
    def id(self) -> int:
        return self.stored.id


def resolve_product(db: Target, name: str) -> ResolvedProduct:
    """The model file (by sha256, card verified), the recipe version and the product's normal defect
    rate; ProductError naming what is missing. The model must have been production at some time
    (promoted, or the shipped model): a model nobody released does not run on the line."""
    from db.catalog import get_recipe
    from inspector.core.paths import default_model
    from inspector.services.promotion import check_model_file, override_mark

    stored = get_product(db, name)
    if stored is None:
        raise ProductError(f"no product named {name!r} (inspector product list)")
    spec = stored.spec
    with reading(db) as s:
        model = s.scalar(select(Model).where(Model.sha256 == spec.model_sha256))
        if model is None:
            raise ProductError(
                f"product {spec.name!r}: its model {spec.model_sha256[:12]}… is not registered"
            )
        path, promoted_at, model_name = model.path, model.promoted_at, model.name
    if promoted_at is None:
        raise ProductError(
            f"product {spec.name!r}: model {model_name} · {spec.model_sha256[:8]} was never released "
            "(promoted to production): QA must promote it before a product can run it"
        )
    card, why = check_model_file(path, spec.model_sha256)
    if card is None and default_model().is_file():  # the shipped model, wherever this checkout is
        card2, _ = check_model_file(default_model(), spec.model_sha256)
        if card2 is not None:
            card, path = card2, str(default_model())
    if card is None:
        raise ProductError(f"product {spec.name!r}: {why}")
    card = verify_card(card, Path(path))
    stored_recipe = get_recipe(db, spec.recipe_name, spec.recipe_version)
    if stored_recipe is None:
        raise ProductError(
            f"product {spec.name!r}: recipe {spec.recipe_name!r} v{spec.recipe_version} is missing"
        )
    if not stored_recipe.params:
        raise ProductError(
            f"product {spec.name!r}: recipe {spec.recipe_name!r} v{spec.recipe_version} was logged "
            "without its parameters; save it again as a new version"
        )
    recipe = stored_recipe.recipe()
    mark = override_mark(db, spec.model_sha256) or ""
    if spec.normal_defect_rate is not None:
        baseline: float | None = spec.normal_defect_rate
        parts = 0
    else:
        baseline, parts = long_run_rate(db, stored.id)
    return ResolvedProduct(stored, Path(path), card, recipe, mark, baseline, parts)


def long_run_rate(db: Target, product_id: int, limit: int = BASELINE_PARTS) -> tuple[float | None, int]:
    """(defect rate, parts): NG + REVIEW over OK + NG + REVIEW of the product's latest ``limit``
    judged parts (ERROR parts were not judged by the model); None below :data:`BASELINE_MIN_PARTS`."""
    with reading(db) as s:
        latest = (
            select(Inspection.verdict)
            .where(
                Inspection.product_id == product_id,
                Inspection.verdict.in_(("OK", "NG", "REVIEW")),
            )
            .order_by(Inspection.id.desc())
            .limit(limit)
            .subquery()
        )
        rows = dict(s.execute(select(latest.c.verdict, func.count()).group_by(latest.c.verdict)).all())
    n = sum(int(v) for v in rows.values())
    if n < BASELINE_MIN_PARTS:
        return None, n
    return (int(rows.get("NG", 0)) + int(rows.get("REVIEW", 0))) / n, n


def line_for_product(spec: ProductSpec, station: str) -> Any:
    """A LineIO for the product's mapping (not started), or None without any output.
    ValueError for bad settings, ImportError when the protocol libraries are missing."""
    if not spec.line_io.enabled:
        return None
    from inspector.lineio.cli import line_from_args

    return line_from_args(spec.line_io.as_args(), station)


# -- guards --------------------------------------------------------------------------------------
def image_channels(image: np.ndarray) -> tuple[int, float]:
    """(1 or 3, mean |channel difference| in 8-bit levels): 1 for gray (also gray + alpha and a
    gray image stored as BGR/BGRA, whose channels are equal), 3 for colour."""
    img = np.asarray(image)
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 2)):
        return 1, 0.0
    step = max(1, int(np.sqrt(img.shape[0] * img.shape[1] / 40_000)))  # ~40k pixels are enough
    sample = img[::step, ::step, :3].astype(np.float32)
    if img.dtype == np.uint16:
        sample /= 257.0
    diff = float(
        (np.abs(sample[..., 0] - sample[..., 1]).mean() + np.abs(sample[..., 1] - sample[..., 2]).mean()) / 2
    )
    return (3 if diff > COLOUR_LEVELS else 1), diff


class FrameGuard:
    """Checks each frame (before it is inspected) against the product's model card and image
    settings: returns the reason to refuse the product, or None. Checked once per image shape;
    ``on_warning`` hears a warning (once per shape). Thread-safe enough for one worker thread."""

    def __init__(
        self,
        product: str,
        card: ModelCard,
        image: ImageSpec | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.product = product
        self.card = card
        self.image = image or ImageSpec()
        self.on_warning = on_warning
        self._seen: dict[tuple[Any, ...], str | None] = {}
        self.refused: str | None = None
        self.warnings: list[str] = []

    def __call__(self, frame: Frame) -> str | None:
        img = frame.image
        if img is None:  # an unreadable file is an ERROR row of its own
            return self.refused
        key = (img.shape, str(img.dtype))
        if key not in self._seen:
            self._seen[key] = self._check(np.asarray(img))
            if len(self._seen) > 64:  # a source of ever-changing sizes: keep the memory bounded
                self._seen.pop(next(iter(self._seen)))
        why = self._seen[key]
        if why is not None and self.refused is None:
            self.refused = why
        return why

    def _check(self, img: np.ndarray) -> str | None:
        h, w = img.shape[:2]
        channels, diff = image_channels(img)
        who = f"product {self.product!r}"
        spec = self.image
        if spec.channels is not None and spec.channels != channels:
            kind = "colour" if channels == 3 else "gray"
            return (
                f"{who} expects {'colour' if spec.channels == 3 else 'gray'} images; these are {kind} "
                f"({w}x{h}): wrong camera or wrong product?"
            )
        if spec.channels is None and channels != self.card.channels:
            return (
                f"{who}: model {self.card.name} takes {self.card.channels}-channel (gray) images; these are "
                f"colour ({w}x{h}, channels differ by {diff:.0f} levels on average): wrong model for "
                "these parts? (a product for colour images must say so: image channels 3)"
            )
        if (spec.width is not None and spec.width != w) or (spec.height is not None and spec.height != h):
            want = f"{spec.width or '*'}x{spec.height or '*'}"
            return f"{who} expects {want} images; this one is {w}x{h}: wrong camera or wrong product?"
        if self.card.resize == "resize":
            ratio = (w / h) / (self.card.input_width / self.card.input_height)
            if max(ratio, 1 / ratio) > ASPECT_WARN:
                self._warn(
                    f"{who}: the images ({w}x{h}) are stretched {max(ratio, 1 / ratio):.1f}x to the model's "
                    f"{self.card.input_width}x{self.card.input_height} input "
                    f"(model {self.card.name}, resize): "
                    "defects may look different to it"
                )
        return None

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        if self.on_warning is not None:
            self.on_warning(text)


class DefectRateGuard:
    """Warns when the defect rate (NG + REVIEW over judged parts; ERROR parts are not judged) over the
    last :data:`RATE_WINDOW` parts is above ``factor`` x the product's normal rate and above
    :data:`RATE_MIN` (no normal rate: above :data:`NO_BASELINE_RATE`). One warning until the rate
    falls back under the limit."""

    def __init__(
        self,
        baseline: float | None,
        *,
        window: int = RATE_WINDOW,
        factor: float = RATE_FACTOR,
        min_rate: float = RATE_MIN,
        no_baseline_rate: float = NO_BASELINE_RATE,
    ) -> None:
        self.baseline = baseline
        self.window = window
        self._last: deque[bool] = deque(maxlen=window)
        self.limit = max(min_rate, factor * baseline) if baseline is not None else no_baseline_rate
        self._armed = True
        self.warnings = 0

    @property
    def rate(self) -> float | None:
        return sum(self._last) / len(self._last) if self._last else None

    def reset(self) -> None:
        self._last.clear()
        self._armed = True

    def add(self, verdict: Verdict | str) -> str | None:
        """The warning text when this part trips the guard, else None."""
        v = Verdict(verdict)
        if v is Verdict.ERROR:
            return None
        self._last.append(v is not Verdict.OK)
        if len(self._last) < self.window:
            return None
        rate = sum(self._last) / len(self._last)
        if rate <= self.limit:
            self._armed = True
            return None
        if not self._armed:
            return None
        self._armed = False
        self.warnings += 1
        normal = (
            f"the product's normal rate is {100 * self.baseline:.1f} %"
            if self.baseline is not None
            else "no normal rate is known for this product yet"
        )
        return (
            f"Wrong model for these parts? Defect rate {100 * rate:.0f} % over the last {len(self._last)} "
            f"parts; {normal}. Check the product, the model and the parts."
        )


class GuardedPipeline(Pipeline):
    """A pipeline that checks every frame with a :class:`FrameGuard` before inspecting it. A refusal
    blocks it for good: that part and every later one is an ERROR row with the reason (logged like a
    blocked station's part, so a rerun inspects them again); ``on_refused`` hears it once."""

    def __init__(
        self,
        backend: Any,
        card: ModelCard,
        recipe: Recipe,
        guard: FrameGuard,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(backend, card, recipe)
        self.guard = guard
        self.on_refused = on_refused
        self.refused: str | None = None

    def admit(self, frame: Frame) -> None:
        if self.refused is None:
            why = self.guard(frame)
            if why is not None:
                self.refused = why
                if self.on_refused is not None:
                    self.on_refused(why)
        if self.refused is not None:
            self.blocked = self.refused


def slug(name: str) -> str:
    """A file-name-safe form of a product name (exports)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "product"
