"""Splitting an aggregates query the API refuses as too large, and merging the answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnotify.genesys.aggregates import (
    MAX_QUEUE_PREDICATES,
    merge_aggregates_responses,
    split_aggregates_query,
    split_queue_ids,
)
from gcnotify.reports.query import build_aggregates_query
from tests.support import assert_valid

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


def test_no_documented_predicate_limit() -> None:
    """No predicate limit is documented, so none is applied up front."""
    assert MAX_QUEUE_PREDICATES is None


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=5)), limit=st.integers(1, 10))
def test_split_queue_ids_keeps_order_and_bounds_chunks(ids: list[str], limit: int) -> None:
    """Chunks concatenate back to the input; all are full except possibly the last."""
    chunks = split_queue_ids(ids, limit)
    assert ids == [i for chunk in chunks for i in chunk]
    assert all(len(chunk) == limit for chunk in chunks[:-1])
    assert all(1 <= len(chunk) <= limit for chunk in chunks)


def test_split_queue_ids_example() -> None:
    """Five ids with a limit of two make three chunks."""
    assert split_queue_ids(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]


def test_split_queue_ids_rejects_zero_limit() -> None:
    """A limit below one is a programming error."""
    with pytest.raises(ValueError, match="limit"):
        split_queue_ids(["a"], 0)


def test_split_query_halves_the_queue_clause() -> None:
    """A forced split makes two bodies whose queues together are the original queues."""
    halves = split_aggregates_query(build(queue_ids=[Q1, Q2, Q3]))
    assert halves is not None
    assert [queue_values(h) for h in halves] == [[Q1, Q2], [Q3]]


def test_split_halves_are_schema_valid_and_keep_the_rest() -> None:
    """Each half keeps the interval, metrics and media clause and passes the schema."""
    body = build(queue_ids=[Q1, Q2, Q3], media_types=["voice"])
    halves = split_aggregates_query(body)
    assert halves is not None
    for half in halves:
        assert_valid("genesys-aggregates-query", half)
        assert (body["interval"], body["metrics"], body["filter"]["clauses"][1]) == (
            half["interval"],
            half["metrics"],
            half["filter"]["clauses"][1],
        )


def test_split_does_not_change_the_original_body() -> None:
    """Splitting leaves the caller's body as it was."""
    body = build(queue_ids=[Q1, Q2, Q3])
    split_aggregates_query(body)
    assert queue_values(body) == [Q1, Q2, Q3]


def test_single_queue_cannot_be_split() -> None:
    """One queue cannot be halved, so the caller keeps Genesys's error."""
    assert split_aggregates_query(build(queue_ids=[Q1])) is None


def test_body_not_grouped_by_queue_is_not_split() -> None:
    """Without queueId grouping the halves could overlap, so no split is offered."""
    body = build()
    body["groupBy"] = ["mediaType"]
    assert split_aggregates_query(body) is None


def test_merge_concatenates_results() -> None:
    """Disjoint halves merge into one results list in order."""
    first = {"results": [{"group": {"queueId": Q1}, "data": []}]}
    second = {"results": [{"group": {"queueId": Q2}, "data": []}]}
    merged = merge_aggregates_responses([first, second])
    assert [r["group"]["queueId"] for r in merged["results"]] == [Q1, Q2]


def test_merge_of_empty_answers_is_empty() -> None:
    """Two no-data answers stay a no-data answer."""
    assert merge_aggregates_responses([{}, {"results": []}]) == {}
