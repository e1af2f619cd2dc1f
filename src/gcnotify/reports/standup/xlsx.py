"""The standup pack as an XLSX workbook: one sheet per section, real numbers with real formats.

Built with ``xlsxwriter`` (measured lighter on a cold start than openpyxl), imported only inside
``build_xlsx``. Numbers stay numbers so a supervisor can sort, sum and chart them: percentages
are fractions formatted ``0.0%``, durations are Excel times (days) formatted ``[h]:mm:ss``, a
percentage change is a fraction formatted ``+0.0%`` with "points" in its header, and a duration
change is signed seconds (Excel cannot show a negative time). A figure with no data is an empty
cell, never a zero. Header rows (and the label column) are frozen; columns have set widths.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any

from gcnotify.reports.standup.compare import (
    STANDUP_METRICS,
    Baseline,
    QueueComparison,
    StandupMetric,
    day_text,
)
from gcnotify.reports.standup.pack import Cell, ColumnKind, Section, StandupPack

__all__ = ["MS_PER_DAY", "SHEET_NAME_MAX", "build_xlsx", "sheet_name"]

MS_PER_DAY = 86_400_000
SHEET_NAME_MAX = 31  # Excel's limit
_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name: no ``[]:*?/\\``, at most 31 characters."""
    base = " ".join(title.translate(_FORBIDDEN).split()).strip("'")
    base = base[:SHEET_NAME_MAX].rstrip() or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
        n += 1
    taken.add(name.lower())
    return name


