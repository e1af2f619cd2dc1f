"""Metric maths: Genesys aggregates → report rows, totals from summed parts, display text."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnotify.core.errors import ReportError, UnexpectedAnswerError
from gcnotify.core.model import METRIC_NAMES, Queue
from gcnotify.core.windows import ReportWindow
from gcnotify.reports.metrics import (
    METRICS,
    ReportTable,
    build_table,
    format_value,
    genesys_metrics,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "gcnotify" / "devserver" / "schemas"
# The published example body (schemas/examples/genesys-aggregates-response.valid.json).
EXAMPLE: dict[str, Any] = {
    "results": [
        {
            "group": {"mediaType": "voice", "queueId": "c6fc6f57-4c1e-4812-980a-5154f500b5c6"},
            "data": [
                {
                    "interval": "2024-03-11T04:00:00.000Z/2024-03-12T04:00:00.000Z",
                    "metrics": [
                        {"metric": "nOffered", "stats": {"count": 877}},
                        {
                            "metric": "tAnswered",
                            "stats": {"max": 451577, "min": 94, "count": 812, "sum": 41536266},
                        },
                        {
                            "metric": "tAbandon",
                            "stats": {"max": 305112, "min": 1200, "count": 58, "sum": 4012211},
                        },
                        {
                            "metric": "tHandle",
                            "stats": {"max": 1040810, "min": 5211, "count": 817, "sum": 131580101},
                        },
                        {
                            "metric": "oServiceLevel",
                            "stats": {
                                "ratio": 0.47586206896551725,
                                "numerator": 414,
                                "denominator": 870,
                                "target": 0.8,
                            },
                        },
                        {"metric": "oServiceTarget", "stats": {"target": 0.8}},
                    ],
                    "views": [
                        {
                            "name": "tAbandonOver5s",
                            "stats": {"max": 305112, "min": 5021, "count": 49, "sum": 3990001},
                        }
                    ],
                }
            ],
        }
    ]
}
SUPPORT = Queue("q-support", "Support")
BILLING = Queue("q-billing", "Billing")
DAY = "2024-03-11T04:00:00.000Z/2024-03-12T04:00:00.000Z"


def stats(metric: str, **values: float) -> dict[str, Any]:
    return {"metric": metric, "stats": values}


def result(queue_id: str, *metrics: dict[str, Any], interval: str = DAY) -> dict[str, Any]:
    return {
        "group": {"queueId": queue_id},
        "data": [{"interval": interval, "metrics": list(metrics)}],
    }


def table(
    response: dict[str, Any], metrics: tuple[str, ...] = METRIC_NAMES, granularity: str = "P1D"
) -> ReportTable:
    return build_table(response, [SUPPORT, BILLING], metrics, "America/New_York", granularity)


def test_every_config_metric_has_a_definition() -> None:
    """Each metric name a config may list maps to Genesys metrics and a footer formula."""
    assert list(METRIC_NAMES) == list(METRICS)
    assert all(m.formula.startswith(m.label + " = ") for m in METRICS.values())


def test_genesys_metrics_dedupes_in_stable_order_with_noffered_first() -> None:
    """The query asks for each Genesys metric once, nOffered always included."""
    assert ["nOffered", "tHandle", "tAbandon", "oServiceLevel"] == genesys_metrics(
        ["aht", "handled", "abandon_rate", "service_level"]
    )


def test_genesys_metrics_always_includes_noffered() -> None:
    """nOffered is fetched even when no chosen metric needs it, to detect 'no activity'."""
    assert ["nOffered", "tHandle"] == genesys_metrics(["aht"])


def test_unknown_metric_is_a_report_error() -> None:
    """A metric name outside METRIC_NAMES fails clearly rather than with a KeyError."""
    with pytest.raises(ReportError, match="'bogus'"):
        genesys_metrics(["bogus"])


def test_example_response_matches_the_response_schema() -> None:
    """The example used below is a valid aggregates response body."""
    schema = json.loads((SCHEMAS / "genesys-aggregates-response.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(EXAMPLE)


def test_example_response_reads_as_genesys_defines_it() -> None:
    """The schema example yields offered, answered, AHT, abandon % and SL as METRICS says."""
    response = EXAMPLE
    queue = Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")
    names = ("offered", "answered", "abandoned", "abandon_rate", "aht", "asa", "service_level")
    row = build_table(response, [queue], names, "America/New_York", "P1D").rows[0]
    assert {
        "offered": 877,
        "answered": 812,
        "abandoned": 58,
        "abandon_rate": pytest.approx(100 * 58 / 877),
        "aht": pytest.approx(131580101 / 817),
        "asa": pytest.approx(41536266 / 812),
        "service_level": pytest.approx(100 * 414 / 870),
    } == dict(row.values)


def test_missing_results_means_no_data() -> None:
    """A body without ``results`` gives zero rows for every queue and has_data False."""
    report = table({})
    assert (0, 0, False) == (
        report.rows[0].values["offered"],
        report.total.values["offered"],
        report.has_data,
    )


def test_missing_queue_group_gives_a_zero_row_in_config_order() -> None:
    """A configured queue absent from the response still gets its row, with zeros."""
    report = table({"results": [result("q-billing", stats("nOffered", count=5))]})
    assert [("Support", 0.0), ("Billing", 5.0)] == [
        (r.label, r.values["offered"]) for r in report.rows
    ]


def test_missing_metric_is_zero_count_and_no_data_average() -> None:
    """Without tHandle the handled count is 0 and AHT is None (no data), not an error."""
    report = table({"results": [result("q-support", stats("nOffered", count=3))]})
    assert (0.0, None) == (report.rows[0].values["handled"], report.rows[0].values["aht"])


def test_unknown_metrics_and_extra_group_keys_are_ignored() -> None:
    """Extra metrics and extra group keys next to queueId do not disturb the rows."""
    response = {
        "results": [
            {
                "group": {"queueId": "q-support", "mediaType": "voice", "new": "x"},
                "data": [
                    {
                        "interval": DAY,
                        "metrics": [stats("nOffered", count=2), stats("nBrandNew", count=-9)],
                    }
                ],
            },
        ]
    }
    assert 2.0 == table(response).total.values["offered"]


def test_repeated_groups_of_one_queue_are_summed() -> None:
    """Two result groups for one queue (e.g. per media type) add up in that queue's row."""
    response = {
        "results": [
            result("q-support", stats("nOffered", count=2)),
            result("q-support", stats("nOffered", count=3)),
        ]
    }
    assert 5.0 == table(response).rows[0].values["offered"]


