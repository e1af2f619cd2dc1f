"""Genesys' own report export (a view as CSV or PDF), created, waited for and downloaded.

``POST /api/v2/analytics/reporting/exports`` creates the job. There is no GET by id, so the
listing (``GET /api/v2/analytics/reporting/exports``, newest first) is polled and the job found by
its ``id``; waits grow from 5 s to at most 60 s, 3 minutes in all. A 429 while polling is not the
end: the next poll waits at least the ``Retry-After`` the client already honoured. Once
``COMPLETED``, ``downloadUrl`` is read, refused past 10 MB (Genesys' own limit
for an export).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gcnotify.core.errors import GenesysRequestError, GenesysUnavailableError

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "EXPORTS_PATH",
    "MAX_EXPORT_BYTES",
    "ExportFile",
    "build_export_request",
    "run_export",
]

EXPORTS_PATH = "/api/v2/analytics/reporting/exports"
EXPORTS_PERMISSION = "analytics:dataExport:add"
LISTING_PERMISSION = "analytics:dataExport:view"
MAX_EXPORT_BYTES = 10 * 1024 * 1024
FIRST_WAIT, MAX_WAIT, MAX_TOTAL = 5.0, 60.0, 180.0
LISTING_PAGE_SIZE = 100
LISTING_PAGES = 3  # the job was just created: it is on the first pages of the newest-first list
_DONE = {"COMPLETED", "COMPLETED_WITH_PARTIAL_RESULTS"}
_FAILED = {"FAILED", "CANCELLED", "CANCELLING"}


@dataclass(frozen=True)
class ExportFile:
    job_id: str
    name: str
    export_format: str
    data: bytes
    content_type: str | None
    partial: bool  # COMPLETED_WITH_PARTIAL_RESULTS: Genesys says some data is missing

    @property
    def filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name).strip("_")
        return f"{safe or 'genesys-export'}.{self.export_format.lower()}"


def build_export_request(
    *,
    name: str,
    view_type: str,
    export_format: Literal["CSV", "PDF"],
    interval: str,
    timezone: str,
    queue_ids: Sequence[str],
    period: str = "P1D",
    locale: str = "en-us",
    media_types: Sequence[str] = (),
) -> dict[str, Any]:
    """A ``ReportingExportJobRequest`` for one view over the report's window and queues."""
    view_filter: dict[str, Any] = {"queueIds": list(dict.fromkeys(queue_ids))}
    if media_types:
        view_filter["mediaTypes"] = list(dict.fromkeys(media_types))
    return {
        "name": name,
        "timeZone": timezone,
        "exportFormat": export_format,
        "interval": interval,
        "period": period,
        "viewType": view_type,
        "filter": view_filter,
        "locale": locale,
        "read": False,
        "hasFormatDurations": True,
    }


def run_export(
    client: GenesysClient,
    body: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_bytes: int = MAX_EXPORT_BYTES,
) -> ExportFile:
    """Create the export, wait for it, download it.

    Raises ``GenesysRequestError`` when Genesys refuses or fails the job (with its
    ``exportErrorMessagesType``) or the file passes ``max_bytes``, and
    ``GenesysUnavailableError`` when it is not done within 3 minutes.
    """
    started = clock()
    created = client.post_json(EXPORTS_PATH, body, permission=EXPORTS_PERMISSION)
    job_id = created.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise GenesysRequestError(
            f"POST {EXPORTS_PATH} answered without a job id; the export cannot be followed.",
            status=None,
        )
    name = str(body.get("name") or job_id)
    job: Mapping[str, Any] = created
    wait = FIRST_WAIT
    while True:
        status = str(job.get("status") or "SUBMITTED").upper()
        if status in _DONE:
            return _download(client, job, name=name, body=body, max_bytes=max_bytes)
        if status in _FAILED:
            why = job.get("exportErrorMessagesType") or "no reason given"
            raise GenesysRequestError(
                f"Genesys Cloud's export {name!r} (job {job_id}) ended {status}: {why}. "
                + _advice(str(why)),
                status=None,
            )
        elapsed = clock() - started
        if elapsed + wait > MAX_TOTAL:
            raise GenesysUnavailableError(
                f"Genesys Cloud's export {name!r} (job {job_id}) was still {status} after "
                f"{elapsed:.0f} s; gcnotify waits at most {MAX_TOTAL:.0f} s, so it is left out.",
                status=None,
            )
        sleep(wait)
        wait = min(wait * 2, MAX_WAIT)
        try:
            found = _find(client, job_id)
        except GenesysUnavailableError as exc:
            if exc.status != 429:
                raise
            continue  # rate limited: the client already waited; poll again after the backoff
        job = found if found is not None else job


def _find(client: GenesysClient, job_id: str) -> Mapping[str, Any] | None:
    """The job in the listing, or None when it is not listed (yet)."""
    for number in range(1, LISTING_PAGES + 1):
        listing = client.get_json(
            EXPORTS_PATH,
            {"pageNumber": number, "pageSize": LISTING_PAGE_SIZE},
            permission=LISTING_PERMISSION,
        )
        entities = listing.get("entities")
        entities = entities if isinstance(entities, list) else []
        for entity in entities:
            if isinstance(entity, Mapping) and entity.get("id") == job_id:
                return entity
        page_count = listing.get("pageCount")
        if not entities or (isinstance(page_count, int) and number >= page_count):
            return None
    return None


def _download(
    client: GenesysClient,
    job: Mapping[str, Any],
    *,
    name: str,
    body: Mapping[str, Any],
    max_bytes: int,
) -> ExportFile:
    job_id = str(job.get("id"))
    status = str(job.get("status") or "").upper()
    url = job.get("downloadUrl")
    if not isinstance(url, str) or not url:
        raise GenesysRequestError(
            f"Genesys Cloud's export {name!r} (job {job_id}) is {status} but has no "
            "downloadUrl; it cannot be attached.",
            status=None,
        )
    data, content_type = client.download(url, max_bytes=max_bytes, what=f"export {name!r}")
    return ExportFile(
        job_id=job_id,
        name=name,
        export_format=str(body.get("exportFormat") or job.get("exportFormat") or "CSV"),
        data=data,
        content_type=content_type,
        partial=status == "COMPLETED_WITH_PARTIAL_RESULTS",
    )


def _advice(why: str) -> str:
    if "10MB" in why:
        return "Narrow the export (fewer queues or a shorter window)."
    if "NOT_AUTHORIZED" in why:
        return "Give the OAuth client's role the view's permissions (analytics:dataExport:view)."
    if "TOO_MANY_REQUESTS" in why:
        return "The org runs too many exports at once; try again later."
    return "Check the view and its filters in Genesys Cloud's Report Export page."
