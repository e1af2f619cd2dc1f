"""Pure payload builders: one ``ChatMessage`` as a Slack or a Microsoft Teams webhook body.

Everything in a message is treated as user text (queue names, error messages), so each builder
escapes what its service would otherwise parse: a queue called ``<!channel>`` must not ping a
channel, and one called ``[Pay here](https://…)`` must not become a link.

Where the formats come from:

- Slack: Block Kit ``header`` (plain_text, at most 150 characters) and ``section`` blocks (mrkdwn
  text of at most 3000 characters, or at most 10 ``fields`` of at most 2000), at most 50 blocks,
  and a top-level ``text`` that notifications show instead of the blocks
  (docs.slack.dev/reference/block-kit/blocks; the same limits are in slack_sdk 3.47's
  ``models/blocks/blocks.py``, and ``webhook/client.py`` recommends ``text`` as the fallback).
  Escaping: "Slack uses &, <, and > as control characters … replace them with &amp;, &lt; and
  &gt;", and only those (api.slack.com/reference/surfaces/formatting, "Escaping text").
  ``verbatim: true`` turns off Slack's own linking of URLs and channel names in mrkdwn
  (slack_sdk ``MarkdownTextObject``). mrkdwn has no escape for ``*``, ``_`` or ``~``: user text can
  still render bold or italic, but it cannot mention anyone or link anywhere.
- Teams: the incoming-webhook and Workflows body ``{"type": "message", "attachments":
  [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content":
  <AdaptiveCard>}]}`` (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/
  how-to/connectors-using, "Send Adaptive Cards using an incoming webhook"); Workflows accept
  Adaptive Cards only, and cards above version 1.4 fail there, so the card says 1.4. The message
  size limit is 28 KB (…/how-to/add-incoming-webhook). TextBlock text, Fact.Title and Fact.Value
  render a Markdown subset (…/task-modules-and-cards/cards/cards-format; a line break needs
  ``\\n\\n``), so Markdown-significant characters in user text are backslash-escaped as
  CommonMark allows, and ``{``/``}`` too: the ``{{DATE(…)}}``/``{{TIME(…)}}`` functions are
  expanded before Markdown (adaptivecards 3.0.6, ``lib/text-formatters.js``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "ADAPTIVE_CARD_VERSION",
    "CHAT_KINDS",
    "SEVERITIES",
    "SLACK_BLOCKS_MAX",
    "SLACK_FALLBACK_MAX",
    "SLACK_FIELDS_MAX",
    "SLACK_FIELD_TEXT_MAX",
    "SLACK_HEADER_MAX",
    "SLACK_SECTION_TEXT_MAX",
    "TEAMS_CARD_CONTENT_TYPE",
    "TEAMS_PAYLOAD_MAX_BYTES",
    "ChatKind",
    "ChatMessage",
    "Severity",
    "build_payload",
    "encode_payload",
    "slack_escape",
    "slack_payload",
    "teams_escape",
    "teams_payload",
]

ChatKind = Literal["slack", "teams"]
Severity = Literal["info", "warning", "error"]
CHAT_KINDS: tuple[ChatKind, ...] = get_args(ChatKind)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

SLACK_HEADER_MAX = 150
SLACK_SECTION_TEXT_MAX = 3000
SLACK_FIELD_TEXT_MAX = 2000
SLACK_FIELDS_MAX = 10
SLACK_BLOCKS_MAX = 50
# Slack truncates a message's text past 40,000 characters; a notification shows far less.
SLACK_FALLBACK_MAX = 4000

TEAMS_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_VERSION = "1.4"
# "28 KB": the smaller reading, on the exact bytes sent.
TEAMS_PAYLOAD_MAX_BYTES = 28_000

_ELLIPSIS = "…"
_EMPTY_VALUE = "—"

# Shortcodes Slack renders as emoji in a plain_text header with "emoji": true.
_SLACK_SEVERITY = {
    "info": ":information_source: ",
    "warning": ":warning: ",
    "error": ":rotating_light: ",
}
# Adaptive Card TextBlock colors (adaptivecards TextColor).
_TEAMS_SEVERITY = {"info": "Accent", "warning": "Warning", "error": "Attention"}


# --------------------------------------------------------------------------- the message


def _printable(text: str) -> str:
    """Drop control characters (a tab becomes a space); a lone surrogate cannot be UTF-8."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\t":
            out.append(" ")
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            continue
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def _lines(text: str) -> list[str]:
    """Text split at every line break Python knows, each part printable and right-stripped."""
    return [_printable(part).rstrip() for part in text.splitlines()]


