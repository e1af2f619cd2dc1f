"""The standup email body: numbers and arrows from the comparison, escaping, left-out days, size."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gcnotify.core.mail import RenderedEmail
from gcnotify.core.model import Queue, Recipients, ReportConfig
from gcnotify.core.windows import ReportWindow, start_of_day
from gcnotify.reports.precompile import precompile
from gcnotify.reports.render import HTML_BUDGET, Renderer
from gcnotify.reports.standup.assemble import assemble_pack
from gcnotify.reports.standup.compare import (
    STANDUP_METRICS,
    Closed,
    Delta,
    StandupMetric,
    compare_days,
    heat_table,
)
from gcnotify.reports.standup.counts import Counts
from gcnotify.reports.standup.email import BAD, GOOD, change
from gcnotify.reports.standup.pack import StandupPack, format_delta, format_value
from gcnotify.runtime.resources import templates_dir
from tests.reports.standup import packs
from tests.reports.test_render import EVIL, EVIL_HTML, parse

LAST_TUE = date(2025, 10, 28)  # the same weekday a week before packs.BUSINESS_DATE
HOLIDAY_REASON = "a holiday (Test Day)"
HALF_HOURS = 48  # packs.BUSINESS_DATE is a 24-hour day in packs.TIMEZONE
METRIC_IDS = [m.name for m in STANDUP_METRICS]


def usual_closures(day: date) -> bool | str:
    """The sample packs' closed days: weekends, and the Tuesday two weeks before."""
    return HOLIDAY_REASON if day == packs.HOLIDAY else day.weekday() >= 5


def closed_last_week(day: date) -> bool | str:
    """The usual closures, and last Tuesday closed too."""
    return HOLIDAY_REASON if day == LAST_TUE else usual_closures(day)


def standup_pack(names: Sequence[str] | int = 3, *, closed: Closed = usual_closures) -> StandupPack:
    """The stand-in's traffic for queues named ``names`` (or that many "Queue NN"), PT30M."""
    qs = packs.queues(names if isinstance(names, int) else len(names))
    if not isinstance(names, int):
        qs = [replace(q, name=name) for q, name in zip(qs, names, strict=True)]
    daily, by_interval = packs.answers(qs, "PT30M")
    return assemble_pack(
        report_id="support-standup",
        title="Support standup",
        business_date=packs.BUSINESS_DATE,
        timezone=packs.TIMEZONE,
        queues=qs,
        daily_answer=daily,
        interval_answer=by_interval,
        granularity="PT30M",
        closed=closed,
        data_as_of=datetime(2025, 11, 5, 7, 30, tzinfo=UTC),
    )


def standup_report() -> ReportConfig:
    return ReportConfig(
        id="support-standup",
        title="Support standup",
        timezone=packs.TIMEZONE,
        recipients=Recipients(to=("sup@example.com",)),
        queues=("Queue 01",),
    )


def standup_window() -> ReportWindow:
    day, zone = packs.BUSINESS_DATE, packs.TIMEZONE
    return ReportWindow(
        "previous_business_day",
        zone,
        day,
        start_of_day(day, zone),
        start_of_day(day + timedelta(days=1), zone),
    )


def render_pack(r: Renderer, pack: StandupPack, notes: Sequence[str] = ()) -> RenderedEmail:
    """The pack's email as the standup sender would render it."""
    return r.render_standup(
        standup_report(),
        standup_window(),
        pack.comparison,
        pack.heat,
        data_as_of=pack.data_as_of or datetime(2025, 11, 5, 7, 30, tzinfo=UTC),
        notes=notes,
    )


@cache
def _renderer() -> Renderer:
    return Renderer(templates_dir())


@cache
def _pack(count: int) -> StandupPack:
    return standup_pack(count)


@cache
def _email(count: int) -> RenderedEmail:
    return render_pack(_renderer(), _pack(count))


