"""The suppression table: who must not be messaged on a channel, and who said so, when and why.

One DynamoDB item per channel and normalised address, key ``pk`` = ``"<channel>#<address>"``
(``sms#+13175550100``, ``email#jane@example.com``). Checked before every send, so ``check`` is a
single consistent read; ``check_many`` reads many addresses the same way, 100 a BatchGetItem, for
a campaign's audience.

A removal (START, ``gcnotify suppress remove``) does not delete the item: it marks it inactive
and appends to its ``history``, so "why did this person stop getting texts in March" can still be
answered after they opted back in. Only active entries suppress. Items carry no TTL: an opt-out
has no end date.

``list`` pages through the table (or, for one channel, the ``by_channel`` index); a page may hold
fewer entries than asked while a cursor remains, because removed entries are filtered out after
the read. The index is eventually consistent: ``check``, not ``list``, decides a send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.aws.dynamodb import DynamoTable
from gcnotify.core.errors import SuppressionError
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "CHANNELS",
    "INDEX",
    "Suppression",
    "SuppressionEvent",
    "SuppressionPage",
    "SuppressionTable",
    "create_suppression_table",
    "normalise_address",
    "suppression_key",
]

Channel = Literal["sms", "whatsapp", "webmessaging", "open", "email"]
CHANNELS: tuple[Channel, ...] = ("sms", "whatsapp", "webmessaging", "open", "email")
INDEX = "by_channel"  # hash key channel, range key pk
TEXT_LIMIT = 500  # characters of a reason or source

_PHONE_CHANNELS = frozenset({"sms", "whatsapp"})
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_address(channel: str, address: str) -> str:
    """The one spelling of an address, so ``+1 (317) 555-0100`` and ``+13175550100`` match."""
    if channel not in CHANNELS:
        raise SuppressionError(
            f"unknown channel {channel!r} for a suppression; use one of {', '.join(CHANNELS)}"
        )
    text = address.strip()
    if channel in _PHONE_CHANNELS:
        text = _PHONE_PUNCTUATION.sub("", text)
        if not _E164.fullmatch(text):
            raise SuppressionError(
                f"{channel} address {address!r} is not an E.164 number; write it as +<country "
                "code><number>, e.g. +13175550100"
            )
        return text
    if channel == "email":
        text = text.lower()
        if not _EMAIL.fullmatch(text):
            raise SuppressionError(
                f"email address {address!r} does not parse; write it as name@example.com"
            )
        return text
    if not text:
        raise SuppressionError(f"{channel} address is empty; give the external contact id")
    return text


def suppression_key(channel: str, address: str) -> str:
    return f"{channel}#{normalise_address(channel, address)}"


def create_suppression_table(client: DynamoDBClient, table: str) -> None:
    """Create the table and its channel index for a local stack; template.yaml defines the real
    one."""
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "channel", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "channel", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass(frozen=True)
class SuppressionEvent:
    """One add or remove of an address, kept forever in its item's history."""

    action: Literal["added", "removed"]
    at: datetime | None
    reason: str
    source: str


@dataclass(frozen=True)
class Suppression:
    """An address's entry; ``active`` False once removed (kept, with its history)."""

    channel: str
    address: str
    active: bool
    reason: str
    source: str
    since: datetime | None
    history: tuple[SuppressionEvent, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.channel}#{self.address}"

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Suppression:
        events = []
        for entry in item.get("history", {}).get("L", []):
            m = entry.get("M", {}) if isinstance(entry, dict) else {}
            action: Literal["added", "removed"] = (
                "removed" if _s(m, "action") == "removed" else "added"
            )
            events.append(
                SuppressionEvent(
                    action, _when(m, "at"), _s(m, "reason") or "", _s(m, "source") or ""
                )
            )
        channel, _, address = (_s(item, "pk") or "").partition("#")
        active = item.get("active", {})
        return cls(
            channel=channel,
            address=address,
            # An unreadable flag reads as suppressed: a doubt never sends.
            active=bool(active.get("BOOL", True)) if isinstance(active, dict) else True,
            reason=_s(item, "reason") or "",
            source=_s(item, "source") or "",
            since=_when(item, "since"),
            history=tuple(events),
        )


@dataclass(frozen=True)
class SuppressionPage:
    """One page of ``list``; pass ``cursor`` back for the next, None when there is no more."""

    items: tuple[Suppression, ...]
    cursor: str | None


def _s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _when(item: Mapping[str, Any], name: str) -> datetime | None:
    text = _s(item, name)
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _text(value: str) -> dict[str, str]:
    return {"S": REDACTOR.mask(value)[:TEXT_LIMIT]}


