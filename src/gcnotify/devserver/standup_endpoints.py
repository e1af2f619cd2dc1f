"""The Genesys stand-in's endpoints for standup packs, in the real shapes: queue members, users
aggregates, WFM historical adherence bulk jobs, reporting export jobs and Architect schedule
groups.

Answers are deterministic: members and routing times come from the stand-in's seed; an export
counts the synthetic conversations of its interval. Jobs move one step per poll (an export
SUBMITTED → RUNNING → COMPLETED, or FAILED when a test asks), so clients meet every state.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from gcnotify.devserver.aggregates import AggregatesQueryError, parse_interval, run_aggregates_query
from gcnotify.devserver.genesys_errors import error_response
from gcnotify.devserver.http_base import (
    RecordedRequest,
    Response,
    error_path,
    load_schema_validator,
)

if TYPE_CHECKING:
    from gcnotify.devserver.genesys_server import GenesysStandIn

__all__ = ["MANAGEMENT_UNIT_ID", "SCHEDULE_GROUP_NAME", "StandupEndpoints"]

_QUEUES = "/api/v2/routing/queues/"
_USERS = "/api/v2/analytics/users/aggregates/query"
_BULK = "/api/v2/workforcemanagement/adherence/historical/bulk"
_EXPORTS = "/api/v2/analytics/reporting/exports"
_GROUPS = "/api/v2/architect/schedulegroups"
_SCHEDULES = "/api/v2/architect/schedules"
_DOWNLOADS = "/api/v2/downloads/"
MANAGEMENT_UNIT_ID = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
SCHEDULE_GROUP_NAME = "Support Hours"
_MAX_USERS = 100
_MEMBERS_PER_QUEUE = 6
_MIN_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"  # noqa: E501


def _error(status: int, message: str, code: str) -> Response:
    return error_response(status, message, code)


@dataclass
class _Job:
    id: str
    body: Mapping[str, Any]
    polls: int = 0
    result: bytes = b""
    content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)


def _schedule(sid: str, name: str, start: str, end: str, rrule: str | None) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": sid,
        "name": name,
        "state": "active",
        "version": 1,
        "start": start,
        "end": end,
        "selfUri": f"{_SCHEDULES}/{sid}",
    }
    if rrule is not None:
        entity["rrule"] = rrule
    return entity


class StandupEndpoints:
    """Routes for one stand-in; ``route`` answers None for paths that are not its own."""

    def __init__(self, stand_in: GenesysStandIn) -> None:
        self._owner = stand_in
        self._lock = threading.Lock()
        self._exports: list[_Job] = []
        self._adherence: dict[str, _Job] = {}
        self.fail_exports: str | None = None  # an exportErrorMessagesType to fail jobs with
        self.export_polls_to_finish = 2
        self._users = load_schema_validator("genesys-users-aggregates-query")
        self._bulk = load_schema_validator("genesys-wfm-historical-adherence-bulk")
        self._export = load_schema_validator("genesys-reporting-export-request")
        self.schedules: dict[str, dict[str, Any]] = {
            s["id"]: s
            for s in (
                _schedule(
                    "hol-xmas",
                    "Christmas Day",
                    "2020-12-25T00:00:00.000",
                    "2020-12-25T23:59:59.999",
                    "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
                ),
                _schedule(
                    "hol-thanks",
                    "Thanksgiving",
                    "2020-11-26T00:00:00.000",
                    "2020-11-26T23:59:59.999",
                    "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
                ),
                _schedule(
                    "closed-nights",
                    "Nights",
                    "2020-01-01T20:00:00.000",
                    "2020-01-02T07:00:00.000",
                    "FREQ=DAILY",
                ),
                _schedule(
                    "open-days",
                    "Weekdays",
                    "2020-01-01T07:00:00.000",
                    "2020-01-01T20:00:00.000",
                    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                ),
            )
        }
        self.group: dict[str, Any] = {
            "id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
            "name": SCHEDULE_GROUP_NAME,
            "state": "active",
            "version": 1,
            "timeZone": stand_in.traffic.local_tz,
            "openSchedules": [{"id": "open-days"}],
            "closedSchedules": [{"id": "closed-nights"}],
            "holidaySchedules": [{"id": "hol-xmas"}, {"id": "hol-thanks"}],
        }

    # ------------------------------------------------------------------ data

    def members(self, queue_id: str) -> list[str]:
        """User ids of one queue; neighbouring queues share some members (as agents do)."""
        ids = [q.id for q in self._owner.queues]
        if queue_id not in ids:
            return []
        first = ids.index(queue_id) * (_MEMBERS_PER_QUEUE - 2)
        return [
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"gcnotify-user:{self._owner.traffic.seed}:{n}"))
            for n in range(first, first + _MEMBERS_PER_QUEUE)
        ]

    def routing_ms(self, user_id: str, interval: str) -> dict[str, int]:
        """Time per routing status of one user over ``interval`` (deterministic)."""
        rng = random.Random(f"gcnotify-routing:{self._owner.traffic.seed}:{user_id}:{interval}")
        on_queue = rng.randint(5 * 3600, 8 * 3600) * 1000
        interacting = int(on_queue * rng.uniform(0.55, 0.9))
        communicating = int((on_queue - interacting) * rng.uniform(0.0, 0.3))
        return {
            "INTERACTING": interacting,
            "COMMUNICATING": communicating,
            "IDLE": on_queue - interacting - communicating,
            "NOT_RESPONDING": rng.randint(0, 120) * 1000,
            "OFF_QUEUE": rng.randint(1800, 5400) * 1000,
        }

    # ------------------------------------------------------------------ routing

    def route(self, request: RecordedRequest) -> Response | None:
        path, method = request.path, request.method
        if path.startswith(_QUEUES) and path.endswith("/members") and method == "GET":
            return self._members(request)
        if path == _USERS and method == "POST":
            return self._users_query(request)
        if path == _BULK and method == "POST":
            return self._bulk_start(request)
        if path.startswith(_BULK + "/jobs/") and method == "GET":
            return self._bulk_status(path.removeprefix(_BULK + "/jobs/"))
        if path == _EXPORTS and method == "POST":
            return self._export_start(request)
        if path == _EXPORTS and method == "GET":
            return self._export_listing()
        if path.startswith(_DOWNLOADS) and method == "GET":
            return self._download(path.removeprefix(_DOWNLOADS))
        if path == _GROUPS and method == "GET":
            return self._groups(request)
        if path.startswith(_GROUPS + "/") and method == "GET":
            found = path.removeprefix(_GROUPS + "/") == self.group["id"]
            return Response(200, self.group) if found else _error(404, "Not found", "not.found")
        if path.startswith(_SCHEDULES + "/") and method == "GET":
            schedule = self.schedules.get(path.removeprefix(_SCHEDULES + "/"))
            if schedule is None:
                return _error(404, "Schedule not found", "not.found")
            return Response(200, schedule)
        return None

    def _invalid(self, validator: Any, body: Any) -> Response | None:
        if body is None:
            return _error(400, "The request body is not valid JSON", "bad.request")
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        where = error_path(errors[0].absolute_path)
        return _error(400, f"{where + ': ' if where else ''}{errors[0].message}", "bad.request")

    def _members(self, request: RecordedRequest) -> Response:
        queue_id = request.path.removeprefix(_QUEUES).removesuffix("/members")
        if queue_id not in {q.id for q in self._owner.queues}:
            return _error(404, f"Queue {queue_id} not found", "not.found")
        size = min(int(request.query.get("pageSize", "25")), 100)
        number = int(request.query.get("pageNumber", "1"))
        users = self.members(queue_id)
        count = max(1, -(-len(users) // size))
        page = users[(number - 1) * size : number * size]
        entities = [
            {
                "id": u,
                "name": f"Agent {u[:8]}",
                "user": {"id": u, "name": f"Agent {u[:8]}"},
                "joined": True,
                "memberBy": "user",
                "routingStatus": {"status": "IDLE"},
            }
            for u in page
        ]
        listing: dict[str, Any] = {
            "entities": entities,
            "pageSize": size,
            "pageNumber": number,
            "total": len(users),
            "pageCount": count,
        }
        if number < count:
            listing["nextUri"] = f"{request.path}?pageSize={size}&pageNumber={number + 1}"
        return Response(200, listing)

    def _users_query(self, request: RecordedRequest) -> Response:
        invalid = self._invalid(self._users, request.json)
        if invalid is not None:
            return invalid
        body = request.json
        predicates = [
            p
            for p in (body.get("filter") or {}).get("predicates", [])
            if p.get("dimension") == "userId"
        ]
        if len(predicates) > _MAX_USERS:
            return _error(
                400, "A single query may contain no more than 100 userId predicates", "bad.request"
            )
        start, end = parse_interval(body["interval"])
        stamp = "%Y-%m-%dT%H:%M:%S.000Z"
        interval = f"{start.astimezone(UTC).strftime(stamp)}/{end.astimezone(UTC).strftime(stamp)}"
        results = []
        for predicate in predicates:
            user_id = predicate.get("value")
            times = self.routing_ms(str(user_id), interval)
            metrics = [
                {
                    "metric": "tAgentRoutingStatus",
                    "qualifier": status,
                    "stats": {"count": 1, "sum": ms},
                }
                for status, ms in times.items()
            ]
            results.append(
                {"group": {"userId": user_id}, "data": [{"interval": interval, "metrics": metrics}]}
            )
        return Response(200, {"systemToOrganizationMappings": {}, "results": results})

    def _bulk_start(self, request: RecordedRequest) -> Response:
        invalid = self._invalid(self._bulk, request.json)
        if invalid is not None:
            return invalid
        for item in request.json["items"]:
            if item["managementUnitId"] != MANAGEMENT_UNIT_ID:
                return _error(
                    404, f"Management unit {item['managementUnitId']} not found", "not.found"
                )
        job = _Job(str(uuid.uuid4()), request.json)
        results = []
        for item in request.json["items"]:
            users = item.get("userIds") or []
            results.append(
                {
                    "startDate": item["startDate"],
                    "endDate": item["endDate"],
                    "managementUnitId": item["managementUnitId"],
                    "userResults": [self._adherence_of(u) for u in users],
                }
            )
        job.extra["files"] = [json.dumps(result).encode() for result in results]
        with self._lock:
            self._adherence[job.id] = job
        return Response(
            202,
            {"job": {"id": job.id, "status": "Processing", "selfUri": f"{_BULK}/jobs/{job.id}"}},
        )

    def _adherence_of(self, user_id: str) -> dict[str, Any]:
        rng = random.Random(f"gcnotify-adherence:{self._owner.traffic.seed}:{user_id}")
        scheduled = 8 * 3600
        exception = rng.randint(0, 3600)
        actual = int(scheduled * rng.uniform(0.85, 1.05))
        return {
            "userId": user_id,
            "adherencePercentage": 100 * (1 - exception / scheduled),
            "conformancePercentage": 100 * actual / scheduled,
            "impact": "Neutral",
            "dayMetrics": [
                {
                    "dayStartOffsetSeconds": 0,
                    "adherenceScheduleSeconds": scheduled,
                    "exceptionDurationSeconds": exception,
                    "conformanceScheduleSeconds": scheduled,
                    "conformanceActualSeconds": actual,
                }
            ],
        }

    def _bulk_status(self, job_id: str) -> Response:
        with self._lock:
            job = self._adherence.get(job_id)
            if job is None:
                return _error(404, f"Job {job_id} not found", "not.found")
            job.polls += 1
            done = job.polls >= 2
        status = "Complete" if done else "Processing"
        answer: dict[str, Any] = {
            "job": {"id": job_id, "status": status, "selfUri": f"{_BULK}/jobs/{job_id}"}
        }
        if done:
            count = len(job.extra["files"])
            base = f"{self._owner.url}{_DOWNLOADS}adherence-"
            answer["downloadUrls"] = [f"{base}{n}-{job_id}" for n in range(count)]
        return Response(200, answer)

    def _export_start(self, request: RecordedRequest) -> Response:
        invalid = self._invalid(self._export, request.json)
        if invalid is not None:
            return invalid
        job = _Job(str(uuid.uuid4()), request.json)
        try:
            job.result, job.content_type = self._export_file(request.json)
        except AggregatesQueryError as exc:
            return _error(400, str(exc), "bad.request")
        with self._lock:
            self._exports.insert(0, job)  # the listing is newest first
        return Response(200, self._export_entity(job, "SUBMITTED"))

    def _export_file(self, body: Mapping[str, Any]) -> tuple[bytes, str]:
        if body["exportFormat"] == "PDF":
            return _MIN_PDF, "application/pdf"
        queue_ids = list((body.get("filter") or {}).get("queueIds") or [])
        query = {
            "interval": body["interval"],
            "granularity": body.get("period", "P1D"),
            "timeZone": body["timeZone"],
            "groupBy": ["queueId"],
            "metrics": ["nOffered"],
        }
        owner = self._owner
        answer = run_aggregates_query(query, owner.traffic, queue_ids, now=owner.now())
        lines = ["Queue Id,Interval,Offered"]
        for result in answer.get("results", []):
            for data in result["data"]:
                offered = next(m["stats"]["count"] for m in data["metrics"])
                lines.append(f"{result['group']['queueId']},{data['interval']},{offered}")
        return ("\n".join(lines) + "\n").encode(), "text/csv"

    def _export_entity(self, job: _Job, status: str) -> dict[str, Any]:
        body = job.body
        entity: dict[str, Any] = {
            "id": job.id,
            "name": body["name"],
            "status": status,
            "runId": job.id,
            "timeZone": body["timeZone"],
            "exportFormat": body["exportFormat"],
            "interval": body["interval"],
            "viewType": body["viewType"],
            "period": body["period"],
            "locale": body["locale"],
            "selfUri": f"{_EXPORTS}/{job.id}",
            **job.extra,
        }
        return entity

    def _export_listing(self) -> Response:
        with self._lock:
            entities = []
            for job in self._exports:
                job.polls += 1
                if job.polls < self.export_polls_to_finish:
                    status = "RUNNING"
                elif self.fail_exports is not None:
                    status = "FAILED"
                    job.extra["exportErrorMessagesType"] = self.fail_exports
                else:
                    status = "COMPLETED"
                    job.extra["downloadUrl"] = f"{self._owner.url}{_DOWNLOADS}export-{job.id}"
                    job.extra["percentageComplete"] = 1.0
                entities.append(self._export_entity(job, status))
        return Response(
            200,
            {
                "entities": entities,
                "pageSize": 100,
                "pageNumber": 1,
                "total": len(entities),
                "pageCount": 1,
            },
        )

    def _download(self, name: str) -> Response:
        kind, _, rest = name.partition("-")
        with self._lock:
            if kind == "adherence":
                number, _, job_id = rest.partition("-")
                job = self._adherence.get(job_id)
                files = job.extra["files"] if job is not None else []
                if number.isdigit() and int(number) < len(files):
                    return Response(200, files[int(number)], content_type="application/json")
            else:
                export = next((j for j in self._exports if j.id == rest), None)
                if export is not None:
                    return Response(200, export.result, content_type=export.content_type)
        return _error(404, "Download not found", "not.found")

    def _groups(self, request: RecordedRequest) -> Response:
        name = request.query.get("name")
        groups = [self.group] if not name or name == self.group["name"] else []
        return Response(
            200,
            {
                "entities": groups,
                "pageSize": 100,
                "pageNumber": 1,
                "total": len(groups),
                "pageCount": 1,
            },
        )
