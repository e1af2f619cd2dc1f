"""The delivery summary: exact figures from message records, nearest-rank percentiles, the email
(escaped, "No activity", within Gmail's budget), and the config kind's keys."""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from gcnotify.aws.messages import HistoryEntry, MessageRecord, MessageStatus
from gcnotify.core.config import parse_config
from gcnotify.core.errors import ConfigError
from gcnotify.core.model import Recipients, ReportConfig
from gcnotify.core.windows import ReportWindow, day_window, start_of_day
from gcnotify.reports.delivery_summary import (
    DeliverySummary,
    Failure,
    Figures,
    format_duration,
    nearest_rank,
    outcome_of,
    send_time,
    summarize,
)
from gcnotify.reports.render import HTML_BUDGET, Renderer
from gcnotify.runtime.resources import templates_dir
from tests.core.test_config import MINIMAL

ZONE = "America/New_York"
DAY = date(2026, 3, 2)  # a Monday, EST (UTC-5)
START = start_of_day(DAY, ZONE)  # 05:00 UTC
END = start_of_day(DAY + timedelta(days=1), ZONE)
NOON = START + timedelta(hours=7)  # 12:00 local
AS_OF = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
EVIL = '<script>alert(1)</script> & "x"'


def record(
    key: str,
    status: str,
    *,
    source: str = "campaign:spring",
    template: str = "order-shipped",
    channel: str = "sms",
    sent: datetime | None = NOON,
    delivered_after: float | None = None,
    **fields: str | int | bool,
) -> MessageRecord:
    """A record as the messages table holds it after its send (and receipts)."""
    values: dict[str, str | int | bool] = {"source": source, **fields}
    if sent is not None:
        values["sent_at"] = sent.isoformat()
    if sent is not None and delivered_after is not None:
        values["delivered_at"] = (sent + timedelta(seconds=delivered_after)).isoformat()
    the_status: MessageStatus = status  # type: ignore[assignment]
    return MessageRecord(
        key=key, status=the_status, channel=channel, template=template, fields=values
    )


def spring() -> list[MessageRecord]:
    """Thirteen campaign SMS: 6 delivered and 1 read (delays 10..60 s and 300 s), two opt-outs,
    one temporary failure that was not retried, one sent and one sending, one unknown."""
    records = [
        record(f"d{i}", "delivered", delivered_after=10.0 * i, receipt_class="delivered")
        for i in range(1, 7)
    ]
    records += [
        record("r1", "read", delivered_after=300, receipt_class="read"),
        record(
            "f1",
            "failed_permanent",
            receipt_class="failed_permanent",
            receipt_code="RecipientOptedOut",
        ),
        record(
            "f2",
            "failed_permanent",
            receipt_class="failed_permanent",
            receipt_code="RecipientOptedOut",
        ),
        record(
            "f3", "failed_permanent", receipt_class="failed_temporary", receipt_code="RateLimited"
        ),
        record("p1", "sent", receipt_class="sent"),
        record("p2", "sending"),
        record("u1", "unknown", receipt_class="unknown", receipt_code="SomethingNew"),
    ]
    return records


def api_email() -> list[MessageRecord]:
    """Two emails sent through the API: one delivered after 5 s, one refused at send (400)."""
    return [
        record(
            "e1", "delivered", source="api", template="receipt", channel="email", delivered_after=5
        ),
        record(
            "e2",
            "failed_permanent",
            source="api",
            template="receipt",
            channel="email",
            error_status=400,
        ),
    ]


def the_summary() -> DeliverySummary:
    return summarize([*spring(), *api_email()], START, END)


def numbers(f: Figures) -> tuple[Any, ...]:
    return (f.sent, f.delivered, f.read, f.failed, f.pending, f.unknown, f.p50, f.p90)


def test_each_group_has_exact_figures() -> None:
    """Campaign SMS: 13 sent, 7 delivered (1 read), 3 failed, 2 pending, 1 unknown, p50 40 s and
    p90 300 s; the API emails: 2 sent, 1 delivered after 5 s, 1 failed."""
    summary = the_summary()
    sms, email = summary.groups
    assert (
        ("spring", True, "order-shipped", "sms"),
        (13, 7, 1, 3, 2, 1, timedelta(seconds=40), timedelta(seconds=300)),
        ("api", False, "receipt", "email"),
        (2, 1, 0, 1, 0, 0, timedelta(seconds=5), timedelta(seconds=5)),
    ) == (
        (sms.campaign, sms.is_campaign, sms.template, sms.channel),
        numbers(sms),
        (email.campaign, email.is_campaign, email.template, email.channel),
        numbers(email),
    )


