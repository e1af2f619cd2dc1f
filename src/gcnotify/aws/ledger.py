"""The send ledger: one DynamoDB item per send key, written only with conditional writes.

This module is storage only: it reads and writes records and maps every AWS failure to
``LedgerError``. What a record *means* for a new send (already sent, held by a live run, outcome
unknown) is decided in one place, ``gcnotify.aws.once``.

Conditional writes are used directly rather than Powertools' idempotency utility: that utility
keys on the event payload and would re-run the whole invocation, while the unit here is one send
of several, and its claim must sit between "fetched" and "sent", not around the handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.aws.dynamodb import DynamoTable
from gcnotify.core.errors import LedgerError
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["ClaimWrite", "Ledger", "LedgerRecord", "RecordStatus", "create_ledger_table"]

RETENTION = timedelta(days=400)  # TTL: long enough to answer a backfill a year later

RecordStatus = Literal["in_progress", "sent", "failed", "unknown"]
_STATUSES: dict[str, RecordStatus] = {
    "in_progress": "in_progress",
    "sent": "sent",
    "failed": "failed",
    "unknown": "unknown",
}
Attributes = Mapping[str, "str | Sequence[str]"]

# Attributes the ledger itself owns; callers' attributes may not overwrite them.
_OWN = frozenset(
    {
        "pk",
        "status",
        "claim_token",
        "claimed_at",
        "lease_until",
        "attempts",
        "sent_at",
        "failed_at",
        "unknown_at",
        "message_id",
        "error",
        "expires_at",
    }
)


def create_ledger_table(client: DynamoDBClient, table: str) -> None:
    """Create the table for a local stack (demo, tests); template.yaml defines the real one."""
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


@dataclass(frozen=True)
class LedgerRecord:
    """One send key's record, as read back (every field optional in old records)."""

    key: str
    status: RecordStatus
    attempts: int = 0
    claim_token: str | None = None
    claimed_at: datetime | None = None
    lease_until: datetime | None = None
    sent_at: str | None = None
    message_id: str | None = None
    error: str | None = None
    attributes: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> LedgerRecord:
        def when(name: str) -> datetime | None:
            text = _s(item, name)
            try:
                return datetime.fromisoformat(text) if text else None
            except ValueError:
                return None

        status = _s(item, "status")
        attributes: dict[str, str | tuple[str, ...]] = {}
        for name, value in item.items():
            if name in _OWN or not isinstance(value, dict):
                continue
            if "S" in value:
                attributes[name] = value["S"]
            elif "L" in value:
                attributes[name] = tuple(v["S"] for v in value["L"] if "S" in v)
        try:
            attempts = int(item.get("attempts", {}).get("N", "0"))
        except (AttributeError, ValueError):
            attempts = 0
        return cls(
            key=_s(item, "pk") or "",
            # A record with no readable status is treated as a live claim, the safe reading.
            status=status
            if status in ("in_progress", "sent", "failed", "unknown")
            else "in_progress",  # type: ignore[arg-type]
            attempts=attempts,
            claim_token=_s(item, "claim_token") or _s(item, "claimed_by"),
            claimed_at=when("claimed_at"),
            lease_until=when("lease_until"),
            sent_at=_s(item, "sent_at"),
            message_id=_s(item, "message_id") or None,
            error=_s(item, "error"),
            attributes=attributes,
        )


@dataclass(frozen=True)
class ClaimWrite:
    """The claim write's outcome: ``won``, else the record that refused it (None if it vanished)."""

    won: bool
    existing: LedgerRecord | None = None


