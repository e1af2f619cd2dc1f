"""One notification request, validated into a frozen value before anything is recorded or sent.

A request is one JSON object from an application, an Architect data action or the command line.
Anything wrong with it is a ``RequestError`` listing every problem with its field and fix, so the
caller fixes it in one go; no input, however odd, ends in another exception. Choices made here:

- ``channel`` is optional: the template decides it. When the caller passes the configured
  templates, an unknown template and a ``channel`` that disagrees with the template are problems;
  without them, a request naming no ``channel`` is refused, since its address cannot be checked.
- ``to`` is one address (one customer per request): E.164 for sms and whatsapp, an email address
  for email, absent for webmessaging, where ``external_contact_id`` (a Genesys external contact
  id, a UUID) is required. ``external_contact_id`` is allowed on every channel, to link the
  message to the contact.
- ``key``: 1 to 128 printable ASCII characters without spaces, the same rule as an SQS message
  deduplication id, so the key can travel as one unchanged.
- ``variables``: at most 50, named like template variables (``order_id``), each a string of at
  most 2,000 characters (the longest text Genesys accepts), a boolean, a finite number or an
  integer within +/-2**53 (exact in every JSON reader). Lists, mappings and null are refused:
  they would render as Python reprs.
- ``not_before`` and ``expires_at``: ISO-8601 date-times with an offset (``Z`` or ``+02:00``);
  a time without a zone is ambiguous. ``not_before`` must be before ``expires_at``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, cast

from gcnotify.core.errors import RequestError
from gcnotify.core.show import show as _show
from gcnotify.core.text import header_problem
from gcnotify.messaging.policy import e164_problem, timezone_problem

__all__ = [
    "MAX_KEY_CHARACTERS",
    "MAX_REQUEST_BYTES",
    "MAX_VARIABLES",
    "MAX_VARIABLE_CHARACTERS",
    "REQUEST_CHANNELS",
    "REQUEST_FIELDS",
    "NotificationRequest",
    "RequestChannel",
    "parse_request",
    "parse_request_json",
]

RequestChannel = Literal["sms", "whatsapp", "webmessaging", "email"]
REQUEST_CHANNELS: tuple[RequestChannel, ...] = ("sms", "whatsapp", "webmessaging", "email")
REQUEST_FIELDS = (
    "key",
    "template",
    "channel",
    "to",
    "external_contact_id",
    "variables",
    "timezone",
    "not_before",
    "expires_at",
)
MAX_KEY_CHARACTERS = 128
MAX_VARIABLES = 50
MAX_VARIABLE_CHARACTERS = 2000
# A valid request is well under 100 KB (50 variables of 2,000 characters); the bound refuses a
# wrong body before it is parsed at all.
MAX_REQUEST_BYTES = 256 * 1024
_MAX_INTEGER = 2**53

_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_TEMPLATE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Deliberately loose, as in the config: the provider validates; this catches a missing @ or a typo.
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MAX_ADDRESS = 320  # the longest email address RFC 5321 allows; far above any phone number


Variable = str | int | float | bool


@dataclass(frozen=True)
class NotificationRequest:
    """A valid request: who to notify, with which template and variables, and when it may go."""

    key: str
    template: str
    channel: RequestChannel
    to: str | None
    external_contact_id: str | None
    variables: Mapping[str, Variable] = field(default_factory=dict)
    timezone: str | None = None
    not_before: datetime | None = None
    expires_at: datetime | None = None


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.items.append((where, message))


def parse_request_json(
    body: str | bytes, *, templates: Mapping[str, RequestChannel] | None = None
) -> NotificationRequest:
    """A request from its JSON body: bounded in size, UTF-8, one object, no repeated field."""
    size = len(body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body)
    if size > MAX_REQUEST_BYTES:
        raise RequestError(
            [("(body)", f"is {size:,} bytes, over {MAX_REQUEST_BYTES:,}: send one small request")]
        )
    repeated: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for name, value in items:
            if name in seen:
                repeated.append(name)
            seen[name] = value
        return seen

    try:
        data = json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise RequestError(
            [("(body)", f"is not JSON ({_show(str(exc))}): send one JSON object")]
        ) from None
    if repeated:
        names = ", ".join(sorted(set(repeated)))
        raise RequestError([("(body)", f"repeats {names}: give each field once")])
    return parse_request(data, templates=templates)


def parse_request(
    data: object, *, templates: Mapping[str, RequestChannel] | None = None
) -> NotificationRequest:
    """Validate a parsed request; raise one ``RequestError`` listing every problem.

    ``templates`` maps each configured template id to its channel; given, the template must be
    one of them and decides the channel.
    """
    if not isinstance(data, Mapping):
        raise RequestError([("(request)", f"must be a JSON object, got {_show(data)}")])
    problems = _Problems()
    raw: dict[str, object] = {}
    for name, value in data.items():
        if isinstance(name, str) and name in REQUEST_FIELDS:
            raw[name] = value
            continue
        close = difflib.get_close_matches(str(name), REQUEST_FIELDS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.add(
            _show(name) if not isinstance(name, str) else name[:60],
            f"unknown field{hint}; allowed fields: {', '.join(REQUEST_FIELDS)}",
        )

    key = _key(problems, raw.get("key"))
    template = _template(problems, raw.get("template"), templates)
    channel = _channel(problems, raw.get("channel"), template, templates)
    to, contact = _recipient(problems, channel, raw.get("to"), raw.get("external_contact_id"))
    variables = _variables(problems, raw.get("variables"))
    timezone = _timezone(problems, raw.get("timezone"))
    not_before = _instant(problems, "not_before", raw.get("not_before"))
    expires_at = _instant(problems, "expires_at", raw.get("expires_at"))
    if not_before is not None and expires_at is not None and not_before >= expires_at:
        problems.add(
            "not_before",
            f"{not_before.isoformat()} is not before expires_at {expires_at.isoformat()}: the "
            "message could never be sent; move not_before earlier or expires_at later",
        )
    if problems.items:
        raise RequestError(problems.items, key=key)
    return NotificationRequest(
        key=cast("str", key),
        template=cast("str", template),
        channel=cast("RequestChannel", channel),
        to=to,
        external_contact_id=contact,
        variables=MappingProxyType(variables),
        timezone=timezone,
        not_before=not_before,
        expires_at=expires_at,
    )


def _key(problems: _Problems, value: object) -> str | None:
    if value is None:
        problems.add("key", "is required: the idempotency key, unique per notification")
        return None
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        problems.add(
            "key",
            f"{_show(value)} must be 1 to {MAX_KEY_CHARACTERS} printable ASCII characters without "
            "spaces, e.g. ORD-998877-shipped",
        )
        return None
    return value


def _template(
    problems: _Problems, value: object, templates: Mapping[str, RequestChannel] | None
) -> str | None:
    if value is None:
        problems.add("template", "is required: the id of a configured template")
        return None
    if not isinstance(value, str) or not _TEMPLATE_ID.fullmatch(value):
        problems.add(
            "template", f"{_show(value)} is not a template id (lowercase words joined by -)"
        )
        return None
    if templates is not None and value not in templates:
        close = difflib.get_close_matches(value, list(templates), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.add("template", f"{value!r} is not a configured template{hint}")
        return None
    return value


def _channel(
    problems: _Problems,
    value: object,
    template: str | None,
    templates: Mapping[str, RequestChannel] | None,
) -> RequestChannel | None:
    known = templates.get(template) if templates is not None and template is not None else None
    if value is None:
        if known is None and templates is None:
            problems.add("channel", f"is required here: one of {', '.join(REQUEST_CHANNELS)}")
        return known
    if not isinstance(value, str) or value not in REQUEST_CHANNELS:
        hint = ""
        if isinstance(value, str) and (close := difflib.get_close_matches(value, REQUEST_CHANNELS)):
            hint = f" (did you mean {close[0]!r}?)"
        problems.add("channel", f"{_show(value)} is not one of {', '.join(REQUEST_CHANNELS)}{hint}")
        return known
    channel: RequestChannel = value
    if known is not None and channel != known:
        problems.add(
            "channel",
            f"{channel!r} does not match template {template!r}, which is {known!r}: use a "
            f"{channel} template or leave channel out",
        )
        return known
    return channel


def _recipient(
    problems: _Problems, channel: RequestChannel | None, to: object, contact: object
) -> tuple[str | None, str | None]:
    contact_id: str | None = None
    if contact is not None:
        if isinstance(contact, str) and _UUID.fullmatch(contact):
            contact_id = contact.lower()
        else:
            problems.add(
                "external_contact_id",
                f"{_show(contact)} is not a Genesys external contact id (a UUID)",
            )
    if contact is not None and channel in ("whatsapp", "email"):
        problems.add(
            "external_contact_id",
            f"is not used for {channel}: Genesys sends to an external contact only by SMS or "
            "web messaging; leave it out",
        )
    if channel == "webmessaging":
        if to is not None:
            problems.add(
                "to", "must be left out for webmessaging: the contact is external_contact_id"
            )
        if contact is None:
            problems.add(
                "external_contact_id", "is required for webmessaging: the Genesys external contact"
            )
        return None, contact_id
    if to is None:
        if channel is not None:
            what = "an email address" if channel == "email" else "an E.164 number like +13175550100"
            problems.add("to", f"is required for {channel}: {what}")
        return None, contact_id
    if not isinstance(to, str) or not to or len(to) > _MAX_ADDRESS:
        problems.add("to", f"{_show(to)} must be one address as a string")
        return None, contact_id
    if channel == "email":
        problem = header_problem(to)
        if problem is None and not _EMAIL.fullmatch(to):
            problem = "is not an email address (expected name@example.com)"
        if problem is not None:
            problems.add("to", f"{_show(to)} {problem}")
            return None, contact_id
    elif channel is not None and (problem := e164_problem(to)) is not None:
        problems.add("to", problem)
        return None, contact_id
    return to, contact_id


def _variables(problems: _Problems, value: object) -> dict[str, Variable]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add("variables", f"must be a JSON object of names to values, got {_show(value)}")
        return {}
    if len(value) > MAX_VARIABLES:
        problems.add("variables", f"has {len(value)} entries, over {MAX_VARIABLES}: send fewer")
        return {}
    out: dict[str, Variable] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
            problems.add(
                "variables",
                f"{_show(name)} is not a variable name (letters, digits and _, e.g. order_id)",
            )
            continue
        where = f"variables.{name}"
        if isinstance(item, str):
            if len(item) > MAX_VARIABLE_CHARACTERS:
                problems.add(
                    where, f"is {len(item)} characters, over {MAX_VARIABLE_CHARACTERS}: shorten it"
                )
                continue
        elif isinstance(item, bool):
            pass
        elif isinstance(item, int):
            if abs(item) > _MAX_INTEGER:
                problems.add(where, "is beyond +/-2**53: send a large number as a string")
                continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.add(where, f"{item!r} is not a finite number")
                continue
        else:
            problems.add(
                where,
                f"{_show(item)} must be a string, number or boolean (no lists, objects or null)",
            )
            continue
        out[name] = item
    return out


def _timezone(problems: _Problems, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 64:  # the longest IANA name is 32
        problems.add("timezone", f"{_show(value)} must be an IANA time zone name")
        return None
    if (problem := timezone_problem(value)) is not None:
        problems.add("timezone", problem)
        return None
    return value


def _instant(problems: _Problems, name: str, value: object) -> datetime | None:
    if value is None:
        return None
    example = "e.g. 2026-03-08T09:00:00-05:00 or 2026-03-08T14:00:00Z"
    if not isinstance(value, str) or len(value) > 40:
        problems.add(name, f"{_show(value)} must be an ISO-8601 date-time string, {example}")
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        problems.add(name, f"{_show(value)} is not an ISO-8601 date-time, {example}")
        return None
    if instant.tzinfo is None or instant.utcoffset() is None:
        problems.add(name, f"{_show(value)} has no offset: add Z or one like -05:00, {example}")
        return None
    return instant