def test_failures_are_counted_by_class_and_code_most_frequent_first() -> None:
    """Two opt-outs, then the temporary failure with its provider code; a send refused with
    HTTP 400 and no receipt shows its status."""
    sms, email = the_summary().groups
    assert (
        (
            Failure("failed_permanent", "RecipientOptedOut", 2),
            Failure("failed_temporary", "RateLimited", 1),
        ),
        (Failure("failed_permanent", "http 400", 1),),
    ) == (sms.failures, email.failures)


def test_delivered_percent_divides_delivered_by_sent() -> None:
    """7 of 13 is 53.8 %, 1 of 2 is 50 %, 8 of 15 overall."""
    summary = the_summary()
    percents = [f.delivered_percent for f in (*summary.groups, summary.total)]
    assert [pytest.approx(700 / 13), 50.0, pytest.approx(800 / 15)] == percents


def test_the_total_pools_every_message_instead_of_averaging_groups() -> None:
    """The total's p50 is over all eight delays (5, 10..60, 300 s): rank 4 is 30 s, not a mean
    of the groups' p50s; its failures merge every group's."""
    total = the_summary().total
    assert (
        (15, 8, 1, 4, 2, 1, timedelta(seconds=30), timedelta(seconds=300)),
        (
            Failure("failed_permanent", "RecipientOptedOut", 2),
            Failure("failed_permanent", "http 400", 1),
            Failure("failed_temporary", "RateLimited", 1),
        ),
    ) == (numbers(total), total.failures)


def test_the_four_buckets_always_add_up_to_sent() -> None:
    """Every record is in exactly one of delivered, failed, pending and unknown."""
    summary = the_summary()
    for f in (*summary.groups, summary.total):
        assert f.sent == f.delivered + f.failed + f.pending + f.unknown


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([1], 50, 1),
        ([1], 90, 1),
        ([1, 2], 50, 1),  # rank ⌈1.0⌉ = 1: linear interpolation would say 1.5
        ([1, 2], 90, 2),
        ([10, 20, 30, 40, 50, 60, 300], 50, 40),  # rank ⌈3.5⌉ = 4
        ([10, 20, 30, 40, 50, 60, 300], 90, 300),  # rank ⌈6.3⌉ = 7; linear: 156
        (list(range(1, 11)), 90, 9),  # rank exactly 9: no float rounding to 10
        (list(range(1, 101)), 50, 50),
        (list(range(1, 101)), 100, 100),
    ],
)
def test_percentiles_are_nearest_rank(values: list[int], percent: int, expected: int) -> None:
    """The value of rank ⌈p·n/100⌉: always a measured value."""
    ordered = [timedelta(seconds=v) for v in values]
    assert timedelta(seconds=expected) == nearest_rank(ordered, percent)


def test_no_delays_no_percentile() -> None:
    """Nothing delivered: no p50 (shown as —), and a percent outside (0, 100] is refused."""
    assert (None, "—") == (nearest_rank([], 50), format_duration(None))
    with pytest.raises(ValueError, match="percent"):
        nearest_rank([timedelta(0)], 0)


def test_only_messages_sent_inside_the_window_count() -> None:
    """The day index holds UTC days: records sent before the local day, at its very end, or
    never sent are left out; one sent at the first instant counts."""
    records = [
        record("early", "delivered", sent=START - timedelta(microseconds=1), delivered_after=1),
        record("first", "delivered", sent=START, delivered_after=2),
        record("last", "delivered", sent=END - timedelta(seconds=1), delivered_after=3),
        record("next-day", "delivered", sent=END, delivered_after=4),
        record("never", "accepted", sent=None),
    ]
    summary = summarize(records, START, END)
    assert (2, 3, timedelta(seconds=2)) == (
        summary.total.sent,
        summary.outside_window,
        summary.total.p50,
    )


def test_a_key_read_twice_counts_once() -> None:
    """Two pages (or two UTC days) holding the same key: one message."""
    one = record("k", "delivered", delivered_after=7)
    assert 1 == summarize([one, one], START, END).total.sent


