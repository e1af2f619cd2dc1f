"""The stand-in's standup endpoints over a real socket, through the real Genesys seam."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from gcnotify.core.errors import GenesysRequestError, ReportError
from gcnotify.core.model import Queue
from gcnotify.core.windows import start_of_day
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.devserver.standup_endpoints import MANAGEMENT_UNIT_ID, SCHEDULE_GROUP_NAME
from gcnotify.devserver.traffic import generate
from gcnotify.genesys.architect import group_closed_days
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.exports import build_export_request, run_export
from gcnotify.genesys.users import list_queue_members, query_routing_times
from gcnotify.genesys.wfm import (
    AdherenceItem,
    build_adherence_query,
    run_historical_adherence,
    user_adherence,
)
from tests.support import FakeClock

pytestmark = pytest.mark.e2e
TZ = "America/New_York"
QUEUES = [
    Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support"),
    Queue("0f3e5d7a-9b1c-4e2f-8a6d-3c4b5a697e81", "Billing"),
]
DAY = date(2025, 11, 4)
INTERVAL = "2025-11-04T00:00:00-05:00/2025-11-05T00:00:00-05:00"


@pytest.fixture
def stand_in() -> Iterator[GenesysStandIn]:
    with GenesysStandIn(QUEUES, client_id="cid", client_secret="secret-value") as server:
        server.now = lambda: datetime(2025, 11, 6, tzinfo=UTC)
        yield server


@pytest.fixture
def genesys(stand_in: GenesysStandIn) -> GenesysClient:
    return GenesysClient(
        login_url=stand_in.url, api_url=stand_in.url, client_id="cid", client_secret="secret-value"
    )


def test_queue_members_overlap_between_queues(genesys: GenesysClient) -> None:
    """Six members each, two of them in both queues."""
    support = {m.user_id for m in list_queue_members(genesys, QUEUES[0].id)}
    billing = {m.user_id for m in list_queue_members(genesys, QUEUES[1].id)}
    assert (6, 6, 2) == (len(support), len(billing), len(support & billing))


def test_routing_times_come_back_per_member(genesys: GenesysClient) -> None:
    """Every member gets on-queue time, and occupancy lies between 0 and 1."""
    users = [m.user_id for m in list_queue_members(genesys, QUEUES[0].id)]
    times = query_routing_times(genesys, interval=INTERVAL, timezone=TZ, user_ids=users)
    occupancies = [t.occupancy for t in times.values()]
    assert (set(users), True) == (
        set(times),
        all(o is not None and 0 < o < 1 for o in occupancies),
    )


def test_more_than_100_users_are_split_into_queries(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """230 users cost three users aggregates queries, none refused."""
    users = [f"user-{i}" for i in range(230)]
    times = query_routing_times(genesys, interval=INTERVAL, timezone=TZ, user_ids=users)
    assert (230, 3) == (len(times), stand_in.count("/api/v2/analytics/users/aggregates/query"))


def test_an_adherence_job_completes_and_its_file_is_read(genesys: GenesysClient) -> None:
    """The bulk job is Processing, then Complete; every user has adherence from the file."""
    clock = FakeClock()
    users = [m.user_id for m in list_queue_members(genesys, QUEUES[0].id)]
    body = build_adherence_query(
        TZ, [AdherenceItem(MANAGEMENT_UNIT_ID, "2025-11-04T05:00:00Z", "2025-11-05T05:00:00Z",
                           tuple(users))],
    )  # fmt: skip
    files = run_historical_adherence(genesys, body, sleep=clock.sleep, clock=clock)
    assert set(users) == set(user_adherence(files))


def test_an_unknown_management_unit_is_refused(genesys: GenesysClient) -> None:
    """A management unit that does not exist is a 404 the seam reports."""
    body = build_adherence_query(
        TZ, [AdherenceItem("00000000-0000-4000-8000-000000000000", "2025-11-04T05:00:00Z",
                           "2025-11-05T05:00:00Z")],
    )  # fmt: skip
    with pytest.raises(GenesysRequestError, match="404"):
        run_historical_adherence(genesys, body, sleep=FakeClock().sleep)


def _export_body() -> dict[str, object]:
    return build_export_request(
        name="Standup 2025-11-04",
        view_type="QUEUE_PERFORMANCE_SUMMARY_VIEW",
        export_format="CSV",
        interval=INTERVAL,
        timezone=TZ,
        queue_ids=[q.id for q in QUEUES],
    )


def test_an_export_runs_its_lifecycle_and_counts_the_traffic(genesys: GenesysClient) -> None:
    """SUBMITTED → RUNNING → COMPLETED, and the CSV's offered counts match the traffic."""
    clock = FakeClock()
    file = run_export(genesys, _export_body(), sleep=clock.sleep, clock=clock)
    rows = [line.split(",") for line in file.data.decode().splitlines()[1:]]
    start = start_of_day(DAY, TZ)
    expected = len(generate(QUEUES, start, start_of_day(DAY + timedelta(days=1), TZ), seed=7))
    assert (expected, [5.0, 10.0]) == (sum(int(r[2]) for r in rows), clock.sleeps)


def test_a_failing_export_says_why(genesys: GenesysClient, stand_in: GenesysStandIn) -> None:
    """A job the stand-in fails ends in FAILED with Genesys' reason."""
    stand_in.standup.fail_exports = "FAILED_AS_EXPORT_FILE_SIZE_IS_GREATER_THAN_10MB"
    clock = FakeClock()
    with pytest.raises(GenesysRequestError, match="GREATER_THAN_10MB"):
        run_export(genesys, _export_body(), sleep=clock.sleep, clock=clock)


def test_an_invalid_export_body_is_a_400(genesys: GenesysClient) -> None:
    """The stand-in validates the body against the schema, as the API would refuse it."""
    body = {**_export_body(), "exportFormat": "XLSX"}
    with pytest.raises(GenesysRequestError, match="400"):
        run_export(genesys, body, sleep=FakeClock().sleep)


def test_the_schedule_group_closes_its_holidays(genesys: GenesysClient) -> None:
    """Thanksgiving and Christmas 2025 are closed; nights do not close a day."""
    days = group_closed_days(genesys, SCHEDULE_GROUP_NAME, date(2025, 11, 1), date(2025, 12, 31))
    assert {date(2025, 11, 27): "Thanksgiving", date(2025, 12, 25): "Christmas Day"} == days


def test_a_broken_rrule_from_architect_is_a_clear_error(
    genesys: GenesysClient, stand_in: GenesysStandIn
) -> None:
    """A schedule whose rrule does not parse names itself."""
    stand_in.standup.schedules["hol-xmas"]["rrule"] = "FREQ=NEVER"
    with pytest.raises(ReportError, match="'Christmas Day' has an rrule that does not parse"):
        group_closed_days(genesys, SCHEDULE_GROUP_NAME, date(2025, 1, 1), date(2025, 12, 31))


def test_an_unknown_schedule_group_names_the_closest(genesys: GenesysClient) -> None:
    """A misspelt group fails with the real name that comes closest."""
    with pytest.raises(ReportError, match="Closest names: 'Support Hours'"):
        group_closed_days(genesys, "Suport Hours", date(2025, 1, 1), date(2025, 1, 2))
