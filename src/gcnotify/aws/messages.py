"""The messages table: one DynamoDB item per notification request, keyed by its idempotency key.

Storage only, like the send ledger: it records a request once (``accept``), moves it along the
status machine below with conditional updates (``transition``), updates a record's fields in
place without a move (``update_fields``, a receipt that refines nothing but its details) and maps
every AWS failure to ``MessageStoreError``. Whether a message may be sent *now* is the policy's;
that it goes out at most once is the exactly-once guard's (``gcnotify.aws.once``). This table is
what a person or a receipt poller reads to learn what became of a request, so every move keeps
its time and detail in an append-only ``history``.

The status machine (``TRANSITIONS``)::

    accepted ─┬─> deferred ──────────┐   (deferred and failed_temporary may repeat and
              ├─> failed_temporary ──┤    lead to each other, to sending, or out)
              ├─> sending ─┬─> sent ─┬─> delivered ─> read
              │            │         ├─> read
              │            │         ├─> unknown            (a receipt nobody can classify)
              │            │         ├─> failed_permanent   (a receipt says it never arrived)
              │            │         └─> failed_temporary   (a receipt's temporary failure: retry)
              │            ├─> unknown ─> sent | delivered | read | failed_permanent
              │            │              | failed_temporary   (receipts)
              │            ├─> failed_temporary
              │            └─> failed_permanent
              └─> suppressed | expired | rejected | failed_permanent

Final statuses (``FINAL``): sent, delivered, read, failed_permanent, expired, suppressed,
duplicate, rejected, unknown. A final request is not sent again, with one exception: a receipt
that reports a temporary failure of a ``sent`` (or ``unknown``) message moves it back to
``failed_temporary`` with its ``attempt`` raised, so the sender makes a *new* attempt under a
guard key of its own (``msg#<key>#<n>``); nothing that was delivered or read ever moves back.
The other moves out of a final status are a receipt's refinements to another final status
(sent → delivered, unknown → sent, …). ``duplicate`` is the answer to a repeated key, never
written on a record: the first request's record stays as it is.

Two sparse indexes serve the receipts (an item is in an index only while it has its key):

- ``awaiting`` (hash ``awaiting``: the provider, ``genesys`` or ``sendgrid``; range
  ``awaiting_since``: ISO UTC send time): messages sent and still waiting for a final receipt.
  The sender sets both when it records a send; applying a final receipt removes them.
- ``by_day`` (hash ``sent_day``: the UTC date of the first send attempt; range ``pk``): one day's
  messages, for the delivery summary and ``gcnotify receipts --since``.

Index reads are eventually consistent: a record read through one may be a moment old, which the
conditional writes (``expected_version``) catch.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

from gcnotify.aws.dynamodb import DynamoTable
from gcnotify.core.errors import MessageStoreError
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "AWAITING_INDEX",
    "BY_DAY_INDEX",
    "FINAL",
    "RETENTION",
    "STATUSES",
    "TRANSITIONS",
    "Accepted",
    "AwaitingPage",
    "FieldValue",
    "HistoryEntry",
    "MessageRecord",
    "MessageStatus",
    "MessageStore",
    "NewMessage",
    "Transition",
    "create_messages_table",
]

RETENTION = timedelta(days=400)  # TTL from the last move: a year's "did we text them?" answered
DETAIL_LIMIT = 1000  # characters of one history detail; keeps the item far below DynamoDB's 400 KB
AWAITING_INDEX = "awaiting"  # hash awaiting (provider), range awaiting_since (ISO UTC)
BY_DAY_INDEX = "by_day"  # hash sent_day (YYYY-MM-DD, UTC), range pk

MessageStatus = Literal[
    "accepted",
    "deferred",
    "sending",
    "failed_temporary",
    "sent",
    "delivered",
    "read",
    "failed_permanent",
    "expired",
    "suppressed",
    "duplicate",
    "rejected",
    "unknown",
]
STATUSES: tuple[MessageStatus, ...] = get_args(MessageStatus)
FINAL: frozenset[MessageStatus] = frozenset(
    {
        "sent",
        "delivered",
        "read",
        "failed_permanent",
        "expired",
        "suppressed",
        "duplicate",
        "rejected",
        "unknown",
    }
)
_WAITING: frozenset[MessageStatus] = frozenset(
    {"deferred", "failed_temporary", "sending", "suppressed", "expired", "failed_permanent"}
)
TRANSITIONS: Mapping[MessageStatus, frozenset[MessageStatus]] = {
    "accepted": _WAITING | {"rejected"},
    "deferred": _WAITING,
    "failed_temporary": _WAITING,
    "sending": frozenset({"sent", "unknown", "failed_temporary", "failed_permanent"}),
    "sent": frozenset({"delivered", "read", "unknown", "failed_permanent", "failed_temporary"}),
    "unknown": frozenset({"sent", "delivered", "read", "failed_permanent", "failed_temporary"}),
    "delivered": frozenset({"read"}),
    "read": frozenset(),
    "failed_permanent": frozenset(),
    "expired": frozenset(),
    "suppressed": frozenset(),
    "duplicate": frozenset(),
    "rejected": frozenset(),
}
_INITIAL = frozenset({"accepted", "rejected"})

FieldValue = str | int | bool | None  # None removes the attribute

# Attributes the store owns; callers' fields may not overwrite them.
_OWN = frozenset(
    {
        "pk",
        "status",
        "channel",
        "template",
        "address",
        "created_at",
        "updated_at",
        "version",
        "history",
        "expires_at",
        "write_token",
    }
)


def create_messages_table(client: DynamoDBClient, table: str) -> None:
    """Create the table (TTL on ``expires_at``) for a local stack; template.yaml defines the real
    one."""
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "awaiting", "awaiting_since", "sent_day")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": AWAITING_INDEX,
                "KeySchema": [
                    {"AttributeName": "awaiting", "KeyType": "HASH"},
                    {"AttributeName": "awaiting_since", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": BY_DAY_INDEX,
                "KeySchema": [
                    {"AttributeName": "sent_day", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One move of a request: the status it reached, when, and why."""

    status: str
    at: datetime | None
    detail: str = ""


