"""Reviews of logged verdicts: a person's call (confirmed, false reject, missed defect...) on one
inspection, with an optional label mask drawn in the label editor.

A stored review is audited (``review.add``) in the same transaction; the export for training
(:mod:`inspector.services.review_export`) reads the masks back. No Qt here: the GUI stores
reviews on its task runner's write lane, off the UI thread.
"""

from __future__ import annotations

# db's own functions: add_review stores the review and its audit event in one transaction
# (LookupError for an unknown inspection); the label mask is stored as a {0,255} PNG. The GUI
# calls them as ``reviews.add_review(...)``, so a test that replaces this module's attribute
# (a failing database) reaches every GUI path.
from db.blobs import encode_mask_png as encode_label_mask
from db.models import Disposition
from db.queries import add_review

__all__ = ["Disposition", "add_review", "encode_label_mask"]
