"""Conversation details: which conversations a customer had, read as a stream of pages.

Two ways in, with different semantics (SDK models ``ConversationQuery`` and
``AsyncConversationQuery``):

- ``POST /api/v2/analytics/conversations/details/query`` (sync) answers at once, paged by
  ``pageNumber``, and returns the conversations that *started on a day touched* by the interval;
- ``POST …/details/jobs`` (async) starts a job, polled at ``GET …/jobs/{jobId}`` until
  ``FULFILLED``, whose ``GET …/jobs/{jobId}/results`` pages are chained by ``cursor``; it returns
  the conversations *with activity during* the interval, and only data older than the datalake's
  ``dataAvailabilityDate`` (``GET …/jobs/availability``) is guaranteed to be in it.

``ConversationDetails.conversations`` hides the difference: it yields each conversation that
*started* inside ``[start, end)``, whichever way it was read. Short windows go by the sync query
in pieces that each touch at most ``sync_max`` UTC days (so no day is read twice); longer ones by
a job up to ``dataAvailabilityDate`` and the sync query after it, since the datalake may not hold
the last hours yet. Conversations are yielded page by page and never collected, so memory stays
at one page; the same conversation is not de-duplicated across pages (a conversation that moves
between pages of a live sync index can, rarely, come twice), which is the caller's to handle.

Every request goes through ``GenesysClient`` (token, retry policy with ``Retry-After``, call
counting, ``time_left``). The OAuth client needs ``analytics:conversationDetail:view`` for all
of these endpoints (SDK docs ``AnalyticsApi``; the jobs also accept
``analytics:agentConversationDetail:view``, which only covers an agent's own conversations).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import GenesysError, GenesysRequestError, GenesysUnavailableError
from gcnotify.core.values import instant, iso_utc_ms

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "AVAILABILITY_PATH",
    "DETAILS_PERMISSION",
    "DETAILS_QUERY_PATH",
    "JOBS_PATH",
    "JOB_PATH",
    "JOB_RESULTS_PATH",
    "MAX_DAYS_BACK",
    "ConversationDetails",
    "DetailsRead",
    "details_job",
    "details_query",
    "sync_windows",
]

DETAILS_QUERY_PATH = "/api/v2/analytics/conversations/details/query"
JOBS_PATH = "/api/v2/analytics/conversations/details/jobs"
JOB_PATH = JOBS_PATH + "/{job_id}"
JOB_RESULTS_PATH = JOB_PATH + "/results"
AVAILABILITY_PATH = JOBS_PATH + "/availability"
DETAILS_PERMISSION = "analytics:conversationDetail:view"

MAX_DAYS_BACK = 90
"""How many days back conversation details can be asked for in every org: 90.