def _one_line(text: str) -> str:
    """A title, label or value: one line, runs of blanks kept as the user wrote them."""
    return " ".join(part.strip() for part in _lines(text) if part.strip())


@dataclass(frozen=True)
class ChatMessage:
    """A short chat post: a title, lines of text, label/value facts, and an optional severity.

    Every string is plain user text; the builders escape it for each service.
    """

    title: str
    lines: Sequence[str] = ()
    facts: Sequence[tuple[str, str]] = ()
    severity: Severity | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not _one_line(self.title):
            raise ValueError("a chat message needs a non-empty title")
        lines = tuple(self.lines)
        if any(not isinstance(line, str) for line in lines):
            raise ValueError("chat message lines must be strings")
        facts = tuple(tuple(fact) for fact in self.facts)
        for fact in facts:
            if len(fact) != 2 or not all(isinstance(part, str) for part in fact):
                raise ValueError("each chat message fact must be a (label, value) pair of strings")
            if not _one_line(fact[0]):
                raise ValueError("a chat message fact needs a non-empty label")
        if self.severity is not None and self.severity not in SEVERITIES:
            raise ValueError(
                f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)} (or None)"
            )
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "facts", facts)


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted, so a size checked is the size the service receives."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


# --------------------------------------------------------------------------- Slack


