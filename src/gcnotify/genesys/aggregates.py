"""Keeping an aggregates query within what the Genesys API accepts: split it, merge the answers.

Queue filter size: no maximum number of predicates per filter for the aggregates query is
documented by Genesys (developer.genesys.cloud and the platform SDKs were checked; it is marked
"not verified" in the project's API notes). So a query goes out whole and is split only when
Genesys answers 400 naming a predicate/filter-size limit: ``GenesysClient`` then halves the
queue clause with ``split_aggregates_query`` and merges the answers with
``merge_aggregates_responses``. The org's effective limits can be read with
``GET /api/v2/organizations/limits/namespaces/analytics``; that is not done per run because it
costs a call (and a permission) for a limit no real report is known to reach.

Pure functions on request and response bodies; they know the API's shapes, not any pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_QUEUE_PREDICATES",
    "merge_aggregates_responses",
    "split_aggregates_query",
    "split_queue_ids",
]

# Not documented by Genesys (see the module docstring); None means "send them all in one query
# and split only when Genesys says the filter is too large".
MAX_QUEUE_PREDICATES: int | None = None


def split_queue_ids(queue_ids: Sequence[str], limit: int) -> list[list[str]]:
    """Chunks of at most ``limit`` ids, in order; for when the API forces several queries."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    ids = list(queue_ids)
    return [ids[i : i + limit] for i in range(0, len(ids), limit)]


def _is_queue_clause(clause: Any) -> bool:
    if not isinstance(clause, Mapping) or clause.get("type") != "or":
        return False
    predicates = clause.get("predicates")
    return (
        isinstance(predicates, list)
        and bool(predicates)
        and all(isinstance(p, Mapping) and p.get("dimension") == "queueId" for p in predicates)
    )


def split_aggregates_query(body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Two bodies, each with half of the queue predicates; None when the body cannot be split.

    Only a body grouped by ``queueId`` whose filter holds exactly one ``or`` clause of queueId
    predicates (as a report builds it) is split: then the halves' groups are disjoint and
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
    queue_positions = [i for i, c in enumerate(clauses) if _is_queue_clause(c)]
    if len(queue_positions) != 1:
        return None
    position = queue_positions[0]
    predicates = list(clauses[position]["predicates"])
    if len(predicates) < 2:
        return None
    middle = (len(predicates) + 1) // 2
    halves = []
    for part in (predicates[:middle], predicates[middle:]):
        new_clauses = [dict(c) for c in clauses]
        new_clauses[position] = {"type": "or", "predicates": [dict(p) for p in part]}
        halves.append({**body, "filter": {**flt, "clauses": new_clauses}})
    return halves


def merge_aggregates_responses(responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One response holding every part's ``results`` (parts cover disjoint queues)."""
    results: list[Any] = []
    for response in responses:
        part = response.get("results")
        if isinstance(part, list):
            results.extend(part)
    return {"results": results} if results else {}