@cache
def _many(count: int) -> RenderedEmail:
    """``count`` queues of made-up counts (the stand-in's traffic takes seconds that many), with
    the sample pack's half-hour heat table."""
    queues = packs.queues(count)
    days = [packs.BUSINESS_DATE - timedelta(days=7 * k) for k in range(5)]
    daily = {
        day: {
            q.id: Counts(100 + i + k, 90 + i, 5 + k, 70, 90 + i, 90 * 20_000, 90, 90 * 300_000)
            for i, q in enumerate(queues)
        }
        for k, day in enumerate(days)
    }
    comparison = compare_days(
        business_date=packs.BUSINESS_DATE, queues=queues, daily=daily, closed=usual_closures
    )
    return render_pack(_renderer(), replace(_pack(3), comparison=comparison))


@cache
def _left_out() -> RenderedEmail:
    return render_pack(_renderer(), standup_pack(3, closed=closed_last_week))


# --- reading the HTML back -------------------------------------------------------------------


def _plain(fragment: str) -> str:
    """Visible text of an HTML fragment: tags dropped, entities decoded, spaces collapsed."""
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return " ".join(text.replace("\u00a0", " ").split())


@dataclass
class Cell:
    text: str = ""
    label: str = ""  # the hidden <b> label the phone cards show
    colour: str = ""
    bar: int | None = None  # the width in % of a bar drawn in the cell


@dataclass
class Rows(HTMLParser):
    """The rows of an HTML fragment's tables: each cell's own text, label, colour and bar.

    A bar's table counts as part of the cell holding it, not as a table of its own.
    """

    rows: list[list[Cell]] = field(default_factory=list)
    depth: int = 0
    in_label: bool = False

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.depth += 1
            if self.depth == 2 and self.rows and self.rows[-1]:
                self.rows[-1][-1].bar = int((a.get("width") or "0%").rstrip("%"))
        elif self.depth != 1:
            return
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            found = re.search(r"color:(#\w+)", a.get("style") or "")
            self.rows[-1].append(Cell(colour=found.group(1) if found else ""))
        elif tag == "b":
            self.in_label = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1
        elif tag == "b":
            self.in_label = False

    def handle_data(self, data: str) -> None:
        if self.depth != 1 or not self.rows or not self.rows[-1]:
            return
        cell = self.rows[-1][-1]
        if self.in_label:
            cell.label += data
        else:
            cell.text = " ".join((cell.text + data).replace("\u00a0", " ").split())


def section(html: str, heading: str) -> str:
    """The HTML from the <h2> that starts with ``heading`` to the next <h2> or the footer."""
    start = html.index(f">{heading}")
    ends = [i for i in (html.find("<h2", start), html.find('class="foot"', start)) if i > 0]
    return html[start : min(ends)]


def rows(fragment: str) -> list[list[Cell]]:
    reader = Rows()
    reader.feed(fragment)
    reader.close()
    return reader.rows


@dataclass(frozen=True)
class Shown:
    """One change line of a headline tile."""

    basis: str  # "vs last Tue"
    text: str  # "▲ +93 (+8.7%)" or "—"
    rest: str  # the verdict or the reason after it
    colour: str


@dataclass(frozen=True)
class Tile:
    value: str
    changes: tuple[Shown, ...]


def tiles(html: str) -> dict[str, Tile]:
    """The headline tiles by label; each <div> of a tile holds one line of it."""
    found = {}
    for part in html.split('class="tile"')[1:]:
        chunk = part.split("<!--[if mso]></td>", 1)[0]
        lines = re.findall(r'<div style="([^"]*)">(.*?)</div>', chunk, flags=re.S)
        changes = []
        for (_, basis), (style, body) in zip(lines[2::2], lines[3::2], strict=True):
            strong, rest = re.fullmatch(r"<strong[^>]*>(.*?)</strong>(.*)", body, re.S).groups()  # type: ignore[union-attr]
            colour = re.search(r"color:(#\w+)", style)
            changes.append(
                Shown(
                    _plain(basis), _plain(strong), _plain(rest), colour.group(1) if colour else ""
                )
            )
        found[_plain(lines[0][1])] = Tile(_plain(lines[1][1]), tuple(changes))
    return found


