"""The Genesys stand-in's conversation details and external contacts endpoints, in the real shapes.

- ``POST /api/v2/analytics/conversations/details/query``: the body is checked against the
  shipped schema (400 ``ErrorBody`` with the failing path) and answered with the SYNC semantics:
  conversations that started on a UTC day touched by the interval, filtered, ordered by start,
  paged by ``pageNumber`` (``pageSize`` default 25, at most ``query_page_size_max``),
  ``totalHits``; 7 days at most without filters, 31 with.
- ``POST …/details/jobs`` → ``{jobId}``; ``GET …/jobs/{id}`` → ``AsyncQueryStatus``, ``QUEUED``
  then ``PENDING`` until ``polls_to_finish`` reads, then ``FULFILLED`` (``fail_next_job`` and
  ``stall_jobs`` make it fail or never finish); ``DELETE`` cancels; ``GET …/jobs/{id}/results``
  pages by ``cursor`` with the ASYNC semantics (activity during the interval) and holds only
  conversations that started before the datalake's ``dataAvailabilityDate``;
  ``GET …/jobs/availability`` answers that date (``now − availability_lag``).
- ``GET /api/v2/analytics/conversations/details?id=a,b`` (multi get by id) answers
  ``{conversations: [AnalyticsConversation]}`` for the listed agentless message conversations
  that analytics shows by now (ids it does not hold are left out); more than
  ``multiget_max`` ids (default 100; Genesys states no maximum) is a 400.
- ``GET /api/v2/externalcontacts/contacts/{id}`` answers the ``ExternalContact`` of a customer of
  the model (``PhoneNumber`` objects, emails, a WhatsApp id), or 404.

How segment filters combine is not documented; the stand-in reads them as the seam writes them:
every filter of the list must be met, each by one segment (an ``and`` filter's predicates by the
same segment). Dimensions it does not model are refused with 400 rather than ignored.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gcnotify.core.values import iso_utc_ms
from gcnotify.devserver.conversations import ConversationModel, stamp
from gcnotify.devserver.genesys_errors import error_response
from gcnotify.devserver.http_base import (
    RecordedRequest,
    Response,
    error_path,
    load_schema_validator,
)

if TYPE_CHECKING:
    from gcnotify.devserver.genesys_server import GenesysStandIn

__all__ = [
    "CONTACTS_PREFIX",
    "DETAILS_PREFIX",
    "JOBS_PATH",
    "MULTIGET_PATH",
    "QUERY_PATH",
    "DetailsEndpoints",
    "async_validator",
]

DETAILS_PREFIX = "/api/v2/analytics/conversations/details/"
QUERY_PATH = DETAILS_PREFIX + "query"
MULTIGET_PATH = DETAILS_PREFIX.rstrip("/")
JOBS_PATH = DETAILS_PREFIX + "jobs"
CONTACTS_PREFIX = "/api/v2/externalcontacts/contacts/"
BULK_CONTACTS_PATH = "/api/v2/externalcontacts/bulk/contacts"
_SCHEMA = "genesys-conversation-details-query"
_SEGMENT_DIMENSIONS = frozenset(
    {
        "mediaType",
        "messageType",
        "purpose",
        "direction",
        "addressFrom",
        "addressTo",
        "externalContactId",
        "queueId",
        "userId",
    }
)
_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def async_validator() -> Any:
    """A validator of ``$defs/AsyncConversationQuery`` (the job body) of the shipped schema."""
    root = load_schema_validator(_SCHEMA)
    schema = {"$defs": root.schema["$defs"], "$ref": "#/$defs/AsyncConversationQuery"}
    return root.evolve(schema=schema)


def _error(status: int, message: str, code: str = "bad.request") -> Response:
    return error_response(status, message, code)


class _Refused(Exception):
    """A body the stand-in answers with 400 (its message is the ErrorBody's)."""


def _ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Refused(f"interval: {text!r} is not an ISO-8601 instant") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int((moment - _EPOCH).total_seconds() * 1000)


def _interval(body: Mapping[str, Any]) -> tuple[int, int]:
    first, _, last = str(body["interval"]).partition("/")
    start, end = _ms(first), _ms(last)
    if end <= start:
        raise _Refused("interval: the end must be after the start")
    return start, end


@dataclass
class _Job:
    id: str
    interval: str
    positions: list[int]
    availability_ms: int
    polls: int = 0
    state: str = "QUEUED"
    fail: str | None = None
    stall: bool = False
    submitted: str = ""


class DetailsEndpoints:
    """Routes for one stand-in; ``route`` answers None for paths that are not its own."""

    def __init__(self, stand_in: GenesysStandIn) -> None:
        self._owner = stand_in
        self._lock = threading.Lock()
        self._sync = load_schema_validator(_SCHEMA)
        self._async = async_validator()
        self._model: ConversationModel | None = None
        self._settings: dict[str, Any] = {"count": 2000, "days": 30, "seed": 7}
        self._selections: OrderedDict[str, list[int]] = OrderedDict()
        self._jobs: dict[str, _Job] = {}
        self.query_page_size_max = 100
        self.results_page_size_max = 1000
        self.polls_to_finish = 2
        self.availability_lag = timedelta(hours=6)
        self.stall_jobs = False  # every new job stays PENDING until it is cancelled
        self._fail_next: str | None = None
        self.cancelled: list[str] = []  # job ids DELETEd, in order
        self.bulk_contacts_max = 100  # ids one bulk contacts request may hold; more is a 400
        self.multiget_max = 100  # ids one multi get by id may list; more is a 400

    # ------------------------------------------------------------------ test controls

    def configure(
        self,
        *,
        count: int = 2000,
        days: int = 30,
        seed: int = 7,
        customers: int | None = None,
        kinds: Sequence[tuple[str, str | None, float]] | None = None,
    ) -> None:
        """Use ``count`` conversations over the last ``days`` (built on the next request), from
        ``customers`` people in ``kinds`` (``ConversationModel``'s defaults when None)."""
        with self._lock:
            self._settings = {"count": count, "days": days, "seed": seed}
            self._settings |= {"customers": customers, "kinds": kinds}
            self._model = None
            self._selections.clear()

    @property
    def model(self) -> ConversationModel:
        """The synthetic history, built once (on first use, so other tests pay nothing)."""
        with self._lock:
            if self._model is None:
                self._model = ConversationModel(
                    [q.id for q in self._owner.queues], now=self._owner.now(), **self._settings
                )
            return self._model

    def fail_next_job(self, message: str = "The query failed to complete.") -> None:
        """The next job created ends FAILED with ``message`` on its first poll."""
        with self._lock:
            self._fail_next = message

    def availability(self) -> datetime:
        """The datalake's availability date the endpoints answer."""
        return self._owner.now() - self.availability_lag

    def job_state(self, job_id: str) -> str:
        with self._lock:
            return self._jobs[job_id].state

    # ------------------------------------------------------------------ routing

    def route(self, request: RecordedRequest) -> Response | None:
        path, method = request.path, request.method
        if path.startswith(CONTACTS_PREFIX):
            if method != "GET":
                return _error(405, f"{method} is not supported on {path}", "method.not.allowed")
            return self._contact(path.removeprefix(CONTACTS_PREFIX))
        if path == BULK_CONTACTS_PATH:
            return self._bulk_contacts(request) if method == "POST" else self._not_allowed(request)
        if path == QUERY_PATH:
            return self._query(request) if method == "POST" else self._not_allowed(request)
        if path == MULTIGET_PATH:
            return self._multiget(request) if method == "GET" else self._not_allowed(request)
        if path == JOBS_PATH:
            return self._create_job(request) if method == "POST" else self._not_allowed(request)
        if path == JOBS_PATH + "/availability":
            if method != "GET":
                return self._not_allowed(request)
            return Response(200, {"dataAvailabilityDate": iso_utc_ms(self.availability())})
        if not path.startswith(JOBS_PATH + "/"):
            return None
        job_id, _, rest = path.removeprefix(JOBS_PATH + "/").partition("/")
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return _error(404, f"Job {job_id} not found", "not.found")
        if rest == "" and method == "GET":
            return self._status(job)
        if rest == "" and method == "DELETE":
            with self._lock:
                job.state = "CANCELLED"
                self.cancelled.append(job.id)
            return Response(204, b"")
        if rest == "results" and method == "GET":
            return self._results(job, request)
        return self._not_allowed(request)

    @staticmethod
    def _not_allowed(request: RecordedRequest) -> Response:
        return _error(
            405, f"{request.method} is not supported on {request.path}", "method.not.allowed"
        )

    def _multiget(self, request: RecordedRequest) -> Response:
        ids = [i for value in request.query_values("id") for i in value.split(",") if i]
        if not ids:
            return _error(400, "id: at least one conversation id is required")
        if len(ids) > self.multiget_max:
            return _error(400, f"id: at most {self.multiget_max} conversation ids")
        found = self._owner.messaging.analytics_by_id(ids)
        return Response(200, {"conversations": found} if found else {})

    # ------------------------------------------------------------------ selection

    def _checked(self, request: RecordedRequest, validator: Any) -> dict[str, Any]:
        body = request.json
        if not isinstance(body, dict):
            raise _Refused("The request body is not a JSON object")
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            where = error_path(errors[0].absolute_path)
            raise _Refused(f"{where + ': ' if where else ''}{errors[0].message}")
        return body

    def _select(self, body: Mapping[str, Any], candidates: Sequence[int]) -> list[int]:
        """Positions of ``candidates`` that meet the body's filters, in the body's order."""
        model = self.model
        conversation_filters = [
            _compile(f, conversation=True) for f in body.get("conversationFilters", [])
        ]
        segment_filters = [_compile(f, conversation=False) for f in body.get("segmentFilters", [])]
        for name in ("evaluationFilters", "surveyFilters", "resolutionFilters"):
            if body.get(name):
                raise _Refused(f"{name}: the stand-in does not model them")
        chosen: list[int] = []
        for position in candidates:
            conv = model.conversations[position]
            facts = {
                "conversationEnd": stamp(conv.end_ms) if conv.end_ms is not None else None,
                "conversationId": model.conversation_id(conv),
            }
            if not all(match([facts]) for match in conversation_filters):
                continue
            if segment_filters:
                segments = model.segments(conv)
                if not all(match(segments) for match in segment_filters):
                    continue
            chosen.append(position)
        if body.get("order") == "desc":
            chosen.reverse()
        return chosen

    def _cached(self, key: str, compute: Any) -> list[int]:
        with self._lock:
            found = self._selections.get(key)
            if found is not None:
                self._selections.move_to_end(key)
                return found
        result: list[int] = compute()
        with self._lock:
            self._selections[key] = result
            while len(self._selections) > 16:
                self._selections.popitem(last=False)
        return result

    # ------------------------------------------------------------------ sync query

    def _query(self, request: RecordedRequest) -> Response:
        try:
            body = self._checked(request, self._sync)
            start, end = _interval(body)
            filtered = bool(body.get("segmentFilters") or body.get("conversationFilters"))
            limit = 31 if filtered else 7
            if end - start > limit * _DAY_MS:
                raise _Refused(
                    f"interval: at most {limit} days"
                    + ("" if filtered else " without a filter (31 with one)")
                )
            paging = body.get("paging") or {"pageSize": 25, "pageNumber": 1}
            size, number = paging["pageSize"], paging["pageNumber"]
            if not 1 <= size <= self.query_page_size_max or number < 1:
                raise _Refused(f"paging: pageSize 1 to {self.query_page_size_max}, pageNumber ≥ 1")
            first_day = start - start % _DAY_MS
            last_day = (end - 1) - (end - 1) % _DAY_MS + _DAY_MS
            key = json.dumps({**body, "paging": None, "kind": "sync"}, sort_keys=True)
            model = self.model
            chosen = self._cached(
                key, lambda: self._select(body, model.started_between(first_day, last_day))
            )
        except _Refused as exc:
            return _error(400, str(exc))
        agentless = self._agentless(body, first_day, last_day)
        if agentless:  # the agentless sends' conversations join the model's, by start
            merged = sorted(
                [(model.conversations[p].start_ms, 0, p, None) for p in chosen]
                + [(start_ms, 1, i, api) for i, (start_ms, api) in enumerate(agentless)],
                key=lambda entry: entry[:3],
                reverse=body.get("order") == "desc",
            )
            joined: dict[str, Any] = {"totalHits": len(merged)}
            window = merged[(number - 1) * size : number * size]
            if window:
                joined["conversations"] = [
                    api if api is not None else model.to_api(model.conversations[p])
                    for _, _, p, api in window
                ]
            return Response(200, joined)
        page = chosen[(number - 1) * size : number * size]
        answer: dict[str, Any] = {"totalHits": len(chosen)}
        if page:
            answer["conversations"] = [model.to_api(model.conversations[p]) for p in page]
        return Response(200, answer)

    def _agentless(
        self, body: Mapping[str, Any], first_ms: int, last_ms: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """The messaging stand-in's agentless conversations the body's filters select."""
        found = self._owner.messaging.analytics_conversations(
            _EPOCH + timedelta(milliseconds=first_ms), _EPOCH + timedelta(milliseconds=last_ms)
        )
        if not found:
            return []
        conversation_filters = [
            _compile(f, conversation=True) for f in body.get("conversationFilters", [])
        ]
        segment_filters = [_compile(f, conversation=False) for f in body.get("segmentFilters", [])]
        out = []
        for start, facts, api in found:
            conversation = {"conversationEnd": None, "conversationId": api["conversationId"]}
            if all(m([conversation]) for m in conversation_filters) and all(
                m([facts]) for m in segment_filters
            ):
                out.append((int((start - _EPOCH).total_seconds() * 1000), api))
        return out

    # ------------------------------------------------------------------ async jobs

    def _create_job(self, request: RecordedRequest) -> Response:
        try:
            body = self._checked(request, self._async)
            start, end = _interval(body)
            model = self.model
            available = int((self.availability() - _EPOCH).total_seconds() * 1000)
            floor = start - start % _DAY_MS if body.get("startOfDayIntervalMatching") else None

            def compute() -> list[int]:
                active = model.active_between(start, end)
                kept = [
                    p
                    for p in active
                    if model.conversations[p].start_ms < available
                    and (floor is None or model.conversations[p].start_ms >= floor)
                ]
                return self._select(body, kept)

            key = json.dumps({**body, "kind": "async", "available": available}, sort_keys=True)
            chosen = self._cached(key, compute)
        except _Refused as exc:
            return _error(400, str(exc))
        limit = body.get("limit")
        if isinstance(limit, int) and limit >= 0:
            chosen = chosen[:limit]
        job = _Job(
            id=str(uuid.uuid4()),
            interval=str(body["interval"]),
            positions=chosen,
            availability_ms=available,
            stall=self.stall_jobs,
            submitted=iso_utc_ms(self._owner.now()),
        )
        with self._lock:
            job.fail, self._fail_next = self._fail_next, None
            self._jobs[job.id] = job
        return Response(202, {"jobId": job.id})

    def _status(self, job: _Job) -> Response:
        with self._lock:
            if job.state in {"QUEUED", "PENDING"}:
                job.polls += 1
                if job.fail is not None:
                    job.state = "FAILED"
                elif job.stall:
                    job.state = "PENDING"
                elif job.polls >= self.polls_to_finish:
                    job.state = "FULFILLED"
                elif job.polls > 1:
                    job.state = "PENDING"
            state = job.state
        answer: dict[str, Any] = {"state": state, "submissionDate": job.submitted}
        if state == "FAILED":
            answer["errorMessage"] = job.fail
        if state == "FULFILLED":
            now = self._owner.now()
            answer["completionDate"] = iso_utc_ms(now)
            answer["expirationDate"] = iso_utc_ms(now + timedelta(days=7))
        return Response(200, answer)

    def _results(self, job: _Job, request: RecordedRequest) -> Response:
        if job.state != "FULFILLED":
            return _error(400, f"Job {job.id} is {job.state}, not FULFILLED", "bad.request")
        try:
            size = int(request.query.get("pageSize", "100"))
        except ValueError:
            return _error(400, "pageSize must be an integer")
        if not 1 <= size <= self.results_page_size_max:
            return _error(400, f"pageSize must be 1 to {self.results_page_size_max}")
        offset = 0
        cursor = request.query.get("cursor")
        if cursor:
            try:
                owner, _, at = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
                offset = int(at)
            except ValueError:
                return _error(400, "cursor is not valid")
            if owner != job.id:
                return _error(400, "cursor belongs to another job")
        model = self.model
        page = job.positions[offset : offset + size]
        answer: dict[str, Any] = {
            "conversations": [
                model.to_api(model.conversations[p], with_attributes=True) for p in page
            ],
            "dataAvailabilityDate": stamp(job.availability_ms),
        }
        if offset + size < len(job.positions):
            token = f"{job.id}:{offset + size}".encode()
            answer["cursor"] = base64.urlsafe_b64encode(token).decode()
        return Response(200, answer)

    # ------------------------------------------------------------------ external contacts

    def _contact(self, contact_id: str) -> Response:
        body = self._contact_body(contact_id)
        if body is None:
            return _error(404, f"External contact {contact_id} not found", "not.found")
        return Response(200, body)

    def _bulk_contacts(self, request: RecordedRequest) -> Response:
        """``BulkIdsRequest`` → ``BulkFetchContactsResponse``: a result per id, misses as 404s."""
        body = request.json
        entities = body.get("entities") if isinstance(body, dict) else None
        if not isinstance(entities, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) for e in entities
        ):
            return _error(400, "entities must be a list of {id} objects")
        if len(entities) > self.bulk_contacts_max:
            return _error(
                400, f"At most {self.bulk_contacts_max} entities may be requested at a time"
            )
        results: list[dict[str, Any]] = []
        errors: list[int] = []
        for i, entity in enumerate(entities):
            contact_id = entity["id"]
            found = self._contact_body(contact_id)
            if found is not None:
                results.append({"id": contact_id, "success": True, "entity": found})
                continue
            errors.append(i)
            results.append(
                {
                    "id": contact_id,
                    "success": False,
                    "error": {
                        "code": "not.found",
                        "message": f"External contact {contact_id} not found",
                        "status": 404,
                        "retryable": False,
                        "entity": {"id": contact_id},
                    },
                }
            )
        return Response(
            200, {"results": results, "errorCount": len(errors), "errorIndexes": errors}
        )

    def _contact_body(self, contact_id: str) -> dict[str, Any] | None:
        model = self.model
        index = model.contact_index(contact_id)
        if index is None:
            return None
        customer = model.customer(index)
        digits = customer.phone.removeprefix("+1")
        e164 = {"display": f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}", "e164": customer.phone,
                "countryCode": "US", "userInput": customer.phone, "acceptsSMS": True}  # fmt: skip
        body: dict[str, Any] = {
            "id": contact_id,
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "type": "Curated",
            "createDate": "2024-01-15T09:30:00.000Z",
            "modifyDate": "2025-06-01T12:00:00.000Z",
            "division": {"id": "9e5a2b7c-0d1f-4a3b-8c6d-2e4f6a8b0c1d", "name": "Home"},
            "selfUri": CONTACTS_PREFIX + contact_id,
        }
        if index % 5 != 0:  # every fifth contact has no phone at all
            if index % 6 == 2:  # typed without a country code: Genesys could not read it
                local = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
                body["homePhone"] = {"display": local, "userInput": local}
                body["workPhone"] = e164
            else:
                body["cellPhone"] = e164
            if index % 3 == 0:
                body["whatsAppId"] = {
                    "phoneNumber": {**e164, "e164": customer.phone.removeprefix("+")},
                    "displayName": customer.first_name,
                }
        if index % 4 != 1:  # every fourth has no email
            body["personalEmail"] = customer.email
        return body


