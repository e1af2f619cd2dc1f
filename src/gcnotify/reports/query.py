"""Request bodies for the Genesys Cloud conversation aggregates query.

Pure functions: the runner passes values in and sends the body through
``gcnotify.genesys.client``. One body covers all of a report's queues (grouped by ``queueId``),
so a report costs one query.

Where the API forces several queries (a body over the request size limit, a filter too large),
the Genesys seam splits the body itself (``gcnotify.genesys.aggregates``); the report never
needs to know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["build_aggregates_query"]


def _dimension_predicate(dimension: str, value: str) -> dict[str, str]:
    return {"type": "dimension", "dimension": dimension, "operator": "matches", "value": value}


def _unique(values: Sequence[str]) -> list[str]:
    """Drop repeats, keep first-seen order (dict preserves insertion order)."""
    return list(dict.fromkeys(values))


def build_aggregates_query(
    *,
    interval: str,
    timezone: str,
    queue_ids: Sequence[str],
    genesys_metrics: Sequence[str],
    media_types: Sequence[str] = (),
    granularity: str = "P1D",
) -> dict[str, Any]:
    """Body for ``POST /api/v2/analytics/conversations/aggregates/query``.

    ``interval`` must already carry explicit offsets (``ReportWindow.genesys_interval()``);
    ``timeZone`` is always sent so Genesys buckets P1D/PT1H intervals on local days across DST.
    """
    queues = _unique(queue_ids)
    if not queues:
        # An empty "or" clause would match nothing or everything depending on the server: never
        # leave that to chance.
        raise ValueError("an aggregates query needs at least one queue id")
    metrics = _unique(genesys_metrics)
    if not metrics:
        raise ValueError("an aggregates query needs at least one metric")
    clauses: list[dict[str, Any]] = [
        {"type": "or", "predicates": [_dimension_predicate("queueId", q) for q in queues]}
    ]
    media = _unique(media_types)
    if media:
        clauses.append(
            {"type": "or", "predicates": [_dimension_predicate("mediaType", m) for m in media]}
        )
    return {
        "interval": interval,
        "granularity": granularity,
        "timeZone": timezone,
        "groupBy": ["queueId"],
        "filter": {"type": "and", "clauses": clauses},
        "metrics": metrics,
    }
