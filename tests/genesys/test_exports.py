"""Genesys' reporting export: created, found in the listing by id, backed off, downloaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from gcnotify.core.errors import (
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
)
from gcnotify.genesys.exports import build_export_request, run_export
from tests.genesys.standup_http import API, bodies, client, forbidden
from tests.support import FakeClock, assert_valid

EXPORTS_URL = f"{API}/api/v2/analytics/reporting/exports"
DOWNLOAD_URL = f"{API}/api/v2/downloads/export-1"
BODY = build_export_request(
    name="Support standup 2025-11-04",
    view_type="QUEUE_PERFORMANCE_SUMMARY_VIEW",
    export_format="PDF",
    interval="2025-11-04T00:00:00-06:00/2025-11-05T00:00:00-06:00",
    timezone="America/Chicago",
    queue_ids=["c6fc6f57-4c1e-4812-980a-5154f500b5c6"],
)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _entity(status: str, **extra: object) -> dict[str, object]:
    return {"id": "export-1", "name": BODY["name"], "status": status, **extra}


def _listing(*entities: dict[str, object]) -> dict[str, object]:
    return {"entities": [{"id": "someone-else", "status": "COMPLETED"}, *entities], "pageCount": 1}


def test_the_request_body_is_valid() -> None:
    """The export request passes the reporting export schema."""
    assert_valid("genesys-reporting-export-request", BODY)


def test_a_job_is_found_by_id_in_the_listing_and_downloaded(rsps: responses.RequestsMock) -> None:
    """SUBMITTED, RUNNING, COMPLETED: waits of 5 s then 10 s, and the file's bytes come back."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(EXPORTS_URL, json=_entity("SUBMITTED"))
    rsps.get(EXPORTS_URL, json=_listing(_entity("RUNNING")))
    rsps.get(EXPORTS_URL, json=_listing(_entity("COMPLETED", downloadUrl=DOWNLOAD_URL)))
    rsps.get(DOWNLOAD_URL, body=b"%PDF-1.4 export", content_type="application/pdf")
    file = run_export(genesys, BODY, sleep=clock.sleep, clock=clock)
    assert ([5.0, 10.0], b"%PDF-1.4 export", "Support_standup_2025-11-04.pdf") == (
        clock.sleeps,
        file.data,
        file.filename,
    )
    assert_valid("genesys-reporting-export-request", bodies(rsps, "reporting/exports")[0])


def test_the_backoff_stops_at_60_seconds_and_3_minutes(rsps: responses.RequestsMock) -> None:
    """A job that stays RUNNING: 5, 10, 20, 40, 60 … within 180 s, then a clear timeout."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(EXPORTS_URL, json=_entity("SUBMITTED"))
    rsps.get(EXPORTS_URL, json=_listing(_entity("RUNNING")))
    with pytest.raises(GenesysUnavailableError, match="at most 180 s"):
        run_export(genesys, BODY, sleep=clock.sleep, clock=clock)
    assert ([5.0, 10.0, 20.0, 40.0, 60.0], True) == (clock.sleeps, sum(clock.sleeps) <= 180)


def test_a_failed_job_names_genesys_reason(rsps: responses.RequestsMock) -> None:
    """FAILED with the 10 MB reason says so and how to narrow the export."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    why = "FAILED_AS_EXPORT_FILE_SIZE_IS_GREATER_THAN_10MB"
    rsps.post(EXPORTS_URL, json=_entity("SUBMITTED"))
    rsps.get(EXPORTS_URL, json=_listing(_entity("FAILED", exportErrorMessagesType=why)))
    with pytest.raises(GenesysRequestError, match=f"ended FAILED: {why}. Narrow"):
        run_export(genesys, BODY, sleep=clock.sleep, clock=clock)


def test_a_rate_limited_poll_is_retried_after_retry_after(rsps: responses.RequestsMock) -> None:
    """A 429 on the listing waits its Retry-After and the poll goes on."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(EXPORTS_URL, json=_entity("SUBMITTED"))
    rsps.get(EXPORTS_URL, status=429, headers={"Retry-After": "7"}, json={"status": 429})
    rsps.get(EXPORTS_URL, json=_listing(_entity("COMPLETED", downloadUrl=DOWNLOAD_URL)))
    rsps.get(DOWNLOAD_URL, body=b"csv")
    assert b"csv" == run_export(genesys, BODY, sleep=clock.sleep, clock=clock).data
    assert 7.0 <= clock.sleeps[1]  # Retry-After, plus the client's jitter


def test_a_file_over_the_limit_is_refused(rsps: responses.RequestsMock) -> None:
    """More bytes than allowed: refused, not attached."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(EXPORTS_URL, json=_entity("COMPLETED", downloadUrl=DOWNLOAD_URL))
    rsps.get(DOWNLOAD_URL, body=b"x" * 2048)
    with pytest.raises(GenesysRequestError, match="larger than 1,024 bytes"):
        run_export(genesys, BODY, sleep=clock.sleep, clock=clock, max_bytes=1024)


def test_a_refused_export_names_the_permission(rsps: responses.RequestsMock) -> None:
    """A 403 on create names analytics:dataExport:add."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(EXPORTS_URL, status=403, json=forbidden("analytics:dataExport:add"))
    with pytest.raises(GenesysPermissionError, match="analytics:dataExport:add"):
        run_export(genesys, BODY, sleep=clock.sleep, clock=clock)