def test_queue_configured_twice_is_counted_once() -> None:
    """A queue named and also given by id appears once and is not double counted in the total."""
    response = {"results": [result("q-support", stats("nOffered", count=4))]}
    report = build_table(response, [SUPPORT, BILLING, SUPPORT], ("offered",), "UTC", "P1D")
    assert (["Support", "Billing"], 4.0) == (
        [r.label for r in report.rows],
        report.total.values["offered"],
    )


def test_total_aht_is_summed_handle_over_summed_handled() -> None:
    """Total AHT weights by volume: (100 s + 900 s) / 4 calls = 250 s, not the 200 s mean."""
    response = {
        "results": [
            result("q-support", stats("tHandle", count=1, sum=100_000)),
            result("q-billing", stats("tHandle", count=3, sum=900_000)),
        ]
    }
    assert 250_000 == table(response, ("aht",)).total.values["aht"]


def test_total_service_level_sums_numerators_and_denominators() -> None:
    """SL total is Σnumerator / Σdenominator: (9 + 1) / (10 + 10) = 50 %, never a mean of ratios."""
    response = {
        "results": [
            result("q-support", stats("oServiceLevel", numerator=9, denominator=10, ratio=0.9)),
            result("q-billing", stats("oServiceLevel", numerator=1, denominator=10, ratio=0.1)),
        ]
    }
    assert 50.0 == table(response, ("service_level",)).total.values["service_level"]


def test_activity_without_offers_still_counts_as_data() -> None:
    """Handle time completing after midnight is data, so the day is not 'no activity'."""
    assert table({"results": [result("q-support", stats("tHandle", count=1, sum=5000))]}).has_data


def test_zero_counts_are_not_data() -> None:
    """Metrics present with zero counts only mean no activity."""
    assert not table({"results": [result("q-support", stats("nOffered", count=0))]}).has_data


def test_daily_granularity_has_no_interval_rows() -> None:
    """P1D reports have only the queue table."""
    assert () == table({"results": [result("q-support", stats("nOffered", count=1))]}).intervals


