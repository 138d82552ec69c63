"""A table whose rows show a list of items: the selected item, selecting an item's row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from PySide6.QtWidgets import QTableWidget

T = TypeVar("T")


def selected_item(table: QTableWidget, items: Sequence[T]) -> T | None:
    """The item of the table's (first) selected row; None when no row, or a row past ``items``."""
    rows = table.selectionModel().selectedRows() if table.selectionModel() else []
    return items[rows[0].row()] if rows and rows[0].row() < len(items) else None


def select_item(table: QTableWidget, items: Sequence[T], match: Callable[[T], bool]) -> bool:
    """Select the row of the first item that ``match``es; False (selection kept) when none does."""
    for r, item in enumerate(items):
        if match(item):
            table.selectRow(r)
            return True
    return False