Genesys keeps conversation detail data for the life of the contract unless the org sets a
maximum interaction data retention time, and the shortest it can set is 90 days ("When using the
interaction data retention setting, the minimum retention period for conversation detail data is
90 days"; Genesys Cloud Resource Center, "Retention period for analytics data and recording",
https://help.mypurecloud.com/articles/retention-period-for-analytics-data-and-recording/). So 90
days is the history every org still holds; a campaign asking for more could silently miss
customers in an org that keeps only the minimum.
"""

# The sync query's page size: the value the query's own examples use (the maximum is not
# documented). A page shorter than this, or reaching totalHits, is the last.
PAGE_SIZE = 100
# Results per job page. Not documented either; a server that answers fewer per page still pages
# correctly, because the cursor, not the count, says whether more follow.
RESULTS_PAGE_SIZE = 1000
# Guards against a server that never stops announcing pages: 10,000 pages is 1,000,000
# conversations for one sync window, far beyond a day of any contact center.
MAX_PAGES = 10_000
# Job polling: 1 s doubling to 15 s, each wait jittered to 50–100 %, within the job budget.
FIRST_WAIT, MAX_WAIT = 1.0, 15.0
JOB_BUDGET = 300.0
# Seconds kept back from the invocation's time left, for reading the results after the job.
TIME_RESERVE = 30.0
_WAITING = frozenset({"QUEUED", "PENDING"})
_ENDED = frozenset({"FAILED", "CANCELLED", "EXPIRED"})
_DAY = timedelta(days=1)


def _filters(
    media_type: str, message_type: str | None, queue_ids: Sequence[str], open_only: bool
) -> dict[str, Any]:
    """The filters both bodies share.

    The customer predicates sit in one ``and`` filter, so one segment must match them all (the
    customer's own session of that media); the queues are a filter of their own, matched by the
    queue's segments, which belong to the ACD and agent participants.
    """
    predicates: list[dict[str, Any]] = [
        {"type": "dimension", "dimension": "mediaType", "value": media_type}
    ]
    if message_type is not None:
        predicates.append({"type": "dimension", "dimension": "messageType", "value": message_type})
    predicates.append({"type": "dimension", "dimension": "purpose", "value": "customer"})
    segment_filters: list[dict[str, Any]] = [{"type": "and", "predicates": predicates}]
    queues = list(dict.fromkeys(queue_ids))
    if queues:
        segment_filters.append(
            {
                "type": "or",
                "predicates": [
                    {"type": "dimension", "dimension": "queueId", "value": q} for q in queues
                ],
            }
        )
    body: dict[str, Any] = {
        "order": "asc",
        "orderBy": "conversationStart",
        "segmentFilters": segment_filters,
    }
    if open_only:
        body["conversationFilters"] = [
            {
                "type": "and",
                "predicates": [
                    {"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}
                ],
            }
        ]
    return body


def _interval(start: datetime, end: datetime) -> str:
    first, last = iso_utc_ms(start), iso_utc_ms(end)
    if end <= start:
        raise ValueError(f"the interval's end {last} is not after its start {first}")
    return f"{first}/{last}"


def details_query(
    *,
    start: datetime,
    end: datetime,
    media_type: str,
    message_type: str | None,
    queue_ids: Sequence[str] = (),
    page_size: int = PAGE_SIZE,
    page_number: int = 1,
    open_only: bool = False,
) -> dict[str, Any]:
    """The sync ``ConversationQuery`` for the customers of one media (and message type).

    ``open_only`` keeps conversations that have not ended (no ``conversationEnd``).
    """
    if page_size < 1 or page_number < 1:
        raise ValueError("page_size and page_number start at 1")
    body: dict[str, Any] = {"interval": _interval(start, end)}
    body.update(_filters(media_type, message_type, queue_ids, open_only))
    body["paging"] = {"pageSize": page_size, "pageNumber": page_number}
    return body


def details_job(
    *,
    start: datetime,
    end: datetime,
    media_type: str,
    message_type: str | None,
    queue_ids: Sequence[str] = (),
    open_only: bool = False,
) -> dict[str, Any]:
    """The ``AsyncConversationQuery`` for the same filters (no paging: results use a cursor).

    ``startOfDayIntervalMatching`` drops conversations that started before the interval's
    start day (UTC): the job's "activity during the interval" would otherwise bring back old
    conversations that were merely still open.
    """
    body: dict[str, Any] = {"interval": _interval(start, end)}
    body.update(_filters(media_type, message_type, queue_ids, open_only))
    body["startOfDayIntervalMatching"] = True
    return body


def _utc_midnight(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def sync_windows(
    start: datetime, end: datetime, sync_max: timedelta
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into sync query windows of at most ``sync_max``.

    The sync query answers whole UTC days (every conversation that started on a touched day), so
    the cuts fall on UTC midnights and each window touches at most ``sync_max`` whole days: no
    day is read by two windows. A ``sync_max`` under a day cuts plain pieces instead.
    """
    if sync_max <= timedelta(0):
        raise ValueError("sync_max must be positive")
    windows: list[tuple[datetime, datetime]] = []
    days = sync_max // _DAY
    cursor = start
    while cursor < end:
        stop = _utc_midnight(cursor) + days * _DAY if days >= 1 else cursor + sync_max
        stop = min(end, stop)
        windows.append((cursor, stop))
        cursor = stop
    return windows


@dataclass
class DetailsRead:
    """What one ``conversations`` read cost and found (updated while it streams)."""

    pages: int = 0  # sync pages and job result pages read
    jobs: int = 0  # async jobs created
    polls: int = 0  # job status reads
    sync_windows: int = 0  # sync query windows
    calls: int = 0  # HTTP requests, retries and token requests included
    conversations: int = 0  # conversations yielded
    outside: int = 0  # conversations the API answered that did not start in the window
    availability: datetime | None = None  # the datalake's dataAvailabilityDate, when read


class ConversationDetails:
    """The conversation details of one org, read through a shared ``GenesysClient``.

    ``sleep``, ``clock`` and ``rand`` drive the job polling (tests pass a fake clock); ``last``
    describes the latest read.
    """

    def __init__(
        self,
        client: GenesysClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        page_size: int = PAGE_SIZE,
        results_page_size: int = RESULTS_PAGE_SIZE,
        job_budget: float = JOB_BUDGET,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.page_size = page_size
        self.results_page_size = results_page_size
        self.job_budget = job_budget
        self.last = DetailsRead()

    def conversations(
        self,
        start: datetime,
        end: datetime,
        *,
        media_type: str,
        message_type: str | None,
        queue_ids: Sequence[str] = (),
        open_only: bool = False,
        sync_max: timedelta = timedelta(days=2),
    ) -> Iterator[dict[str, Any]]:
        """Every conversation of the customers of ``media_type`` (and ``message_type``) that
        started in ``[start, end)``, as the API's conversation objects, page by page.

        Windows of at most ``sync_max`` use the sync query. Longer ones read the datalake's
        availability first: the part before ``dataAvailabilityDate`` goes by one job, the rest by
        the sync query. Raises ``GenesysRequestError`` for a job that fails or is cancelled, and
        ``GenesysUnavailableError`` for one that is not done within the job budget (it is
        cancelled first).
        """
        _interval(start, end)  # refuses naive or empty windows at the call, not at first use
        if sync_max <= timedelta(0):
            raise ValueError("sync_max must be positive")
        filters = {
            "media_type": media_type,
            "message_type": message_type,
            "queue_ids": tuple(queue_ids),
            "open_only": open_only,
        }
        read = DetailsRead()
        self.last = read
        return self._read(start, end, sync_max, filters, read)

    def _read(
        self,
        start: datetime,
        end: datetime,
        sync_max: timedelta,
        filters: Mapping[str, Any],
        read: DetailsRead,
    ) -> Iterator[dict[str, Any]]:
        calls_before = self._client.calls
        try:
            if end - start <= sync_max:
                yield from self._by_sync(start, end, sync_max, filters, read)
                return
            available = self._availability(read)
            split = end if available is None else max(start, min(end, available))
            if split > start:
                yield from self._by_job(start, split, filters, read)
            if split < end:
                yield from self._by_sync(split, end, sync_max, filters, read)
        finally:
            read.calls = self._client.calls - calls_before

    # ------------------------------------------------------------------ sync

    def _by_sync(
        self,
        start: datetime,
        end: datetime,
        sync_max: timedelta,
        filters: Mapping[str, Any],
        read: DetailsRead,
    ) -> Iterator[dict[str, Any]]:
        for window_start, window_end in sync_windows(start, end, sync_max):
            read.sync_windows += 1
            for page_number in range(1, MAX_PAGES + 1):
                body = details_query(
                    start=window_start,
                    end=window_end,
                    page_size=self.page_size,
                    page_number=page_number,
                    **filters,
                )
                answer = self._client.post_json(
                    DETAILS_QUERY_PATH, body, permission=DETAILS_PERMISSION
                )
                read.pages += 1
                page = _conversations(answer, DETAILS_QUERY_PATH)
                yield from _started_in(page, window_start, window_end, read)
                total = answer.get("totalHits")
                reached = isinstance(total, int) and page_number * self.page_size >= total
                if len(page) < self.page_size or reached:
                    break
            else:
                raise GenesysRequestError(
                    f"the conversation details query for {body['interval']} kept announcing "
                    f"pages past {MAX_PAGES:,}; the read was stopped. Narrow the window or the "
                    "filters.",
                    status=None,
                )

    # ------------------------------------------------------------------ async

    def _availability(self, read: DetailsRead) -> datetime | None:
        """The datalake's ``dataAvailabilityDate``; None when the answer has none (then the
        whole window goes by job, as the API would have it)."""
        answer = self._client.get_json(AVAILABILITY_PATH, permission=DETAILS_PERMISSION)
        read.availability = instant(answer.get("dataAvailabilityDate"))
        return read.availability

    def _by_job(
        self, start: datetime, end: datetime, filters: Mapping[str, Any], read: DetailsRead
    ) -> Iterator[dict[str, Any]]:
        body = details_job(start=start, end=end, **filters)
        created = self._client.post_json(JOBS_PATH, body, permission=DETAILS_PERMISSION)
        read.jobs += 1
        job_id = created.get("jobId")
        if not isinstance(job_id, str) or not job_id or "/" in job_id:
            raise GenesysRequestError(
                f"POST {JOBS_PATH} answered without a usable jobId; the conversation details "
                "job cannot be followed. Run it again; if it persists, check the API URL.",
                status=None,
            )
        self._wait_for(job_id, body["interval"], read)
        yield from self._results(job_id, start, end, read)

    def _budget(self) -> float:
        left = self._client.time_left() if self._client.time_left is not None else None
        if left is None:
            return self.job_budget
        return max(0.0, min(self.job_budget, left - TIME_RESERVE))

    def _wait_for(self, job_id: str, interval: str, read: DetailsRead) -> None:
        """Poll until ``FULFILLED``; a job that ends otherwise, or outlasts the budget, raises."""
        started = self._clock()
        budget = self._budget()
        wait = FIRST_WAIT
        state = "QUEUED"
        while True:
            delay = wait * (0.5 + 0.5 * self._rand())
            elapsed = self._clock() - started
            if elapsed + delay > budget:
                raise self._abandon(job_id, interval, state, elapsed, budget)
            self._sleep(delay)
            wait = min(wait * 2, MAX_WAIT)
            try:
                status = self._client.get_json(
                    JOB_PATH.format(job_id=job_id), permission=DETAILS_PERMISSION
                )
            except GenesysUnavailableError as exc:
                if exc.status != 429:
                    raise
                continue  # rate limited past the client's retries: poll again after the backoff
            read.polls += 1
            state = str(status.get("state") or "").upper()
            if state == "FULFILLED":
                return
            if state in _ENDED:
                why = status.get("errorMessage")
                reason = f": {str(why)[:300]}" if isinstance(why, str) and why else ""
                raise GenesysRequestError(
                    f"Genesys Cloud's conversation details job {job_id} ({interval}) ended "
                    f"{state}{reason}. No conversations were read from it; run it again, or "
                    "narrow the window if it keeps failing.",
                    status=None,
                )
            if state not in _WAITING:
                raise GenesysRequestError(
                    f"Genesys Cloud's conversation details job {job_id} answered the unknown "
                    f"state {state or '(none)'!r}; gcnotify stops following it.",
                    status=None,
                )

    def _abandon(
        self, job_id: str, interval: str, state: str, elapsed: float, budget: float
    ) -> GenesysUnavailableError:
        """Cancel a job that outlasted the budget (nobody will read it), and say so."""
        cancelled = self._cancel(job_id)
        outcome = (
            "it was cancelled"
            if cancelled
            else "cancelling it failed too, so Genesys may finish it unread"
        )
        return GenesysUnavailableError(
            f"Genesys Cloud's conversation details job {job_id} ({interval}) was still {state} "
            f"after {elapsed:.0f} s (gcnotify waits at most {budget:.0f} s); {outcome}. "
            "Run it again later, or read a shorter window.",
            status=None,
        )

    def _cancel(self, job_id: str) -> bool:
        """``DELETE`` the job; True when Genesys took it (or it was already gone)."""
        path = JOB_PATH.format(job_id=job_id)
        try:
            # The client has no public DELETE; this is its authorized request (token, retries,
            # call counting), as every other call uses.
            response = self._client._authorized("DELETE", path)
        except GenesysError:
            return False
        with response:
            return 200 <= response.status_code < 300 or response.status_code == 404

    def _results(
        self, job_id: str, start: datetime, end: datetime, read: DetailsRead
    ) -> Iterator[dict[str, Any]]:
        path = JOB_RESULTS_PATH.format(job_id=job_id)
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"pageSize": self.results_page_size}
            if cursor is not None:
                params["cursor"] = cursor
            answer = self._client.get_json(path, params, permission=DETAILS_PERMISSION)
            read.pages += 1
            yield from _started_in(_conversations(answer, path), start, end, read)
            following = answer.get("cursor")
            if not isinstance(following, str) or not following:
                return
            if following == cursor:
                raise GenesysRequestError(
                    f"GET {path} answered the same cursor twice; the read was stopped so it "
                    "does not loop. Run it again.",
                    status=None,
                )
            cursor = following
        raise GenesysRequestError(
            f"the results of conversation details job {job_id} kept announcing pages past "
            f"{MAX_PAGES:,}; the read was stopped. Narrow the window or the filters.",
            status=None,
        )


def _conversations(answer: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
    """The page's conversations (an answer without the key has none, as Genesys sends it)."""
    items = answer.get("conversations")
    if items is None:
        return []
    if not isinstance(items, list):
        raise GenesysRequestError(
            f"{path} answered conversations that are not a list; the answer cannot be read.",
            status=None,
        )
    return [item for item in items if isinstance(item, dict)]


def _started_in(
    page: Sequence[dict[str, Any]], start: datetime, end: datetime, read: DetailsRead
) -> Iterator[dict[str, Any]]:
    """The page's conversations that started in ``[start, end)``: both APIs answer more (whole
    days, or earlier conversations still active), and windows must not overlap."""
    for conversation in page:
        began = instant(conversation.get("conversationStart"))
        if began is None or not start <= began < end:
            read.outside += 1
            continue
        read.conversations += 1
        yield conversation