def test_hourly_intervals_are_local_sorted_by_start_then_queue_order() -> None:
    """PT1H rows carry New York local times and sort by start, then config queue order."""
    nine = "2026-11-20T14:00:00.000Z/2026-11-20T15:00:00.000Z"
    eight = "2026-11-20T13:00:00.000Z/2026-11-20T14:00:00.000Z"
    response = {
        "results": [
            {
                "group": {"queueId": "q-billing"},
                "data": [{"interval": eight, "metrics": [stats("nOffered", count=1)]}],
            },
            {
                "group": {"queueId": "q-support"},
                "data": [
                    {"interval": nine, "metrics": [stats("nOffered", count=2)]},
                    {"interval": eight, "metrics": [stats("nOffered", count=3)]},
                ],
            },
        ]
    }
    rows = table(response, ("offered",), "PT1H").intervals
    assert [
        ("08:00 EST", "Support", 3.0),
        ("08:00 EST", "Billing", 1.0),
        ("09:00 EST", "Support", 2.0),
    ] == [(r.start.strftime("%H:%M %Z"), r.queue, r.values["offered"]) for r in rows]


def test_interval_rows_without_data_are_left_out() -> None:
    """An interval whose counts are all zero adds no interval row."""
    response = {
        "results": [
            result(
                "q-support",
                stats("nOffered", count=0),
                interval="2026-11-20T13:00:00Z/2026-11-20T13:30:00Z",
            )
        ]
    }
    assert () == table(response, ("offered",), "PT30M").intervals


def test_repeated_dst_hour_keeps_its_offset() -> None:
    """The repeated 01:00 hour on 1 Nov 2026 in New York shows once as EDT and once as EST."""
    first = "2026-11-01T05:00:00Z/2026-11-01T06:00:00Z"
    second = "2026-11-01T06:00:00Z/2026-11-01T07:00:00Z"
    response = {
        "results": [
            {
                "group": {"queueId": "q-support"},
                "data": [
                    {"interval": i, "metrics": [stats("nOffered", count=1)]}
                    for i in (second, first)
                ],
            }
        ]
    }
    rows = table(response, ("offered",), "PT1H").intervals
    assert ["01:00 EDT", "01:00 EST"] == [r.start.strftime("%H:%M %Z") for r in rows]


def test_interval_times_are_in_the_report_zone() -> None:
    """IntervalRow start and end are aware datetimes in the report's zone."""
    response = {
        "results": [
            result(
                "q-support",
                stats("nOffered", count=1),
                interval="2026-11-20T13:00:00Z/2026-11-20T14:00:00Z",
            )
        ]
    }
    row = table(response, ("offered",), "PT1H").intervals[0]
    zone = pytz.timezone("America/New_York")
    assert zone.localize(datetime(2026, 11, 20, 9)) == row.end


def test_malformed_interval_is_a_report_error() -> None:
    """An interval that is not 'start/end' fails loudly instead of dropping the row."""
    response = {"results": [result("q-support", stats("nOffered", count=1), interval="yesterday")]}
    with pytest.raises(ReportError, match="yesterday"):
        table(response, ("offered",), "PT1H")


def test_non_numeric_stat_is_a_report_error() -> None:
    """A count that is not a number is a broken response, not zero activity."""
    with pytest.raises(ReportError, match=r"stats\.count"):
        table({"results": [result("q-support", stats("nOffered", count="many"))]})  # type: ignore[arg-type]


# --- answers that do not fit the question -----------------------------------------------------

NY = pytz.timezone("America/New_York")
# The business day DAY covers, as the runner plans it (New York, EDT since 10 March 2024).
WINDOW = ReportWindow(
    kind="previous_business_day",
    timezone="America/New_York",
    business_date=datetime(2024, 3, 11).date(),
    start=NY.localize(datetime(2024, 3, 11)),
    end=NY.localize(datetime(2024, 3, 12)),
)


def checked(
    response: dict[str, Any], metrics: tuple[str, ...] = METRIC_NAMES, granularity: str = "P1D"
) -> ReportTable:
    """``table`` with the report window passed: the span the query asked for."""
    return build_table(
        response, [SUPPORT, BILLING], metrics, "America/New_York", granularity, window=WINDOW
    )


