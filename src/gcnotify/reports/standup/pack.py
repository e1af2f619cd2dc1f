"""What a standup pack holds, in one value the PDF, XLSX (and email) renderers all read.

The queue comparison and the heat table have their own shapes (``compare``); the optional
agent sections (occupancy, adherence) are plain tables (``Section``) so that a renderer needs no
new code for a new section. A section that could not be computed carries the reason instead of
rows, and every renderer shows that reason rather than zeros.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from gcnotify.reports.standup.compare import (
    Delta,
    HeatTable,
    StandupComparison,
    StandupMetric,
)

__all__ = [
    "NO_DATA",
    "Cell",
    "Column",
    "ColumnKind",
    "Section",
    "StandupPack",
    "format_delta",
    "format_value",
]

NO_DATA = "—"
MINUS = "−"  # U+2212: a real minus sign, as wide as the plus

ColumnKind = Literal["text", "count", "percent", "duration"]
Cell = str | float | None


@dataclass(frozen=True)
class Column:
    """``percent`` values are fractions (0.8 = 80 %); ``duration`` values are milliseconds."""

    key: str
    label: str
    kind: ColumnKind


@dataclass(frozen=True)
class Section:
    """A table of the pack, or the reason it could not be made (``unavailable``)."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Cell], ...] = ()
    total: Mapping[str, Cell] | None = None
    note: str | None = None  # the formula and its source, printed under the table
    unavailable: str | None = None


@dataclass(frozen=True)
class StandupPack:
    report_id: str
    title: str
    business_date: date
    timezone: str
    comparison: StandupComparison
    heat: HeatTable | None = None
    sections: tuple[Section, ...] = ()
    data_as_of: datetime | None = None
    notes: tuple[str, ...] = field(default=())  # e.g. what is missing and why


def format_value(kind: ColumnKind | str, value: Cell) -> str:
    """``1,234`` · ``81.5%`` · ``0:05:12`` (from ms) · ``—`` for no data."""
    if value is None:
        return NO_DATA
    if isinstance(value, str):
        return value
    if kind == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if kind == "duration":
        return _clock(value)
    return f"{value:g}"


def _clock(ms: float) -> str:
    sign = MINUS if ms < 0 else ""
    seconds = int(abs(ms) / 1000 + 0.5)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"


def _compact_clock(ms: float) -> str:
    """``0:14`` (m:ss) under an hour, ``1:02:03`` beyond: changes are short and tables narrow."""
    seconds = int(abs(ms) / 1000 + 0.5)
    if seconds >= 3600:
        return _clock(ms)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _signed(text: str, negative: bool) -> str:
    return f"{MINUS if negative else '+'}{text}"


def format_delta(metric: StandupMetric, delta: Delta, *, arrows: bool = False) -> str:
    """``+12 (+4.1%)``, ``−2.3 pts``, ``+0:14 (+9.0%)``; ``—`` when there is no change.

    With ``arrows`` the sign is led by ▲/▼ (for media whose font has them); the sign itself
    stays, so colour is never the only signal.
    """
    change = delta.change
    if change is None:
        return NO_DATA
    negative = change < 0
    size = abs(change)
    if metric.kind == "percent":
        text = _signed(f"{100 * size:.1f} pts", negative)
    elif metric.kind == "duration":
        text = _signed(_compact_clock(size), negative)
    else:
        text = _signed(f"{size:,.0f}" if float(size).is_integer() else f"{size:,.1f}", negative)
    if delta.relative is not None:
        text += f" ({_signed(f'{100 * abs(delta.relative):.1f}%', delta.relative < 0)})"
    if arrows and delta.direction in ("up", "down"):
        text = ("▲ " if delta.direction == "up" else "▼ ") + text
    return text