class SuppressionTable(DynamoTable):
    """One DynamoDB table, string key ``pk`` = channel#address, index ``by_channel``."""

    error_class = SuppressionError
    what = "suppression table"
    env_var = "GCNOTIFY_SUPPRESSION_TABLE"
    actions = "GetItem/BatchGetItem/UpdateItem/Query/Scan"

    def _event(self, action: str, now: datetime, reason: str, source: str) -> dict[str, Any]:
        return {
            "L": [
                {
                    "M": {
                        "action": {"S": action},
                        "at": {"S": now.isoformat()},
                        "reason": _text(reason),
                        "source": _text(source),
                    }
                }
            ]
        }

    def add(
        self, channel: str, address: str, reason: str, source: str, now: datetime
    ) -> Suppression:
        """Suppress the address (again); the latest add's reason, source and time are current."""
        key = suppression_key(channel, address)
        entry = self._update(
            key,
            "add the suppression",
            "SET active = :true, channel = :channel, reason = :reason, #source = :source, "
            "since = :now, #history = list_append(if_not_exists(#history, :empty), :event)",
            {
                ":true": {"BOOL": True},
                ":channel": {"S": channel},
                ":reason": _text(reason),
                ":source": _text(source),
                ":now": {"S": now.isoformat()},
                ":empty": {"L": []},
                ":event": self._event("added", now, reason, source),
            },
            condition=None,
        )
        if entry is None:  # only a conditional write answers None, and this one has no condition
            raise SuppressionError(f"suppression table {self.table!r} did not add {key!r}")
        return entry

    def remove(
        self, channel: str, address: str, reason: str, source: str, now: datetime
    ) -> Suppression | None:
        """Lift an active suppression, keeping the entry and its history; None if none was
        active."""
        key = suppression_key(channel, address)
        return self._update(
            key,
            "remove the suppression",
            "SET active = :false, removed_at = :now, removed_reason = :reason, "
            "removed_source = :source, "
            "#history = list_append(if_not_exists(#history, :empty), :event)",
            {
                ":false": {"BOOL": False},
                ":true": {"BOOL": True},
                ":reason": _text(reason),
                ":source": _text(source),
                ":now": {"S": now.isoformat()},
                ":empty": {"L": []},
                ":event": self._event("removed", now, reason, source),
            },
            condition="active = :true",
        )

    def _update(
        self,
        key: str,
        action: str,
        update: str,
        values: dict[str, Any],
        *,
        condition: str | None,
    ) -> Suppression | None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        names = {"#history": "history"}
        if "#source" in update:
            names["#source"] = "source"
        self.calls += 1
        try:
            response = self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **kwargs,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise self._error(action, exc) from None
        except Exception as exc:
            raise self._error(action, exc) from None
        return Suppression.from_item(response.get("Attributes", {}))

    def get(self, channel: str, address: str) -> Suppression | None:
        """The entry, active or removed (for its history); None if the address was never added."""
        key = suppression_key(channel, address)
        item = self._get_item(key)
        return Suppression.from_item(item) if item else None

    def check(self, channel: str, address: str) -> Suppression | None:
        """The active suppression of this address, or None: the address may be messaged."""
        entry = self.get(channel, address)
        return entry if entry is not None and entry.active else None

    def check_many(self, channel: str, addresses: Iterable[str]) -> set[str]:
        """The ``addresses`` (as given) that ``check`` would find actively suppressed, 100 a call.

        Two spellings of one address are read once and both answered. An address that does not
        normalise is a ``SuppressionError``, as in ``check``. Only the key and the ``active``
        flag are read: the reasons and history are ``get``'s.
        """
        by_key: dict[str, list[str]] = {}
        for address in addresses:
            by_key.setdefault(suppression_key(channel, address), []).append(address)
        found = self._batch_get(by_key, projection=("active",))
        return {
            address
            for key, item in found.items()
            if Suppression.from_item(item).active
            for address in by_key.get(key, ())
        }

    def list(
        self,
        channel: str | None = None,
        *,
        limit: int = 100,
        cursor: str | None = None,
        include_removed: bool = False,
    ) -> SuppressionPage:
        """One page of entries (active only unless ``include_removed``), for one channel or all."""
        if channel is not None and channel not in CHANNELS:
            raise SuppressionError(
                f"unknown channel {channel!r} for a suppression; use one of {', '.join(CHANNELS)}"
            )
        kwargs: dict[str, Any] = {"TableName": self.table, "Limit": limit}
        values: dict[str, Any] = {}
        if not include_removed:
            kwargs["FilterExpression"] = "active = :true"
            values[":true"] = {"BOOL": True}
        if channel is not None:
            kwargs["IndexName"] = INDEX
            kwargs["KeyConditionExpression"] = "channel = :channel"
            values[":channel"] = {"S": channel}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if cursor is not None:
            start = {"pk": {"S": cursor}}
            if channel is not None:
                start["channel"] = {"S": cursor.partition("#")[0]}
            kwargs["ExclusiveStartKey"] = start
        self.calls += 1
        try:
            if channel is None:
                response: Any = self._client.scan(**kwargs)
            else:
                response = self._client.query(**kwargs)
        except Exception as exc:
            raise self._error("be listed", exc) from None
        items = tuple(Suppression.from_item(item) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        return SuppressionPage(items, _s(last, "pk") if isinstance(last, dict) else None)