def queue_rows(html: str) -> dict[str, list[Cell]]:
    """The queue table by row: "Queue 02" for its values, "Queue 02 vs last Tue" for changes."""
    table = section(html, "Queues")
    out: dict[str, list[Cell]] = {}
    queue = ""
    for row in rows(table[table.index('<table class="d"') :])[1:]:  # after the heading row
        label = row[0].text
        if label.startswith("vs "):
            out[f"{queue} {label}"] = row[1:]
        else:
            queue, out[label] = label, row[1:]
    return out


# --- the headline ----------------------------------------------------------------------------


@pytest.mark.parametrize("metric", STANDUP_METRICS, ids=METRIC_IDS)
def test_headline_tile_shows_the_days_total(metric: StandupMetric) -> None:
    """Each headline tile holds the day's total of its metric, formatted as in the PDF."""
    total = _pack(3).comparison.total
    expected = format_value(metric.kind, total.values[metric.name])
    assert expected == tiles(_email(3).html)[metric.label].value


@pytest.mark.parametrize("metric", STANDUP_METRICS, ids=METRIC_IDS)
def test_headline_tile_shows_both_changes_with_arrow_and_sign(metric: StandupMetric) -> None:
    """Each tile shows its change vs last Tue and vs the 4-week average: ▲/▼, then signed."""
    comparison = _pack(3).comparison
    expected = [
        (b.label, format_delta(metric, comparison.total.deltas[b.key][metric.name], arrows=True))
        for b in comparison.baselines
    ]
    shown = tiles(_email(3).html)[metric.label].changes
    assert expected == [(c.basis, c.text) for c in shown]


@pytest.mark.parametrize("metric", STANDUP_METRICS, ids=METRIC_IDS)
def test_arrow_points_the_way_the_number_moved(metric: StandupMetric) -> None:
    """▲ for a rise and ▼ for a fall against each comparison, as the comparison computed it."""
    comparison = _pack(3).comparison
    expected = [
        "▲" if (comparison.total.deltas[b.key][metric.name].change or 0) > 0 else "▼"
        for b in comparison.baselines
    ]
    assert expected == [c.text[0] for c in tiles(_email(3).html)[metric.label].changes]


@pytest.mark.parametrize(
    ("metric", "verdict", "colour"),
    [
        ("offered", "", ""),
        ("answered", "", ""),
        ("abandon_rate", "worse", BAD),
        ("service_level", "better", GOOD),
        ("asa", "worse", BAD),
        ("aht", "worse", BAD),
    ],
)
def test_a_rise_is_good_only_where_higher_is_better(metric: str, verdict: str, colour: str) -> None:
    """Every figure up: SL green "better", abandon %/ASA/AHT red "worse", counts not judged."""
    email = render_pack(_renderer(), _rising_pack())
    label = next(m.label for m in STANDUP_METRICS if m.name == metric)
    shown = tiles(email.html)[label].changes[0]
    judged = shown.colour if shown.colour in (GOOD, BAD) else ""
    assert (verdict, colour, "▲") == (shown.rest, judged, shown.text[0])


def _rising_pack() -> StandupPack:
    """One queue whose every figure is higher than on each comparison day."""
    queue = Queue("q-support", "Support")
    week = Counts(100, 90, 5, 70, 100, 90 * 20_000, 90, 90 * 300_000)
    day = Counts(120, 100, 12, 90, 110, 100 * 30_000, 100, 100 * 360_000)
    daily = {packs.BUSINESS_DATE - timedelta(days=7 * k): {queue.id: week} for k in range(1, 5)}
    daily[packs.BUSINESS_DATE] = {queue.id: day}
    comparison = compare_days(
        business_date=packs.BUSINESS_DATE, queues=[queue], daily=daily, closed=lambda d: False
    )
    return StandupPack("r", "Support standup", packs.BUSINESS_DATE, packs.TIMEZONE, comparison)