@dataclass(frozen=True)
class NewMessage:
    """A validated request to record; ``status`` is ``rejected`` when it failed validation."""

    key: str
    channel: str
    template: str
    received_at: datetime
    address: str | None = None
    status: Literal["accepted", "rejected"] = "accepted"
    detail: str = ""
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageRecord:
    """A request's record as read back; ``fields`` holds everything the pipeline added."""

    key: str
    status: MessageStatus
    channel: str = ""
    template: str = ""
    address: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    history: tuple[HistoryEntry, ...] = ()
    expires_at: int | None = None
    write_token: str | None = None
    fields: Mapping[str, str | int | bool] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def request(self) -> dict[str, Any] | None:
        """The request as the intake stored it (the ``request`` field, JSON), or None when the
        record holds none or it is not a JSON object."""
        raw = self.fields.get("request")
        if not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> MessageRecord:
        status = _s(item, "status")
        history = []
        for entry in item.get("history", {}).get("L", []):
            m = entry.get("M", {}) if isinstance(entry, dict) else {}
            history.append(
                HistoryEntry(_s(m, "status") or "", _when(m, "at"), _s(m, "detail") or "")
            )
        fields: dict[str, str | int | bool] = {}
        for name, value in item.items():
            if name in _OWN or not isinstance(value, dict):
                continue
            plain = _plain(value)
            if plain is not None:
                fields[name] = plain
        return cls(
            key=_s(item, "pk") or "",
            # An unreadable status reads as unknown: final, so nothing sends on a doubt.
            status=status if status in STATUSES else "unknown",
            channel=_s(item, "channel") or "",
            template=_s(item, "template") or "",
            address=_s(item, "address"),
            created_at=_when(item, "created_at"),
            updated_at=_when(item, "updated_at"),
            version=_n(item, "version") or 0,
            history=tuple(history),
            expires_at=_n(item, "expires_at"),
            write_token=_s(item, "write_token"),
            fields=fields,
        )


@dataclass(frozen=True)
class Accepted:
    """``accept``'s outcome: the stored record, and whether it was there before (a repeat key)."""

    record: MessageRecord
    duplicate: bool


@dataclass(frozen=True)
class AwaitingPage:
    """One page of an index read: the records, and where the next page starts (None: done)."""

    records: tuple[MessageRecord, ...]
    next_start: dict[str, Any] | None = None


@dataclass(frozen=True)
class Transition:
    """``transition``'s outcome: ``moved``, and the record after (or as it refused; None: no such
    key)."""

    moved: bool
    record: MessageRecord | None


