"""The delivery receipts pipeline: every message sent tracked to a final, classified outcome.

The status model and the classification table (``classify``, pure) turn what Genesys and SendGrid
report into one class per message; ``settings`` is the ``receipts:`` config block; ``apply``
moves one message record on one receipt, the only place that does, for the Genesys poller and
the SendGrid webhook alike.
"""

from __future__ import annotations

from gcnotify.receipts.apply import MAX_ATTEMPTS, Applied, ApplyOutcome, apply_receipt
from gcnotify.receipts.classify import (
    CLASSES,
    CLASSIFICATION,
    RANK,
    ClassRow,
    DeliveryClass,
    Receipt,
    SuppressReason,
    classification_markdown,
    classify_genesys,
    classify_genesys_analytics,
    classify_genesys_status,
    classify_sendgrid,
    no_final_receipt,
)
from gcnotify.receipts.settings import (
    ReceiptSettings,
    load_receipts,
    parse_receipts,
    receipts_block,
    receipts_of,
)

__all__ = [
    "CLASSES",
    "CLASSIFICATION",
    "MAX_ATTEMPTS",
    "RANK",
    "Applied",
    "ApplyOutcome",
    "ClassRow",
    "DeliveryClass",
    "Receipt",
    "ReceiptSettings",
    "SuppressReason",
    "apply_receipt",
    "classification_markdown",
    "classify_genesys",
    "classify_genesys_analytics",
    "classify_genesys_status",
    "classify_sendgrid",
    "load_receipts",
    "no_final_receipt",
    "parse_receipts",
    "receipts_block",
    "receipts_of",
]