def test_the_email_says_how_many_days_the_average_used() -> None:
    """The four-week average names its days: 3 of 4 Tuesdays, the holiday left out and why."""
    expected = (
        "vs 4-week avg: average of 3 of 4 Tuesdays "
        "(left out — Tue 14 Oct 2025: a holiday (Test Day))."
    )
    email = _email(3)
    assert (True, True) == (
        expected in _plain(email.html),
        expected in " ".join(email.text.split()),
    )


def test_a_closed_last_week_shows_a_dash_and_the_reason_in_every_tile() -> None:
    """Last Tuesday closed: every tile shows "— vs last Tue" with the holiday as the reason."""
    expected = {
        m.label: ("vs last Tue", "—", "Tue 28 Oct 2025 was a holiday (Test Day)")
        for m in STANDUP_METRICS
    }
    found = tiles(_left_out().html)
    assert expected == {
        k: (t.changes[0].basis, t.changes[0].text, t.changes[0].rest) for k, t in found.items()
    }


def test_a_closed_last_week_shows_a_dash_and_the_reason_in_the_text_part() -> None:
    """The text part's headline has "—" under vs last Tue and says why below it."""
    text = _left_out().text
    offered = next(line for line in text.splitlines() if line.strip().startswith("Offered"))
    expected = "— vs last Tue: Tue 28 Oct 2025 was a holiday (Test Day)"
    assert ("—", True) == (offered.split()[2], expected in text)


# --- the queue table -------------------------------------------------------------------------


@pytest.mark.parametrize("queue", [0, 1, 2, "total"])
def test_queue_table_shows_each_queues_values(queue: int | str) -> None:
    """A queue's row (and the total's) holds its six figures, each with its column's label."""
    comparison = _pack(3).comparison
    line = comparison.total if queue == "total" else comparison.rows[int(queue)]
    expected = [(m.label, format_value(m.kind, line.values[m.name])) for m in STANDUP_METRICS]
    cells = queue_rows(_email(3).html)[line.label]
    assert expected == [(c.label, c.text) for c in cells]


def short_change(metric: StandupMetric, delta: Delta) -> str:
    """What a queue table cell should read, worked out from the delta alone."""
    assert delta.change is not None
    if metric.kind == "count":
        assert delta.relative is not None
        size = f"{abs(100 * delta.relative):.1f}%"
    elif metric.kind == "percent":
        size = f"{abs(100 * delta.change):.1f} pts"
    else:
        seconds = int(abs(delta.change) / 1000 + 0.5)
        size = f"{seconds // 60}:{seconds % 60:02d}"
    if not re.search("[1-9]", size):
        return size
    moved = delta.relative if metric.kind == "count" else delta.change
    assert moved is not None
    return f"▲ +{size}" if moved > 0 else f"▼ −{size}"


def judged_colour(metric: StandupMetric, shown: str) -> str:
    """Green when the shown move is the good way, red when the bad way, else none."""
    if metric.better is None or shown[0] not in "▲▼":
        return ""
    return GOOD if (shown[0] == "▲") == (metric.better == "higher") else BAD


def _change_cells(basis: int) -> list[tuple[StandupMetric, Delta, Cell]]:
    """Six queues: among them a time change whose m:ss rounds to 0:00 though its % does not."""
    comparison = _pack(6).comparison
    base = comparison.baselines[basis]
    found = queue_rows(_email(6).html)
    return [
        (m, line.deltas[base.key][m.name], cell)
        for line in comparison.rows
        for m, cell in zip(STANDUP_METRICS, found[f"{line.label} {base.label}"], strict=True)
    ]


