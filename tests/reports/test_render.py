"""Rendering: the email shows the right numbers, escapes names, and fits the Gmail budget."""

from __future__ import annotations

import csv
import io
import re
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import pytz

from gcnotify.core.errors import RenderError
from gcnotify.core.mail import Attachment, RenderedEmail
from gcnotify.core.model import Queue, Recipients, ReportConfig
from gcnotify.core.windows import ReportWindow, start_of_day
from gcnotify.reports.metrics import (
    METRICS,
    IntervalRow,
    ReportTable,
    Row,
    build_table,
    format_value,
)
from gcnotify.reports.precompile import main as precompile_main
from gcnotify.reports.precompile import precompile
from gcnotify.reports.render import HTML_BUDGET, MANIFEST, TEMPLATE_NAMES, Renderer, subject_for
from gcnotify.runtime.resources import compiled_templates_dir, default_config_path, templates_dir

ZONE = "America/New_York"
FRIDAY = date(2026, 11, 20)
AS_OF = datetime(2026, 11, 21, 11, 15, tzinfo=UTC)
EVIL = '<script>alert(1)</script> & "Sales"'
EVIL_HTML = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Sales&#34;"
TEN = (
    "offered",
    "answered",
    "handled",
    "abandoned",
    "abandon_rate",
    "aht",
    "asa",
    "service_level",
    "avg_talk",
    "avg_hold",
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(templates_dir())


def window(kind: str = "previous_business_day", day: date = FRIDAY, days: int = 1) -> ReportWindow:
    return ReportWindow(
        kind=kind,  # type: ignore[arg-type]
        timezone=ZONE,
        business_date=day,
        start=start_of_day(day, ZONE),
        end=start_of_day(day + timedelta(days=days), ZONE),
    )


def report_config(**changes: Any) -> ReportConfig:
    base = ReportConfig(
        id="support-daily",
        title="Support queues",
        timezone=ZONE,
        recipients=Recipients(to=("sup@example.com",)),
        queues=("Support", "Billing"),
        metrics=TEN,
    )
    return replace(base, **changes)


def stats_for(seed: int) -> list[dict[str, Any]]:
    offered = 100 + seed * 37 % 900
    abandoned = seed % 11
    answered = offered - abandoned
    return [
        {"metric": "nOffered", "stats": {"count": offered}},
        {"metric": "tAnswered", "stats": {"count": answered, "sum": answered * 23_456}},
        {"metric": "tAbandon", "stats": {"count": abandoned, "sum": abandoned * 40_000}},
        {"metric": "tHandle", "stats": {"count": answered, "sum": answered * 345_678}},
        {"metric": "tTalk", "stats": {"count": answered, "sum": answered * 280_000}},
        {"metric": "tHeld", "stats": {"count": seed % 7, "sum": seed % 7 * 61_000}},
        {
            "metric": "oServiceLevel",
            "stats": {"numerator": answered * 4 // 5, "denominator": offered},
        },
    ]


def make_table(
    names: list[str], granularity: str = "P1D", metrics: tuple[str, ...] = TEN
) -> ReportTable:
    """A table for queues ``names`` over FRIDAY, one data point per interval of ``granularity``."""
    step = {"P1D": timedelta(days=1), "PT1H": timedelta(hours=1), "PT30M": timedelta(minutes=30)}
    start = start_of_day(FRIDAY, ZONE).astimezone(UTC)
    end = start_of_day(FRIDAY + timedelta(days=1), ZONE).astimezone(UTC)
    results = []
    for q, _ in enumerate(names):
        data, at, n = [], start, 0
        while at < end:
            interval = (
                f"{at:%Y-%m-%dT%H:%M:%S}.000Z/{at + step[granularity]:%Y-%m-%dT%H:%M:%S}.000Z"
            )
            data.append({"interval": interval, "metrics": stats_for(q * 100 + n)})
            at, n = at + step[granularity], n + 1
        results.append({"group": {"queueId": f"q{q}"}, "data": data})
    queues = [Queue(f"q{i}", name) for i, name in enumerate(names)]
    return build_table({"results": results}, queues, metrics, ZONE, granularity)


class TagBalance(HTMLParser):
    """Counts open/close tags that must balance for table layouts to survive email clients."""

    CHECKED = ("table", "tr", "td", "th", "html", "head", "body", "style", "div", "ul", "li", "p")

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.styles += tag == "style"  # a <style> inside an Outlook-only comment is not counted
        if tag in self.CHECKED:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.CHECKED:
            if not self.stack or self.stack[-1] != tag:
                self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            else:
                self.stack.pop()


def parse(html: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    return parser


# --- construction ----------------------------------------------------------------------------


def test_missing_template_names_file_and_directory(tmp_path: Path) -> None:
    """A build that lost a template fails at cold start, saying which file and where."""
    for name in TEMPLATE_NAMES:
        shutil.copy(templates_dir() / name, tmp_path / name)
    (tmp_path / "report.txt").unlink()
    with pytest.raises(RenderError, match=r"report\.txt") as info:
        Renderer(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_template_syntax_error_fails_at_construction(tmp_path: Path) -> None:
    """A broken template is found when the renderer is built, not at send time."""
    for name in TEMPLATE_NAMES:
        shutil.copy(templates_dir() / name, tmp_path / name)
    (tmp_path / "alert.txt").write_text("{% if %}")
    with pytest.raises(RenderError, match=r"alert\.txt"):
        Renderer(tmp_path)


def test_undefined_template_variable_is_a_render_error(tmp_path: Path) -> None:
    """StrictUndefined: a template using a name the renderer does not pass fails loudly."""
    for name in TEMPLATE_NAMES:
        shutil.copy(templates_dir() / name, tmp_path / name)
    (tmp_path / "alert.txt").write_text("{{ no_such_value }}")
    with pytest.raises(RenderError, match="no_such_value"):
        Renderer(tmp_path).render_alert("r", None, "p", "a")


# --- precompiled templates (the Lambda artifact) ---------------------------------------------


def _every_email(r: Renderer) -> list[RenderedEmail]:
    return [
        r.render_report(
            report_config(interval="PT1H"),
            window(),
            make_table([EVIL, "Sales"], "PT1H"),
            data_as_of=AS_OF,
        ),
        r.render_no_activity(report_config(), window(), data_as_of=AS_OF),
        r.render_alert("support-daily", FRIDAY, f"boom {EVIL}", "do this"),
    ]


def test_precompiled_templates_render_exactly_as_the_sources(tmp_path: Path) -> None:
    """The build's precompiled templates are used, and every email is byte for byte the same."""
    compiled = tmp_path / "templates_compiled"
    written = precompile(templates_dir(), compiled)
    assert {MANIFEST} < {p.name for p in written}
    fast = Renderer(templates_dir(), compiled)
    slow = Renderer(templates_dir())
    assert (True, False) == (fast.precompiled, slow.precompiled)
    assert _every_email(slow) == _every_email(fast)


def test_precompiled_templates_of_other_sources_are_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A template edited after precompiling wins over the stale compiled copy, with a warning."""
    sources = tmp_path / "templates"
    shutil.copytree(templates_dir(), sources)
    compiled = tmp_path / "templates_compiled"
    precompile(sources, compiled)
    (sources / "alert.txt").write_text("edited: {{ report_id }}\n")
    with caplog.at_level("WARNING", logger="gcnotify"):
        r = Renderer(sources, compiled)
    assert not r.precompiled
    assert "do not match" in caplog.text
    assert "edited: r\n" == r.render_alert("r", None, "p", "a").text


@pytest.mark.parametrize("manifest", [None, "{not json", '{"jinja2": "0.0", "sources": {}}'])
def test_precompiled_templates_without_a_valid_manifest_are_not_used(
    tmp_path: Path, manifest: str | None
) -> None:
    """No manifest, a broken one, or another Jinja2's: compile from the sources instead."""
    compiled = tmp_path / "templates_compiled"
    precompile(templates_dir(), compiled)
    if manifest is None:
        (compiled / MANIFEST).unlink()
    else:
        (compiled / MANIFEST).write_text(manifest)
    assert not Renderer(templates_dir(), compiled).precompiled


def test_precompile_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """build.mk's call: one artifact directory, or a usage line and exit 2; a bad config there
    fails the build with the config's own message (exit 1)."""
    assert 2 == precompile_main([])
    assert "usage" in capsys.readouterr().err
    shutil.copytree(templates_dir(), tmp_path / "templates")
    shutil.copy(default_config_path(), tmp_path / "gcnotify.yaml")
    assert 0 == precompile_main([str(tmp_path)])
    out = capsys.readouterr().out
    assert f"precompiled {len(TEMPLATE_NAMES)} templates" in out
    assert "precomputed holidays of US" in out
    assert tmp_path / "templates_compiled" == compiled_templates_dir(tmp_path / "templates")
    assert Renderer(tmp_path / "templates", tmp_path / "templates_compiled").precompiled
    (tmp_path / "gcnotify.yaml").write_text("version: 1\nreports: []\nbogus: 1\n")
    assert 1 == precompile_main([str(tmp_path)])
    assert "bogus" in capsys.readouterr().err
    assert not (tmp_path / "holidays_precomputed.json").exists()
    assert compiled_templates_dir(tmp_path / "elsewhere" / "templates") is None


# --- subject ---------------------------------------------------------------------------------


def test_default_subject_has_title_and_business_date() -> None:
    """The default subject reads "<title> — Fri 20 Nov 2026"."""
    assert "Support queues — Fri 20 Nov 2026" == subject_for(report_config(), window())


def test_subject_without_business_date_gets_it_appended() -> None:
    """A subject template without {business_date} still carries the date."""
    report = report_config(subject="Daily {title}")
    assert "Daily Support queues — Fri 20 Nov 2026" == subject_for(report, window())


def test_weekly_subject_says_week_of() -> None:
    """previous_week subjects say "Week of" before the user's date format."""
    monday = date(2026, 11, 16)
    subject = subject_for(report_config(window="previous_week"), window("previous_week", monday, 7))
    assert "Support queues — Week of Mon 16 Nov 2026" == subject


def test_weekly_subject_that_mentions_week_is_left_alone() -> None:
    """A template that already says 'week' is not prefixed a second time."""
    report = report_config(window="previous_week", subject="{title}, week {business_date:%d/%m}")
    assert "Support queues, week 16/11" == subject_for(
        report, window("previous_week", date(2026, 11, 16), 7)
    )


def test_weekly_subject_without_date_appends_week_of() -> None:
    """previous_week with no {business_date} appends the window's "week of" phrase."""
    report = report_config(window="previous_week", subject="{title}")
    subject = subject_for(report, window("previous_week", date(2026, 11, 16), 7))
    assert "Support queues — week of Mon 16 Nov 2026" == subject


def month_to_date_window() -> ReportWindow:
    return ReportWindow(
        kind="month_to_date",
        timezone=ZONE,
        business_date=FRIDAY,
        start=start_of_day(date(2026, 11, 1), ZONE),
        end=start_of_day(FRIDAY + timedelta(days=1), ZONE),
    )


def test_month_to_date_subject_says_so() -> None:
    """month_to_date subjects say the window runs from the 1st through the business date."""
    subject = subject_for(report_config(window="month_to_date"), month_to_date_window())
    assert "Support queues — Month to date through Fri 20 Nov 2026" == subject


def test_month_to_date_subject_that_mentions_month_is_left_alone() -> None:
    """A template that already says 'month' is not prefixed."""
    report = report_config(
        window="month_to_date", subject="{title} month so far {business_date:%d %b}"
    )
    assert "Support queues month so far 20 Nov" == subject_for(report, month_to_date_window())


def test_subject_is_one_line() -> None:
    """A title with a line break cannot split the Subject header."""
    subject = subject_for(report_config(title="Support\r\nBcc: x@example.com"), window())
    assert "Support Bcc: x@example.com — Fri 20 Nov 2026" == subject


# --- report email ----------------------------------------------------------------------------


def test_report_html_parses_with_balanced_tags(renderer: Renderer) -> None:
    """Every table, row and cell the HTML opens it also closes, in order."""
    email = renderer.render_report(
        report_config(interval="PT1H"),
        window(),
        make_table(["Support", EVIL], "PT1H"),
        data_as_of=AS_OF,
    )
    parser = parse(email.html)
    assert ([], []) == (parser.errors, parser.stack)


def test_report_html_is_email_client_safe(renderer: Renderer) -> None:
    """One <style> block, and no scripts, links, images or external CSS."""
    html = renderer.render_report(
        report_config(), window(), make_table(["Support"]), data_as_of=AS_OF
    ).html
    assert 1 == parse(html).styles
    assert not any(tag in html for tag in ("<script", "<link", "<img", "@import", "url("))


def test_report_html_is_never_fixed_wider_than_600px(renderer: Renderer) -> None:
    """No width attribute or CSS width/min-width/max-width above 600 px, Outlook's included."""
    html = renderer.render_report(
        report_config(interval="PT1H"), window(), make_table(["Support"], "PT1H"), data_as_of=AS_OF
    ).html
    widths = re.findall(r'width="(\d+)"|width:(\d+)px', html)
    assert [] == [w for pair in widths for w in pair if w and int(w) > 600]
    assert "max-width:600px" in html


def test_outlook_gets_a_600px_table_and_no_phone_labels(renderer: Renderer) -> None:
    """Outlook ignores max-width: an Outlook-only table fixes 600 px and hides the card labels."""
    html = renderer.render_report(
        report_config(), window(), make_table(["Support"]), data_as_of=AS_OF
    ).html
    assert '<!--[if mso]><table role="presentation" width="600"' in html
    assert "<style>b{display:none;mso-hide:all}</style><![endif]-->" in html


def test_numbers_carry_their_label_for_narrow_screens(renderer: Renderer) -> None:
    """Each number cell holds its column label in a <b hidden> that only the phone layout shows."""
    html = renderer.render_report(
        report_config(metrics=("offered", "abandon_rate")),
        window(),
        make_table(["Support"], metrics=("offered", "abandon_rate")),
        data_as_of=AS_OF,
    ).html
    assert "<td><b hidden>Offered</b>100</td><td><b hidden>Abandon %</b>0.0%</td>" in html
    assert "@media (max-width:480px)" in html


def test_html_and_text_show_the_formatted_numbers(renderer: Renderer) -> None:
    """Each queue's cells in HTML and its text line are exactly format_value of its values."""
    table = make_table(["Support", "Billing"])
    email = renderer.render_report(report_config(), window(), table, data_as_of=AS_OF)
    for row in (*table.rows, table.total):
        cells = [format_value(m, row.values[m]) for m in TEN]
        html_cells = (
            f"<td><b hidden>{METRICS[m].label}</b>{c}</td>" for m, c in zip(TEN, cells, strict=True)
        )
        assert "".join(html_cells) in email.html
        table_text = email.text.split("QUEUES (2)\n", 1)[1]
        line = next(x for x in table_text.splitlines() if x.startswith(row.label))
        assert cells == line.split()[-len(TEN) :]


def test_text_columns_are_aligned(renderer: Renderer) -> None:
    """In the text part every queue line of the table ends at the same column."""
    email = renderer.render_report(
        report_config(), window(), make_table(["A", "Much longer queue"]), data_as_of=AS_OF
    )
    lines = email.text.split("QUEUES (2)\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert 1 == len({len(line) for line in lines})


def test_queue_name_is_escaped_in_html(renderer: Renderer) -> None:
    """A queue named like a script tag renders as text in the HTML part."""
    email = renderer.render_report(report_config(), window(), make_table([EVIL]), data_as_of=AS_OF)
    assert EVIL_HTML in email.html
    assert "<script>" not in email.html


def test_queue_name_is_raw_in_text(renderer: Renderer) -> None:
    """The plain-text part is not HTML-escaped."""
    email = renderer.render_report(report_config(), window(), make_table([EVIL]), data_as_of=AS_OF)
    assert EVIL in email.text
    assert "&amp;" not in email.text


def test_title_is_escaped_in_html_and_raw_in_subject(renderer: Renderer) -> None:
    """A title with markup is text in <title> and <h1>, and plain in the subject."""
    email = renderer.render_report(
        report_config(title=EVIL), window(), make_table(["Support"]), data_as_of=AS_OF
    )
    assert f"{EVIL} — Fri 20 Nov 2026" == email.subject
    assert f">{EVIL_HTML}</h1>" in email.html
    assert f"<title>{EVIL_HTML} — Fri 20 Nov 2026</title>" in email.html


def test_report_shows_date_window_zone_and_data_as_of(renderer: Renderer) -> None:
    """Both parts name the business date, the window with its zone and the local data-as-of time."""
    w = window()
    email = renderer.render_report(report_config(), w, make_table(["Support"]), data_as_of=AS_OF)
    for part in (email.html, email.text):
        assert "Fri 20 Nov 2026" in part
        assert w.label() in part
        assert "Sat 21 Nov 2026 06:15 EST (America/New_York)" in part


def test_footer_states_formulas_and_completion_timing(renderer: Renderer) -> None:
    """The footer gives each metric's formula and why Offered ≠ Answered + Abandoned."""
    email = renderer.render_report(
        report_config(metrics=("offered", "aht")),
        window(),
        make_table(["Support"], metrics=("offered", "aht")),
        data_as_of=AS_OF,
    )
    assert METRICS["aht"].formula in email.html
    assert "Offered therefore need not equal Answered + Abandoned" in email.html
    assert "AHT = total handle time (tHandle sum) ÷ handled" in email.text


def test_daily_report_has_no_interval_table(renderer: Renderer) -> None:
    """P1D reports show only the queue table."""
    email = renderer.render_report(
        report_config(), window(), make_table(["Support"]), data_as_of=AS_OF
    )
    assert ">Time</th>" not in email.html


def test_hourly_report_shows_local_interval_table(renderer: Renderer) -> None:
    """PT1H adds an hourly table with local times, inline and in the text part."""
    email = renderer.render_report(
        report_config(interval="PT1H"), window(), make_table(["Support"], "PT1H"), data_as_of=AS_OF
    )
    assert "Hourly detail (America/New_York)" in email.html
    assert '<td class="l" align="left" nowrap>09:00–10:00</td>' in email.html
    assert "09:00–10:00  Support" in email.text
    assert () == email.attachments


def test_fall_back_hours_are_told_apart(renderer: Renderer) -> None:
    """On the DST fall-back day the two 01:00 hours show their zone abbreviations."""
    day = date(2026, 11, 1)
    results = [
        {
            "group": {"queueId": "q0"},
            "data": [
                {"interval": iv, "metrics": [{"metric": "nOffered", "stats": {"count": 1}}]}
                for iv in (
                    "2026-11-01T04:00:00Z/2026-11-01T05:00:00Z",
                    "2026-11-01T05:00:00Z/2026-11-01T06:00:00Z",
                    "2026-11-01T06:00:00Z/2026-11-01T07:00:00Z",
                )
            ],
        }
    ]
    table = build_table({"results": results}, [Queue("q0", "Support")], ("offered",), ZONE, "PT1H")
    email = renderer.render_report(
        report_config(interval="PT1H", metrics=("offered",)),
        window(day=day),
        table,
        data_as_of=AS_OF,
    )
    times = [line.split("  ")[0] for line in email.text.splitlines() if "  Support  " in line]
    assert ["00:00–01:00 EDT", "01:00–02:00 EDT", "01:00–02:00 EST"] == times[:3]
    assert 25 == len(times)


def interval_lines(text: str) -> list[list[str]]:
    """The interval table of a text part, one list of cells per row (header and rule dropped)."""
    table = text.split(" DETAIL (America/New_York)\n", 1)[1].split("\n\n", 1)[0]
    return [re.split(r"  +", line) for line in table.splitlines()[2:]]


def sparse_table(names: list[str], hours: dict[str, list[int]]) -> ReportTable:
    """An hourly table over FRIDAY with offers only in ``hours[name]`` (local hours)."""
    zone = pytz.timezone(ZONE)
    intervals = []
    for name in names:
        for hour in hours.get(name, []):
            start = zone.localize(datetime.combine(FRIDAY, time(hour)))
            values = {"offered": 7.0, "aht": 61_000.0}
            intervals.append(IntervalRow(start, start + timedelta(hours=1), name, values))
    rows = tuple(Row(name, {"offered": 0.0, "aht": None}) for name in names)
    total = Row("Total", {"offered": 7.0, "aht": 61_000.0})
    return ReportTable(("offered", "aht"), rows, total, tuple(intervals), has_data=True)


def test_interval_rows_are_grouped_by_queue(renderer: Renderer) -> None:
    """Every hour of the first queue, then every hour of the next, in the report's queue order."""
    email = renderer.render_report(
        report_config(interval="PT1H"),
        window(),
        make_table(["Support", "Billing"], "PT1H"),
        data_as_of=AS_OF,
    )
    assert ["Support"] * 24 + ["Billing"] * 24 == [cells[1] for cells in interval_lines(email.text)]
    assert ["00:00–01:00", "01:00–02:00"] == [cells[0] for cells in interval_lines(email.text)][:2]


def test_html_interval_table_has_a_heading_per_queue(renderer: Renderer) -> None:
    """In the HTML each queue's hours sit under one heading row naming the queue."""
    email = renderer.render_report(
        report_config(interval="PT1H"),
        window(),
        make_table(["Support", EVIL], "PT1H"),
        data_as_of=AS_OF,
    )
    headings = re.findall(r'<tr class="g"><td[^>]*>([^<]*)</td></tr>', email.html)
    assert ["Support", EVIL_HTML] == headings


def test_quiet_intervals_are_listed_as_zeros(renderer: Renderer) -> None:
    """Hours Genesys did not answer (no traffic) are rows of zeros, for every queue."""
    table = sparse_table(["Support", "Billing"], {"Support": [9]})
    email = renderer.render_report(
        report_config(interval="PT1H", metrics=("offered", "aht")),
        window(),
        table,
        data_as_of=AS_OF,
    )
    lines = interval_lines(email.text)
    assert 48 == len(lines)
    assert ["09:00–10:00", "Support", "7", "0:01:01"] == lines[9]
    assert ["10:00–11:00", "Support", "0", "—"] == lines[10]
    assert ["00:00–01:00", "Billing", "0", "—"] == lines[24]


def test_an_answered_interval_is_not_doubled_by_a_zero_row(renderer: Renderer) -> None:
    """A slot inside an interval Genesys answered (a longer DST hour, say) gets no zero row."""
    zone = pytz.timezone(ZONE)
    start = zone.localize(datetime.combine(FRIDAY, time(9)))
    long_hour = IntervalRow(start, start + timedelta(hours=2), "Support", {"offered": 3.0})
    table = ReportTable(
        ("offered",),
        (Row("Support", {"offered": 3.0}),),
        Row("Total", {"offered": 3.0}),
        (long_hour,),
        has_data=True,
    )
    email = renderer.render_report(
        report_config(interval="PT1H", metrics=("offered",)), window(), table, data_as_of=AS_OF
    )
    times = [cells[0] for cells in interval_lines(email.text)]
    assert (23, "09:00–11:00", "11:00–12:00") == (len(times), times[9], times[10])


def test_interval_csv_lists_the_quiet_intervals_too(renderer: Renderer) -> None:
    """An interval table too big for the body travels as CSV with its zero rows, queue by queue."""
    names = [f"Queue {i:03d}" for i in range(120)]
    email = renderer.render_report(
        report_config(interval="PT1H", metrics=("offered", "aht")),
        window(),
        sparse_table(names, {"Queue 000": [9]}),
        data_as_of=AS_OF,
    )
    rows = csv_rows(email.attachments[0])[1:]
    assert (120 * 24, ["Queue 000"] * 24) == (len(rows), [r[2] for r in rows[:24]])
    assert ["0", ""] == rows[24][3:]


def test_200_queues_by_10_metrics_fit_the_budget(renderer: Renderer) -> None:
    """A 200-queue × 10-metric daily report stays under the Gmail budget, all inline."""
    table = make_table([f"Queue {i:03d}" for i in range(200)])
    email = renderer.render_report(report_config(), window(), table, data_as_of=AS_OF)
    assert len(email.html.encode("utf-8")) < HTML_BUDGET
    assert () == email.attachments
    assert "Queue 199" in email.html


@pytest.fixture(scope="module")
def half_hourly() -> ReportTable:
    """200 queues × 48 half-hours: far too big for an inline interval table."""
    return make_table(["=HYPERLINK(1)"] + [f"Queue {i:03d}" for i in range(1, 200)], "PT30M")


@pytest.fixture(scope="module")
def half_hourly_email(renderer: Renderer, half_hourly: ReportTable) -> RenderedEmail:
    return renderer.render_report(
        report_config(interval="PT30M"), window(), half_hourly, data_as_of=AS_OF
    )


def csv_rows(attachment: Attachment) -> list[list[str]]:
    return list(csv.reader(io.StringIO(attachment.content.decode("utf-8"))))


def test_oversize_interval_table_html_stays_under_budget(half_hourly_email: RenderedEmail) -> None:
    """PT30M × 200 queues: the HTML still fits under the Gmail clipping budget."""
    assert len(half_hourly_email.html.encode("utf-8")) < HTML_BUDGET


def test_oversize_interval_table_is_attached_as_csv(half_hourly_email: RenderedEmail) -> None:
    """The interval table travels as <report-id>-<business-date>-intervals.csv (text/csv)."""
    assert [("support-daily-2026-11-20-intervals.csv", "text/csv")] == [
        (a.filename, a.mime_type) for a in half_hourly_email.attachments
    ]


def test_oversize_interval_table_note_in_both_parts(half_hourly_email: RenderedEmail) -> None:
    """Both parts say the half-hourly table is attached, and neither shows it inline."""
    note = "half-hourly table is attached as CSV because it is too large for the email body"
    assert note in half_hourly_email.html
    assert note in half_hourly_email.text.replace("\n", " ")
    assert "Half-hourly detail" not in half_hourly_email.html
    assert "HALF-HOURLY DETAIL" not in half_hourly_email.text


def test_csv_has_a_header_and_every_interval_row(
    half_hourly_email: RenderedEmail, half_hourly: ReportTable
) -> None:
    """The CSV holds a header plus one line per interval row of the table."""
    rows = csv_rows(half_hourly_email.attachments[0])
    assert ["Interval start", "Interval end", "Queue", *(METRICS[m].label for m in TEN)] == rows[0]
    assert len(half_hourly.intervals) == len(rows) - 1


def test_csv_holds_the_interval_numbers(
    half_hourly_email: RenderedEmail, half_hourly: ReportTable
) -> None:
    """The CSV's first data row is the first interval row, in local time, with plain numbers."""
    first = csv_rows(half_hourly_email.attachments[0])[1]
    offered = half_hourly.intervals[0].values["offered"]
    assert ["2026-11-20T00:00:00-05:00", str(round(offered or 0))] == [first[0], first[3]]


def test_csv_neutralises_spreadsheet_formulas(half_hourly_email: RenderedEmail) -> None:
    """A queue name starting with '=' is written so a spreadsheet shows it as text."""
    assert "'=HYPERLINK(1)" == csv_rows(half_hourly_email.attachments[0])[1][2]


def test_huge_queue_table_moves_to_csv_keeping_the_total(renderer: Renderer) -> None:
    """When even the queue table is too big, it is attached and the total stays in the body."""
    table = make_table([f"Queue {i:04d}" for i in range(900)], metrics=TEN)
    email = renderer.render_report(report_config(), window(), table, data_as_of=AS_OF)
    assert len(email.html.encode("utf-8")) < HTML_BUDGET
    assert ["support-daily-2026-11-20-queues.csv"] == [a.filename for a in email.attachments]
    total = "".join(
        f"<td><b hidden>{METRICS[m].label}</b>{format_value(m, table.total.values[m])}</td>"
        for m in TEN
    )
    assert total in email.html


def test_queues_note_is_shown(renderer: Renderer) -> None:
    """A note from the runner about the queues appears in both parts."""
    email = renderer.render_report(
        report_config(),
        window(),
        make_table(["Support"]),
        data_as_of=AS_OF,
        queues_note="Billing was renamed",
    )
    assert "Billing was renamed" in email.html
    assert "Billing was renamed" in email.text


# --- no activity -----------------------------------------------------------------------------


def test_no_activity_email_names_date_and_window(renderer: Renderer) -> None:
    """The no-activity email says so and names the business date and the window."""
    w = window()
    email = renderer.render_no_activity(report_config(), w, data_as_of=AS_OF)
    assert "Support queues — Fri 20 Nov 2026" == email.subject
    for part in (email.html, email.text.replace("\n", " ")):
        assert "No activity" in part or "NO ACTIVITY" in part
        assert "Fri 20 Nov 2026" in part
        assert w.label() in part


def test_no_activity_html_is_balanced_and_escaped(renderer: Renderer) -> None:
    """The no-activity HTML parses cleanly and escapes configured queue names."""
    email = renderer.render_no_activity(report_config(queues=(EVIL,)), window(), data_as_of=AS_OF)
    parser = parse(email.html)
    assert ([], []) == (parser.errors, parser.stack)
    assert EVIL_HTML in email.html


# --- alert -----------------------------------------------------------------------------------


def test_alert_names_report_date_problem_and_action(renderer: Renderer) -> None:
    """The alert says which report, which business date, what failed and what to do."""
    email = renderer.render_alert(
        "support-daily", FRIDAY, "Genesys answered 403 to the aggregates query", "Add the role"
    )
    assert "gcnotify alert: report support-daily failed — Fri 20 Nov 2026" == email.subject
    assert "Genesys answered 403 to the aggregates query" in email.text
    assert "Add the role" in email.text


def test_alert_drops_traceback(renderer: Renderer) -> None:
    """A traceback passed in by mistake never reaches the alert."""
    problem = (
        'boom\nTraceback (most recent call last):\n  File "x.py", line 1, in <module>\nKeyError'
    )
    email = renderer.render_alert("support-daily", None, problem, "Check the logs")
    for part in (email.text, email.html):
        assert "Traceback" not in part
        assert "line 1, in" not in part
    assert "gcnotify alert: report support-daily failed" == email.subject


def test_alert_html_escapes_problem(renderer: Renderer) -> None:
    """The alert's HTML part shows the problem text escaped."""
    email = renderer.render_alert("support-daily", FRIDAY, EVIL, "x")
    assert EVIL_HTML in email.html
    assert "<script>" not in email.html