def _s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _n(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    try:
        return int(value["N"]) if isinstance(value, dict) and "N" in value else None
    except ValueError:
        return None


def _when(item: Mapping[str, Any], name: str) -> datetime | None:
    text = _s(item, name)
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _plain(value: Mapping[str, Any]) -> str | int | bool | None:
    if "S" in value:
        return str(value["S"])
    if "BOOL" in value:
        return bool(value["BOOL"])
    if "N" in value:
        try:
            return int(value["N"])
        except ValueError:
            return None
    return None


def _attribute(name: str, value: str | int | bool) -> dict[str, Any]:
    if name in _OWN:
        raise ValueError(f"message field {name!r} is reserved")
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": REDACTOR.mask(value)}


def _entry(status: str, now: datetime, detail: str) -> dict[str, Any]:
    return {
        "M": {
            "status": {"S": status},
            "at": {"S": now.isoformat()},
            "detail": {"S": REDACTOR.mask(detail)[:DETAIL_LIMIT]},
        }
    }


def _expires(now: datetime) -> dict[str, str]:
    return {"N": str(int((now + RETENTION).timestamp()))}


def _check_moves(from_statuses: Collection[str], to_status: str) -> None:
    """A move the machine does not have is a bug in the caller, refused before any write."""
    if to_status not in STATUSES:
        raise ValueError(f"unknown message status {to_status!r}")
    if not from_statuses:
        raise ValueError("a transition needs at least one status to move from")
    for status in from_statuses:
        if to_status not in TRANSITIONS.get(status, frozenset()):  # type: ignore[call-overload]
            raise ValueError(f"a message never moves from {status!r} to {to_status!r}")


class MessageStore(DynamoTable):
    """One DynamoDB table, string key ``pk`` (the request's key); every write is one item."""

    error_class = MessageStoreError
    what = "messages table"
    env_var = "GCNOTIFY_MESSAGES_TABLE"
    actions = "GetItem/BatchGetItem/PutItem/UpdateItem, and Query on its indexes,"

    def get(self, key: str) -> MessageRecord | None:
        item = self._get_item(key)
        return MessageRecord.from_item(item) if item else None

    def existing(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have a record, as ``get(key) is not None`` says, 100 keys a call.

        A campaign asks this of its whole audience: one BatchGetItem per 100 customers instead
        of a GetItem each, reading only the key.
        """
        return set(self._batch_get(keys, projection=()))

    def accept(self, record: NewMessage) -> Accepted:
        """Record a new request once; a key already there is a duplicate and is left untouched.

        Each call writes a fresh token: if DynamoDB applied the put but its answer was lost, the
        SDK's retry meets this call's own record, which is then not mistaken for a duplicate.
        """
        from botocore.exceptions import ClientError

        if record.status not in _INITIAL:
            raise ValueError(
                f"a request is recorded as accepted or rejected, not {record.status!r}"
            )
        if not record.key:
            raise ValueError("a request needs a key to be recorded")
        token = uuid.uuid4().hex
        now = record.received_at
        item: dict[str, Any] = {
            name: _attribute(name, value)
            for name, value in record.fields.items()
            if value is not None
        }
        item |= {
            "pk": {"S": record.key},
            "status": {"S": record.status},
            "channel": {"S": record.channel},
            "template": {"S": record.template},
            "created_at": {"S": now.isoformat()},
            "updated_at": {"S": now.isoformat()},
            "version": {"N": "1"},
            "history": {"L": [_entry(record.status, now, record.detail)]},
            "expires_at": _expires(now),
            "write_token": {"S": token},
        }
        if record.address is not None:
            item["address"] = {"S": record.address}
        self.calls += 1
        try:
            self._client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise self._error("record the request", exc) from None
            old: Any = exc.response.get("Item")
            existing = (
                MessageRecord.from_item(old) if isinstance(old, dict) else self.get(record.key)
            )
            if existing is None:  # removed between the two calls (TTL): never a silent overwrite
                raise self._error("record the request", exc) from None
            return Accepted(existing, duplicate=existing.write_token != token)
        except Exception as exc:
            raise self._error("record the request", exc) from None
        return Accepted(MessageRecord.from_item(item), duplicate=False)

    def transition(
        self,
        key: str,
        from_statuses: Collection[MessageStatus],
        to_status: MessageStatus,
        now: datetime,
        *,
        detail: str = "",
        expected_version: int | None = None,
        **fields: FieldValue,
    ) -> Transition:
        """Move the record to ``to_status`` only if its status is one of ``from_statuses`` (and,
        with ``expected_version``, nobody moved it since it was read): of two workers, one moves.

        ``fields`` are set on the record alongside (None removes one). Not moved: the record as
        it is, so the caller sees who got there first.
        """
        _check_moves(from_statuses, to_status)
        return self._write(
            key,
            f"move the request to {to_status}",
            froms=sorted(set(from_statuses)),
            to_status=to_status,
            entry_status=to_status,
            now=now,
            detail=detail,
            expected_version=expected_version,
            fields=fields,
        )

    def update_fields(
        self,
        key: str,
        expected_version: int | None,
        now: datetime,
        detail: str = "",
        *,
        status: MessageStatus | None = None,
        **fields: FieldValue,
    ) -> Transition:
        """Set ``fields`` (None removes one) without a move, appending ``detail`` to the history.

        For a receipt that changes a record's details but not its status (a second ``unknown``,
        a pending that stays ``sent``). With ``status``, only while the record is in it; with
        ``expected_version``, only if nobody wrote it since it was read. ``moved`` means written.
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown message status {status!r}")
        return self._write(
            key,
            "update the request",
            froms=[status] if status is not None else [],
            to_status=None,
            entry_status=status or "updated",
            now=now,
            detail=detail,
            expected_version=expected_version,
            fields=fields,
        )

    def awaiting(
        self,
        provider: str,
        *,
        sent_before: datetime | None = None,
        limit: int = 100,
        start: dict[str, Any] | None = None,
    ) -> AwaitingPage:
        """One page of the messages sent through ``provider`` still waiting for a final receipt,
        oldest first; ``sent_before`` keeps those sent before that time."""
        condition = "awaiting = :provider"
        values: dict[str, Any] = {":provider": {"S": provider}}
        if sent_before is not None:
            condition += " AND awaiting_since < :before"
            values[":before"] = {"S": _utc_iso(sent_before)}
        return self._query(
            AWAITING_INDEX, condition, values, limit=limit, start=start, what="awaiting receipts"
        )

    def sent_on(
        self, day: date, *, start: dict[str, Any] | None = None, limit: int = 500
    ) -> AwaitingPage:
        """One page of the messages whose first send attempt was on ``day`` (a UTC date)."""
        values = {":day": {"S": day.isoformat()}}
        return self._query(
            BY_DAY_INDEX, "sent_day = :day", values, limit=limit, start=start, what="of one day"
        )

    def _query(
        self,
        index: str,
        condition: str,
        values: dict[str, Any],
        *,
        limit: int,
        start: dict[str, Any] | None,
        what: str,
    ) -> AwaitingPage:
        if limit < 1:
            raise ValueError(f"a page holds at least one record, not {limit}")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if start is not None:
            kwargs["ExclusiveStartKey"] = start
        self.calls += 1
        try:
            response: Any = self._client.query(**kwargs)
        except Exception as exc:
            raise self._error(f"list the messages {what} (index {index})", exc) from None
        records = tuple(MessageRecord.from_item(item) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        return AwaitingPage(records, dict(last) if last else None)

    def _write(
        self,
        key: str,
        action: str,
        *,
        froms: list[str],
        to_status: str | None,
        entry_status: str,
        now: datetime,
        detail: str,
        expected_version: int | None,
        fields: Mapping[str, FieldValue],
    ) -> Transition:
        """One conditional UpdateItem: status (when moving), fields, history, TTL, version."""
        from botocore.exceptions import ClientError

        token = uuid.uuid4().hex
        names = {"#status": "status", "#history": "history"}
        values: dict[str, Any] = {
            ":now": {"S": now.isoformat()},
            ":entry": {"L": [_entry(entry_status, now, detail)]},
            ":empty": {"L": []},
            ":expires": _expires(now),
            ":token": {"S": token},
            ":one": {"N": "1"},
        }
        sets = [
            "updated_at = :now",
            "#history = list_append(if_not_exists(#history, :empty), :entry)",
            "expires_at = :expires",
            "write_token = :token",
        ]
        if to_status is not None:
            values[":to"] = {"S": to_status}
            sets.insert(0, "#status = :to")
        removes = []
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            if value is None:
                if name in _OWN:
                    raise ValueError(f"message field {name!r} is reserved")
                removes.append(f"#f{i}")
            else:
                values[f":f{i}"] = _attribute(name, value)
                sets.append(f"#f{i} = :f{i}")
        condition = "attribute_exists(pk)"
        if froms:
            values |= {f":from{i}": {"S": status} for i, status in enumerate(froms)}
            placeholders = ", ".join(f":from{i}" for i in range(len(froms)))
            condition += f" AND #status IN ({placeholders})"
        else:
            del names["#status"]
        if expected_version is not None:
            condition += " AND version = :version"
            values[":version"] = {"N": str(expected_version)}
        update = f"SET {', '.join(sets)} ADD version :one"
        if removes:
            update += f" REMOVE {', '.join(removes)}"
        self.calls += 1
        try:
            response = self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise self._error(action, exc) from None
            old: Any = exc.response.get("Item")
            current = MessageRecord.from_item(old) if isinstance(old, dict) else self.get(key)
            return Transition(
                moved=current is not None and current.write_token == token, record=current
            )
        except Exception as exc:
            raise self._error(action, exc) from None
        return Transition(
            moved=True, record=MessageRecord.from_item(response.get("Attributes", {}))
        )


def _utc_iso(when: datetime) -> str:
    """The ISO form the index keys use: UTC, so that strings sort as times."""
    return (
        (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    )
