"""Render report emails from ``templates/``: an autoescaped HTML part and a plain-text part.

Numbers are formatted once here (``metrics.format_value``) and handed to the templates as text,
so the HTML, the text part and any CSV attachment cannot disagree. The HTML is kept under
Gmail's clipping size: a clipped email hides the rest of the table behind a link, so a table too
big for the body travels as a CSV attachment, with a note saying so.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from string import Formatter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import jinja2
import pytz
from markupsafe import escape

from gcnotify.core.errors import RenderError
from gcnotify.core.mail import Attachment, RenderedEmail
from gcnotify.core.model import ReportConfig
from gcnotify.reports.metrics import METRICS, IntervalRow, ReportTable, Row, format_value

if TYPE_CHECKING:
    from gcnotify.core.windows import ReportWindow
    from gcnotify.reports.delivery_summary import DeliverySummary
    from gcnotify.reports.standup.compare import HeatTable, StandupComparison

__all__ = [
    "HTML_BUDGET",
    "MANIFEST",
    "TEMPLATE_NAMES",
    "Renderer",
    "compiled_manifest",
    "environment",
    "subject_for",
]

logger = logging.getLogger("gcnotify")

TEMPLATE_NAMES: tuple[str, ...] = (
    "_layout.html",
    "_parts.html",
    "report.html",
    "report.txt",
    "no_activity.html",
    "no_activity.txt",
    "alert.txt",
    "standup.html",
    "standup.txt",
    "delivery_summary.html",
    "delivery_summary.txt",
)

# Gmail clips HTML bodies over ~102 KB; stay clear of it with a round budget (UTF-8 bytes).
HTML_BUDGET = 100_000

# No table cell renders shorter than "<td>0</td>": a lower bound that lets an interval table
# thousands of rows long go straight to CSV without rendering it first.
_MIN_CELL_BYTES = len("<td>0</td>")

_INTERVAL_WORDS = {"PT1H": "hourly", "PT30M": "half-hourly"}
_SLOTS = {"PT1H": timedelta(hours=1), "PT30M": timedelta(minutes=30)}

# Shown first in the summary tiles when the report has them (at most four tiles).
_TILE_ORDER = (
    "offered",
    "answered",
    "abandon_rate",
    "service_level",
    "aht",
    "asa",
    "handled",
    "abandoned",
)
_MAX_TILES = 4

_TIMING_NOTE = (
    "Timers land in the interval in which they complete: handle time when after-call work is "
    "finished, answered at the moment the agent answers. Within one day, Offered therefore need "
    "not equal Answered + Abandoned."
)
_TOTALS_NOTE = (
    "Totals divide the summed counts, sums, numerators and denominators of all queues; they "
    "never average the queues' averages. Durations are h:mm:ss; “—” means no data (for "
    "example AHT when nothing was handled)."
)
_TRACEBACK = "Traceback (most recent call last)"
_MAX_ALERT_TEXT = 4000
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _PrefixedDate(date):
    """A date that formats as "<prefix>…", so any user subject format spec still applies."""

    prefix = ""

    def __format__(self, spec: str) -> str:
        return self.prefix + super().__format__(spec)


class _WeekOf(_PrefixedDate):
    prefix = "Week of "


class _MonthToDate(_PrefixedDate):
    prefix = "Month to date through "


def _one_line(text: str) -> str:
    # The rule config validation applies to header values, so sends and dry runs agree with it.
    from gcnotify.core.text import one_line

    return one_line(text)


def _mentions_business_date(template: str) -> bool:
    for _, field, _, _ in Formatter().parse(template):
        if field is not None and re.split(r"[.\[]", field, maxsplit=1)[0] == "business_date":
            return True
    return False


def subject_for(report: ReportConfig, window: ReportWindow) -> str:
    """The subject from ``report.subject``; it always carries the business date ("week of")."""
    template = report.subject
    day = window.business_date
    if window.kind == "previous_week" and "week" not in template.lower():
        day = _WeekOf(day.year, day.month, day.day)
    elif window.kind == "month_to_date" and "month" not in template.lower():
        day = _MonthToDate(day.year, day.month, day.day)
    try:
        subject = template.format(title=report.title, business_date=day)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise RenderError(
            f"reports[{report.id}].subject {template!r} cannot be formatted "
            f"({type(exc).__name__}: {exc}); use only {{title}} and {{business_date}}"
        ) from exc
    if not _mentions_business_date(template):
        subject = f"{subject} — {window.subject_date_text()}"
    return _one_line(subject)


@dataclass(frozen=True)
class _RowView:
    label: str
    cells: tuple[str, ...]
    time: str = ""
    shade: bool = False


def _cells(values: Mapping[str, float | None], metrics: Sequence[str]) -> tuple[str, ...]:
    return tuple(format_value(m, values.get(m)) for m in metrics)


def _row_view(row: Row, metrics: Sequence[str]) -> _RowView:
    return _RowView(row.label, _cells(row.values, metrics))


def _interval_times(rows: Sequence[IntervalRow]) -> list[str]:
    """Local "09:00–10:00" slot labels, dated when the table spans several days.

    The end is the start's wall time plus the slot length, so the repeated fall-back hour reads
    "01:00–02:00" twice; when the table crosses a DST change every label carries its zone
    abbreviation (EDT/EST) so those two hours stay apart.
    """
    several_days = len({r.start.date() for r in rows}) > 1
    zoned = len({r.start.utcoffset() for r in rows}) > 1
    labels = []
    for r in rows:
        end = r.start.replace(tzinfo=None) + (r.end - r.start)
        text = f"{r.start:%H:%M}–{end:%H:%M}"
        if several_days:
            text = f"{r.start:%a %d %b} {text}"
        if zoned:
            text = f"{text} {r.start:%Z}"
        labels.append(text)
    return labels


def _as_of(instant: datetime, timezone: str) -> str:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    local = instant.astimezone(pytz.timezone(timezone))
    return f"{local:%a %d %b %Y %H:%M} {local:%Z} ({timezone})"


def _text_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    footer: Sequence[Sequence[str]] = (),
    *,
    left: int = 1,
) -> str:
    """Aligned columns for the text part: the first ``left`` columns flush left, numbers right."""
    every = [header, *rows, *footer]
    widths = [max(len(r[i]) for r in every) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(header), rule, *(line(r) for r in rows)]
    if footer:
        lines += [rule, *(line(r) for r in footer)]
    return "\n".join(lines)


def _csv_text(text: str) -> str:
    """Neutralise spreadsheet formulas in names (a queue called "=HYPERLINK(…)")."""
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def _csv_value(metric: str, value: float | None) -> str:
    """Spreadsheet-friendly: plain integers and percents, h:mm:ss durations, empty for no data."""
    if value is None:
        return ""
    kind = METRICS[metric].kind
    if kind == "count":
        return str(round(value))
    if kind == "percent":
        return f"{value:.1f}"
    return format_value(metric, value)


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _every_interval(
    intervals: Sequence[IntervalRow],
    queues: Sequence[str],
    window: ReportWindow,
    granularity: str,
    metrics: Sequence[str],
) -> list[IntervalRow]:
    """Every slot of the window for every queue, queue by queue (report order), then by time.

    Genesys answers only the intervals that had traffic; a reader following one queue through
    the day needs its quiet slots too, shown as zeros, and its slots together. A slot already
    covered by an answered interval (whatever its alignment) is not added again.
    """
    step = _SLOTS.get(granularity)
    rows = list(intervals)
    if step is not None:
        zone = pytz.timezone(window.timezone)
        empty = MappingProxyType({m: METRICS[m].value({}) for m in metrics})
        answered: dict[str, list[IntervalRow]] = {}
        for r in sorted(rows, key=lambda r: r.start):
            answered.setdefault(r.queue, []).append(r)
        end = window.end.astimezone(UTC)
        for queue in dict.fromkeys(queues):
            have = answered.get(queue, [])
            starts = [r.start for r in have]
            at = window.start.astimezone(UTC)
            while at < end:
                i = bisect.bisect_right(starts, at) - 1
                if i < 0 or have[i].end <= at:
                    rows.append(
                        IntervalRow(at.astimezone(zone), (at + step).astimezone(zone), queue, empty)
                    )
                at += step
    order = {queue: i for i, queue in reversed(list(enumerate(queues)))}
    rows.sort(key=lambda r: (order.get(r.queue, len(order)), r.start))
    return rows


def _interval_groups(
    intervals: Sequence[IntervalRow], metrics: Sequence[str]
) -> list[dict[str, Any]]:
    """Formatted interval rows under one heading per queue, striped afresh in each group."""
    groups: list[dict[str, Any]] = []
    for r, time in zip(intervals, _interval_times(intervals), strict=True):
        if not groups or groups[-1]["queue"] != r.queue:
            groups.append({"queue": r.queue, "rows": []})
        rows = groups[-1]["rows"]
        rows.append(_RowView(r.queue, _cells(r.values, metrics), time, len(rows) % 2 == 1))
    return groups


def _intervals_csv(metrics: Sequence[str], intervals: Sequence[IntervalRow]) -> bytes:
    header = ["Interval start", "Interval end", "Queue", *(METRICS[m].label for m in metrics)]
    body = [
        [
            r.start.isoformat(),
            r.end.isoformat(),
            _csv_text(r.queue),
            *(_csv_value(m, r.values.get(m)) for m in metrics),
        ]
        for r in intervals
    ]
    return _csv(header, body)


def _queues_csv(table: ReportTable) -> bytes:
    header = ["Queue", *(METRICS[m].label for m in table.metrics)]
    body = [
        [_csv_text(r.label), *(_csv_value(m, r.values.get(m)) for m in table.metrics)]
        for r in (*table.rows, table.total)
    ]
    return _csv(header, body)


def _clean_alert_text(text: str) -> str:
    """Keep a human message; drop any traceback a caller passed along by mistake."""
    head = text.split(_TRACEBACK, 1)[0].strip()
    if len(head) > _MAX_ALERT_TEXT:
        head = head[:_MAX_ALERT_TEXT].rstrip() + " …"
    return head or "(no details were given)"


MANIFEST = "manifest.json"


def environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """The one Jinja2 set-up, shared by rendering and by precompiling (they must agree)."""
    return jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def compiled_manifest(templates_dir: Path) -> dict[str, Any]:
    """What precompiled templates are valid for: this Jinja2 and these exact sources."""
    return {
        "jinja2": jinja2.__version__,
        "sources": {
            name: hashlib.sha256((templates_dir / name).read_bytes()).hexdigest()
            for name in TEMPLATE_NAMES
        },
    }


def _read_manifest(compiled_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((compiled_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Renderer:
    """Loads and checks every template once (cold start), then renders emails as values."""

    def __init__(self, templates_dir: Path, compiled_dir: Path | None = None) -> None:
        """``compiled_dir``: templates precompiled by the build (``gcnotify.reports.precompile``);
        used only when its manifest matches the sources and this Jinja2, else they compile here."""
        self.templates_dir = templates_dir
        missing = [name for name in TEMPLATE_NAMES if not (templates_dir / name).is_file()]
        if missing:
            raise RenderError(
                f"email template(s) missing: {', '.join(missing)} in {templates_dir}; "
                "the build must copy the repository's templates/ directory into the artifact"
            )
        loader: jinja2.BaseLoader = jinja2.FileSystemLoader(str(templates_dir))
        self.precompiled = False
        if compiled_dir is not None:
            if compiled_manifest(templates_dir) == _read_manifest(compiled_dir):
                loader = jinja2.ModuleLoader(str(compiled_dir))
                self.precompiled = True
            else:
                logger.warning(
                    "precompiled templates in %s do not match %s (edited after the build?); "
                    "compiling the templates instead",
                    compiled_dir,
                    templates_dir,
                )
        self._env = environment(loader)
        self._templates: dict[str, jinja2.Template] = {}
        for name in TEMPLATE_NAMES:
            try:
                self._templates[name] = self._env.get_template(name)
            except jinja2.TemplateError as exc:
                raise RenderError(
                    f"email template {name} in {templates_dir} is invalid: {exc}"
                ) from exc

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self._templates[name].render(context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"email template {name} failed to render: {exc}") from exc

    @staticmethod
    def _frame(
        report: ReportConfig, window: ReportWindow, subject: str, data_as_of: datetime
    ) -> dict[str, Any]:
        return {
            "subject": subject,
            "title": report.title,
            "report_id": report.id,
            "date_text": window.subject_date_text(),
            "window_label": window.label(),
            "data_as_of": _as_of(data_as_of, report.timezone),
            "timezone": report.timezone,
        }

    def render_report(
        self,
        report: ReportConfig,
        window: ReportWindow,
        table: ReportTable,
        *,
        data_as_of: datetime,
        queues_note: str | None = None,
    ) -> RenderedEmail:
        """The queue report; a table too big for the HTML budget becomes a CSV attachment.

        The interval table goes first; only if the HTML is still too big do the queue rows
        follow (the total row always stays in the body).
        """
        metrics = table.metrics
        columns = [METRICS[m].label for m in metrics]
        rows = [_row_view(r, metrics) for r in table.rows]
        total = _row_view(table.total, metrics)
        word = _INTERVAL_WORDS.get(report.interval, "interval")
        tiles = [
            {"label": METRICS[m].label, "value": format_value(m, table.total.values.get(m))}
            for m in [m for m in _TILE_ORDER if m in metrics][:_MAX_TILES]
        ]
        queue_word = "queue" if len(rows) == 1 else "queues"
        summary = " · ".join(
            [f"{len(rows)} {queue_word}", *(f"{t['label']} {t['value']}" for t in tiles)]
        )
        stem = f"{report.id}-{window.business_date.isoformat()}"
        context: dict[str, Any] = {
            **self._frame(report, window, subject_for(report, window), data_as_of),
            "tiles": tiles,
            "summary": summary,
            "columns": columns,
            "queue_count": len(rows),
            "rows": rows,
            "total": total,
            "interval_title": f"{word.capitalize()} detail",
            "interval_groups": [],
            "notes": [queues_note] if queues_note else [],
            "formulas": [METRICS[m].formula for m in metrics],
            "footnotes": [_TIMING_NOTE, _TOTALS_NOTE],
        }
        attachments: list[Attachment] = []
        intervals = _every_interval(
            table.intervals, [r.label for r in table.rows], window, report.interval, metrics
        )

        html = None
        # Lower bound first: a table thousands of rows long is not formatted just to be dropped.
        if _MIN_CELL_BYTES * (len(columns) + 1) * len(intervals) < HTML_BUDGET:
            context["interval_groups"] = _interval_groups(intervals, metrics)
            html = self._html_within_budget(context)
        if html is None and intervals:
            context["interval_groups"] = []
            filename = f"{stem}-intervals.csv"
            context["notes"].append(
                f"The {word} table is attached as CSV because it is too large for the email "
                f"body: {filename}."
            )
            attachments.append(Attachment(filename, _intervals_csv(metrics, intervals), "text/csv"))
            html = self._html_within_budget(context)
        if html is None:
            context["rows"] = []
            filename = f"{stem}-queues.csv"
            context["notes"].append(
                f"The table of {len(rows)} queues is attached as CSV because it is too large "
                f"for the email body: {filename}. The total is shown below."
            )
            attachments.append(Attachment(filename, _queues_csv(table), "text/csv"))
            # Only the frame and the total row are left: nothing more can move out.
            html = self._render("report.html", context)

        interval_rows = [r for group in context["interval_groups"] for r in group["rows"]]
        text_context = {
            **context,
            "queue_table": _text_table(
                ["Queue", *columns],
                [[_one_line(r.label), *r.cells] for r in context["rows"]],
                [[total.label, *total.cells]],
            ),
            "interval_table": _text_table(
                ["Time", "Queue", *columns],
                [[r.time, _one_line(r.label), *r.cells] for r in interval_rows],
                left=2,
            )
            if interval_rows
            else "",
        }
        text = self._render("report.txt", text_context)
        return RenderedEmail(context["subject"], html, text, tuple(attachments))

    def _html_within_budget(self, context: Mapping[str, Any]) -> str | None:
        """The report HTML, or None when it would be clipped by Gmail."""
        html = self._render("report.html", context)
        return html if len(html.encode("utf-8")) < HTML_BUDGET else None

    def render_no_activity(
        self, report: ReportConfig, window: ReportWindow, *, data_as_of: datetime
    ) -> RenderedEmail:
        """A clear "No activity" email: the query succeeded and every count was zero."""
        count = len(report.queues)
        queue_word = "queue" if count == 1 else "queues"
        context = {
            **self._frame(report, window, subject_for(report, window), data_as_of),
            "queues": list(report.queues),
            "message": (
                f"No interactions were offered, answered, handled or abandoned in the {count} "
                f"{queue_word} of this report during {window.label()}. The Genesys Cloud query "
                "succeeded and found nothing; this is not a failure."
            ),
            "footnotes": [
                "Expected traffic? Check this report's queues and media_types in gcnotify.yaml."
            ],
        }
        html = self._render("no_activity.html", context)
        text = self._render("no_activity.txt", context)
        return RenderedEmail(context["subject"], html, text)

    def render_standup(
        self,
        report: ReportConfig,
        window: ReportWindow,
        comparison: StandupComparison,
        heat: HeatTable | None,
        *,
        data_as_of: datetime,
        notes: Sequence[str] = (),
    ) -> RenderedEmail:
        """The standup pack's email body: the day in total with its changes, service level by
        queue, offered by interval (``heat`` None leaves that chart out) and the queue table.

        Kept under the HTML budget by showing fewer queues, with a note; the attachments are
        the caller's (the pack's PDF and XLSX).
        """
        # Imported here: a queue report's cold start does not pay for the standup modules.
        from gcnotify.reports.standup.email import render_standup_email

        subject = subject_for(report, window)
        html, text = render_standup_email(
            self._render,
            self._frame(report, window, subject, data_as_of),
            comparison,
            heat,
            notes=notes,
            budget=HTML_BUDGET,
        )
        return RenderedEmail(subject, html, text)

    def render_delivery_summary(
        self,
        report: ReportConfig,
        window: ReportWindow,
        summary: DeliverySummary,
        *,
        data_as_of: datetime,
    ) -> RenderedEmail:
        """The delivery summary, or its "No activity" email when the window sent nothing."""
        from gcnotify.reports.delivery_summary import render_summary

        subject = subject_for(report, window)
        html, text, attachments = render_summary(
            self._render,
            self._frame(report, window, subject, data_as_of),
            summary,
            budget=HTML_BUDGET,
            stem=f"{report.id}-{window.business_date.isoformat()}",
        )
        return RenderedEmail(subject, html, text, attachments)

    def render_alert(
        self,
        report_id: str,
        business_date: date | None,
        problem: str,
        action: str,
        *,
        outcome: str = "failed",
    ) -> RenderedEmail:
        """A short plain alert for the ops team: which report, which day, what failed, next step.

        ``outcome`` completes "report X …": ``failed``, or ``went out incomplete`` for a report
        that was sent without some of its parts.
        """
        date_text = f"{business_date:%a %d %b %Y}" if business_date else ""
        subject = f"gcnotify alert: report {report_id} {outcome}"
        if date_text:
            subject += f" — {date_text}"
        subject = _one_line(subject)
        text = self._render(
            "alert.txt",
            {
                "report_id": report_id,
                "outcome": outcome,
                "date_text": date_text,
                "problem": _clean_alert_text(problem),
                "action": _clean_alert_text(action),
            },
        )
        html = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(subject)}</title><style>pre{{font:14px/1.5 Menlo,Consolas,"
            "monospace;white-space:pre-wrap}</style></head>"
            f"<body><pre>{escape(text)}</pre></body></html>"
        )
        return RenderedEmail(subject, html, text)
