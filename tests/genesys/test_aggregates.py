"""Splitting an aggregates query too large for the API (by bytes, or after a 400), and merging
the answers."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnotify.genesys.aggregates import (
    MAX_QUEUE_PREDICATES,
    REQUEST_BYTES_BUDGET,
    REQUEST_BYTES_MAX,
    encode_body,
    merge_aggregates_responses,
    split_aggregates_query,
    split_queue_ids,
    split_to_fit,
)
from tests.reports.test_query import Q1, Q2, Q3, build, queue_values
from tests.support import assert_valid


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


# --- splitting by request size -----------------------------------------------------------------


def ids(count: int) -> list[str]:
    return [str(uuid.UUID(int=i)) for i in range(count)]


def test_encoded_body_is_compact_json() -> None:
    """No spaces after separators: the body is what json.loads reads back, and smaller."""
    body = build()
    encoded = encode_body(body)
    assert (body, False) == (json.loads(encoded), b", " in encoded or b": " in encoded)


def test_budget_leaves_a_margin_under_the_platform_limit() -> None:
    """Bodies are kept under the 512,000-byte limit with room for the request's headers."""
    assert (512_000, True) == (REQUEST_BYTES_MAX, 0 < REQUEST_BYTES_BUDGET < REQUEST_BYTES_MAX)


def test_body_that_fits_is_not_split() -> None:
    """A body under the budget comes back whole, as one body."""
    body = build(queue_ids=ids(100))
    assert [body] == split_to_fit(body)


def test_report_of_4502_queues_is_the_largest_single_body() -> None:
    """With three metrics and no media filter, 4,502 queues fit and 4,503 need two bodies."""
    parts = [split_to_fit(build(queue_ids=ids(n))) for n in (4502, 4503)]
    assert [1, 2] == [len(p or []) for p in parts]


def test_parts_fit_keep_order_and_are_even() -> None:
    """Each part fits; together they hold every queue once, in order, split evenly."""
    body = build(queue_ids=ids(1000), media_types=["voice", "message"])
    parts = split_to_fit(body, max_bytes=40_000)
    assert parts is not None
    assert all(len(encode_body(p)) <= 40_000 for p in parts)
    assert ids(1000) == [q for p in parts for q in queue_values(p)]
    assert 1 >= max(map(len, map(queue_values, parts))) - min(map(len, map(queue_values, parts)))


def test_parts_keep_the_rest_of_the_body_and_stay_schema_valid() -> None:
    """Interval, metrics and the media clause are in every part, each a valid query."""
    body = build(queue_ids=ids(50), media_types=["voice"])
    parts = split_to_fit(body, max_bytes=3_000)
    assert parts is not None
    for part in parts:
        assert_valid("genesys-aggregates-query", part)
        assert (body["interval"], body["metrics"], body["filter"]["clauses"][1]) == (
            part["interval"],
            part["metrics"],
            part["filter"]["clauses"][1],
        )


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=60),
    max_bytes=st.integers(400, 3_000),
)
def test_split_is_the_fewest_parts_that_fit(lengths: list[int], max_bytes: int) -> None:
    """Every part fits, and no split into one part fewer could (queue values of any length)."""
    values = [f"{i}-" + "x" * n for i, n in enumerate(lengths)]
    body = build(queue_ids=values)
    parts = split_to_fit(body, max_bytes=max_bytes)
    if parts is None:  # some single queue does not fit with the rest of the body
        assert any(len(encode_body(build(queue_ids=[v]))) > max_bytes for v in values)
        return
    assert all(len(encode_body(p)) <= max_bytes for p in parts)
    assert values == [q for p in parts for q in queue_values(p)]
    # Filling parts in order is optimal; it must not need fewer parts than were made.
    fewest, current = 1, [values[0]]
    for value in values[1:]:
        if len(encode_body(build(queue_ids=[*current, value]))) > max_bytes:
            fewest, current = fewest + 1, [value]
        else:
            current.append(value)
    assert fewest == len(parts)


def test_oversized_body_not_grouped_by_queue_cannot_be_split() -> None:
    """Without queueId grouping, a body over the budget has no safe split: None."""
    body = build(queue_ids=ids(50))
    body["groupBy"] = ["mediaType"]
    assert split_to_fit(body, max_bytes=1_000) is None


def test_body_too_large_even_for_one_queue_cannot_be_split() -> None:
    """When the body with a single queue is over the budget, no split can help: None."""
    assert split_to_fit(build(queue_ids=ids(3)), max_bytes=300) is None
