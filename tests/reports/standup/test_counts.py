"""Standup parts from aggregates answers, and the pack's two aggregates query bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from gcnotify.core.errors import UnexpectedAnswerError
from gcnotify.reports.standup.counts import (
    Counts,
    counts_by_day,
    counts_by_interval,
    standup_queries,
)
from tests.support import assert_valid

QUEUE = "c6fc6f57-4c1e-4812-980a-5154f500b5c6"


def _answer(interval: str, queue: str = QUEUE) -> dict[str, Any]:
    return {
        "results": [
            {
                "group": {"queueId": queue, "mediaType": "voice"},
                "data": [
                    {
                        "interval": interval,
                        "metrics": [
                            {"metric": "nOffered", "stats": {"count": 877}},
                            {"metric": "tAnswered", "stats": {"count": 812, "sum": 41536266}},
                            {"metric": "tAbandon", "stats": {"count": 58, "sum": 4012211}},
                            {"metric": "tHandle", "stats": {"count": 817, "sum": 131580101}},
                            {
                                "metric": "oServiceLevel",
                                "stats": {"numerator": 414, "denominator": 870, "ratio": 0.47},
                            },
                        ],
                    }
                ],
            }
        ]
    }


def test_daily_answer_gives_parts_per_local_date() -> None:
    """A P1D bucket starting at local midnight (04:00Z in New York, March) is that local date."""
    answer = _answer("2024-03-11T04:00:00.000Z/2024-03-12T04:00:00.000Z")
    days = counts_by_day(answer, [QUEUE], "America/New_York")
    expected = Counts(
        offered=877,
        answered=812,
        abandoned=58,
        sl_numerator=414,
        sl_denominator=870,
        answer_wait_ms=41536266,
        handled=817,
        handle_ms=131580101,
    )
    assert {date(2024, 3, 11): {QUEUE: expected}} == days


def test_groups_of_one_queue_add_up() -> None:
    """Voice and message groups of the same queue are summed into one queue's parts."""
    answer = _answer("2024-03-11T04:00:00.000Z/2024-03-12T04:00:00.000Z")
    answer["results"].append(answer["results"][0])
    days = counts_by_day(answer, [QUEUE], "America/New_York")
    assert 2 * 877 == days[date(2024, 3, 11)][QUEUE].offered


def test_interval_answer_is_keyed_by_utc_start() -> None:
    """A PT30M bucket is keyed by its UTC start instant."""
    answer = _answer("2024-03-11T13:30:00.000Z/2024-03-11T14:00:00.000Z")
    buckets = counts_by_interval(answer, [QUEUE])
    assert [datetime(2024, 3, 11, 13, 30, tzinfo=UTC)] == list(buckets)


def test_a_queue_that_was_not_asked_for_is_refused() -> None:
    """An answer holding a foreign queue cannot be trusted."""
    answer = _answer("2024-03-11T04:00:00.000Z/2024-03-12T04:00:00.000Z", queue="other")
    with pytest.raises(UnexpectedAnswerError, match="not asked for"):
        counts_by_day(answer, [QUEUE], "America/New_York")


def test_negative_stats_are_refused() -> None:
    """A negative count is not traffic."""
    answer = _answer("2024-03-11T04:00:00.000Z/2024-03-12T04:00:00.000Z")
    answer["results"][0]["data"][0]["metrics"][0]["stats"]["count"] = -1
    with pytest.raises(UnexpectedAnswerError, match="negative"):
        counts_by_day(answer, [QUEUE], "America/New_York")


def test_an_empty_answer_is_no_traffic() -> None:
    """``{}`` means nothing happened."""
    assert {} == counts_by_day({}, [QUEUE], "UTC")


def test_the_daily_query_spans_29_local_days() -> None:
    """From local midnight 28 days before to the midnight after the business day, P1D."""
    daily, _ = standup_queries(
        business_date=date(2025, 11, 4),
        timezone="America/Chicago",
        queue_ids=[QUEUE],
        granularity="PT30M",
    )
    assert ("2025-10-07T00:00:00-05:00/2025-11-05T00:00:00-06:00", "P1D") == (
        daily["interval"],
        daily["granularity"],
    )


def test_the_interval_query_covers_the_business_day() -> None:
    """The heat table's query is the local day at the table's granularity."""
    _, by_interval = standup_queries(
        business_date=date(2025, 11, 4),
        timezone="America/Chicago",
        queue_ids=[QUEUE],
        granularity="PT1H",
    )
    assert ("2025-11-04T00:00:00-06:00/2025-11-05T00:00:00-06:00", "PT1H") == (
        by_interval["interval"],
        by_interval["granularity"],
    )


def test_both_query_bodies_are_valid_aggregates_queries() -> None:
    """Each body passes the aggregates query schema."""
    for body in standup_queries(
        business_date=date(2025, 11, 4),
        timezone="America/Chicago",
        queue_ids=[QUEUE],
        granularity="PT30M",
        media_types=["voice"],
    ):
        assert_valid("genesys-aggregates-query", body)


def test_an_unknown_heat_granularity_is_refused() -> None:
    """Only half hours and hours make a heat table."""
    with pytest.raises(ValueError, match="PT30M or PT1H"):
        standup_queries(
            business_date=date(2025, 11, 4), timezone="UTC", queue_ids=[QUEUE], granularity="P1D"
        )
