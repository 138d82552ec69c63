"""Reviews of logged verdicts: a person's call (confirmed, false reject, missed defect...) on one
inspection, with an optional label mask drawn in the label editor.

A stored review is audited (``review.add``) in the same transaction; the export for training
(:mod:`inspector.services.review_export`) reads the masks back. No Qt here: the GUI stores
reviews on its task runner's write lane, off the UI thread.
"""

from __future__ import annotations

import numpy as np

from db import blobs, queries
from db.models import Disposition
from db.session import Database

__all__ = ["Disposition", "add_review", "encode_label_mask"]


# A function, not a re-export of queries.add_review: it looks that up when called, so whatever
# replaces db.queries.add_review (a test's failing database) is what the GUI meets.
def add_review(
    db: Database,
    inspection_id: int,
    disposition: Disposition | str,
    by: str,
    note: str = "",
    mask_png: bytes | None = None,
) -> int:
    """Store ``by``'s ``disposition`` of inspection ``inspection_id`` (with ``note`` and a label
    mask from :func:`encode_label_mask`) and its audit event in one transaction; returns the
    review id. LookupError when there is no such inspection."""
    return queries.add_review(db, inspection_id, disposition, by=by, note=note, mask_png=mask_png)


def encode_label_mask(mask: np.ndarray) -> bytes:
    """A label mask (HxW, non-zero = defect) as the PNG bytes a review stores."""
    return blobs.encode_mask_png(mask)