def test_send_time_falls_back_to_the_first_sending_move() -> None:
    """Without sent_at, the first ``sending`` history entry is the send time (a retry's later
    ``sending`` is not)."""
    first, retry = NOON, NOON + timedelta(minutes=10)
    plain = MessageRecord(
        key="k",
        status="sent",
        history=(
            HistoryEntry("accepted", NOON - timedelta(minutes=1)),
            HistoryEntry("sending", first),
            HistoryEntry("failed_temporary", first),
            HistoryEntry("sending", retry),
            HistoryEntry("sent", retry),
        ),
    )
    assert first == send_time(plain)


def test_delivery_before_the_send_counts_as_instant() -> None:
    """A provider clock a second behind ours gives 0:00:00, never a negative time."""
    early = record("k", "delivered", delivered_after=-1)
    assert timedelta(0) == summarize([early], START, END).total.p50


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        ("delivered", {"receipt_code": "delivered"}, ("delivered", "delivered")),
        ("read", {"receipt_code": "Read"}, ("read", "Read")),
        ("sent", {}, ("pending", "sent")),
        ("sending", {}, ("pending", "sending")),
        ("failed_temporary", {"receipt_code": "RateLimited"}, ("pending", "RateLimited")),
        ("deferred", {}, ("pending", "deferred")),
        ("unknown", {}, ("unknown", "unknown")),
        (
            "failed_permanent",
            {"receipt_code": "bounce:bounce"},
            ("failed_permanent", "bounce:bounce"),
        ),
        ("failed_permanent", {"error_code": "bad.request"}, ("failed_permanent", "bad.request")),
        ("failed_permanent", {}, ("failed_permanent", "failed_permanent")),
        (
            "expired",
            {"receipt_class": "failed_temporary", "receipt_code": "ServerError"},
            ("failed_temporary", "ServerError"),
        ),
        ("suppressed", {}, ("failed_permanent", "suppressed")),
    ],
)
def test_each_status_lands_in_one_bucket(
    status: str, fields: Mapping[str, str], expected: tuple[str, str]
) -> None:
    """A failure being retried is still pending; a final one keeps its receipt's class."""
    assert expected == outcome_of(record("k", status, **fields))


def test_sources_outside_campaigns_are_groups_of_their_own() -> None:
    """Campaigns first (by id), then the other sources by name; a bare "campaign:" is a source."""
    records = [
        record("1", "sent", source="cli"),
        record("2", "sent", source="campaign:zeta"),
        record("3", "sent", source="api"),
        record("4", "sent", source="campaign:"),
        record("5", "sent", source="campaign:alpha"),
    ]
    groups = summarize(records, START, END).groups
    assert [
        "campaign alpha",
        "campaign zeta",
        "api (no campaign)",
        "campaign: (no campaign)",
        "cli (no campaign)",
    ] == [g.campaign_label for g in groups]


def test_a_naive_window_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        summarize([], START.replace(tzinfo=None), END)


# --- the email ---------------------------------------------------------------------------


def summary_report(**changes: Any) -> ReportConfig:
    base = ReportConfig(
        id="delivery-daily",
        title="Message delivery",
        timezone=ZONE,
        recipients=Recipients(to=("ops@example.com",)),
        queues=(),
        kind="delivery_summary",
    )
    return ReportConfig(**{**base.__dict__, **changes})


def the_window() -> ReportWindow:
    return day_window(summary_report(), DAY)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(templates_dir())


def test_the_email_shows_every_group_and_failure(renderer: Renderer) -> None:
    """The same figures in the HTML and the text part: the campaign heading, its row, the total
    and each failure code with its class."""
    email = renderer.render_delivery_summary(
        summary_report(), the_window(), the_summary(), data_as_of=AS_OF
    )
    row = ["13", "53.8%", "1", "3", "2", "1", "0:00:40", "0:05:00"]
    html_row = "".join(
        f"<td><b hidden>{c}</b>{v}</td>"
        for c, v in zip(
            ["Sent", "Delivered %", "Read", "Failed", "Pending", "Unknown", "p50", "p90"],
            row,
            strict=True,
        )
    )
    assert html_row in email.html
    text_line = next(line for line in email.text.splitlines() if "order-shipped" in line)
    assert row == text_line.split()[-8:]
    for part in (email.html, email.text):
        assert "campaign spring" in part
        assert "Permanent: RecipientOptedOut" in part
        assert "Temporary: RateLimited" in part
        assert "All messages" in part
    assert "Message delivery — Mon 02 Mar 2026" == email.subject