def test_empty_results_list_is_no_activity() -> None:
    """``{"results": []}`` is a well-formed empty answer: no data, no error."""
    assert not checked({"results": []}).has_data


def test_zero_counts_for_requested_queues_are_no_activity() -> None:
    """Requested queues with zero counts in the window are no activity, not an error."""
    response = {"results": [result("q-support", stats("nOffered", count=0))]}
    assert not checked(response).has_data


def test_unexpected_answer_is_a_report_error() -> None:
    """The new error is a ReportError, so the runner records the report as failed."""
    assert issubclass(UnexpectedAnswerError, ReportError)


def test_answer_only_for_queues_not_asked_for_is_an_error() -> None:
    """Data for other queues only is a wrong answer, not 'no activity' for the asked ones."""
    response = {"results": [result("q-other", stats("nOffered", count=50))]}
    with pytest.raises(UnexpectedAnswerError, match=r"did not ask for.*q-other"):
        table(response)


def test_a_queue_not_asked_for_next_to_asked_ones_is_an_error() -> None:
    """One foreign queue among the asked ones means Genesys answered another question."""
    response = {
        "results": [
            result("q-support", stats("nOffered", count=2)),
            result("q-other", stats("nOffered", count=5)),
        ]
    }
    with pytest.raises(UnexpectedAnswerError, match="q-other"):
        table(response)


def test_queue_id_in_other_letter_case_is_the_asked_queue() -> None:
    """Queue ids are UUIDs: an upper-case id in the answer is the queue that was asked for."""
    response = {"results": [result("Q-SUPPORT", stats("nOffered", count=4))]}
    assert 4.0 == table(response).rows[0].values["offered"]


@pytest.mark.parametrize(
    "group",
    [None, {}, {"mediaType": "voice"}, {"queueId": None}, {"queueId": 7}, "q-support"],
    ids=["absent", "empty", "media-only", "null-id", "numeric-id", "not-an-object"],
)
def test_result_without_queue_grouping_is_an_error(group: object) -> None:
    """A result not grouped by queueId cannot be put on any row: the answer is refused."""
    entry: dict[str, Any] = {"data": [{"interval": DAY, "metrics": [stats("nOffered", count=7)]}]}
    if group is not None:
        entry["group"] = group
    with pytest.raises(UnexpectedAnswerError, match=r"group\.queueId"):
        table({"results": [entry]})


@pytest.mark.parametrize(
    ("metrics", "entry", "field"),
    [
        (("offered",), stats("nOffered", count=-1), "count"),
        (("aht",), stats("tHandle", count=2, sum=-5000), "sum"),
        (("aht",), stats("tHandle", count=-2, sum=5000), "count"),
        (("service_level",), stats("oServiceLevel", numerator=-1, denominator=4), "numerator"),
        (("service_level",), stats("oServiceLevel", numerator=1, denominator=-4), "denominator"),
    ],
)
def test_negative_stats_are_an_error(
    metrics: tuple[str, ...], entry: dict[str, Any], field: str
) -> None:
    """Counts, sums, numerators and denominators are never negative in a real answer."""
    with pytest.raises(UnexpectedAnswerError, match=f"negative {field}"):
        table({"results": [result("q-support", entry)]}, metrics)


def test_interval_before_the_window_is_an_error() -> None:
    """A bucket from the day before the window is another day's answer."""
    day_before = "2024-03-10T05:00:00.000Z/2024-03-11T04:00:00.000Z"
    response = {"results": [result("q-support", stats("nOffered", count=3), interval=day_before)]}
    with pytest.raises(UnexpectedAnswerError, match="outside the report window"):
        checked(response)


def test_interval_overlapping_the_window_end_is_an_error() -> None:
    """A bucket that runs past the window end (a UTC day, say) does not fit the window."""
    utc_day = "2024-03-11T00:00:00.000Z/2024-03-12T00:00:00.000Z"
    response = {"results": [result("q-support", stats("nOffered", count=3), interval=utc_day)]}
    with pytest.raises(UnexpectedAnswerError, match="outside the report window"):
        checked(response)


def test_interval_inside_the_window_is_accepted() -> None:
    """The window's own day bucket reads normally when the window is passed."""
    response = {"results": [result("q-support", stats("nOffered", count=3))]}
    assert 3.0 == checked(response).rows[0].values["offered"]