def slack_escape(text: str) -> str:
    """Slack's three control characters as HTML entities, and nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_fit(text: str, limit: int) -> str:
    """``text`` escaped, cut to ``limit`` characters as sent (never inside an entity)."""
    escaped = slack_escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for char in text:
        piece = slack_escape(char)
        if size + len(piece) > limit - len(_ELLIPSIS):
            break
        out.append(piece)
        size += len(piece)
    return "".join(out).rstrip() + _ELLIPSIS


def _slack_sections(lines: Sequence[str]) -> list[str]:
    """The lines as mrkdwn texts of at most 3000 characters, split between lines."""
    chunks: list[str] = []
    current: str | None = None
    for line in lines:
        piece = _slack_fit(line, SLACK_SECTION_TEXT_MAX)
        if current is None:
            current = piece
        elif len(current) + 1 + len(piece) <= SLACK_SECTION_TEXT_MAX:
            current = f"{current}\n{piece}"
        else:
            chunks.append(current)
            current = piece
    if current is not None:
        chunks.append(current)
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def _slack_field(label: str, value: str) -> str:
    """``*Label*`` over its value; a label holding ``*`` stays plain (mrkdwn cannot escape it)."""
    head = _slack_fit(_one_line(label), 200)
    if "*" not in head:
        head = f"*{head}*"
    body = _one_line(value) or _EMPTY_VALUE
    return f"{head}\n{_slack_fit(body, SLACK_FIELD_TEXT_MAX - len(head) - 1)}"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def slack_payload(message: ChatMessage) -> dict[str, Any]:
    """The incoming-webhook body: a header, mrkdwn sections, and a plain ``text`` fallback."""
    prefix = _SLACK_SEVERITY[message.severity] if message.severity else ""
    title = _one_line(message.title)
    lines = [line for text in message.lines for line in _lines(text)]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": prefix + _slack_fit(title, SLACK_HEADER_MAX - len(prefix)),
                "emoji": True,
            },
        }
    ]
    blocks.extend({"type": "section", "text": _mrkdwn(text)} for text in _slack_sections(lines))
    fields = [_mrkdwn(_slack_field(label, value)) for label, value in message.facts]
    for start in range(0, len(fields), SLACK_FIELDS_MAX):
        blocks.append({"type": "section", "fields": fields[start : start + SLACK_FIELDS_MAX]})
    if len(blocks) > SLACK_BLOCKS_MAX:
        raise ValueError(
            f"the chat message needs {len(blocks)} Slack blocks; Slack accepts at most "
            f"{SLACK_BLOCKS_MAX} per message: send fewer lines or facts"
        )
    fallback = "\n".join([prefix + title, *(line for line in lines if line.strip())])
    return {
        "text": _slack_fit(fallback, SLACK_FALLBACK_MAX),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


# --------------------------------------------------------------------------- Teams

# Significant anywhere in a line (CommonMark lets a backslash escape any ASCII punctuation).
_MD_ANYWHERE = frozenset("\\`*~[]<>{}&")
# Where a line starts: an ATX heading, a bullet item, a thematic break, a setext underline, an
# ordered item. Only these forms are escaped, so "#1 queue" or "3.5 min" keep no backslash.
_MD_BLOCK_START = re.compile(r"(?:#{1,6}|[-+])(?=\s|$)|(?:-\s*){3,}$|=+\s*$")
_MD_ORDERED_START = re.compile(r"(\d{1,9})([.)])(?=\s|$)")


def _teams_escape_line(line: str) -> str:
    # Leading blanks would turn the line into an indented code block.
    line = line.lstrip()
    out: list[str] = []
    start = 0
    ordered = _MD_ORDERED_START.match(line)
    if _MD_BLOCK_START.match(line):
        out.append("\\" + line[0])
        start = 1
    elif ordered:
        out.append(ordered.group(1) + "\\" + ordered.group(2))
        start = ordered.end()
    for index in range(start, len(line)):
        char = line[index]
        if char == "_":
            # An underscore inside a word (Sales_EU) never emphasises in CommonMark: left as is.
            inside = (
                0 < index < len(line) - 1
                and line[index - 1].isalnum()
                and line[index + 1].isalnum()
            )
            out.append("_" if inside else "\\_")
        elif char in _MD_ANYWHERE:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def teams_escape(text: str) -> str:
    """User text as an Adaptive Card TextBlock shows it literally; line breaks become ``\\n\\n``."""
    return "\n\n".join(_teams_escape_line(line) for line in _lines(text) if line.strip())


def teams_payload(message: ChatMessage) -> dict[str, Any]:
    """The Workflows/incoming-webhook body: one Adaptive Card with a title, text and facts."""
    title: dict[str, Any] = {
        "type": "TextBlock",
        "text": teams_escape(_one_line(message.title)),
        "size": "Large",
        "weight": "Bolder",
        "wrap": True,
    }
    if message.severity:
        title["color"] = _TEAMS_SEVERITY[message.severity]
    body: list[dict[str, Any]] = [title]
    body.extend(
        {"type": "TextBlock", "text": text, "wrap": True}
        for text in (teams_escape(line) for line in message.lines)
        if text
    )
    if message.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {
                        "title": teams_escape(_one_line(label)),
                        "value": teams_escape(_one_line(value)) or _EMPTY_VALUE,
                    }
                    for label, value in message.facts
                ],
            }
        )
    payload: dict[str, Any] = {
        "type": "message",
        "attachments": [
            {
                "contentType": TEAMS_CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": ADAPTIVE_CARD_VERSION,
                    "body": body,
                },
            }
        ],
    }
    size = len(encode_payload(payload))
    if size > TEAMS_PAYLOAD_MAX_BYTES:
        raise ValueError(
            f"the chat message is {size} bytes as a Teams card; Teams accepts at most "
            f"{TEAMS_PAYLOAD_MAX_BYTES} (28 KB): send fewer or shorter lines"
        )
    return payload


def build_payload(kind: ChatKind, message: ChatMessage) -> dict[str, Any]:
    """The body for ``kind``'s webhook."""
    if kind == "slack":
        return slack_payload(message)
    if kind == "teams":
        return teams_payload(message)
    raise ValueError(f"unknown chat kind {kind!r}; expected one of {', '.join(CHAT_KINDS)}")