@pytest.mark.parametrize("basis", [0, 1])
def test_queue_table_shows_each_queues_changes_in_short(basis: int) -> None:
    """Change rows read a count's change in %, a rate's in pts, a time's in m:ss, with ▲/▼."""
    cells = _change_cells(basis)
    assert [short_change(m, d) for m, d, _ in cells] == [c.text for _, _, c in cells]


@pytest.mark.parametrize("basis", [0, 1])
def test_queue_table_colours_changes_by_whether_they_are_good(basis: int) -> None:
    """Green where a change is better, red where worse, none for counts or a change of zero."""
    cells = _change_cells(basis)
    expected = [judged_colour(m, short_change(m, d)) for m, d, _ in cells]
    assert (expected, True) == ([c.colour for _, _, c in cells], {GOOD, BAD} <= set(expected))


def test_queue_table_leaves_out_a_comparison_without_days_and_says_why() -> None:
    """Last Tuesday closed: no "vs last Tue" rows, and a sentence above the table says why."""
    html = _left_out().html
    labels = {label.rsplit(" vs ", 1)[-1] for label in queue_rows(html) if " vs " in label}
    expected = "No change vs last Tue is shown: Tue 28 Oct 2025 was a holiday (Test Day)."
    assert ({"4-week avg"}, True) == (labels, expected in _plain(section(html, "Queues")))


def test_a_queue_named_like_a_script_is_escaped() -> None:
    """A queue called <script>… is text in the HTML (escaped) and verbatim in the text part."""
    email = render_pack(_renderer(), standup_pack([EVIL, "Sales"]))
    assert (True, False, True) == (
        EVIL_HTML in email.html,
        "<script" in email.html,
        EVIL in email.text,
    )


def test_html_tags_balance() -> None:
    """Every table, row, cell and div is closed where it was opened (email clients are strict)."""
    checked = parse(_left_out().html)
    assert ([], [], 1) == (checked.errors, checked.stack, checked.styles)


def test_the_email_needs_no_images() -> None:
    """Bars are table cells: no <img>, no background image, no data: URL."""
    html = _email(3).html
    assert [] == re.findall(r"<img|background-image|url\(|data:", html)


# --- the charts ------------------------------------------------------------------------------


def test_service_level_chart_has_a_bar_per_queue_as_long_as_its_value() -> None:
    """One row per queue then the total: name, a bar of SL % of the track, the value as text."""
    comparison = _pack(3).comparison
    expected = [
        (
            line.label,
            round(100 * (line.values["service_level"] or 0)),
            format_value("percent", line.values["service_level"]),
        )
        for line in [*comparison.rows, comparison.total]
    ]
    chart = rows(section(_email(3).html, "Service level by queue"))
    assert expected == [(r[0].text, r[1].bar, r[2].text) for r in chart]


def test_heat_chart_lists_every_interval_with_its_offered_count() -> None:
    """Every half hour of the day, in order, with "N offered" as text beside its bar."""
    heat = _pack(3).heat
    assert heat is not None
    expected = [
        (f"{r.label}–{r.end:%H:%M}", f"{format_value('count', r.offered)} offered")
        for r in heat.rows
    ]
    chart = rows(section(_email(3).html, "Offered by half hour"))
    assert (HALF_HOURS, expected) == (len(chart), [(r[0].text, r[2].text) for r in chart])


def test_heat_chart_marks_the_peak_in_words() -> None:
    """The busiest interval alone says "peak", and the line above the chart names it."""
    heat = _pack(3).heat
    assert heat is not None
    assert heat.peak is not None
    fragment = section(_email(3).html, "Offered by half hour")
    marked = [r[0].text for r in rows(fragment) if r[3].text == "peak"]
    when = f"{heat.peak.label}–{heat.peak.end:%H:%M}"
    assert ([when], True) == (marked, f"Peak {when}: {heat.peak.offered:,.0f} offered" in fragment)


