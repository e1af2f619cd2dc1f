"""Queue members (paged) and their routing-status time, at most 100 users a query."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from gcnotify.core.errors import GenesysPermissionError
from gcnotify.genesys.users import (
    OCCUPANCY_FORMULA,
    OCCUPANCY_SOURCE,
    RoutingTimes,
    build_users_aggregates_queries,
    list_queue_members,
    query_routing_times,
)
from tests.genesys.standup_http import API, bodies, client, forbidden
from tests.support import FakeClock, assert_valid

QUEUE = "c6fc6f57-4c1e-4812-980a-5154f500b5c6"
MEMBERS_URL = f"{API}/api/v2/routing/queues/{QUEUE}/members"
USERS_URL = f"{API}/api/v2/analytics/users/aggregates/query"
INTERVAL = "2025-11-04T00:00:00-06:00/2025-11-05T00:00:00-06:00"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _member(i: int) -> dict[str, object]:
    user = f"user-{i:03d}"
    return {"id": user, "name": f"Agent {i}", "user": {"id": user, "name": f"Agent {i}"},
            "joined": True, "memberBy": "user"}  # fmt: skip


def test_members_are_read_across_pages(rsps: responses.RequestsMock) -> None:
    """Two pages of members give every member once."""
    genesys = client(FakeClock(), rsps)
    rsps.get(MEMBERS_URL, json={"entities": [_member(i) for i in range(100)], "pageCount": 2})
    rsps.get(MEMBERS_URL, json={"entities": [_member(100)], "pageCount": 2})
    members = list_queue_members(genesys, QUEUE)
    assert (101, "user-100") == (len(members), members[-1].user_id)


def test_a_members_403_names_the_permission(rsps: responses.RequestsMock) -> None:
    """Without routing:queue:view the error says so."""
    genesys = client(FakeClock(), rsps)
    rsps.get(MEMBERS_URL, status=403, json=forbidden("routing:queue:view"))
    with pytest.raises(GenesysPermissionError, match="lack the permission routing:queue:view"):
        list_queue_members(genesys, QUEUE)


def test_no_query_holds_more_than_100_users() -> None:
    """250 users make three queries of 100, 100 and 50 userId predicates, each schema-valid."""
    queries = build_users_aggregates_queries(
        interval=INTERVAL, timezone="America/Chicago", user_ids=[f"u{i}" for i in range(250)]
    )
    for body in queries:
        assert_valid("genesys-users-aggregates-query", body)
    assert [100, 100, 50] == [len(q["filter"]["predicates"]) for q in queries]


def test_routing_times_are_summed_per_user(rsps: responses.RequestsMock) -> None:
    """Each status's sum is kept per user; the request bodies are valid."""
    genesys = client(FakeClock(), rsps)
    rsps.post(
        USERS_URL,
        json={
            "results": [
                {
                    "group": {"userId": "u1"},
                    "data": [
                        {
                            "interval": "2025-11-04T06:00:00.000Z/2025-11-05T06:00:00.000Z",
                            "metrics": [
                                {
                                    "metric": "tAgentRoutingStatus",
                                    "qualifier": "INTERACTING",
                                    "stats": {"sum": 3000},
                                },
                                {
                                    "metric": "tAgentRoutingStatus",
                                    "qualifier": "IDLE",
                                    "stats": {"sum": 1000},
                                },
                            ],
                        }
                    ],
                }
            ]
        },
    )
    times = query_routing_times(
        genesys, interval=INTERVAL, timezone="America/Chicago", user_ids=["u1"]
    )
    for body in bodies(rsps, "users/aggregates"):
        assert_valid("genesys-users-aggregates-query", body)
    assert pytest.approx(0.75) == times["u1"].occupancy


def test_a_users_aggregates_403_names_the_permission(rsps: responses.RequestsMock) -> None:
    """Without analytics:userAggregate:view the occupancy section can say why."""
    genesys = client(FakeClock(), rsps)
    rsps.post(USERS_URL, status=403, json=forbidden("analytics:userAggregate:view"))
    with pytest.raises(GenesysPermissionError, match="analytics:userAggregate:view"):
        query_routing_times(genesys, interval=INTERVAL, timezone="UTC", user_ids=["u1"])


def test_occupancy_of_a_team_divides_summed_times() -> None:
    """Agents at 3 of 4 and 1 of 8 on-queue hours give 4 ÷ 12, not the mean of 75 % and 12.5 %."""
    a = RoutingTimes({"INTERACTING": 3, "IDLE": 1})
    b = RoutingTimes({"INTERACTING": 1, "IDLE": 6, "COMMUNICATING": 1, "OFF_QUEUE": 50})
    assert pytest.approx(4 / 12) == RoutingTimes.total([a, b]).occupancy


def test_the_formula_and_its_source_are_printable() -> None:
    """The pack prints how occupancy is computed and where the definition comes from."""
    assert ("Interacting" in OCCUPANCY_FORMULA, "community.genesys.com" in OCCUPANCY_SOURCE) == (
        True,
        True,
    )
