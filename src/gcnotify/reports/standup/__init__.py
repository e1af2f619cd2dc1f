"""The standup pack: the day's queue numbers against the same weekdays before, the interval heat
table, and the pack's PDF and XLSX attachments. The maths here is pure; the PDF and XLSX
libraries are imported only when a pack is built (cold start)."""

from __future__ import annotations

from gcnotify.reports.standup.compare import (
    COMPARISON_DAYS,
    STANDUP_METRICS,
    Baseline,
    Delta,
    HeatRow,
    HeatTable,
    QueueComparison,
    StandupComparison,
    compare_days,
    heat_table,
)
from gcnotify.reports.standup.counts import (
    GENESYS_METRICS,
    Counts,
    counts_by_day,
    counts_by_interval,
    standup_queries,
)
from gcnotify.reports.standup.pack import Column, Section, StandupPack

__all__ = [
    "COMPARISON_DAYS",
    "GENESYS_METRICS",
    "STANDUP_METRICS",
    "Baseline",
    "Column",
    "Counts",
    "Delta",
    "HeatRow",
    "HeatTable",
    "QueueComparison",
    "Section",
    "StandupComparison",
    "StandupPack",
    "compare_days",
    "counts_by_day",
    "counts_by_interval",
    "heat_table",
    "standup_queries",
]
