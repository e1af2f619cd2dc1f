"""The messages table: one DynamoDB item per notification request, keyed by its idempotency key.

Storage only, like the send ledger: it records a request once (``accept``), moves it along the
status machine below with conditional updates (``transition``) and maps every AWS failure to
``MessageStoreError``. Whether a message may be sent *now* is the policy's; that it goes out at
most once is the exactly-once guard's (``gcnotify.aws.once``). This table is what a person or a
receipt poller reads to learn what became of a request, so every move keeps its time and detail
in an append-only ``history``.

The status machine (``TRANSITIONS``)::

    accepted ─┬─> deferred ──────────┐   (deferred and failed_temporary may repeat and
              ├─> failed_temporary ──┤    lead to each other, to sending, or out)
              ├─> sending ─┬─> sent ─┬─> delivered
              │            │         └─> failed_permanent   (a receipt says it never arrived)
              │            ├─> unknown ─> sent | delivered | failed_permanent   (receipts)
              │            ├─> failed_temporary
              │            └─> failed_permanent
              └─> suppressed | expired | rejected | failed_permanent

Final statuses (``FINAL``): sent, delivered, failed_permanent, expired, suppressed, duplicate,
rejected, unknown. A final request is never sent again: the only moves out of a final status are
a receipt's refinements to another final status (sent → delivered, unknown → sent, …), never back
to one that sends. ``duplicate`` is the answer to a repeated key, never written on a record: the
first request's record stays as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

from gcnotify.aws.dynamodb import DynamoTable
from gcnotify.core.errors import MessageStoreError
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "FINAL",
    "RETENTION",
    "STATUSES",
    "TRANSITIONS",
    "Accepted",
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

MessageStatus = Literal[
    "accepted",
    "deferred",
    "sending",
    "failed_temporary",
    "sent",
    "delivered",
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
    "sent": frozenset({"delivered", "failed_permanent"}),
    "unknown": frozenset({"sent", "delivered", "failed_permanent"}),
    "delivered": frozenset(),
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
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
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
    """One DynamoDB table, string key ``pk`` (the request's key); every call is one item."""

    error_class = MessageStoreError
    what = "messages table"
    env_var = "GCNOTIFY_MESSAGES_TABLE"

    def get(self, key: str) -> MessageRecord | None:
        item = self._get_item(key)
        return MessageRecord.from_item(item) if item else None

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
        from botocore.exceptions import ClientError

        _check_moves(from_statuses, to_status)
        token = uuid.uuid4().hex
        names = {"#status": "status", "#history": "history"}
        values: dict[str, Any] = {
            ":to": {"S": to_status},
            ":now": {"S": now.isoformat()},
            ":entry": {"L": [_entry(to_status, now, detail)]},
            ":empty": {"L": []},
            ":expires": _expires(now),
            ":token": {"S": token},
            ":one": {"N": "1"},
        }
        sets = [
            "#status = :to",
            "updated_at = :now",
            "#history = list_append(if_not_exists(#history, :empty), :entry)",
            "expires_at = :expires",
            "write_token = :token",
        ]
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
        froms = sorted(set(from_statuses))
        values |= {f":from{i}": {"S": status} for i, status in enumerate(froms)}
        placeholders = ", ".join(f":from{i}" for i in range(len(froms)))
        condition = f"attribute_exists(pk) AND #status IN ({placeholders})"
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
                raise self._error(f"move the request to {to_status}", exc) from None
            old: Any = exc.response.get("Item")
            current = MessageRecord.from_item(old) if isinstance(old, dict) else self.get(key)
            return Transition(
                moved=current is not None and current.write_token == token, record=current
            )
        except Exception as exc:
            raise self._error(f"move the request to {to_status}", exc) from None
        return Transition(
            moved=True, record=MessageRecord.from_item(response.get("Attributes", {}))
        )
