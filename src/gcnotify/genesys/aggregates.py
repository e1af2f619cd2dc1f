"""Keeping an aggregates query within what the Genesys API accepts: split it, merge the answers.

Request size: the platform refuses request bodies over ``request.bytes.max`` = 512,000 bytes
(Genesys Cloud's published platform limits). A report's body grows by about 111 bytes per
queue, so past ~4,500 queues it would be refused. ``GenesysClient`` therefore measures the exact
bytes it will send (``encode_body``) and, when they exceed ``REQUEST_BYTES_BUDGET``, sends the
fewest bodies that each fit (``split_to_fit``), sharing the queue clause out in order.

Queue filter size: no maximum number of predicates per filter for the aggregates query is
documented by Genesys (developer.genesys.cloud and the platform SDKs were checked; it is marked
"not verified" in the project's API notes). So a body that fits goes out whole and is split only
when Genesys answers 400 naming a predicate/filter-size limit: ``GenesysClient`` then halves the
queue clause with ``split_aggregates_query``. The org's effective limits can be read with
``GET /api/v2/organizations/limits/namespaces/analytics``; that is not done per run because it
costs a call (and a permission) for a limit no real report is known to reach.

Either way the parts cover disjoint queues and ``merge_aggregates_responses`` joins the answers.

Pure functions on request and response bodies; they know the API's shapes, not any pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_QUEUE_PREDICATES",
    "REQUEST_BYTES_BUDGET",
    "REQUEST_BYTES_MAX",
    "encode_body",
    "merge_aggregates_responses",
    "split_aggregates_query",
    "split_queue_ids",
    "split_to_fit",
]

# The platform's request size limit, request.bytes.max, from Genesys Cloud's platform limits.
REQUEST_BYTES_MAX = 512_000
# What one body may take: the limit less a margin for the request line and headers (about 1 kB
# with the bearer token), in case the platform counts them too.
REQUEST_BYTES_BUDGET = 500_000

# Not documented by Genesys (see the module docstring); None means "no cap on queues per query:
# split only by request size, or when Genesys says the filter is too large".
MAX_QUEUE_PREDICATES: int | None = None


def split_queue_ids(queue_ids: Sequence[str], limit: int) -> list[list[str]]:
    """Chunks of at most ``limit`` ids, in order; for when the API forces several queries."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    ids = list(queue_ids)
    return [ids[i : i + limit] for i in range(0, len(ids), limit)]


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent for ``body``: compact JSON, so what is measured is what goes out.

    Compact separators make a report's body about 7 % smaller than ``json.dumps``'s default.
    """
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _is_queue_clause(clause: Any) -> bool:
    if not isinstance(clause, Mapping) or clause.get("type") != "or":
        return False
    predicates = clause.get("predicates")
    return (
        isinstance(predicates, list)
        and bool(predicates)
        and all(isinstance(p, Mapping) and p.get("dimension") == "queueId" for p in predicates)
    )


def _queue_predicates(body: Mapping[str, Any]) -> list[Any] | None:
    """The queue clause's predicates when ``body`` can be split by queue, else None.

    Only a body grouped by ``queueId`` whose filter holds exactly one ``or`` clause of queueId
    predicates (as a report builds it) is split: then the parts' groups are disjoint and
    merging is a plain concatenation, never a sum that could double-count.
    """
    group_by = body.get("groupBy")
    flt = body.get("filter")
    if not isinstance(group_by, list) or "queueId" not in group_by or not isinstance(flt, Mapping):
        return None
    if flt.get("type") != "and" or flt.get("predicates"):
        return None
    clauses = flt.get("clauses")
    if not isinstance(clauses, list):
        return None
    queue_clauses = [c for c in clauses if _is_queue_clause(c)]
    if len(queue_clauses) != 1:
        return None
    return list(queue_clauses[0]["predicates"])


def _with_queues(body: Mapping[str, Any], predicates: Sequence[Any]) -> dict[str, Any]:
    """A copy of a splittable ``body`` whose queue clause holds ``predicates``."""
    flt = body["filter"]
    clauses = [
        {"type": "or", "predicates": [dict(p) for p in predicates]}
        if _is_queue_clause(c)
        else dict(c)
        for c in flt["clauses"]
    ]
    return {**body, "filter": {**flt, "clauses": clauses}}


def split_aggregates_query(body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Two bodies, each with half of the queue predicates; None when the body cannot be split."""
    predicates = _queue_predicates(body)
    if predicates is None or len(predicates) < 2:
        return None
    middle = (len(predicates) + 1) // 2
    return [_with_queues(body, predicates[:middle]), _with_queues(body, predicates[middle:])]


def split_to_fit(
    body: Mapping[str, Any], max_bytes: int = REQUEST_BYTES_BUDGET
) -> list[dict[str, Any]] | None:
    """The fewest bodies that each encode to at most ``max_bytes``, queues shared out in order.

    ``[body]`` when it fits already; None when it cannot be split so that every part fits (not
    split by queue, or too large even with a single queue). The parts are as even as the sizes
    allow, so no part is a small remainder.
    """
    if len(encode_body(body)) <= max_bytes:
        return [dict(body)]
    predicates = _queue_predicates(body)
    if predicates is None:
        return None
    # Compact JSON is additive: a part's size is the body without queues plus its predicates
    # and the commas between them.
    base = len(encode_body(_with_queues(body, [])))
    sizes = [len(encode_body(p)) for p in predicates]
    room = max_bytes - base + 1  # every predicate costs its size plus one comma, less one in all
    if any(size + 1 > room for size in sizes):
        return None
    greedy = _pack(sizes, room)
    parts = _even(len(sizes), len(greedy))
    if any(sum(sizes[i] + 1 for i in part) > room for part in parts):
        parts = greedy  # predicates of uneven sizes: keep the packing that is known to fit
    return [_with_queues(body, [predicates[i] for i in part]) for part in parts]


def _pack(sizes: Sequence[int], room: int) -> list[range]:
    """Fill each part in turn: in order, this gives the fewest parts."""
    parts: list[range] = []
    start, used = 0, 0
    for index, size in enumerate(sizes):
        if used + size + 1 > room:
            parts.append(range(start, index))
            start, used = index, 0
        used += size + 1
    parts.append(range(start, len(sizes)))
    return parts


def _even(count: int, parts: int) -> list[range]:
    """``count`` items in ``parts`` runs whose lengths differ by at most one."""
    size, extra = divmod(count, parts)
    runs, start = [], 0
    for index in range(parts):
        stop = start + size + (1 if index < extra else 0)
        runs.append(range(start, stop))
        start = stop
    return runs


def merge_aggregates_responses(responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One response holding every part's ``results`` (parts cover disjoint queues)."""
    results: list[Any] = []
    for response in responses:
        part = response.get("results")
        if isinstance(part, list):
            results.extend(part)
    return {"results": results} if results else {}