class _Writer:
    """The workbook and its formats while one file is written."""

    def __init__(self, workbook: Any) -> None:
        self.book = workbook
        self.taken: set[str] = set()
        add = workbook.add_format
        self.header = add({"bold": True, "bg_color": "#E4E7EB", "bottom": 1, "text_wrap": True})
        self.title = add({"bold": True, "font_size": 14})
        self.muted = add({"font_color": "#52606D", "italic": True})
        self.text = add({})
        self.bold = add({"bold": True})
        self.peak = add({"bold": True, "bg_color": "#FDE7C8"})
        self.formats = {
            "count": add({"num_format": "#,##0"}),
            "average": add({"num_format": "#,##0.0"}),
            "percent": add({"num_format": "0.0%"}),
            "duration": add({"num_format": "[h]:mm:ss"}),
            "points": add({"num_format": "+0.0%;-0.0%;0.0%"}),
            "relative": add({"num_format": "+0.0%;-0.0%;0.0%"}),
            "seconds": add({"num_format": '+#,##0" s";-#,##0" s";0" s"'}),
            "signed": add({"num_format": "+#,##0.0;-#,##0.0;0"}),
            "datetime": add({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        self.total_formats = {
            key: add({"num_format": fmt.num_format, "bold": True, "top": 1})
            for key, fmt in self.formats.items()
        }
        self.total_text = add({"bold": True, "top": 1})

    def sheet(self, title: str) -> Any:
        return self.book.add_worksheet(sheet_name(title, self.taken))

    def headers(self, ws: Any, labels: Sequence[str], widths: Sequence[float]) -> None:
        ws.write_row(0, 0, list(labels), self.header)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.freeze_panes(1, 1)

    def number(
        self, ws: Any, cell: tuple[int, int], kind: str, value: float | None, total: bool
    ) -> None:
        """One numeric cell; ``kind`` picks the format and the unit conversion."""
        fmt = (self.total_formats if total else self.formats)[kind]
        row, col = cell
        if value is None:
            ws.write_blank(row, col, None, fmt)
        elif kind == "duration":
            ws.write_number(row, col, value / MS_PER_DAY, fmt)
        elif kind == "seconds":
            ws.write_number(row, col, value / 1000, fmt)
        else:
            ws.write_number(row, col, value, fmt)


def _value_kind(metric: StandupMetric, averaged: bool = False) -> str:
    if metric.kind == "count":
        return "average" if averaged else "count"
    return metric.kind


def _change_kind(metric: StandupMetric) -> str:
    return {"percent": "points", "duration": "seconds"}.get(metric.kind, "signed")


def _queues_sheet(w: _Writer, lines: Sequence[QueueComparison]) -> None:
    ws = w.sheet("Queues")
    w.headers(ws, ["Queue", *(m.label for m in STANDUP_METRICS)], [32] + [13] * 6)
    for r, line in enumerate(lines, start=1):
        total = line.queue_id is None
        ws.write_string(r, 0, line.label, w.total_text if total else w.text)
        for c, metric in enumerate(STANDUP_METRICS, start=1):
            w.number(ws, (r, c), _value_kind(metric), line.values[metric.name], total)


def _baseline_sheet(w: _Writer, lines: Sequence[QueueComparison], base: Baseline) -> None:
    title = "Last week" if base.key == "same_weekday_last_week" else "Four weeks"
    ws = w.sheet(title)
    labels = ["Queue"]
    widths: list[float] = [32]
    for metric in STANDUP_METRICS:
        unit = {"percent": " (points)", "duration": " (s)"}.get(metric.kind, "")
        labels += [f"{metric.label} {base.label}", f"{metric.label} change{unit}"]
        widths += [14, 14]
        if metric.kind != "percent":
            labels.append(f"{metric.label} change %")
            widths.append(11)
    labels.append("Why no change")
    widths.append(44)
    w.headers(ws, labels, widths)
    averaged = base.key == "trailing_4_weeks"
    for r, line in enumerate(lines, start=1):
        total = line.queue_id is None
        ws.write_string(r, 0, line.label, w.total_text if total else w.text)
        c = 1
        reasons: list[str] = []
        for metric in STANDUP_METRICS:
            delta = line.deltas[base.key][metric.name]
            w.number(ws, (r, c), _value_kind(metric, averaged), delta.baseline, total)
            w.number(ws, (r, c + 1), _change_kind(metric), delta.change, total)
            c += 2
            if metric.kind != "percent":
                w.number(ws, (r, c), "relative", delta.relative, total)
                c += 1
            if delta.reason is not None:
                reasons.append(f"{metric.label}: {delta.reason}")
        ws.write_string(r, c, "; ".join(dict.fromkeys(reasons)), w.total_text if total else w.text)
    ws.write_string(len(lines) + 2, 0, f"{base.label}: {base.note}", w.muted)


def _summary_sheet(w: _Writer, pack: StandupPack) -> None:
    ws = w.sheet("Summary")
    comparison = pack.comparison
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1 + 2 * len(comparison.baselines), 16)
    ws.write_string(0, 0, pack.title, w.title)
    ws.write_string(1, 0, f"{day_text(pack.business_date)} · {pack.timezone}", w.muted)
    header = ["All queues", "The day"]
    for base in comparison.baselines:
        header += [base.label, "Change"]
    ws.write_row(3, 0, header, w.header)
    total = comparison.total
    for r, metric in enumerate(STANDUP_METRICS, start=4):
        ws.write_string(r, 0, metric.label, w.bold)
        w.number(ws, (r, 1), _value_kind(metric), total.values[metric.name], False)
        for i, base in enumerate(comparison.baselines):
            delta = total.deltas[base.key][metric.name]
            averaged = base.key == "trailing_4_weeks"
            w.number(ws, (r, 2 + 2 * i), _value_kind(metric, averaged), delta.baseline, False)
            w.number(ws, (r, 3 + 2 * i), _change_kind(metric), delta.change, False)
    row = 5 + len(STANDUP_METRICS)
    for base in comparison.baselines:
        ws.write_string(row, 0, f"{base.label}: {base.note}", w.muted)
        row += 1
    for note in pack.notes:
        ws.write_string(row, 0, note)
        row += 1
    row += 1
    for metric in STANDUP_METRICS:
        ws.write_string(row, 0, metric.formula, w.muted)
        row += 1
    ws.freeze_panes(4, 1)


def _intervals_sheet(w: _Writer, pack: StandupPack) -> None:
    heat = pack.heat
    if heat is None:
        return
    ws = w.sheet("Intervals")
    labels = ["Interval", "Start (local)", "Offered", "Answered", "Abandoned", "Abandon %"]
    labels += ["Service level", "Peak"]
    w.headers(ws, labels, [14, 17, 10, 10, 10, 11, 13, 7])
    for r, row in enumerate(heat.rows, start=1):
        fmt = w.peak if row.peak else w.text
        ws.write_string(r, 0, row.label, fmt)
        ws.write_datetime(r, 1, row.start.replace(tzinfo=None), w.formats["datetime"])
        w.number(ws, (r, 2), "count", row.offered, False)
        w.number(ws, (r, 3), "count", row.counts.answered, False)
        w.number(ws, (r, 4), "count", row.counts.abandoned, False)
        w.number(ws, (r, 5), "percent", row.abandon_rate, False)
        w.number(ws, (r, 6), "percent", row.service_level, False)
        ws.write_string(r, 7, "peak" if row.peak else "", fmt)
    ws.write_string(len(heat.rows) + 2, 0, f"Local times in {heat.timezone}", w.muted)


def _section_sheet(w: _Writer, section: Section) -> None:
    ws = w.sheet(section.title)
    if section.unavailable is not None:
        ws.set_column(0, 0, 100)
        ws.write_string(0, 0, section.title, w.header)
        ws.write_string(1, 0, f"Not shown: {section.unavailable}")
        return
    widths = [32 if c.kind == "text" else 14 for c in section.columns]
    w.headers(ws, [c.label for c in section.columns], widths)
    lines: list[tuple[Mapping[str, Cell], bool]] = [(line, False) for line in section.rows]
    if section.total is not None:
        lines.append((section.total, True))
    for r, (line, total) in enumerate(lines, start=1):
        for c, column in enumerate(section.columns):
            value = line.get(column.key)
            if column.kind == "text" or isinstance(value, str):
                ws.write_string(r, c, str(value or ""), w.total_text if total else w.text)
            else:
                kind: ColumnKind = column.kind
                w.number(ws, (r, c), kind, value, total)
    if section.note:
        ws.write_string(len(lines) + 2, 0, section.note, w.muted)


def build_xlsx(pack: StandupPack, *, include_intervals: bool = True) -> bytes:
    """The pack as XLSX bytes; ``include_intervals=False`` leaves the heat table out (the
    first thing dropped when a message must shrink)."""
    import xlsxwriter  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    # A fixed creation time (the data's, else the business day's start): the same pack gives the
    # same bytes, so a rebuilt workbook is comparable and a resend carries the same file.
    created = pack.data_as_of or datetime.combine(pack.business_date, time())
    workbook.set_properties({"title": pack.title, "author": "gcnotify", "created": created})
    w = _Writer(workbook)
    comparison = pack.comparison
    lines = [*comparison.rows, comparison.total]
    _summary_sheet(w, pack)
    _queues_sheet(w, lines)
    for base in comparison.baselines:
        _baseline_sheet(w, lines, base)
    if include_intervals:
        _intervals_sheet(w, pack)
    for section in pack.sections:
        _section_sheet(w, section)
    workbook.close()
    return buffer.getvalue()
