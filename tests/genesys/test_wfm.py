"""WFM historical adherence: the bulk job created, polled with a bounded backoff, then read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from gcnotify.core.errors import (
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
)
from gcnotify.genesys.wfm import (
    AdherenceItem,
    build_adherence_query,
    run_historical_adherence,
    user_adherence,
)
from tests.genesys.standup_http import API, bodies, client, forbidden
from tests.support import FakeClock, assert_valid

BULK_URL = f"{API}/api/v2/workforcemanagement/adherence/historical/bulk"
JOB_URL = f"{BULK_URL}/jobs/job-1"
FILE_URL = "https://files.example.test/adherence/job-1.json"
BODY = build_adherence_query(
    "America/Chicago",
    [AdherenceItem("5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "2025-11-04T06:00:00Z",
                   "2025-11-05T06:00:00Z", ("u1",))],
)  # fmt: skip
RESULT = {
    "managementUnitId": "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    "userResults": [
        {
            "userId": "u1",
            "dayMetrics": [
                {
                    "adherenceScheduleSeconds": 28800,
                    "exceptionDurationSeconds": 1440,
                    "conformanceScheduleSeconds": 25200,
                    "conformanceActualSeconds": 26460,
                },
            ],
        }
    ],
}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _job(status: str, urls: list[str] | None = None) -> dict[str, object]:
    answer: dict[str, object] = {"job": {"id": "job-1", "status": status}}
    if urls is not None:
        answer["downloadUrls"] = urls
    return answer


def test_the_bulk_body_is_valid() -> None:
    """The body passes the WFM bulk schema."""
    assert_valid("genesys-wfm-historical-adherence-bulk", BODY)


def test_a_processing_job_is_polled_until_complete(rsps: responses.RequestsMock) -> None:
    """Processing twice, then Complete: waits 2 s and 4 s, then the file is read."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(BULK_URL, json=_job("Processing"), status=202)
    rsps.get(JOB_URL, json=_job("Processing"))
    rsps.get(JOB_URL, json=_job("Complete", [FILE_URL]))
    rsps.get(FILE_URL, json=RESULT)
    files = run_historical_adherence(genesys, BODY, sleep=clock.sleep, clock=clock)
    assert ([2.0, 4.0], [RESULT]) == (clock.sleeps, files)
    assert_valid("genesys-wfm-historical-adherence-bulk", bodies(rsps, "historical/bulk")[0])


def test_the_download_is_not_sent_the_token(rsps: responses.RequestsMock) -> None:
    """A download URL on another host gets no Authorization header."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(BULK_URL, json=_job("Complete", [FILE_URL]))
    rsps.get(FILE_URL, json=RESULT)
    run_historical_adherence(genesys, BODY, sleep=clock.sleep, clock=clock)
    assert None is rsps.calls[-1].request.headers.get("Authorization")


def test_a_job_that_never_completes_gives_up_in_bounded_time(rsps: responses.RequestsMock) -> None:
    """Still processing after two minutes: a clear error, and no more than 120 s of waits."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(BULK_URL, json=_job("Processing"))
    rsps.get(JOB_URL, json=_job("Processing"))
    with pytest.raises(GenesysUnavailableError, match="still processing"):
        run_historical_adherence(genesys, BODY, sleep=clock.sleep, clock=clock)
    assert sum(clock.sleeps) <= 120


def test_a_failed_job_is_an_error(rsps: responses.RequestsMock) -> None:
    """Status Error is reported, not read as no adherence."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(BULK_URL, json=_job("Error"))
    with pytest.raises(GenesysRequestError, match="ended in Error"):
        run_historical_adherence(genesys, BODY, sleep=clock.sleep, clock=clock)


def test_a_403_names_the_wfm_permission(rsps: responses.RequestsMock) -> None:
    """Without wfm:historicalAdherence:view the error says so."""
    clock = FakeClock()
    genesys = client(clock, rsps)
    rsps.post(BULK_URL, status=403, json=forbidden("wfm:historicalAdherence:view"))
    with pytest.raises(GenesysPermissionError, match="wfm:historicalAdherence:view"):
        run_historical_adherence(genesys, BODY, sleep=clock.sleep, clock=clock)


def test_adherence_and_conformance_divide_summed_seconds() -> None:
    """1 − 1440 ÷ 28800 = 95 % adherence; 26460 ÷ 25200 = 105 % conformance."""
    user = user_adherence([RESULT])["u1"]
    assert (pytest.approx(0.95), pytest.approx(1.05)) == (user.adherence, user.conformance)
