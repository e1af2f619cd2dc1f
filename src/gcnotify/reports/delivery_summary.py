"""The delivery summary (``kind: delivery_summary``): what became of the messages a day sent.

Two halves. ``summarize`` is pure: the message records in, the figures out, one group per
campaign (the record's source ``campaign:<id>``, else the source itself), template and channel.
``render_summary`` is the rendering glue the Renderer calls: the figures formatted once, so the
HTML, the text part and the CSV attachment cannot disagree.

Which messages count: every record whose first send attempt (its ``sent_at`` field, else its
first ``sending`` history entry) falls in the report's window ``[start, end)``. A record is
counted once, in exactly one of delivered (read included), pending, unknown and failed, so those
four always add up to sent.

Time to delivery is ``delivered_at`` − send time over the delivered (and read) messages, its
percentiles by the nearest-rank method: the p-th percentile of n sorted values is the value of
rank ⌈p·n/100⌉ (1-based), always one of the measured values, never an interpolation.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.mail import Attachment
from gcnotify.core.text import one_line

if TYPE_CHECKING:
    from gcnotify.aws.messages import MessageRecord

__all__ = [
    "FAILED_CLASSES",
    "DeliverySummary",
    "Failure",
    "Figures",
    "Outcome",
    "nearest_rank",
    "outcome_of",
    "render_summary",
    "send_time",
    "summarize",
    "utc_days",
]

Outcome = Literal["delivered", "read", "pending", "unknown", "failed_permanent", "failed_temporary"]
FAILED_CLASSES: tuple[Outcome, ...] = ("failed_permanent", "failed_temporary")
NO_DATA = "—"
CAMPAIGN_PREFIX = "campaign:"

# Statuses of a record still on its way: no final outcome yet.
_IN_FLIGHT = frozenset({"accepted", "deferred", "sending", "failed_temporary", "sent"})
# Final statuses that end a message without delivery, when no receipt code says more.
_ENDED = frozenset({"failed_permanent", "expired", "suppressed", "rejected"})
_DELIVERED: Mapping[str, Outcome] = {"delivered": "delivered", "read": "read"}
_CLASS_WORDS = {"failed_permanent": "Permanent", "failed_temporary": "Temporary"}

Render = Callable[[str, Mapping[str, Any]], str]


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.utcoffset() is not None else None


def send_time(record: MessageRecord) -> datetime | None:
    """When the message was first handed to the sender's send step: ``sent_at``, else the first
    ``sending`` move of its history; None for a record that was never sent."""
    at = _when(record.fields.get("sent_at"))
    if at is not None:
        return at
    for entry in record.history:
        if entry.status == "sending" and entry.at is not None:
            return entry.at
    return None


def outcome_of(record: MessageRecord) -> tuple[Outcome, str]:
    """The one bucket a record counts in, and the code shown with a failure.

    The status decides delivered and read (a receipt moved it there); a final failure keeps its
    receipt's class (a temporary failure that was not retried stays ``failed_temporary``) and the
    provider's code, else the send's own error code or the status itself.
    """
    status = record.status
    fields = record.fields
    code = fields.get("receipt_code") or fields.get("error_code")
    if not code and fields.get("error_status") is not None:
        code = f"http {fields['error_status']}"
    text = str(code) if code else status
    if status in _DELIVERED:
        return _DELIVERED[status], text
    if status == "unknown":
        return "unknown", text
    if status in _IN_FLIGHT:
        return "pending", text
    receipt_class = fields.get("receipt_class")
    if status in _ENDED and receipt_class == "failed_temporary":
        return "failed_temporary", text
    return "failed_permanent", text


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC dates ``[start, end)`` touches: the day index's keys a window must read (two for
    one local business day anywhere but UTC)."""
    first = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def nearest_rank(ordered: Sequence[timedelta], percent: int) -> timedelta | None:
    """The ``percent``-th percentile of ascending values by nearest rank; None without values."""
    if not ordered:
        return None
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    rank = -(-percent * len(ordered) // 100)  # ⌈percent·n/100⌉ in integers: no float rounding
    return ordered[rank - 1]


@dataclass(frozen=True)
class Failure:
    """Failed messages of one class and provider code."""

    cls: Outcome
    code: str
    count: int


@dataclass(frozen=True)
class Figures:
    """One group's numbers (or the total's: ``campaign``/``template``/``channel`` empty)."""

    campaign: str  # the campaign id, or the source of messages sent outside campaigns
    is_campaign: bool
    template: str
    channel: str
    sent: int
    delivered: int  # delivered or read: a read message was delivered
    read: int
    pending: int
    unknown: int
    failures: tuple[Failure, ...]  # most frequent first
    p50: timedelta | None
    p90: timedelta | None

    @property
    def failed(self) -> int:
        return sum(f.count for f in self.failures)

    @property
    def delivered_percent(self) -> float | None:
        return 100.0 * self.delivered / self.sent if self.sent else None

    @property
    def label(self) -> str:
        """``campaign · template · channel`` as the text part and the CSV name the group."""
        return f"{self.campaign_label} · {self.template} · {self.channel}"

    @property
    def campaign_label(self) -> str:
        return f"campaign {self.campaign}" if self.is_campaign else f"{self.campaign} (no campaign)"


@dataclass(frozen=True)
class DeliverySummary:
    """The day's figures: one ``Figures`` per group in name order, and their total."""

    groups: tuple[Figures, ...]
    total: Figures
    outside_window: int = 0  # records read from the day index that were sent outside the window

    @property
    def has_data(self) -> bool:
        return self.total.sent > 0


@dataclass
class _Tally:
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    failures: Counter[tuple[Outcome, str]] = field(default_factory=Counter)
    delays: list[timedelta] = field(default_factory=list)

    def add(self, outcome: Outcome, code: str, delay: timedelta | None) -> None:
        self.outcomes[outcome] += 1
        if outcome in FAILED_CLASSES:
            self.failures[outcome, code] += 1
        if delay is not None:
            self.delays.append(delay)

    def figures(self, campaign: str, is_campaign: bool, template: str, channel: str) -> Figures:
        delays = sorted(self.delays)
        failures = sorted(self.failures.items(), key=lambda item: (-item[1], item[0]))
        return Figures(
            campaign=campaign,
            is_campaign=is_campaign,
            template=template,
            channel=channel,
            sent=sum(self.outcomes.values()),
            delivered=self.outcomes["delivered"] + self.outcomes["read"],
            read=self.outcomes["read"],
            pending=self.outcomes["pending"],
            unknown=self.outcomes["unknown"],
            failures=tuple(Failure(cls, code, n) for (cls, code), n in failures),
            p50=nearest_rank(delays, 50),
            p90=nearest_rank(delays, 90),
        )


def _group_of(record: MessageRecord) -> tuple[str, bool, str, str]:
    source = str(record.fields.get("source") or "unknown source")
    is_campaign = source.startswith(CAMPAIGN_PREFIX) and len(source) > len(CAMPAIGN_PREFIX)
    campaign = source.removeprefix(CAMPAIGN_PREFIX) if is_campaign else source
    return campaign, is_campaign, record.template or "?", record.channel or "?"


def _delay(record: MessageRecord, sent: datetime, outcome: Outcome) -> timedelta | None:
    """Delivered minus sent; a provider clock a little behind ours counts as instant, not < 0."""
    if outcome not in ("delivered", "read"):
        return None
    delivered = _when(record.fields.get("delivered_at"))
    if delivered is None:
        return None
    return max(delivered - sent, timedelta(0))


def summarize(records: Iterable[MessageRecord], start: datetime, end: datetime) -> DeliverySummary:
    """The figures of every record first sent in ``[start, end)``, each key counted once."""
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("the window's start and end must be timezone-aware")
    groups: dict[tuple[str, bool, str, str], _Tally] = {}
    total = _Tally()
    seen: set[str] = set()
    outside = 0
    for record in records:
        if record.key in seen:
            continue
        seen.add(record.key)
        sent = send_time(record)
        if sent is None or not start <= sent < end:
            outside += 1
            continue
        outcome, code = outcome_of(record)
        delay = _delay(record, sent, outcome)
        groups.setdefault(_group_of(record), _Tally()).add(outcome, code, delay)
        total.add(outcome, code, delay)
    ordered = sorted(groups.items(), key=lambda item: (not item[0][1], *item[0]))
    return DeliverySummary(
        groups=tuple(tally.figures(*key) for key, tally in ordered),
        total=total.figures("All messages", False, "", ""),
        outside_window=outside,
    )


# --- rendering glue ------------------------------------------------------------------------

COLUMNS = ("Sent", "Delivered %", "Read", "Failed", "Pending", "Unknown", "p50", "p90")
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MIN_GROUPS_SHOWN = 10


def format_duration(value: timedelta | None) -> str:
    """h:mm:ss, rounded to the second; "—" when nothing was delivered."""
    if value is None:
        return NO_DATA
    seconds = round(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def format_percent(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f}%"


def _cells(f: Figures) -> tuple[str, ...]:
    return (
        f"{f.sent:,}",
        format_percent(f.delivered_percent),
        f"{f.read:,}",
        f"{f.failed:,}",
        f"{f.pending:,}",
        f"{f.unknown:,}",
        format_duration(f.p50),
        format_duration(f.p90),
    )


def _failure_text(failure: Failure) -> str:
    return f"{_CLASS_WORDS.get(failure.cls, failure.cls)}: {failure.code}"


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Aligned columns: the first ``left`` flush left, the numbers flush right."""
    every = [header, *rows]
    widths = [max(len(r[i]) for r in every) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def _csv_text(text: str) -> str:
    """Neutralise spreadsheet formulas in names (a template called "=HYPERLINK(…)")."""
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def summary_csv(summary: DeliverySummary) -> bytes:
    """Every group and every failure code, one row each: what the body leaves out when long."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["Campaign or source", "Template", "Channel", "Failure class", "Failure code", *COLUMNS]
    )
    for f in (*summary.groups, summary.total):
        names = [_csv_text(f.campaign_label), _csv_text(f.template), _csv_text(f.channel)]
        writer.writerow([*names, "", "", *(c.replace(",", "") for c in _cells(f))])
        for failure in f.failures if f is not summary.total else ():
            writer.writerow(
                [*names, failure.cls, _csv_text(failure.code), "", "", "", failure.count]
            )
    return buffer.getvalue().encode("utf-8")


def _campaign_sections(groups: Sequence[Figures]) -> list[dict[str, Any]]:
    """Groups under one heading per campaign (or source), striped afresh in each section."""
    sections: list[dict[str, Any]] = []
    for f in groups:
        if not sections or sections[-1]["campaign"] != f.campaign_label:
            sections.append({"campaign": f.campaign_label, "rows": [], "failures": []})
        section = sections[-1]
        section["rows"].append(
            {
                "label": f"{f.template} · {f.channel}",
                "cells": _cells(f),
                "shade": len(section["rows"]) % 2 == 1,
            }
        )
        for failure in f.failures:
            section["failures"].append(
                {
                    "label": f"{f.template} · {f.channel} — {_failure_text(failure)}",
                    "count": f"{failure.count:,}",
                }
            )
    return sections


_DEFINITIONS = (
    "Sent: every message whose first send attempt fell in the window, whatever became of it.",
    "Delivered %: delivered (read included) ÷ sent. Read: the provider reported it read or opened.",
    "Failed: a final failure, by class and the provider's code: permanent (will not succeed as "
    "sent) or temporary (not retried, e.g. past its expiry).",
    "Pending: sent or being retried, no final receipt yet. Unknown: the provider gave no usable "
    "outcome, or a code gcnotify does not know.",
    "p50/p90: time from the send to the delivery receipt over the delivered messages, h:mm:ss, "
    "by nearest rank (half and nine in ten were delivered at least that fast).",
)


def render_summary(
    render: Render,
    frame: Mapping[str, Any],
    summary: DeliverySummary,
    *,
    budget: int,
    stem: str,
) -> tuple[str, str, tuple[Attachment, ...]]:
    """The email's HTML and text, kept under ``budget`` HTML bytes.

    A summary too long for the body keeps its largest groups (and the total), says so, and
    travels whole as a CSV attachment.
    """
    total = summary.total
    tiles = [
        {"label": "Sent", "value": f"{total.sent:,}"},
        {"label": "Delivered", "value": format_percent(total.delivered_percent)},
        {"label": "Failed", "value": f"{total.failed:,}"},
        {"label": "Delivery p50", "value": format_duration(total.p50)},
    ]
    window_label = frame["window_label"]
    context: dict[str, Any] = {
        **frame,
        "has_data": summary.has_data,
        "tiles": tiles,
        "columns": COLUMNS,
        "group_count": len(summary.groups),
        "sections": _campaign_sections(summary.groups),
        "total": {"label": total.campaign, "cells": _cells(total)},
        "failure_count": total.failed,
        "notes": [],
        "message": (
            f"No messages were sent during {window_label}. The messages table was read and "
            "held none for this window; this is not a failure."
        ),
        "definitions": _DEFINITIONS,
    }
    attachments: list[Attachment] = []
    shown = list(summary.groups)
    html = render("delivery_summary.html", context)
    while len(html.encode("utf-8")) >= budget and shown:
        if not attachments:
            attachments.append(Attachment(f"{stem}-delivery.csv", summary_csv(summary), "text/csv"))
        limit = len(shown) // 2 if len(shown) > _MIN_GROUPS_SHOWN else 0
        ranked = sorted(range(len(summary.groups)), key=lambda i: -summary.groups[i].sent)
        keep = sorted(ranked[:limit])  # the largest groups, back in name order
        shown = [summary.groups[i] for i in keep]
        context["sections"] = _campaign_sections(shown)
        context["notes"] = [
            f"The {len(summary.groups)} groups are too many for the email body: the "
            f"{len(shown)} with the most messages are shown; all of them, with every failure "
            f"code, are in the attached {stem}-delivery.csv. The total counts every message."
        ]
        html = render("delivery_summary.html", context)
    header = "Campaign · template · channel"
    text_context = {
        **context,
        "summary_line": " · ".join(f"{t['label']} {t['value']}" for t in tiles),
        "group_table": _text_table(
            [header, *COLUMNS],
            [*([one_line(f.label), *_cells(f)] for f in shown), [total.campaign, *_cells(total)]],
        ),
        "failure_table": _text_table(
            [header, "Failure", "Messages"],
            [
                [one_line(f.label), _failure_text(failure), f"{failure.count:,}"]
                for f in shown
                for failure in f.failures
            ],
            left=2,
        )
        if any(f.failures for f in shown)
        else "",
    }
    text = render("delivery_summary.txt", text_context)
    return html, text, tuple(attachments)
