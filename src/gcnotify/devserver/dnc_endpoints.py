"""The Genesys stand-in's Outbound DNC list endpoints, in the real shapes.

``GET /api/v2/outbound/dnclists/{id}`` answers the ``DncList``; ``POST …/{id}/export`` answers a
``DomainEntityRef`` and starts an export that is ready after ``export_polls_to_finish`` reads of
``GET …/{id}/export`` (until then that GET answers the previous ``ExportUri``, or 404 when the list
was never exported); ``download=true`` redirects to the file. ``PATCH …/{id}/phonenumbers`` and
``…/emailaddresses`` check the body against the shipped schema, refuse lists that are not
Internal (``rds``) as Genesys does, and answer 204 with no body.

The export file's format is not documented; the stand-in writes the CSV that gcnotify's parser
assumes (a header row, one entry a line, an expiry column), with the header names settable so
tests can try other spellings.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcnotify.devserver.genesys_errors import error_response
from gcnotify.devserver.http_base import (
    RecordedRequest,
    Response,
    error_path,
    load_schema_validator,
)

if TYPE_CHECKING:
    from gcnotify.devserver.genesys_server import GenesysStandIn

__all__ = ["DNC_DOWNLOADS", "DNC_LISTS", "DncEndpoints"]

DNC_LISTS = "/api/v2/outbound/dnclists/"
DNC_DOWNLOADS = "/api/v2/downloads/dnc-"
_SCHEMA = "genesys-dnc-phonenumbers-patch"
_KINDS = {"phonenumbers": ("Phone", "phoneNumbers"), "emailaddresses": ("Email", "emailAddresses")}


def _error(status: int, message: str, code: str) -> Response:
    return error_response(status, message, code)


def _email_validator() -> Any:
    """The ``$defs/DncPatchEmailsRequest`` part of the shipped PATCH schema."""
    from jsonschema import Draft202012Validator

    path = Path(__file__).parent / "schemas" / f"{_SCHEMA}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return Draft202012Validator(
        schema["$defs"]["DncPatchEmailsRequest"],
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@dataclass
class _List:
    id: str
    name: str
    contact_method: str
    source_type: str
    entries: dict[str, str | None] = field(default_factory=dict)  # entry -> expiry text
    version: int = 1
    # The latest finished export (token, timestamp) and one in progress (polls left, started).
    export: tuple[str, datetime] | None = None
    pending: tuple[int, datetime] | None = None
    files: dict[str, bytes] = field(default_factory=dict)


class DncEndpoints:
    """Routes for one stand-in; ``route`` answers None for paths that are not its own."""

    def __init__(self, stand_in: GenesysStandIn) -> None:
        self._owner = stand_in
        self._lock = threading.Lock()
        self._lists: dict[str, _List] = {}
        self._phones = load_schema_validator(_SCHEMA)
        self._emails = _email_validator()
        self.export_polls_to_finish = 2
        # The export's header row; tests change it to try other spellings.
        self.phone_header = ("phoneNumber", "expirationDateTime")
        self.email_header = ("emailAddress", "expirationDateTime")
        # Tests set it to serve these bytes as every export file (an unknown shape, an empty one).
        self.serve_file: bytes | None = None
        # Our batch size, enforced so a client that sends more is caught (Genesys documents none).
        self.max_patch_entries = 1000
        self.patches: list[dict[str, Any]] = []  # every accepted PATCH body, in order

    # ------------------------------------------------------------------ test controls

    def add_list(
        self,
        name: str,
        *,
        contact_method: str = "Phone",
        source_type: str = "rds",
        entries: tuple[str, ...] = (),
        list_id: str | None = None,
    ) -> str:
        """Create a DNC list holding ``entries``; its id."""
        new = _List(
            id=list_id or str(uuid.uuid4()),
            name=name,
            contact_method=contact_method,
            source_type=source_type,
            entries=dict.fromkeys(entries),
        )
        with self._lock:
            self._lists[new.id] = new
        return new.id

    def entries(self, list_id: str) -> set[str]:
        """What the list holds now."""
        with self._lock:
            return set(self._lists[list_id].entries)

    def set_entries(self, list_id: str, entries: tuple[str, ...]) -> None:
        """Replace what the list holds (as an administrator's upload would)."""
        with self._lock:
            self._lists[list_id].entries = dict.fromkeys(entries)

    # ------------------------------------------------------------------ routing

    def route(self, request: RecordedRequest) -> Response | None:
        path, method = request.path, request.method
        if path.startswith(DNC_DOWNLOADS) and method == "GET":
            return self._file(path.removeprefix(DNC_DOWNLOADS))
        if not path.startswith(DNC_LISTS):
            return None
        list_id, _, rest = path.removeprefix(DNC_LISTS).partition("/")
        with self._lock:
            found = self._lists.get(list_id)
        if found is None:
            return _error(404, f"DNC list {list_id} not found", "not.found")
        if rest == "" and method == "GET":
            return Response(200, self._entity(found))
        if rest == "export" and method == "POST":
            return self._start_export(found)
        if rest == "export" and method == "GET":
            return self._export_uri(found, request.query.get("download", "false") == "true")
        if rest in _KINDS and method == "PATCH":
            return self._patch(found, rest, request)
        return _error(405, f"{method} is not supported on {path}", "method.not.allowed")

    def _entity(self, dnc: _List) -> dict[str, Any]:
        with self._lock:
            size = len(dnc.entries)
        return {
            "id": dnc.id,
            "name": dnc.name,
            "version": dnc.version,
            "dncSourceType": dnc.source_type,
            "contactMethod": dnc.contact_method,
            "size": size,
            "division": {"id": "9e5a2b7c-0d1f-4a3b-8c6d-2e4f6a8b0c1d", "name": "Home"},
            "selfUri": f"{DNC_LISTS}{dnc.id}",
        }

    def _start_export(self, dnc: _List) -> Response:
        with self._lock:
            dnc.pending = (self.export_polls_to_finish, self._owner.now())
        return Response(200, {"id": dnc.id, "name": dnc.name, "selfUri": f"{DNC_LISTS}{dnc.id}"})

    def _export_uri(self, dnc: _List, download: bool) -> Response:
        with self._lock:
            if dnc.pending is not None:
                left, started = dnc.pending
                if left <= 1:
                    token = secrets.token_urlsafe(12)
                    served = self.serve_file
                    dnc.files[token] = served if served is not None else self._csv(dnc)
                    # Genesys stamps the export when it is written, after it was asked for.
                    dnc.export = (token, started + timedelta(seconds=1))
                    dnc.pending = None
                else:
                    dnc.pending = (left - 1, started)
            export = dnc.export
        if export is None:
            return _error(404, f"DNC list {dnc.id} has no export", "not.found")
        token, stamp = export
        uri = f"{self._owner.url}{DNC_DOWNLOADS}{token}"
        if download:
            return Response(303, b"", headers={"Location": uri})
        stamped = (
            stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{stamp.microsecond // 1000:03d}Z"
        )
        return Response(200, {"uri": uri, "exportTimestamp": stamped})

    def _csv(self, dnc: _List) -> bytes:
        header = self.phone_header if dnc.contact_method == "Phone" else self.email_header
        lines = [",".join(header)]
        lines += [f"{entry},{expiry or ''}" for entry, expiry in sorted(dnc.entries.items())]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def _file(self, token: str) -> Response:
        with self._lock:
            data = next((d.files[token] for d in self._lists.values() if token in d.files), None)
        if data is None:
            return _error(404, "Download not found", "not.found")
        return Response(200, data, content_type="text/csv")

    def _patch(self, dnc: _List, what: str, request: RecordedRequest) -> Response:
        method, field_name = _KINDS[what]
        body = request.json
        if not isinstance(body, dict):
            return _error(400, "The request body is not a JSON object", "bad.request")
        validator = self._phones if what == "phonenumbers" else self._emails
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            where = error_path(errors[0].absolute_path)
            message = f"{where + ': ' if where else ''}{errors[0].message}"
            return _error(400, message, "bad.request")
        if dnc.source_type != "rds":
            return _error(
                400,
                "Only Internal DNC lists may be added to deleted from",
                "dnc.list.not.internal",
            )
        if dnc.contact_method != method:
            return _error(
                400, f"DNC list {dnc.id} does not hold {field_name}", "invalid.contact.method"
            )
        values = body.get(field_name) or []
        if len(values) > self.max_patch_entries:
            return _error(
                400,
                f"{field_name} holds {len(values)} entries; at most {self.max_patch_entries}",
                "bad.request",
            )
        with self._lock:
            if body.get("action") == "Add":
                for value in values:
                    dnc.entries[value] = body.get("expirationDateTime")
            elif body.get("action") == "Remove":
                for value in values:
                    dnc.entries.pop(value, None)
            dnc.version += 1
            self.patches.append(body)
        return Response(204, b"")