def test_daily_bucket_in_an_hourly_report_is_an_error() -> None:
    """A PT1H report answered with one bucket for the whole day did not get hours."""
    response = {"results": [result("q-support", stats("nOffered", count=3))]}
    with pytest.raises(UnexpectedAnswerError, match="PT1H"):
        checked(response, ("offered",), "PT1H")


def test_hourly_bucket_in_a_daily_report_is_an_error() -> None:
    """A P1D report answered with an hour bucket did not get days."""
    hour = "2024-03-11T13:00:00.000Z/2024-03-11T14:00:00.000Z"
    response = {"results": [result("q-support", stats("nOffered", count=3), interval=hour)]}
    with pytest.raises(UnexpectedAnswerError, match="P1D"):
        checked(response, ("offered",))


def test_half_hour_bucket_in_an_hourly_report_is_an_error() -> None:
    """Half hours are not the hours a PT1H report asked for."""
    half = "2024-03-11T13:00:00.000Z/2024-03-11T13:30:00.000Z"
    response = {"results": [result("q-support", stats("nOffered", count=3), interval=half)]}
    with pytest.raises(UnexpectedAnswerError, match="PT1H"):
        checked(response, ("offered",), "PT1H")


def test_granularity_is_checked_without_a_window() -> None:
    """Even when no window is passed, a day bucket in a PT30M report is refused."""
    response = {"results": [result("q-support", stats("nOffered", count=3))]}
    with pytest.raises(UnexpectedAnswerError, match="PT30M"):
        table(response, ("offered",), "PT30M")


def test_short_dst_day_is_one_daily_bucket() -> None:
    """The 23-hour spring-forward day is one P1D bucket, not a granularity mismatch."""
    window = ReportWindow(
        kind="previous_business_day",
        timezone="America/New_York",
        business_date=datetime(2024, 3, 10).date(),
        start=NY.localize(datetime(2024, 3, 10)),
        end=NY.localize(datetime(2024, 3, 11)),
    )
    short_day = "2024-03-10T05:00:00.000Z/2024-03-11T04:00:00.000Z"
    response = {"results": [result("q-support", stats("nOffered", count=3), interval=short_day)]}
    report = build_table(
        response, [SUPPORT], ("offered",), "America/New_York", "P1D", window=window
    )
    assert 3.0 == report.total.values["offered"]


def test_malformed_interval_in_a_daily_report_is_an_error() -> None:
    """Daily reports read the interval too: one that is not 'start/end' is refused."""
    response = {"results": [result("q-support", stats("nOffered", count=1), interval="today")]}
    with pytest.raises(UnexpectedAnswerError, match="today"):
        table(response, ("offered",))


@pytest.mark.parametrize(
    ("metrics", "entry", "field"),
    [
        (("offered",), stats("nOffered", sum=12), "count"),
        (("answered",), stats("tAnswered", sum=12), "count"),
        (("aht",), stats("tHandle", count=3), "sum"),
        (("aht",), stats("tHandle", sum=9000), "count"),
        (("abandon_rate",), stats("tAbandon", max=3), "count"),
        (("service_level",), stats("oServiceLevel", numerator=1, ratio=0.5), "denominator"),
        (("service_level",), stats("oServiceLevel", denominator=4, ratio=0.5), "numerator"),
    ],
)
def test_stats_missing_a_needed_field_are_an_error(
    metrics: tuple[str, ...], entry: dict[str, Any], field: str
) -> None:
    """Stats without the field a metric is computed from cannot be read as zero."""
    with pytest.raises(UnexpectedAnswerError, match=f"without {field}"):
        table({"results": [result("q-support", entry)]}, metrics)


def test_metric_without_stats_is_an_error() -> None:
    """A metric entry with no stats at all is not a zero count."""
    response = {"results": [result("q-support", {"metric": "nOffered"})]}
    with pytest.raises(UnexpectedAnswerError, match="nOffered"):
        table(response, ("offered",))


def test_zero_count_duration_needs_no_sum() -> None:
    """A timer with count 0 has nothing to sum: no sum is fine and AHT shows no data."""
    response = {"results": [result("q-support", stats("tHandle", count=0))]}
    assert None is table(response, ("aht",)).rows[0].values["aht"]


