"""The standup pack as a PDF: headline, queue tables, charts, heat table, agent sections.

Built with ``reportlab.platypus`` (measured lighter on a cold start than the alternatives), which
is imported only inside ``build_pdf``. Tables repeat their header row on every page; the text
font is Bitstream Vera, which the reportlab wheel itself ships, embedded as a subset, so the PDF
looks the same on every reader and the Lambda image needs no system fonts. Vera has no ▲/▼, so
changes are signed numbers (+/−) with colour as a second signal. Charts are vector drawings
(``reportlab.graphics``). Dynamic text goes into tables as plain strings, and into paragraphs
only escaped, so a queue named ``<b>`` prints as itself.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal
from xml.sax.saxutils import escape

from gcnotify.reports.standup.compare import (
    STANDUP_METRICS,
    BasisKey,
    Delta,
    QueueComparison,
    StandupMetric,
    day_text,
)
from gcnotify.reports.standup.pack import (
    NO_DATA,
    Section,
    StandupPack,
    format_delta,
    format_value,
)

if TYPE_CHECKING:
    from reportlab.platypus import Flowable

__all__ = ["FONT", "FONT_BOLD", "PageSize", "build_pdf"]

PageSize = Literal["A4", "Letter"]
FONT = "GcnotifySans"
FONT_BOLD = "GcnotifySans-Bold"
# Shipped inside the reportlab wheel (reportlab/fonts). Opened by absolute path: given a bare
# name, reportlab tries it as a URL first, which builds an SSL context (~100 ms on a cold start).
_FONT_FILES = {FONT: "Vera.ttf", FONT_BOLD: "VeraBd.ttf"}

_INK = "#1f2933"
_MUTED = "#52606d"
_GOOD = "#1b7f3b"
_BAD = "#b42318"
_HEAD_BG = "#e4e7eb"
_TOTAL_BG = "#f0f4f8"
_PEAK_BG = "#fde7c8"
_BAR = "#3e6fb0"
_PEAK_BAR = "#d9822b"
_QUEUE_NAME_MAX = 34  # characters of a queue name in a table cell; the XLSX keeps it whole
_CHART_QUEUES = 40  # queues per service level chart, so one chart fits a page


def _register_fonts() -> None:
    """Register the embedded fonts once per process (a TTF parse costs a few ms)."""
    from pathlib import Path

    import reportlab
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(reportlab.__file__).parent / "fonts"
    registered = pdfmetrics.getRegisteredFontNames()
    for name, file in _FONT_FILES.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)


def _short(name: str) -> str:
    return name if len(name) <= _QUEUE_NAME_MAX else name[: _QUEUE_NAME_MAX - 1] + "…"


def _tone(metric: StandupMetric, delta: Delta) -> str:
    """Colour of a change: green when it is good news, red when bad, grey when neither."""
    direction = delta.direction
    if metric.better is None or direction in (None, "flat"):
        return _MUTED
    good = (direction == "up") == (metric.better == "higher")
    return _GOOD if good else _BAD


class _Builder:
    """Holds the styles and the imported reportlab names while one PDF is built."""

    def __init__(self, pack: StandupPack, width: float) -> None:
        from reportlab.lib import colors
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

        self.pack = pack
        self.width = width
        self.colors = colors
        self.Paragraph = Paragraph
        self.Spacer = Spacer
        self.Table = Table
        self.TableStyle = TableStyle
        self.title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=16, leading=20)
        self.h2 = ParagraphStyle(
            "h2", fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=4
        )
        self.body = ParagraphStyle(
            "body", fontName=FONT, fontSize=8.5, leading=11, textColor=colors.HexColor(_INK)
        )
        self.small = ParagraphStyle(
            "small", fontName=FONT, fontSize=7, leading=9, textColor=colors.HexColor(_MUTED)
        )

    # ------------------------------------------------------------------ text

    def para(self, text: str, style: Any = None) -> Flowable:
        return self.Paragraph(escape(text), style or self.body)

    def heading(self, text: str) -> Flowable:
        return self.Paragraph(escape(text), self.h2)

    # ------------------------------------------------------------------ tables

    def table(
        self,
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        total_row: bool = False,
        extra: Sequence[tuple[Any, ...]] = (),
        size: float = 7.5,
    ) -> Flowable:
        """A table whose first row is the header, repeated on every page it spans."""
        colors = self.colors
        style: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), FONT, size),
            ("FONT", (0, 0), (-1, 0), FONT_BOLD, size),
            ("TEXTCOLOR", (0, 0), (-1, -1), colors.HexColor(_INK)),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(_HEAD_BG)),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor(_MUTED)),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor(_HEAD_BG)),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        if total_row:
            style += [
                ("FONT", (0, -1), (-1, -1), FONT_BOLD, size),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor(_TOTAL_BG)),
                ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.HexColor(_MUTED)),
            ]
        style += list(extra)
        table = self.Table(
            [list(r) for r in rows], colWidths=list(widths), repeatRows=1, hAlign="LEFT"
        )
        table.setStyle(self.TableStyle(style))
        return table

    def _columns(self, first: float, count: int) -> list[float]:
        return [first] + [(self.width - first) / count] * count

    def values_table(self, lines: Sequence[QueueComparison]) -> Flowable:
        header = ["Queue", *(m.label for m in STANDUP_METRICS)]
        rows = [header] + [
            [_short(line.label)]
            + [format_value(m.kind, line.values[m.name]) for m in STANDUP_METRICS]
            for line in lines
        ]
        return self.table(rows, self._columns(150, len(STANDUP_METRICS)), total_row=True)

    def delta_table(self, lines: Sequence[QueueComparison], key: BasisKey) -> Flowable:
        header = ["Queue", *(m.label for m in STANDUP_METRICS)]
        rows: list[list[str]] = [header]
        extra: list[tuple[Any, ...]] = []
        for r, line in enumerate(lines, start=1):
            row = [_short(line.label)]
            for c, metric in enumerate(STANDUP_METRICS, start=1):
                delta = line.deltas[key][metric.name]
                row.append(format_delta(metric, delta))
                tone = _tone(metric, delta)
                if tone != _MUTED:
                    extra.append(("TEXTCOLOR", (c, r), (c, r), self.colors.HexColor(tone)))
            rows.append(row)
        widths = self._columns(100, len(STANDUP_METRICS))
        return self.table(rows, widths, total_row=True, extra=extra, size=7)

    def headline(self) -> Flowable:
        comparison = self.pack.comparison
        total = comparison.total
        header = ["", "The day", *(b.label for b in comparison.baselines)]
        rows: list[list[str]] = [header]
        extra: list[tuple[Any, ...]] = []
        for r, metric in enumerate(STANDUP_METRICS, start=1):
            row = [metric.label, format_value(metric.kind, total.values[metric.name])]
            for c, base in enumerate(comparison.baselines, start=2):
                delta = total.deltas[base.key][metric.name]
                row.append(format_delta(metric, delta) if delta.change is not None else NO_DATA)
                tone = _tone(metric, delta)
                if tone != _MUTED:
                    extra.append(("TEXTCOLOR", (c, r), (c, r), self.colors.HexColor(tone)))
            rows.append(row)
        extra.append(("FONT", (0, 1), (0, -1), FONT_BOLD, 7.5))
        count = 1 + len(comparison.baselines)
        return self.table(rows, [110] + [min(120, (self.width - 110) / count)] * count, extra=extra)

    def heat(self) -> list[Flowable]:
        heat = self.pack.heat
        if heat is None:
            return []
        from reportlab.platypus import KeepTogether

        step = "half hour" if heat.granularity == "PT30M" else "hour"
        title = self.heading(f"Offered by {step} ({heat.timezone})")
        out: list[Flowable] = [KeepTogether([title, self.interval_chart()])]
        header = ["Interval", "Offered", "Answered", "Abandoned", "Abandon %", "Service level", ""]
        rows = [header]
        extra: list[tuple[Any, ...]] = []
        for r, row in enumerate(heat.rows, start=1):
            rows.append(
                [
                    f"{row.label}–{row.end.strftime('%H:%M')}",
                    format_value("count", row.offered),
                    format_value("count", row.counts.answered),
                    format_value("count", row.counts.abandoned),
                    format_value("percent", row.abandon_rate),
                    format_value("percent", row.service_level),
                    "peak" if row.peak else "",
                ]
            )
            if row.peak:
                extra += [
                    ("BACKGROUND", (0, r), (-1, r), self.colors.HexColor(_PEAK_BG)),
                    ("FONT", (0, r), (-1, r), FONT_BOLD, 7.5),
                ]
        out.append(self.Spacer(1, 6))
        out.append(self.table(rows, [90, 70, 70, 70, 70, 80, 40], extra=extra))
        return out

    # ------------------------------------------------------------------ charts

    def service_level_charts(self) -> list[Flowable]:
        from reportlab.graphics.charts.barcharts import HorizontalBarChart
        from reportlab.graphics.shapes import Drawing, String

        lines = list(self.pack.comparison.rows)
        out: list[Flowable] = []
        for first in range(0, len(lines), _CHART_QUEUES):
            chunk = lines[first : first + _CHART_QUEUES][::-1]  # bottom-up: first queue on top
            height = 14 * len(chunk) + 30
            drawing = Drawing(self.width, height, initialFontName=FONT)
            chart = HorizontalBarChart()
            chart.x, chart.y = 150, 20
            chart.width, chart.height = int(self.width) - 190, height - 30
            values = [line.values["service_level"] for line in chunk]
            chart.data = [[100 * v if v is not None else 0 for v in values]]
            chart.bars[0].fillColor = self.colors.HexColor(_BAR)
            chart.bars[0].strokeColor = None
            chart.barSpacing = 1
            chart.categoryAxis.categoryNames = [_short(line.label)[:28] for line in chunk]
            chart.categoryAxis.labels.fontName = FONT
            chart.categoryAxis.labels.fontSize = 6.5
            chart.categoryAxis.labels.dx = -4
            chart.categoryAxis.labels.boxAnchor = "e"
            chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
            chart.valueAxis.valueStep = 20
            chart.valueAxis.labels.fontName = FONT
            chart.valueAxis.labels.fontSize = 6.5
            chart.valueAxis.labelTextFormat = "%d%%"
            drawing.add(chart)
            for index, value in enumerate(values):
                text = "no data" if value is None else f"{100 * value:.1f}%"
                x = chart.x + chart.width * (0 if value is None else value) + 3
                y = chart.y + chart.height * (index + 0.5) / len(chunk) - 2.3
                drawing.add(String(x, y, text, fontName=FONT, fontSize=6))
            out.append(drawing)
        return out

    def interval_chart(self) -> Flowable:
        from reportlab.graphics.charts.barcharts import VerticalBarChart
        from reportlab.graphics.shapes import Drawing

        heat = self.pack.heat
        assert heat is not None  # noqa: S101 - only called with a heat table
        drawing = Drawing(self.width, 150, initialFontName=FONT)
        chart = VerticalBarChart()
        chart.x, chart.y = 30, 25
        chart.width, chart.height = int(self.width) - 40, 115
        chart.data = [[row.offered for row in heat.rows]]
        chart.bars[0].fillColor = self.colors.HexColor(_BAR)
        chart.bars[0].strokeColor = None
        for index, row in enumerate(heat.rows):
            if row.peak:
                chart.bars[(0, index)].fillColor = self.colors.HexColor(_PEAK_BAR)
        every = 4 if heat.granularity == "PT30M" else 2
        chart.categoryAxis.categoryNames = [
            row.label[:5] if i % every == 0 else "" for i, row in enumerate(heat.rows)
        ]
        chart.categoryAxis.labels.fontName = FONT
        chart.categoryAxis.labels.fontSize = 6
        chart.categoryAxis.labels.angle = 0
        chart.categoryAxis.tickDown = 2
        chart.valueAxis.valueMin = 0
        chart.valueAxis.labels.fontName = FONT
        chart.valueAxis.labels.fontSize = 6
        chart.barSpacing = 0.5  # type: ignore[assignment] # the stubs say int; floats work
        chart.groupSpacing = 1.5  # type: ignore[assignment]
        drawing.add(chart)
        return drawing

    # ------------------------------------------------------------------ sections

    def section(self, section: Section) -> list[Flowable]:
        out: list[Flowable] = [self.heading(section.title)]
        if section.unavailable is not None:
            out.append(self.para(f"Not shown: {section.unavailable}"))
            return out
        header = [c.label for c in section.columns]
        rows = [header]
        lines = list(section.rows) + ([section.total] if section.total is not None else [])
        for line in lines:
            rows.append(
                [
                    _short(str(line.get(c.key) or ""))
                    if c.kind == "text"
                    else format_value(c.kind, line.get(c.key))
                    for c in section.columns
                ]
            )
        first = 150.0
        others = max(1, len(section.columns) - 1)
        widths = [first] + [(self.width - first) / others] * others
        out.append(self.table(rows, widths, total_row=section.total is not None))
        if section.note:
            out.append(self.Spacer(1, 3))
            out.append(self.para(section.note, self.small))
        return out

    def story(self) -> list[Flowable]:
        pack = self.pack
        comparison = pack.comparison
        sub = f"{day_text(pack.business_date)} · {pack.timezone}"
        if pack.data_as_of is not None:
            sub += f" · data as of {pack.data_as_of.strftime('%Y-%m-%d %H:%M %Z').strip()}"
        story: list[Flowable] = [self.para(pack.title, self.title), self.para(sub, self.small)]
        for note in pack.notes:
            story += [self.Spacer(1, 4), self.para(note)]
        story += [self.heading("All queues"), self.headline(), self.Spacer(1, 3)]
        for base in comparison.baselines:
            story.append(self.para(f"{base.label}: {base.note}", self.small))
        lines = [*comparison.rows, comparison.total]
        story += [self.heading("Queues — the day"), self.values_table(lines)]
        for base in comparison.baselines:
            story += [
                self.heading(f"Change {base.label}"),
                self.para(base.note, self.small),
                self.Spacer(1, 3),
                self.delta_table(lines, base.key),
            ]
        if comparison.rows:
            from reportlab.platypus import KeepTogether

            charts = self.service_level_charts()
            story.append(KeepTogether([self.heading("Service level by queue"), charts[0]]))
            story += charts[1:]
        story += self.heat()
        for section in pack.sections:
            story += self.section(section)
        story.append(self.heading("How the figures are computed"))
        story += [self.para(m.formula, self.small) for m in STANDUP_METRICS]
        story.append(
            self.para(
                "Totals and averages divide summed numerators by summed denominators; counts "
                "compared with several weeks use their daily average over the days used.",
                self.small,
            )
        )
        return story


def build_pdf(pack: StandupPack, *, page_size: PageSize = "A4") -> bytes:
    """The pack as PDF bytes (deterministic: the same pack gives the same bytes)."""
    from reportlab.lib.pagesizes import A4, LETTER
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    _register_fonts()
    size = A4 if page_size == "A4" else LETTER
    margin = 14 * mm
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin + 4,
        title=pack.title,
        author="gcnotify",
        subject=f"{pack.title} — {pack.business_date.isoformat()}",
        invariant=True,
        # Every page starts in the embedded font, so no unembedded Helvetica is referenced.
        initialFontName=FONT,
        initialFontSize=8,
    )
    footer = f"{pack.title} · {pack.business_date.isoformat()}"

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColorRGB(0.32, 0.38, 0.43)
        canvas.drawString(margin, margin - 2, footer)
        canvas.drawRightString(size[0] - margin, margin - 2, f"Page {document.page}")
        canvas.restoreState()

    builder = _Builder(pack, doc.width)
    doc.build(builder.story(), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
