"""The audit trail as the GUI writes it: one event per person's action (role switches, product
and lot choices, settings changes, training starts...) that no other use case audits already.

No Qt here: the GUI writes events on its task runner's write lane, off the UI thread.
"""

from __future__ import annotations

from typing import Any

from db import queries
from db.session import Database

__all__ = ["write_audit"]


def write_audit(db: Database, actor: str, action: str, details: dict[str, Any] | None = None) -> int:
    """Store one audit event (``actor`` did ``action``; ``details`` as JSON) in its own
    transaction; returns its id."""
    return queries.audit(db, actor, action, details)