def test_count_only_reading_of_a_timer_needs_no_sum() -> None:
    """Answered reads tAnswered's count only, so stats without a sum are enough for it."""
    response = {"results": [result("q-support", stats("tAnswered", count=5))]}
    assert 5.0 == table(response, ("answered",)).rows[0].values["answered"]


def test_error_says_what_to_do() -> None:
    """The message tells the reader that nothing was sent and what to check next."""
    response = {"results": [result("q-other", stats("nOffered", count=50))]}
    with pytest.raises(UnexpectedAnswerError) as info:
        table(response)
    text = str(info.value)
    assert (True, True) == ("No activity" in text, "Run the report again" in text)


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("offered", 1234567.0, "1,234,567"),
        ("offered", 0.0, "0"),
        ("aht", 312_000.0, "0:05:12"),
        ("aht", 1_500.0, "0:00:02"),
        ("asa", 3_723_000.0, "1:02:03"),
        ("avg_acw", (26 * 3600 + 3 * 60 + 4) * 1000.0, "26:03:04"),
        ("abandon_rate", 3.4449, "3.4%"),
        ("service_level", 100.0, "100.0%"),
        ("aht", None, "—"),
        ("service_level", None, "—"),
    ],
)
def test_format_value(metric: str, value: float | None, expected: str) -> None:
    """Counts get separators, durations h:mm:ss from ms, percents one decimal, None a dash."""
    assert expected == format_value(metric, value)


# --- properties --------------------------------------------------------------------------------

queue_stats = st.fixed_dictionaries(
    {
        "offered": st.integers(0, 5000),
        "abandon_share": st.floats(0, 1),
        "handled": st.integers(0, 5000),
        "handle_ms": st.integers(0, 3_600_000),
        "sl_den": st.integers(0, 5000),
        "sl_share": st.floats(0, 1),
    }
)


def response_for(data: list[dict[str, Any]]) -> dict[str, Any]:
    results = []
    for i, d in enumerate(data):
        abandoned = int(d["offered"] * d["abandon_share"])
        results.append(
            result(
                f"q{i}",
                stats("nOffered", count=d["offered"]),
                stats("tAbandon", count=abandoned, sum=abandoned * 1000),
                stats("tHandle", count=d["handled"], sum=d["handled"] * d["handle_ms"]),
                stats(
                    "oServiceLevel",
                    numerator=int(d["sl_den"] * d["sl_share"]),
                    denominator=d["sl_den"],
                ),
            )
        )
    return {"results": results}


def property_table(data: list[dict[str, Any]]) -> ReportTable:
    queues = [Queue(f"q{i}", f"Queue {i}") for i in range(len(data))]
    names = ("offered", "abandoned", "aht", "abandon_rate", "service_level")
    return build_table(response_for(data), queues, names, "Europe/Berlin", "P1D")


@settings(max_examples=60, deadline=None)
@given(st.lists(queue_stats, min_size=1, max_size=8))
def test_total_counts_equal_sum_of_rows(data: list[dict[str, Any]]) -> None:
    """The total of a count is exactly the sum of the queue rows."""
    report = property_table(data)
    for name in ("offered", "abandoned"):
        assert sum(r.values[name] or 0 for r in report.rows) == report.total.values[name]


@settings(max_examples=60, deadline=None)
@given(st.lists(queue_stats, min_size=1, max_size=8))
def test_total_aht_is_sum_over_count(data: list[dict[str, Any]]) -> None:
    """Total AHT is Σ tHandle.sum / Σ tHandle.count, or None when nothing was handled."""
    handled = sum(d["handled"] for d in data)
    expected = sum(d["handled"] * d["handle_ms"] for d in data) / handled if handled else None
    assert expected == pytest.approx(property_table(data).total.values["aht"])


@settings(max_examples=60, deadline=None)
@given(st.lists(queue_stats, min_size=1, max_size=8))
def test_rates_stay_within_0_and_100(data: list[dict[str, Any]]) -> None:
    """Abandon % and service level of every row and the total lie in [0, 100] (or are None)."""
    report = property_table(data)
    for row in (*report.rows, report.total):
        for name in ("abandon_rate", "service_level"):
            value = row.values[name]
            assert value is None or 0 <= value <= 100