def _values(attributes: Attributes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        if name in _OWN:
            raise ValueError(f"ledger attribute {name!r} is reserved")
        out[name] = (
            {"S": REDACTOR.mask(value)}
            if isinstance(value, str)
            else {"L": [{"S": REDACTOR.mask(v)} for v in value]}
        )
    return out


class Ledger(DynamoTable):
    """One DynamoDB table, single string key ``pk``; every call is a single-item request."""

    error_class = LedgerError
    what = "send ledger"
    env_var = "GCNOTIFY_LEDGER_TABLE"

    def lookup(self, key: str) -> LedgerRecord | None:
        item = self._get_item(key)
        return LedgerRecord.from_item(item) if item else None

    def claim(
        self,
        key: str,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        force: bool = False,
        attributes: Attributes | None = None,
    ) -> ClaimWrite:
        """Mark the send in progress, owned by ``owner``, unless a record other than a failed
        attempt exists (``force`` claims whatever is there).

        When the write was applied but its answer lost, the SDK's retry meets our own claim:
        that is recognised by the owner and counts as won.
        """
        from botocore.exceptions import ClientError

        self.calls += 1
        names = {"#status": "status", "#error": "error"}
        values: dict[str, Any] = {
            ":in_progress": {"S": "in_progress"},
            ":now": {"S": now.isoformat()},
            ":owner": {"S": owner},
            ":lease": {"S": lease_until.isoformat()},
            ":one": {"N": "1"},
            ":expires": {"N": str(int((now + RETENTION).timestamp()))},
        }
        sets = [
            "#status = :in_progress",
            "claimed_at = :now",
            "claim_token = :owner",
            "lease_until = :lease",
            "expires_at = :expires",
        ]
        for i, (name, value) in enumerate(_values(attributes or {}).items()):
            names[f"#a{i}"] = name
            values[f":a{i}"] = value
            sets.append(f"#a{i} = :a{i}")
        kwargs: dict[str, Any] = {}
        if not force:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk) OR #status = :failed"
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            values[":failed"] = {"S": "failed"}
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression=f"SET {', '.join(sets)} ADD attempts :one REMOVE #error",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                **kwargs,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise self._error("record the claim", exc) from None
            item: Any = exc.response.get("Item")
            existing = LedgerRecord.from_item(item) if isinstance(item, dict) else self.lookup(key)
            if existing is not None and existing.claim_token == owner:
                return ClaimWrite(won=True)
            return ClaimWrite(won=False, existing=existing)
        except Exception as exc:
            raise self._error("record the claim", exc) from None
        return ClaimWrite(won=True)

    def mark_sent(
        self,
        key: str,
        *,
        owner: str,
        now: datetime,
        message_id: str | None,
        attributes: Attributes | None = None,
    ) -> None:
        extra = _values(attributes or {})
        names = {f"#a{i}": name for i, name in enumerate(extra)}
        sets = ["#status = :sent", "sent_at = :now", "message_id = :mid"]
        sets += [f"#a{i} = :a{i}" for i in range(len(extra))]
        values = {":sent": {"S": "sent"}, ":now": {"S": now.isoformat()}}
        values[":mid"] = {"S": message_id or ""}
        values.update({f":a{i}": value for i, value in enumerate(extra.values())})
        self._finish(key, owner, f"SET {', '.join(sets)}", names, values)

    def mark_failed(self, key: str, *, owner: str, now: datetime, error: str) -> None:
        """The send certainly did not happen: a later run may claim it again."""
        self._finish(
            key,
            owner,
            "SET #status = :failed, failed_at = :now, #error = :err",
            {"#error": "error"},
            {
                ":failed": {"S": "failed"},
                ":now": {"S": now.isoformat()},
                ":err": {"S": REDACTOR.mask(error)[:1000]},
            },
        )

    def mark_unknown(self, key: str, *, owner: str, now: datetime, error: str) -> None:
        """The send may have happened (its answer was lost): never re-sent without force."""
        self._finish(
            key,
            owner,
            "SET #status = :unknown, unknown_at = :now, #error = :err",
            {"#error": "error"},
            {
                ":unknown": {"S": "unknown"},
                ":now": {"S": now.isoformat()},
                ":err": {"S": REDACTOR.mask(error)[:1000]},
            },
        )

    def _finish(
        self,
        key: str,
        owner: str,
        update: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> None:
        """Record an outcome, only on our own claim (a forced claim since then owns the key)."""
        self.calls += 1
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ConditionExpression="claim_token = :owner",
                ExpressionAttributeNames={"#status": "status", **names},
                ExpressionAttributeValues={**values, ":owner": {"S": owner}},
            )
        except Exception as exc:
            raise self._error("record the result", exc) from None