def test_heat_chart_bars_scale_to_the_peak() -> None:
    """The peak's bar fills the track; the others are their share of it; zero draws none."""
    heat = _pack(3).heat
    assert heat is not None
    assert heat.peak is not None
    peak = heat.peak.offered
    expected = [max(1, round(100 * r.offered / peak)) if r.offered else None for r in heat.rows]
    chart = rows(section(_email(3).html, "Offered by half hour"))
    assert expected == [r[1].bar for r in chart]


def test_a_day_without_traffic_says_nothing_was_offered() -> None:
    """No interval had traffic: the chart says so rather than marking a peak."""
    pack = _pack(3)
    quiet = heat_table(
        business_date=packs.BUSINESS_DATE, timezone=packs.TIMEZONE, granularity="PT1H", buckets={}
    )
    email = render_pack(_renderer(), replace(pack, heat=quiet))
    fragment = section(email.html, "Offered by hour")
    assert (True, []) == (
        "Nothing was offered in any hour of the day." in fragment,
        [r for r in rows(fragment) if r[3].text],
    )


def test_without_a_heat_table_the_interval_chart_is_left_out() -> None:
    """A pack fetched without intervals has no interval chart, in either part."""
    email = render_pack(_renderer(), replace(_pack(3), heat=None))
    assert (False, False) == ("Offered by" in email.html, "OFFERED BY" in email.text)


# --- changes too small to show -----------------------------------------------------------------


def test_a_change_that_rounds_to_zero_has_no_arrow_sign_or_colour() -> None:
    """−0.00004 of service level shows "0.0 pts", neither ▼ nor green/red: nothing visible moved."""
    metric = next(m for m in STANDUP_METRICS if m.name == "service_level")
    base = _pack(3).comparison.baselines[0]
    shown = change(metric, Delta(0.5, -0.00004, None), base)
    assert ("0.0\u00a0pts", "0.0\u00a0pts", "", "") == (
        shown.text,
        shown.short,
        shown.colour,
        shown.verdict,
    )


# --- size ------------------------------------------------------------------------------------


def test_fifty_queues_with_half_hours_fit_the_budget_with_every_queue() -> None:
    """50 queues and 48 half hours stay under Gmail's clipping size, none of them cut."""
    email = _email(50)
    size = len(email.html.encode("utf-8"))
    names = [q.name for q in packs.queues(50) if f"<strong>{q.name}</strong>" not in email.html]
    assert (True, [], False) == (size < HTML_BUDGET, names, "show the first" in email.html), size


def test_too_many_queues_show_as_many_as_fit_and_say_so() -> None:
    """120 queues: the HTML keeps under the budget by showing the first N, and says N of 120."""
    email = _many(120)
    size = len(email.html.encode("utf-8"))
    said = re.search(r"show the first (\d+) of 120 queues", email.html)
    assert said is not None
    shown = int(said.group(1))
    assert (True, True, True) == (
        size < HTML_BUDGET,
        f"<strong>Queue {shown:02d}</strong>" in email.html,
        f"<strong>Queue {shown + 1:02d}</strong>" not in email.html,
    ), size


def test_the_text_part_keeps_every_queue_when_the_html_cannot() -> None:
    """The text part is not clipped: all 120 queues are in it."""
    email = _many(120)
    missing = [q.name for q in packs.queues(120) if f"\n{q.name}\n" not in email.text]
    assert [] == missing


# --- templates -------------------------------------------------------------------------------


def test_precompiled_templates_render_the_standup_exactly_as_the_sources(tmp_path: Path) -> None:
    """The build's precompiled standup templates give the same email byte for byte."""
    compiled = tmp_path / "templates_compiled"
    precompile(templates_dir(), compiled)
    fast = Renderer(templates_dir(), compiled)
    assert (True, _left_out()) == (
        fast.precompiled,
        render_pack(fast, standup_pack(3, closed=closed_last_week)),
    )


def test_subject_names_the_title_and_the_business_day() -> None:
    """The subject follows the report's subject template, like the queue report's."""
    assert "Support standup — Tue 04 Nov 2025" == _email(3).subject