def _predicate(raw: Mapping[str, Any], *, conversation: bool) -> Any:
    dimension = raw.get("dimension")
    known = {"conversationEnd", "conversationId"} if conversation else _SEGMENT_DIMENSIONS
    if dimension not in known or raw.get("metric") or raw.get("property"):
        what = dimension or raw.get("metric") or raw.get("property")
        raise _Refused(f"the stand-in does not model the predicate on {what!r}")
    operator = raw.get("operator", "matches")
    value = raw.get("value")

    def test(facts: Mapping[str, str | None]) -> bool:
        seen = facts.get(str(dimension))
        if operator == "exists":
            return seen is not None
        if operator == "notExists":
            return seen is None
        return seen is not None and seen == value

    return test


def _compile(raw: Mapping[str, Any], *, conversation: bool) -> Any:
    """A filter as a test of a conversation's segments (or its conversation facts): met when
    one segment meets it as a whole."""
    tests = [_predicate(p, conversation=conversation) for p in raw.get("predicates", [])]
    for clause in raw.get("clauses", []):
        parts = [_predicate(p, conversation=conversation) for p in clause.get("predicates", [])]
        either = clause.get("type") == "or"
        tests.append(
            lambda f, parts=parts, either=either: (
                any(t(f) for t in parts) if either else all(t(f) for t in parts)
            )
        )
    either = raw.get("type") == "or"

    def met(segments: Sequence[Mapping[str, str | None]]) -> bool:
        combine = any if either else all
        return any(combine(t(facts) for t in tests) for facts in segments)

    return met
