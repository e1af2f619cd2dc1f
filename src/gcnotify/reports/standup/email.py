"""The standup pack's email body: headline, queue table and bar charts, as text the templates print.

Every number is formatted here with the pack's own ``format_value``/``format_delta``, so the
email, the PDF and the XLSX cannot disagree. A change is never told by colour alone: it carries
▲/▼, a signed value and the comparison it is against ("vs last Tue"); a change that cannot be
shown is "—" with its reason. Bars are table cells with a width in %, the value as text beside
them, so they need no images and survive Outlook. The HTML keeps under Gmail's clipping size by
showing fewer queues (saying so) rather than being cut off mid-table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gcnotify.core.text import one_line
from gcnotify.reports.standup.compare import (
    STANDUP_METRICS,
    Baseline,
    Delta,
    HeatTable,
    QueueComparison,
    StandupComparison,
    StandupMetric,
    day_text,
)
from gcnotify.reports.standup.pack import NO_DATA, format_delta, format_value

__all__ = [
    "BAD",
    "GOOD",
    "Bar",
    "Cell",
    "Change",
    "HeatChart",
    "Line",
    "QueueGroup",
    "Tile",
    "change",
    "render_standup_email",
    "standup_context",
    "standup_text",
]

GOOD = "#1b7f3b"  # the PDF's colours, so a reader sees one pack
BAD = "#b42318"
BAR = "#3e6fb0"
PEAK_BAR = "#d9822b"
_TEXT_BAR_WIDTH = 24  # characters of the longest bar in the text part
_LONG_WORD = 24  # characters of a word that a queue column of the table cannot hold
_TEXT_NAME_WIDTH = 32  # characters of a queue name beside a text bar, so the bars line up

Render = Callable[[str, Mapping[str, Any]], str]

_STEP_WORDS = {"PT30M": "half hour", "PT1H": "hour"}
_FORMULA_NOTES = (
    "Each change compares the day with the same weekday last week and with the daily average "
    "of the four same weekdays before it that were open. Rates and times of several days or "
    "queues divide summed parts (for example Σ answer time ÷ Σ answered); they never average "
    "percentages.",
    "▲ is up and ▼ is down, always with a signed value. Green means better and red worse: "
    "higher is better for service level; lower is better for abandon %, ASA and AHT. Offered "
    "and answered are not judged. “—” means no change can be shown; the reason is given.",
)


@dataclass(frozen=True)
class Change:
    """One delta as shown. ``text``: "▲ +93 (+8.7%)", with ``colour`` and ``verdict``;
    ``short``, for the narrow queue table, is the relative change of a count and the change
    itself otherwise ("▲ +8.7%", "▼ −0:20"), with ``short_colour``. "—" for both when there is
    no change. A colour is empty when the change is not judged."""

    text: str
    colour: str
    verdict: str  # "better", "worse" or "" (not judged, too small to show, or no change)
    short: str
    short_colour: str
    basis: str  # "vs last Tue"
    reason: str  # why there is no change; empty when there is one


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Cell:
    text: str
    colour: str = ""


@dataclass(frozen=True)
class Line:
    """A row of changes of one queue against one comparison ("vs last Tue")."""

    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class QueueGroup:
    """One queue (or the total) in the queue table: its values, then a row per comparison.

    ``long_word``: the name holds a word too long for its column, which would otherwise
    widen the table past 600 px; only those cells pay the bytes of a break rule.
    """

    label: str
    values: tuple[Cell, ...]
    changes: tuple[Line, ...]
    total: bool = False
    long_word: bool = False


@dataclass(frozen=True)
class Bar:
    """A bar of a chart: ``width`` in % of the track (0 draws none), the value beside it."""

    label: str
    value: str
    width: int
    peak: bool = False
    total: bool = False


@dataclass(frozen=True)
class HeatChart:
    title: str  # "Offered by half hour"
    timezone: str
    summary: str  # the peak in words
    bars: tuple[Bar, ...]


_NBSP = "\u00a0"
_ARROWS = {"up": "▲", "down": "▼"}


def _verdict(metric: StandupMetric, delta: Delta) -> str:
    direction = delta.direction
    if metric.better is None or direction in (None, "flat"):
        return ""
    return "better" if (direction == "up") == (metric.better == "higher") else "worse"


def _unbroken(text: str) -> str:
    """No line break inside "+3.9 pts" or after the arrow: a narrow cell breaks only before "("."""
    return text.replace(" pts", _NBSP + "pts")


def _judged(metric: StandupMetric, delta: Delta, text: str) -> tuple[str, str, str]:
    """``text`` led by its arrow, with its colour and verdict, or bare when it shows no movement
    at its precision: "▼ −0.0 pts, better" would claim a move the reader cannot see."""
    if not re.search(r"[1-9]", text):
        return _unbroken(re.sub("[+−]", "", text)), "", ""
    verdict = _verdict(metric, delta)
    arrow = _ARROWS.get(delta.direction or "", "") + _NBSP
    return _unbroken(arrow + text), {"better": GOOD, "worse": BAD}.get(verdict, ""), verdict


def change(metric: StandupMetric, delta: Delta, basis: Baseline) -> Change:
    """The delta of ``metric`` against ``basis`` as the email shows it, in full and short."""
    if delta.change is None:
        return Change(NO_DATA, "", "", NO_DATA, "", basis.label, delta.reason or "no data")
    plain = format_delta(metric, delta)
    absolute, _, relative = plain.partition(" (")
    short = relative.removesuffix(")") if metric.kind == "count" and relative else absolute
    text, colour, verdict = _judged(metric, delta, plain)
    short, short_colour, _ = _judged(metric, delta, short)
    return Change(text, colour, verdict, short, short_colour, basis.label, "")


def _changes(
    line: QueueComparison, metric: StandupMetric, bases: Sequence[Baseline]
) -> list[Change]:
    return [change(metric, line.deltas[b.key][metric.name], b) for b in bases]


def _tiles(comparison: StandupComparison) -> list[Tile]:
    total = comparison.total
    return [
        Tile(
            m.label,
            format_value(m.kind, total.values[m.name]),
            tuple(_changes(total, m, comparison.baselines)),
        )
        for m in STANDUP_METRICS
    ]


def _shown_bases(comparison: StandupComparison) -> list[Baseline]:
    """The comparisons with at least one day to stand on: the others would be rows of "—"."""
    return [b for b in comparison.baselines if b.used]


def _group(line: QueueComparison, bases: Sequence[Baseline]) -> QueueGroup:
    values = tuple(Cell(format_value(m.kind, line.values[m.name])) for m in STANDUP_METRICS)
    changes = []
    for b in bases:
        cells = []
        for m in STANDUP_METRICS:
            c = change(m, line.deltas[b.key][m.name], b)
            cells.append(Cell(c.short, c.short_colour))
        changes.append(Line(b.label, tuple(cells)))
    long_word = any(len(word) > _LONG_WORD for word in line.label.split())
    return QueueGroup(line.label, values, tuple(changes), line.queue_id is None, long_word)


def _bar_width(value: float, scale: float) -> int:
    """Whole percent of the track; a value above zero always shows at least a sliver."""
    if scale <= 0 or value <= 0:
        return 0
    return max(1, min(100, round(100 * value / scale)))


def _service_level_bars(lines: Sequence[QueueComparison]) -> list[Bar]:
    """One bar per queue on a 0–100 % scale, and the total last."""
    bars = []
    for line in lines:
        value = line.values["service_level"]
        text = "no data" if value is None else format_value("percent", value)
        bars.append(Bar(line.label, text, _bar_width(value or 0, 1), total=line.queue_id is None))
    return bars


def _interval_text(label: str, end: str) -> str:
    return f"{label}–{end}"


def _heat(heat: HeatTable | None) -> HeatChart | None:
    if heat is None:
        return None
    step = _STEP_WORDS.get(heat.granularity, "interval")
    peak = heat.peak
    scale = peak.offered if peak is not None else 0
    bars = tuple(
        Bar(
            _interval_text(row.label, f"{row.end:%H:%M}"),
            format_value("count", row.offered),
            _bar_width(row.offered, scale),
            row.peak,
        )
        for row in heat.rows
    )
    if peak is None:
        summary = f"Nothing was offered in any {step} of the day."
    else:
        when = _interval_text(peak.label, f"{peak.end:%H:%M}")
        share = format_value("percent", peak.offered / heat.total.offered)
        summary = (
            f"Peak {when}: {format_value('count', peak.offered)} offered, {share} of the day's "
            f"{format_value('count', heat.total.offered)}. The longest bar is the peak."
        )
    return HeatChart(f"Offered by {step}", heat.timezone, summary, bars)


def _basis_notes(comparison: StandupComparison) -> list[str]:
    """What each comparison stands on: its date, or how many days the average used and why."""
    return [f"{b.label}: {b.note}." for b in comparison.baselines]


def _left_out_notes(comparison: StandupComparison) -> list[str]:
    """A sentence for each comparison left out of the queue table, with the reason."""
    notes = []
    for b in comparison.baselines:
        if not b.used:
            reason = comparison.total.deltas[b.key][STANDUP_METRICS[0].name].reason
            notes.append(f"No change {b.label} is shown: {reason}.")
    return notes


def standup_context(
    comparison: StandupComparison,
    heat: HeatTable | None,
    *,
    shown_queues: int | None = None,
) -> dict[str, Any]:
    """The templates' values; ``shown_queues`` limits the queue table and chart to the first N."""
    lines = list(comparison.rows)
    shown = lines if shown_queues is None else lines[:shown_queues]
    bases = _shown_bases(comparison)
    day_label = day_text(comparison.business_date)[:10]  # "Tue 04 Nov"
    groups = [_group(line, bases) for line in [*shown, comparison.total]]
    queue_word = "queue" if len(lines) == 1 else "queues"
    return {
        "day_label": day_label,
        "queue_count": len(lines),
        "queue_word": queue_word,
        "tiles": _tiles(comparison),
        "basis_notes": _basis_notes(comparison),
        "left_out_notes": _left_out_notes(comparison),
        "columns": [m.label for m in STANDUP_METRICS],
        "groups": groups,
        "service_level_bars": _service_level_bars([*shown, comparison.total]),
        "heat": _heat(heat),
        "bar_colour": BAR,
        "peak_colour": PEAK_BAR,
        "formulas": [m.formula for m in STANDUP_METRICS],
        "footnotes": list(_FORMULA_NOTES),
    }


