"""WFM historical adherence for one day: an asynchronous job, polled, then its files read.

``POST /api/v2/workforcemanagement/adherence/historical/bulk`` starts the job; its status is
polled at ``GET …/bulk/jobs/{jobId}`` (a client-credentials token has no user to be notified)
with a bounded backoff, and every URL in ``downloadUrls`` is read once the job is ``Complete``
(the SDK's WFM API). A POST that answers ``Complete`` at once is read straight away.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import GenesysRequestError, GenesysUnavailableError

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "ADHERENCE_BULK_PATH",
    "ADHERENCE_JOB_PATH",
    "AdherenceItem",
    "UserAdherence",
    "build_adherence_query",
    "run_historical_adherence",
    "user_adherence",
]

ADHERENCE_BULK_PATH = "/api/v2/workforcemanagement/adherence/historical/bulk"
ADHERENCE_JOB_PATH = ADHERENCE_BULK_PATH + "/jobs/{job_id}"
ADHERENCE_PERMISSION = "wfm:historicalAdherence:view"
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Polling: 2 s, 4 s, 8 s, then every 15 s, for at most 2 minutes in all.
FIRST_WAIT, MAX_WAIT, MAX_TOTAL = 2.0, 15.0, 120.0


@dataclass(frozen=True)
class AdherenceItem:
    """One management unit's users over ``[start, end)`` (UTC instants, ``…Z``)."""

    management_unit_id: str
    start: str
    end: str
    user_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserAdherence:
    """Summed day metrics of one user; the percentages divide the sums (never average)."""

    user_id: str
    adherence_schedule_s: float
    exception_s: float
    conformance_schedule_s: float
    conformance_actual_s: float

    @property
    def adherence(self) -> float | None:
        """1 − exception time ÷ scheduled time, as a fraction."""
        if not self.adherence_schedule_s:
            return None
        return max(0.0, 1 - self.exception_s / self.adherence_schedule_s)

    @property
    def conformance(self) -> float | None:
        """Actual on-queue time ÷ scheduled on-queue time (may pass 1)."""
        if not self.conformance_schedule_s:
            return None
        return self.conformance_actual_s / self.conformance_schedule_s


def build_adherence_query(timezone: str, items: Sequence[AdherenceItem]) -> dict[str, Any]:
    """The bulk body (schema ``genesys-wfm-historical-adherence-bulk``)."""
    body_items = []
    for item in items:
        entry: dict[str, Any] = {
            "managementUnitId": item.management_unit_id,
            "startDate": item.start,
            "endDate": item.end,
            "includeExceptions": False,
            "includeActuals": False,
        }
        if item.user_ids:
            entry["userIds"] = list(dict.fromkeys(item.user_ids))
        body_items.append(entry)
    return {"timeZone": timezone, "items": body_items}


def run_historical_adherence(
    client: GenesysClient,
    body: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """The job's result files (``WfmHistoricalAdherenceBulkResult`` objects), in order.

    Raises ``GenesysRequestError`` when the job ends in ``Error`` and ``GenesysUnavailableError``
    when it is still processing after two minutes.
    """
    started = clock()
    answer = client.post_json(ADHERENCE_BULK_PATH, body, permission=ADHERENCE_PERMISSION)
    wait = FIRST_WAIT
    while True:
        raw_job = answer.get("job")
        job: Mapping[str, Any] = raw_job if isinstance(raw_job, Mapping) else {}
        status = str(job.get("status", "")).lower()
        if status == "complete":
            return _read_files(client, answer)
        if status == "error":
            raise GenesysRequestError(
                "the WFM historical adherence job ended in Error; Genesys gave no reason in the "
                "job status. Check the management unit and that its users have schedules for "
                "the day, then run the report again.",
                status=None,
            )
        job_id = job.get("id")
        if not isinstance(job_id, str) or not job_id:
            raise GenesysRequestError(
                f"POST {ADHERENCE_BULK_PATH} answered without a job id or a result; it cannot "
                "be followed.",
                status=None,
            )
        elapsed = clock() - started
        if elapsed + wait > MAX_TOTAL:
            raise GenesysUnavailableError(
                f"the WFM historical adherence job {job_id} was still processing after "
                f"{elapsed:.0f} s (gcnotify waits at most {MAX_TOTAL:.0f} s); the adherence "
                "section is left out. Run the report again later.",
                status=None,
            )
        sleep(wait)
        wait = min(wait * 2, MAX_WAIT)
        answer = client.get_json(ADHERENCE_JOB_PATH.format(job_id=job_id))


def _read_files(client: GenesysClient, answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    urls = answer.get("downloadUrls")
    if not isinstance(urls, list):
        return []
    files = []
    for url in urls:
        if not isinstance(url, str):
            continue
        data, _ = client.download(
            url, max_bytes=MAX_DOWNLOAD_BYTES, what="WFM historical adherence result"
        )
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise GenesysRequestError(
                "a WFM historical adherence result file is not JSON; it cannot be read.",
                status=None,
            ) from exc
        if isinstance(parsed, dict):
            files.append(parsed)
    return files


def user_adherence(files: Sequence[Mapping[str, Any]]) -> dict[str, UserAdherence]:
    """User id → summed day metrics over every file and day (users in several units add up)."""
    sums: dict[str, list[float]] = {}
    keys = (
        "adherenceScheduleSeconds",
        "exceptionDurationSeconds",
        "conformanceScheduleSeconds",
        "conformanceActualSeconds",
    )
    for result in files:
        for user in result.get("userResults") or []:
            user_id = user.get("userId") if isinstance(user, Mapping) else None
            if not isinstance(user_id, str):
                continue
            totals = sums.setdefault(user_id, [0.0] * len(keys))
            for day in user.get("dayMetrics") or []:
                for i, key in enumerate(keys):
                    value = day.get(key) if isinstance(day, Mapping) else None
                    if isinstance(value, int | float) and value >= 0:
                        totals[i] += float(value)
    return {uid: UserAdherence(uid, *values) for uid, values in sums.items()}
