"""``inspector --kiosk PRODUCT``: which product, checked before anything starts.

The product is named by its name or its id. It must exist, be usable (its model file there and
unchanged, its recipe version logged: ``resolve_product``) and fit the station's open lot, if one
is open; otherwise the kiosk does not start and says why (no window, no run, exit code 2).
"""

from __future__ import annotations

from typing import Any

from inspector.services import lots
from inspector.services.products import ProductError, get_product, get_product_by_id, resolve_product


class KioskError(ValueError):
    """The kiosk cannot start for this product; the message says why."""


def resolve_kiosk_product(db: Any, ref: str, station: str) -> str:
    """The name of the product ``ref`` (a name, else an id) names; KioskError when it cannot run."""
    text = ref.strip()
    if not text:
        raise KioskError("--kiosk needs a product name or id")
    stored = get_product(db, text)
    if stored is None and text.lstrip("#").isdigit():
        stored = get_product_by_id(db, int(text.lstrip("#")))
    if stored is None:
        raise KioskError(f"unknown product {text!r} (`inspector product list` shows the products)")
    try:
        resolve_product(db, stored.name)
    except (ProductError, OSError) as exc:
        raise KioskError(f"product {stored.name!r} cannot run: {exc}") from exc
    lot = lots.open_lot(db, station)
    if lot is not None and lot.product_id not in (None, stored.id):
        raise KioskError(
            f"lot {lot.code} is open on station {station} for product {lot.product or lot.product_id}: "
            f"end it before starting the kiosk for {stored.name}"
        )
    return stored.name
