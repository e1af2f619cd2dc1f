"""Aggregates query bodies of a report: schema-valid, one query for all of its queues."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnotify.reports.query import build_aggregates_query
from tests.support import assert_valid, schema_errors

INTERVAL = "2024-03-10T00:00:00-05:00/2024-03-11T00:00:00-04:00"
Q1 = "c6fc6f57-4c1e-4812-980a-5154f500b5c6"
Q2 = "0f3e5d7a-9b1c-4e2f-8a6d-3c4b5a697e81"
Q3 = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def build(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "interval": INTERVAL,
        "timezone": "America/New_York",
        "queue_ids": [Q1, Q2],
        "genesys_metrics": ["nOffered", "tAnswered", "tAbandon"],
    }
    args.update(overrides)
    return build_aggregates_query(**args)


def queue_values(body: dict[str, Any]) -> list[str]:
    return [p["value"] for p in body["filter"]["clauses"][0]["predicates"]]


def test_body_is_valid_against_the_schema() -> None:
    """A typical body passes the Genesys aggregates query schema."""
    assert_valid(
        "genesys-aggregates-query", build(media_types=["voice", "message"], granularity="PT30M")
    )


def test_schema_rejects_a_broken_body() -> None:
    """The validator used here does catch a bad body (guards the tests above against vacuity)."""
    body = build()
    body["groupBy"] = ["queue"]
    assert schema_errors("genesys-aggregates-query", body)


def test_interval_is_sent_verbatim_with_its_offsets() -> None:
    """The DST-day interval keeps both explicit offsets."""
    assert build()["interval"] == INTERVAL


def test_time_zone_and_granularity_are_always_set() -> None:
    """timeZone and granularity are present so Genesys buckets local days across DST."""
    body = build(timezone="Europe/London")
    assert (body["timeZone"], body["granularity"]) == ("Europe/London", "P1D")


def test_granularity_is_passed_through() -> None:
    """An hourly report asks for PT1H buckets."""
    assert build(granularity="PT1H")["granularity"] == "PT1H"


def test_results_are_grouped_by_queue() -> None:
    """One query covers all queues, grouped by queueId."""
    assert build()["groupBy"] == ["queueId"]


def test_one_queue_predicate_per_queue_in_config_order() -> None:
    """The or-clause holds one queueId predicate per queue, in the order given."""
    body = build(queue_ids=[Q3, Q1, Q2])
    assert queue_values(body) == [Q3, Q1, Q2]


def test_queue_predicate_shape() -> None:
    """Each queue predicate is an explicit dimension match."""
    predicate = build(queue_ids=[Q1])["filter"]["clauses"][0]["predicates"][0]
    expected = {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": Q1}
    assert expected == predicate


def test_filter_is_and_of_or_clauses() -> None:
    """The filter is an and of or-clauses: here one, the queues' (media types add a second)."""
    body = build()
    assert (
        body["filter"]["type"],
        [c["type"] for c in body["filter"]["clauses"]],
    ) == ("and", ["or"])


def test_duplicate_queue_ids_are_sent_once() -> None:
    """A queue listed twice is filtered once."""
    assert queue_values(build(queue_ids=[Q1, Q2, Q1])) == [Q1, Q2]


def test_no_media_clause_without_media_types() -> None:
    """Without media types the filter has only the queue clause."""
    assert len(build()["filter"]["clauses"]) == 1


def test_media_types_become_a_second_or_clause() -> None:
    """Media types are ANDed with the queues as an or-clause of mediaType predicates."""
    clause = build(media_types=["voice", "message"])["filter"]["clauses"][1]
    assert (
        clause["type"],
        [(p["dimension"], p["value"]) for p in clause["predicates"]],
    ) == ("or", [("mediaType", "voice"), ("mediaType", "message")])


def test_metrics_are_deduplicated_in_stable_order() -> None:
    """Metrics needed by several report metrics are asked for once, first-seen order kept."""
    body = build(genesys_metrics=["tAnswered", "nOffered", "tAnswered", "tAbandon", "nOffered"])
    assert body["metrics"] == ["tAnswered", "nOffered", "tAbandon"]


def test_no_queues_is_refused() -> None:
    """An empty queue filter is never sent."""
    with pytest.raises(ValueError, match="queue"):
        build(queue_ids=[])


def test_no_metrics_is_refused() -> None:
    """A query without metrics is never sent."""
    with pytest.raises(ValueError, match="metric"):
        build(genesys_metrics=[])


@settings(max_examples=50, deadline=None)
@given(
    queues=st.lists(st.uuids().map(str), min_size=1, max_size=30),
    metrics=st.lists(
        st.sampled_from(["nOffered", "tAnswered", "tAbandon", "tHandle", "oServiceLevel"]),
        min_size=1,
    ),
    media=st.lists(st.sampled_from(["voice", "message", "email", "chat", "callback"])),
    granularity=st.sampled_from(["P1D", "PT1H", "PT30M"]),
)
def test_every_built_body_is_schema_valid(
    queues: list[str], metrics: list[str], media: list[str], granularity: str
) -> None:
    """Whatever the queues, metrics and media types, the body is schema-valid."""
    body = build(
        queue_ids=queues, genesys_metrics=metrics, media_types=media, granularity=granularity
    )
    assert_valid("genesys-aggregates-query", body)
    assert list(dict.fromkeys(queues)) == queue_values(body)
