"""Audit records in the ledger table: one item per run of a scheduled job, kept for 400 days.

The receipts poller writes one per poll cycle (``receipts-audit#<run start>``) with what it asked
Genesys, what came back per class, its calls, latency and whether its breaker tripped, so "did we
check that message, and what did Genesys say?" can be answered long after the logs are gone.
The items share the ledger table's key space under their own prefix and never touch a send
record: the write is conditional on the key being new.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from gcnotify.aws.dynamodb import DynamoTable
from gcnotify.core.errors import LedgerError
from gcnotify.runtime.redact import REDACTOR

__all__ = ["RETENTION", "AuditLog", "AuditValue"]

RETENTION = timedelta(days=400)
AuditValue = str | int | float | bool


class AuditLog(DynamoTable):
    """The ledger table, seen as a log of runs; every call is one PutItem."""

    error_class = LedgerError
    what = "send ledger"
    env_var = "GCNOTIFY_LEDGER_TABLE"
    actions = "PutItem"

    def write(
        self,
        key: str,
        attributes: Mapping[str, AuditValue],
        *,
        now: datetime,
        retention: timedelta = RETENTION,
    ) -> bool:
        """Write the record ``key`` once; False when a record with that key already exists."""
        if not key or "#" not in key:
            raise ValueError("an audit key is '<kind>#<id>', e.g. receipts-audit#<run start>")
        item: dict[str, dict[str, str | bool]] = {}
        for name, value in attributes.items():
            if name in ("pk", "expires_at"):
                raise ValueError(f"audit attribute {name!r} is reserved")
            if isinstance(value, bool):
                item[name] = {"BOOL": value}
            elif isinstance(value, int | float):
                item[name] = {"N": repr(value) if isinstance(value, float) else str(value)}
            else:
                item[name] = {"S": REDACTOR.mask(value)[:2000]}
        item["pk"] = {"S": key}
        item["expires_at"] = {"N": str(int((now + retention).timestamp()))}
        return self._put_new(item, "record the audit record")