def test_names_are_escaped_in_the_html(renderer: Renderer) -> None:
    """A template or campaign name with markup is shown as text, never run."""
    records = [record("k", "sent", source=f"campaign:{EVIL}", template=EVIL)]
    email = renderer.render_delivery_summary(
        summary_report(), the_window(), summarize(records, START, END), data_as_of=AS_OF
    )
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;" in email.html


def test_a_day_without_messages_is_no_activity(renderer: Renderer) -> None:
    """No record in the window: a "No activity" email that says it is not a failure."""
    email = renderer.render_delivery_summary(
        summary_report(), the_window(), summarize([], START, END), data_as_of=AS_OF
    )
    assert "No activity" in email.html
    assert "NO ACTIVITY" in email.text
    assert "this is not a failure" in email.text
    assert "By campaign" not in email.html


def test_too_many_groups_keep_the_largest_and_attach_all(renderer: Renderer) -> None:
    """3,000 groups: the body keeps under Gmail's clipping size with the largest groups and a
    note; the CSV holds every group, and the total still counts every message."""
    records = [
        record(f"k{i}", "sent", template=f"template-{i:04d}", source=f"campaign:c{i % 7}")
        for i in range(3000)
    ]
    records += [record(f"big{i}", "sent", template="template-0001") for i in range(50)]
    summary = summarize(records, START, END)
    email = renderer.render_delivery_summary(
        summary_report(), the_window(), summary, data_as_of=AS_OF
    )
    (attachment,) = email.attachments
    rows = list(csv.reader(io.StringIO(attachment.content.decode("utf-8"))))
    assert len(email.html.encode("utf-8")) < HTML_BUDGET
    assert "delivery-daily-2026-03-02-delivery.csv" == attachment.filename
    assert 1 + 3001 + 1 == len(rows)  # header, every group, the total
    assert "template-0001 · sms" in email.html  # the largest group is kept
    assert "3,050" in email.html
    assert "too many for the email body" in email.text


def test_the_csv_neutralises_formulas() -> None:
    """A name starting with = is prefixed with ' so a spreadsheet shows it as text."""
    from gcnotify.reports.delivery_summary import summary_csv

    summary = summarize([record("k", "sent", template="=HYPERLINK(1)")], START, END)
    rows = list(csv.reader(io.StringIO(summary_csv(summary).decode("utf-8"))))
    assert "'=HYPERLINK(1)" == rows[1][1]


# --- the config kind -------------------------------------------------------------------


def summary_config(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    report = data["reports"][0]
    del report["queues"]
    report.update({"kind": "delivery_summary", "id": "delivery-daily"}, **changes)
    return data


def test_a_delivery_summary_needs_no_queues() -> None:
    """kind: delivery_summary with the shared report keys: no queues, the usual defaults."""
    report = parse_config(summary_config(send_at="07:30", window="yesterday")).reports[0]
    assert ("delivery_summary", (), "yesterday", "no_activity_email", None) == (
        report.kind,
        report.queues,
        report.window,
        report.on_empty,
        report.standup,
    )


def test_queue_keys_on_a_delivery_summary_are_refused() -> None:
    """queues, media_types, metrics, interval and standup have no meaning there: each refused."""
    data = summary_config(
        queues=["Support"], media_types=["voice"], metrics=["offered"], interval="PT1H", standup={}
    )
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    problems = info.value.problems
    assert [
        "reports[0].queues",
        "reports[0].media_types",
        "reports[0].metrics",
        "reports[0].interval",
        "reports[0].standup",
    ] == [p.path for p in problems]
    assert all("kind: delivery_summary" in p.message for p in problems)


def test_a_misspelt_kind_names_the_delivery_summary() -> None:
    """The kinds listed in the problem include delivery_summary, with a suggestion."""
    data = summary_config(kind="delivery-summary")
    data["reports"][0]["queues"] = ["Support"]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    (problem,) = info.value.problems
    assert "delivery_summary" in problem.message
