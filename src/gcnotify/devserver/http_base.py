"""A small real HTTP server that the Genesys and SendGrid stand-ins build on.

It speaks HTTP/1.1 with exact ``Content-Length`` so a ``requests.Session`` keeps its connections,
records every request, sleeps ``latency`` seconds before each answer (benchmarks use 80 ms), and
can fail or drop the next requests on a path. A dropped request is handled normally (side effects
such as storing a mail happen) and then the connection is closed without an answer: to the client
that is a lost response, whose outcome it cannot know.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "RecordedRequest",
    "Response",
    "StandInServer",
    "error_path",
    "load_schema_validator",
    "status_phrase",
]

_JSON = "application/json"
# Bodies above this are refused before reading (both real services refuse far smaller ones).
_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it.

    ``headers`` keeps the Authorization header (tests check the scheme) but is left out of the
    repr, so a failing assert never prints a token or key.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    json: Any = field(repr=False)
    raw_query: str = field(default="", repr=False)

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def query_values(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (``query`` keeps only the first)."""
        return parse_qs(self.raw_query, keep_blank_values=True).get(name, [])


@dataclass
class Response:
    """What a route answers; ``body`` may be bytes, text or a JSON value."""

    status: int
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encoded(self) -> tuple[bytes, str | None]:
        if isinstance(self.body, bytes):
            return self.body, self.content_type
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), self.content_type or _JSON


@dataclass
class _Fault:
    path_prefix: str
    times: int
    drop: bool
    status: int = 0
    body: Any = None
    headers: Mapping[str, str] | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the body can wait ~40 ms
    # for a delayed ACK, which would make the stand-ins slower than the real APIs.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo print their own output."""

    def setup(self) -> None:
        super().setup()
        self.server.stand_in._track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.stand_in._track(self.connection, opened=False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        stand_in = self.server.stand_in
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Neither client sends chunked bodies; refusing keeps the framing logic trivial.
            self._write(Response(411, "chunked request bodies are not supported"))
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self._write(Response(413, "request body too large or bad Content-Length"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
            json=parsed,
            raw_query=parts.query,
        )
        response = stand_in._respond(request)
        if response is None:
            self.close_connection = True  # dropped: the client never gets an answer
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        payload, content_type = response.encoded()
        self.send_response(response.status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stand_in: StandInServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (its timeout, a dropped-connection test) is not a server bug.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class StandInServer:
    """Base of the stand-ins: lifecycle, request log, latency and faults; routes in ``route``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.latency: float = 0.0
        # Replaceable so tests can see the injected latency without waiting for it.
        self.sleep: Callable[[float], None] = time.sleep
        # Unexpected exceptions inside a route (a stand-in bug): answered 500 and kept here.
        self.errors: list[str] = []
        # TCP connections accepted so far: shows whether clients reuse keep-alive connections.
        self.connections_opened = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = _Server((self._host, self._port), _Handler)
        server.stand_in = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            # Idle keep-alive connections would otherwise hold their handler threads forever.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _track(self, conn: socket.socket, *, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(conn)
                self.connections_opened += 1
            else:
                self._connections.discard(conn)

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def count(self, path_prefix: str = "/") -> int:
        """How many requests arrived on paths starting with ``path_prefix``."""
        with self._lock:
            return sum(1 for r in self._requests if r.path.startswith(path_prefix))

    def counts(self) -> Counter[str]:
        """Requests per exact path."""
        with self._lock:
            return Counter(r.path for r in self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests on ``path_prefix`` with ``status``.

        ``body`` None means the service's own error body for that status (``fault_response``);
        ``headers`` are added to (and override) the default headers.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(
                _Fault(path_prefix, times, drop=False, status=status, body=body, headers=headers)
            )

    def drop_next(self, path_prefix: str, times: int = 1) -> None:
        """Handle the next ``times`` requests on ``path_prefix``, then close without answering."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(_Fault(path_prefix, times, drop=True))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ------------------------------------------------------------------ dispatch

    def _respond(self, request: RecordedRequest) -> Response | None:
        with self._lock:
            self._requests.append(request)
        if self.latency > 0:
            self.sleep(self.latency)
        fault = self._take_fault(request.path)
        if fault is not None and not fault.drop:
            extra = dict(fault.headers or {})
            response = self.fault_response(fault.status, request, extra)
            if fault.body is not None:
                response.body = fault.body
                response.content_type = None
            for name, value in extra.items():
                for existing in [k for k in response.headers if k.lower() == name.lower()]:
                    del response.headers[existing]
                response.headers[name] = value
            return response
        try:
            response = self.route(request)
        except Exception as exc:  # a stand-in bug must reach the test, not hang it
            message = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.errors.append(message)
            response = Response(500, f"stand-in error: {message}")
        if fault is not None:
            return None
        return response

    def route(self, request: RecordedRequest) -> Response:
        """The service's answer to ``request``; subclasses implement their endpoints."""
        return Response(404, {"message": f"no route for {request.method} {request.path}"})

    def fault_response(
        self, status: int, request: RecordedRequest, headers: Mapping[str, str]
    ) -> Response:
        """The service's own error answer for an injected ``status`` (``headers`` will be added)."""
        return Response(status, {"message": status_phrase(status)})


def status_phrase(status: int) -> str:
    """The reason phrase, or a generic one for codes ``http.HTTPStatus`` does not know."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def load_schema_validator(name: str) -> Any:
    """A draft 2020-12 validator (with format checks) for one of the bundled schemas.

    jsonschema is a demo/dev extra, so it is imported here and never by the Lambda handler.
    """
    from pathlib import Path

    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).parent / "schemas" / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def error_path(parts: Iterable[Any]) -> str:
    """A jsonschema error location as SendGrid/Genesys write it (``personalizations.0.to``)."""
    return ".".join(str(p) for p in parts)
