"""Queue members and their time in routing status: what occupancy is computed from.

Genesys has no queue dimension on user aggregates, so the members are listed first
(``GET /api/v2/routing/queues/{queueId}/members``, paged, at most 100 a page) and their
``tAgentRoutingStatus`` is queried by ``userId``, at most 100 userId predicates a query, as the
users aggregates documentation limits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "MAX_USERS_PER_QUERY",
    "OCCUPANCY_FORMULA",
    "OCCUPANCY_SOURCE",
    "QUEUE_MEMBERS_PATH",
    "USERS_AGGREGATES_PATH",
    "QueueMember",
    "RoutingTimes",
    "build_users_aggregates_queries",
    "list_queue_members",
    "query_routing_times",
]

QUEUE_MEMBERS_PATH = "/api/v2/routing/queues/{queue_id}/members"
USERS_AGGREGATES_PATH = "/api/v2/analytics/users/aggregates/query"
MAX_USERS_PER_QUERY = 100
MEMBERS_PAGE_SIZE = 100
MAX_MEMBER_PAGES = 100  # 10 000 members: far beyond any queue; guards a server that never ends
MEMBERS_PERMISSION = "routing:queue:view"
USERS_AGGREGATES_PERMISSION = "analytics:userAggregate:view"

OCCUPANCY_FORMULA = (
    "Occupancy = time Interacting ÷ (Interacting + Idle + Communicating), each the summed "
    "tAgentRoutingStatus time of the queue's members (the total row: of the distinct members "
    "of all the pack's queues). An agent in several queues counts in each."
)
OCCUPANCY_SOURCE = (
    "Source: Genesys' own definition, as given by a Genesys consultant on the Genesys community "
    "(community.genesys.com, 'Does occupancy include all busy time'); its denominator is the "
    "on-queue time Genesys' WFM conformance also uses. Genesys documents no occupancy formula."
)
_ON_QUEUE = ("INTERACTING", "IDLE", "COMMUNICATING")


@dataclass(frozen=True)
class QueueMember:
    user_id: str
    name: str
    joined: bool | None


@dataclass(frozen=True)
class RoutingTimes:
    """Milliseconds per routing status (``INTERACTING``, ``IDLE``, …) for one or more users."""

    ms: Mapping[str, float] = field(default_factory=dict)

    def __add__(self, other: RoutingTimes) -> RoutingTimes:
        merged = dict(self.ms)
        for status, value in other.ms.items():
            merged[status] = merged.get(status, 0.0) + value
        return RoutingTimes(merged)

    @property
    def interacting(self) -> float:
        return self.ms.get("INTERACTING", 0.0)

    @property
    def on_queue(self) -> float:
        return sum(self.ms.get(status, 0.0) for status in _ON_QUEUE)

    @property
    def occupancy(self) -> float | None:
        """Fraction of on-queue time spent interacting; None without on-queue time."""
        return self.interacting / self.on_queue if self.on_queue else None

    @staticmethod
    def total(parts: Iterable[RoutingTimes]) -> RoutingTimes:
        result = RoutingTimes()
        for part in parts:
            result = result + part
        return result


def list_queue_members(client: GenesysClient, queue_id: str) -> list[QueueMember]:
    """Every member of one queue, page by page until the listing ends."""
    path = QUEUE_MEMBERS_PATH.format(queue_id=queue_id)
    members: dict[str, QueueMember] = {}
    for number in range(1, MAX_MEMBER_PAGES + 1):
        listing = client.get_json(
            path,
            {"pageSize": MEMBERS_PAGE_SIZE, "pageNumber": number},
            permission=MEMBERS_PERMISSION,
        )
        entities = listing.get("entities")
        entities = entities if isinstance(entities, list) else []
        for entity in entities:
            member = _member(entity)
            if member is not None:
                members.setdefault(member.user_id, member)
        page_count = listing.get("pageCount")
        last = number >= page_count if isinstance(page_count, int) else not listing.get("nextUri")
        if last or not entities:
            break
    return list(members.values())


def _member(entity: Any) -> QueueMember | None:
    """A ``QueueMember``: its ``user.id`` is the user (``id`` also is, by Genesys' convention)."""
    if not isinstance(entity, Mapping):
        return None
    user = entity.get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else None
    user_id = user_id if isinstance(user_id, str) else entity.get("id")
    if not isinstance(user_id, str) or not user_id:
        return None
    name = entity.get("name")
    if not isinstance(name, str) and isinstance(user, Mapping):
        name = user.get("name")
    joined = entity.get("joined")
    return QueueMember(user_id, name if isinstance(name, str) else user_id, joined
                       if isinstance(joined, bool) else None)  # fmt: skip


def build_users_aggregates_queries(
    *, interval: str, timezone: str, user_ids: Sequence[str], granularity: str = "P1D"
) -> list[dict[str, Any]]:
    """Bodies for ``POST /api/v2/analytics/users/aggregates/query``, ≤ 100 users each."""
    unique = list(dict.fromkeys(user_ids))
    bodies = []
    for first in range(0, len(unique), MAX_USERS_PER_QUERY):
        chunk = unique[first : first + MAX_USERS_PER_QUERY]
        bodies.append(
            {
                "interval": interval,
                "granularity": granularity,
                "timeZone": timezone,
                "groupBy": ["userId"],
                "filter": {
                    "type": "or",
                    "predicates": [
                        {
                            "type": "dimension",
                            "dimension": "userId",
                            "operator": "matches",
                            "value": user_id,
                        }
                        for user_id in chunk
                    ],
                },
                "metrics": ["tAgentRoutingStatus"],
            }
        )
    return bodies


def query_routing_times(
    client: GenesysClient, *, interval: str, timezone: str, user_ids: Sequence[str]
) -> dict[str, RoutingTimes]:
    """User id → time per routing status over ``interval``; users without data are absent."""
    times: dict[str, RoutingTimes] = {}
    bodies = build_users_aggregates_queries(interval=interval, timezone=timezone, user_ids=user_ids)
    for body in bodies:
        answer = client.post_json(
            USERS_AGGREGATES_PATH, body, permission=USERS_AGGREGATES_PERMISSION
        )
        for user_id, parts in _routing_times(answer):
            times[user_id] = times.get(user_id, RoutingTimes()) + parts
    return times


def _routing_times(answer: Mapping[str, Any]) -> Iterable[tuple[str, RoutingTimes]]:
    results = answer.get("results")
    for result in results if isinstance(results, list) else []:
        group = result.get("group") if isinstance(result, Mapping) else None
        user_id = group.get("userId") if isinstance(group, Mapping) else None
        if not isinstance(user_id, str):
            continue
        ms: dict[str, float] = {}
        for data in result.get("data") or []:
            for metric in data.get("metrics") or []:
                if metric.get("metric") != "tAgentRoutingStatus":
                    continue
                qualifier = metric.get("qualifier")
                total = (metric.get("stats") or {}).get("sum")
                if isinstance(qualifier, str) and isinstance(total, int | float) and total >= 0:
                    ms[qualifier.upper()] = ms.get(qualifier.upper(), 0.0) + float(total)
        yield user_id, RoutingTimes(ms)