# ---------------------------------------------------------------------- the text part


def _aligned(rows: Sequence[Sequence[str]], align: str, *, indent: str = "") -> str:
    """Columns padded to their widest cell; ``align`` holds "l" or "r" for each column."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = (
            c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align, strict=True)
        )
        out.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(out)


def _with_verdict(c: Change) -> str:
    return f"{c.text} {c.verdict}" if c.verdict else c.text


def _metric_rows(line: QueueComparison, bases: Sequence[Baseline], day_label: str) -> str:
    """A queue (or the total) as metric × (the day, each comparison): narrow enough for text."""
    rows = [["", day_label, *(b.label for b in bases)]]
    for m in STANDUP_METRICS:
        rows.append(
            [
                m.label,
                format_value(m.kind, line.values[m.name]),
                *(_with_verdict(c) for c in _changes(line, m, bases)),
            ]
        )
    return _aligned(rows, "l" + "r" * (len(rows[0]) - 1), indent="  ")


def _text_name(name: str) -> str:
    name = one_line(name)
    return name if len(name) <= _TEXT_NAME_WIDTH else name[: _TEXT_NAME_WIDTH - 1] + "…"


def _text_bar(width: int) -> str:
    return "█" * max(1, round(_TEXT_BAR_WIDTH * width / 100)) if width else ""


def standup_text(comparison: StandupComparison, context: Mapping[str, Any]) -> dict[str, str]:
    """The text part's tables from every queue's ``standup_context``, whatever the HTML had
    room for."""
    day_label = context["day_label"]
    bases = list(comparison.baselines)
    missing = {
        f"{c.basis}: {c.reason}" for tile in context["tiles"] for c in tile.changes if c.reason
    }
    headline = _metric_rows(comparison.total, bases, day_label)
    if missing:
        headline += "\n\n" + "\n".join(f"— {text}" for text in sorted(missing))
    shown = _shown_bases(comparison)
    queues = "\n\n".join(
        f"{one_line(line.label)}\n{_metric_rows(line, shown, day_label)}"
        for line in [*comparison.rows, comparison.total]
    )
    service_level = _aligned(
        [[_text_name(b.label), b.value, _text_bar(b.width)] for b in context["service_level_bars"]]
        or [["(no queues)", "", ""]],
        "lrl",
    )
    heat: HeatChart | None = context["heat"]
    heat_text = ""
    if heat is not None:
        heat_text = _aligned(
            [
                [b.label, b.value, _text_bar(b.width) + ("  peak" if b.peak else "")]
                for b in heat.bars
            ],
            "lrl",
        )
    return {
        "headline_table": headline,
        "queue_tables": queues,
        "service_level_chart": service_level,
        "heat_chart": heat_text,
    }


# ---------------------------------------------------------------------- both parts


def _fits(html: str, budget: int) -> bool:
    return len(html.encode("utf-8")) < budget


def render_standup_email(
    render: Render,
    frame: Mapping[str, Any],
    comparison: StandupComparison,
    heat: HeatTable | None,
    *,
    notes: Sequence[str] = (),
    budget: int,
) -> tuple[str, str]:
    """The HTML and text bodies. If every queue does not fit ``budget`` bytes of HTML, the
    queue table and chart show as many queues as fit (found by bisection) and say so."""
    base: dict[str, Any] = {**frame, "notes": list(notes)}
    context = {**base, **standup_context(comparison, heat)}
    html = render("standup.html", context)
    count = len(comparison.rows)
    if not _fits(html, budget) and count:
        low, high = 0, count - 1  # the most queues known to fit / still to try
        best: str | None = None
        while low <= high:
            middle = (low + high) // 2
            trial = {**base, **standup_context(comparison, heat, shown_queues=middle)}
            trial["notes"] = [*notes, _cut_note(middle, count)]
            candidate = render("standup.html", trial)
            if _fits(candidate, budget):
                best, low = candidate, middle + 1
            else:
                high = middle - 1
        if best is not None:
            html = best
    text = render("standup.txt", {**context, **standup_text(comparison, context)})
    return html, text


def _cut_note(shown: int, count: int) -> str:
    return (
        f"The queue table and the service level chart show the first {shown} of {count} queues, "
        "so that this email is not clipped by the mail client; every queue is in the text part "
        "of this email and in the pack's PDF and XLSX."
    )
