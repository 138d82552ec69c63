"""``inspector product list|show|export|import|create``: products (jobs) headless.

A product bundles a model (by sha256), a recipe version, the source settings and the line I/O
mapping under a name the operator recognises; see docs/products_and_lots.md. Writes are audit
events with ``--by`` (default ``cli:<station>``) as the actor.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
from pathlib import Path
from typing import Any

from inspector.cli import exitcodes


def add_parser(sub: argparse._SubParsersAction, common: Any, line_args: Any) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser("product", help="products: model, recipe, source and line I/O under one name")
    ps = p.add_subparsers(dest="product_command", required=True)
    lst = ps.add_parser("list", help="every product, one line each")
    lst.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    common(lst)
    show = ps.add_parser("show", help="one product in full")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="the export document instead of text")
    common(show)
    exp = ps.add_parser("export", help="write one product (model card, golden hashes, recipe) to a JSON file")
    exp.add_argument("name")
    exp.add_argument("file", type=Path)
    common(exp)
    imp = ps.add_parser("import", help="store a product from an exported JSON file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--model", type=Path, help="the product's model file on this station (sha256 checked)")
    imp.add_argument("--replace", action="store_true", help="update a product with the same name")
    imp.add_argument("--by", metavar="NAME", help="the actor of the audit event (default cli:<station>)")
    common(imp)
    c = ps.add_parser("create", help="a new product (or --update an existing one)")
    c.add_argument("name", help='what the operator sees, e.g. "Housing A, camera 2"')
    model = c.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", type=Path, help="the ONNX model (registered if new)")
    model.add_argument("--model-sha", metavar="SHA256", help="a registered model, by its sha256")
    c.add_argument(
        "--recipe",
        required=True,
        metavar="FILE|NAME[@VERSION]",
        help="a recipe JSON file (saved as its version if new) or a logged recipe (newest version "
        "without @VERSION)",
    )
    c.add_argument(
        "--source",
        default="demo",
        help="folder | hot:DIR | camera:0 | video.mp4 | rtsp://... | genicam:CTI | demo (default)",
    )
    c.add_argument("--recursive", action="store_true", help="folder source: descend into sub-folders")
    c.add_argument("--description", default="", help="a line for the operator")
    c.add_argument(
        "--image",
        metavar="WxH[xC]",
        help="the images the camera gives, e.g. 2448x2048 or 2448x2048x3 (others are refused)",
    )
    c.add_argument(
        "--normal-rate",
        type=float,
        metavar="R",
        help="the product's normal defect rate 0..1 (default: learnt from the log)",
    )
    c.add_argument("--update", action="store_true", help="replace the settings of an existing product")
    c.add_argument("--by", metavar="NAME", help="the actor of the audit event (default cli:<station>)")
    line_args(c)
    common(c)
    return p


def _fail(message: str, code: int = exitcodes.USAGE) -> int:
    print(f"inspector: error: {message}", file=sys.stderr)
    return code


def run_product(args: argparse.Namespace) -> int:
    from db.session import check_db_url, open_db
    from db.storable import short_error
    from inspector.services.products import ProductError

    try:
        check_db_url(args.db)
        db = open_db(args.db)
    except ValueError as exc:
        return _fail(str(exc))
    except Exception as exc:
        return _fail(f"cannot open the database: {short_error(exc)}", exitcodes.FATAL)
    actor = getattr(args, "by", None) or f"cli:{args.station or socket.gethostname()}"
    try:
        cmd = args.product_command
        if cmd == "list":
            return _list(db, args.json)
        if cmd == "show":
            return _show(db, args.name, args.json)
        if cmd == "export":
            from inspector.services.products import write_export

            path = write_export(db, args.name, args.file)
            print(f"product {args.name!r} exported to {path}")
            return exitcodes.OK
        if cmd == "import":
            return _import(db, args, actor)
        return _create(db, args, actor)
    except (ProductError, OSError, ValueError) as exc:
        return _fail(str(exc))
    finally:
        db.dispose()


def _list(db: Any, as_json: bool) -> int:
    from inspector.services.products import list_products

    rows = list_products(db)
    if as_json:
        for p in rows:
            print(json.dumps({"id": p.id, "revision": p.revision, **p.spec.model_dump(mode="json")}))
        return exitcodes.OK
    if not rows:
        print("no products (inspector product create NAME ..., or import one)")
        return exitcodes.OK
    for p in rows:
        s = p.spec
        print(
            f"{s.name:32.32}  model {p.model_name} · {s.model_sha256[:8]}  recipe {s.recipe_name} "
            f"v{s.recipe_version}  {s.source.describe()}  {s.line_io.describe()}"
        )
    return exitcodes.OK


def _show(db: Any, name: str, as_json: bool) -> int:
    from inspector.services.products import ProductError, export_product, get_product

    if as_json:
        print(json.dumps(export_product(db, name), indent=2))
        return exitcodes.OK
    p = get_product(db, name)
    if p is None:
        raise ProductError(f"no product named {name!r}")
    s = p.spec
    rate = "learnt from the log" if s.normal_defect_rate is None else f"{100 * s.normal_defect_rate:.1f} %"
    for k, v in (
        ("product", s.name),
        ("description", s.description or "–"),
        ("model", f"{p.model_name} · {s.model_sha256}"),
        ("recipe", f"{s.recipe_name} v{s.recipe_version}"),
        ("source", f"{s.source.describe()} (spec {s.source.source_spec()})"),
        ("images", s.image.describe()),
        ("line I/O", s.line_io.describe()),
        ("normal defect rate", rate),
        ("revision", f"{p.revision}, updated {p.updated_at.astimezone():%Y-%m-%d %H:%M} by {p.updated_by}"),
    ):
        print(f"{k:>19}: {v}")
    return exitcodes.OK


def _import(db: Any, args: argparse.Namespace, actor: str) -> int:
    from inspector.services.products import import_product, read_export

    result = import_product(db, read_export(args.file), actor, model_path=args.model, replace=args.replace)
    what = "imported" if result.created else "updated"
    print(
        f"product {result.product.name!r} {what} (revision {result.product.revision})"
        + ("; model registered" if result.model_registered else "")
        + ("; recipe version created" if result.recipe_created else "")
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return exitcodes.OK


def parse_image(text: str | None) -> Any:
    from inspector.services.products import ImageSpec

    if not text:
        return ImageSpec()
    m = re.fullmatch(r"(\d+)x(\d+)(?:x([13]))?", text.strip().lower())
    if m is None:
        raise ValueError(f"--image {text!r}: give WIDTHxHEIGHT or WIDTHxHEIGHTxCHANNELS (1 or 3)")
    return ImageSpec(
        width=int(m.group(1)), height=int(m.group(2)), channels=int(m.group(3)) if m.group(3) else None
    )  # type: ignore[arg-type]


def _create(db: Any, args: argparse.Namespace, actor: str) -> int:
    from db import queries
    from inspector.core.model_card import load_card, verify_card
    from inspector.core.recipe import load_recipe
    from inspector.services.products import (
        LineSettings,
        ProductError,
        ProductSpec,
        SourceSettings,
        create_product,
        get_product,
        update_product,
    )

    if args.model is not None:
        card = verify_card(load_card(args.model), args.model)
        info = queries.register_model(db, card, args.model.resolve(), actor=actor)
    else:
        info = next((m for m in queries.models(db) if m.sha256 == args.model_sha.strip().lower()), None)
        if info is None:
            raise ProductError(f"no registered model with sha256 {args.model_sha}")
    recipe_arg = str(args.recipe)
    if Path(recipe_arg).is_file():
        recipe = load_recipe(Path(recipe_arg))
        stored = queries.get_recipe(db, recipe.name, recipe.version)
        if stored is None:
            queries.save_recipe_version(db, recipe, actor, f"saved with product {args.name!r}")
        elif stored.params and stored.recipe() != recipe:
            raise ProductError(
                f"recipe {recipe.name!r} v{recipe.version} is logged with other parameters; "
                "give the edited recipe a new version number"
            )
        rname, rversion = recipe.name, recipe.version
    else:
        rname, _, ver = recipe_arg.partition("@")
        stored = queries.get_recipe(db, rname, int(ver) if ver else None)
        if stored is None:
            raise ProductError(f"no recipe {recipe_arg!r} in the database (give a recipe JSON file)")
        rname, rversion = stored.name, stored.version
    line = LineSettings(
        opcua_port=args.opcua,
        modbus_port=args.modbus,
        mqtt=args.mqtt,
        triggered=args.triggered,
        deadline_s=args.line_deadline,
        host=args.line_host,
    )
    if line.triggered and line.opcua_port is None and line.modbus_port is None:
        raise ProductError("--triggered needs a trigger input: --opcua PORT and/or --modbus PORT")
    spec = ProductSpec(
        name=args.name,
        description=args.description,
        model_sha256=info.sha256,
        recipe_name=rname,
        recipe_version=rversion,
        source=SourceSettings.from_spec(args.source, recursive=args.recursive),
        line_io=line,
        image=parse_image(args.image),
        normal_defect_rate=args.normal_rate,
    )
    if args.update:
        if get_product(db, spec.name) is None:
            raise ProductError(f"no product named {spec.name!r} to update (leave out --update to create it)")
        stored_product = update_product(db, spec, actor)
    else:
        stored_product = create_product(db, spec, actor)
    print(
        f"product {stored_product.name!r} {'updated' if args.update else 'created'} "
        f"(revision {stored_product.revision}): model {info.name} · {info.sha256[:8]}, "
        f"recipe {rname} v{rversion}, "
        f"{spec.source.describe()}, {spec.line_io.describe()}"
    )
    if info.promoted_at is None:
        print(
            f"note: model {info.name} · {info.sha256[:8]} was never released (promoted): the product cannot "
            "run until QA promotes it",
            file=sys.stderr,
        )
    return exitcodes.OK
