"""The send ledger: at most one email per (report id, business date), in DynamoDB.

SendGrid's mail/send has no idempotency key, so "never twice" has to be ours. The protocol:

1. ``lookup`` before any Genesys call: a ``sent`` record answers ``already_sent`` for free.
2. ``claim`` right before the SendGrid call: one conditional write that succeeds only when no
   record exists or the last attempt is known to have failed. Of two concurrent runs exactly one
   wins. A crash *before* the claim leaves nothing behind, so the next run simply sends.
3. ``mark_sent`` with the SendGrid message id right after the 202, or ``mark_failed`` when the
   send certainly did not happen. A claim left ``in_progress`` (the process died, or SendGrid's
   answer was lost) may have been delivered: it is never re-sent automatically; ``force`` does.

Conditional writes are used directly rather than Powertools' idempotency utility: that utility
keys on the event payload and would re-run the whole invocation, while the unit here is one
report of several, and its claim must sit between "fetched" and "sent", not around the handler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import LedgerError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["Claim", "Ledger", "LedgerRecord", "create_ledger_table", "ledger_key"]

RETENTION = timedelta(days=400)  # TTL: long enough to answer a backfill a year later
ALERT_RETENTION = timedelta(days=30)  # an alert record only needs to outlive the retries

RecordStatus = Literal["in_progress", "sent", "failed"]


def create_ledger_table(client: DynamoDBClient, table: str) -> None:
    """Create the table for a local stack (demo, tests); template.yaml defines the real one."""
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def ledger_key(report_id: str, business_date: date) -> str:
    return f"{report_id}#{business_date.isoformat()}"


@dataclass(frozen=True)
class LedgerRecord:
    report_id: str
    business_date: str
    status: RecordStatus
    attempts: int
    claimed_at: str | None = None
    sent_at: str | None = None
    message_id: str | None = None
    error: str | None = None
    recipients: tuple[str, ...] = ()

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LedgerRecord:
        def s(name: str) -> str | None:
            value = item.get(name, {})
            return value.get("S") if isinstance(value, dict) else None

        return cls(
            report_id=s("report_id") or "",
            business_date=s("business_date") or "",
            status=(s("status") or "in_progress"),  # type: ignore[arg-type]
            attempts=int(item.get("attempts", {}).get("N", "0")),
            claimed_at=s("claimed_at"),
            sent_at=s("sent_at"),
            message_id=s("message_id"),
            error=s("error"),
            recipients=tuple(
                entry["S"] for entry in item.get("recipients", {}).get("L", []) if "S" in entry
            ),
        )


@dataclass(frozen=True)
class Claim:
    """The outcome of ``claim``: ``won`` means this run may send; else ``existing`` says why not."""

    won: bool
    existing: LedgerRecord | None = None


class Ledger:
    """One DynamoDB table, single string key ``pk``; every call is a single-item request."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table
        self.calls = 0

    def _error(self, action: str, exc: Exception) -> LedgerError:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return LedgerError(
            f"send ledger (DynamoDB table {self.table!r}) could not {action} ({code}); "
            "nothing was sent, so a retry is safe. Check the table exists "
            "(GCNOTIFY_LEDGER_TABLE) and the function may GetItem/PutItem/UpdateItem on it"
        )

    def lookup(self, report_id: str, business_date: date) -> LedgerRecord | None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls += 1
        try:
            response = self._client.get_item(
                TableName=self.table,
                Key={"pk": {"S": ledger_key(report_id, business_date)}},
                ConsistentRead=True,
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error("be read", exc) from None
        item = response.get("Item")
        return LedgerRecord.from_item(dict(item)) if item else None

    def claim(
        self,
        report_id: str,
        business_date: date,
        *,
        now: datetime,
        owner: str,
        force: bool = False,
    ) -> Claim:
        """Atomically mark the send as in progress; lose to a ``sent`` or ``in_progress`` record."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls += 1
        kwargs: dict[str, Any] = {}
        if not force:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk) OR #status = :failed"
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        values: dict[str, Any] = {
            ":in_progress": {"S": "in_progress"},
            ":now": {"S": now.isoformat()},
            ":owner": {"S": owner},
            ":one": {"N": "1"},
            ":report": {"S": report_id},
            ":date": {"S": business_date.isoformat()},
            ":expires": {"N": str(int((now + RETENTION).timestamp()))},
        }
        if not force:
            values[":failed"] = {"S": "failed"}
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": ledger_key(report_id, business_date)}},
                UpdateExpression=(
                    "SET #status = :in_progress, claimed_at = :now, claimed_by = :owner, "
                    "report_id = :report, business_date = :date, expires_at = :expires "
                    "ADD attempts :one REMOVE #error"
                ),
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues=values,
                **kwargs,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                item = getattr(exc, "response", {}).get("Item")
                existing = LedgerRecord.from_item(dict(item)) if item else None
                if existing is None:
                    existing = self.lookup(report_id, business_date)
                return Claim(won=False, existing=existing)
            raise self._error("record the claim", exc) from None
        except BotoCoreError as exc:
            raise self._error("record the claim", exc) from None
        return Claim(won=True)

    def claim_alert(
        self, report_id: str, business_date: date, error_type: str, *, now: datetime
    ) -> bool:
        """True the first time this failure (report, date, error type) is alerted on.

        Lambda retries a failed run, and each attempt would otherwise mail the same alert again.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls += 1
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"alert#{ledger_key(report_id, business_date)}#{error_type}"}},
                UpdateExpression="SET alerted_at = :now, expires_at = :expires",
                ConditionExpression="attribute_not_exists(pk)",
                ExpressionAttributeValues={
                    ":now": {"S": now.isoformat()},
                    ":expires": {"N": str(int((now + ALERT_RETENTION).timestamp()))},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise self._error("record the alert", exc) from None
        except BotoCoreError as exc:
            raise self._error("record the alert", exc) from None
        return True

    def mark_sent(
        self,
        report_id: str,
        business_date: date,
        *,
        now: datetime,
        message_id: str | None,
        recipients: Sequence[str],
        status: str,
    ) -> None:
        self._finish(
            report_id,
            business_date,
            "SET #status = :sent, sent_at = :now, message_id = :mid, recipients = :to, "
            "report_status = :rs",
            {
                ":sent": {"S": "sent"},
                ":now": {"S": now.isoformat()},
                ":mid": {"S": message_id or ""},
                ":to": {"L": [{"S": address} for address in recipients]},
                ":rs": {"S": status},
            },
        )

    def mark_failed(
        self, report_id: str, business_date: date, *, now: datetime, error: str
    ) -> None:
        self._finish(
            report_id,
            business_date,
            "SET #status = :failed, failed_at = :now, #error = :err",
            {
                ":failed": {"S": "failed"},
                ":now": {"S": now.isoformat()},
                ":err": {"S": error[:1000]},
            },
        )

    def note_unknown_outcome(
        self, report_id: str, business_date: date, *, now: datetime, error: str
    ) -> None:
        """Keep the claim ``in_progress`` (maybe delivered) but record why, for the next run."""
        self._finish(
            report_id,
            business_date,
            "SET #error = :err, unknown_at = :now",
            {":err": {"S": error[:1000]}, ":now": {"S": now.isoformat()}},
        )

    def _finish(
        self, report_id: str, business_date: date, update: str, values: dict[str, Any]
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls += 1
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": ledger_key(report_id, business_date)}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={
                    name: name[1:] for name in ("#status", "#error") if name in update
                },
                ExpressionAttributeValues=values,
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error("record the result", exc) from None
