"""Helpers shared by the tests: schema validation of bodies and a clock the tests drive."""

from __future__ import annotations

from functools import cache
from typing import Any

from gcnotify.devserver.http_base import load_schema_validator


@cache
def validator(name: str) -> Any:
    """The draft 2020-12 validator of one shipped schema (the same the stand-ins use)."""
    return load_schema_validator(name)


def schema_errors(name: str, body: Any) -> list[str]:
    return [e.message for e in validator(name).iter_errors(body)]


def assert_valid(name: str, body: Any) -> None:
    """``body`` is valid against ``<name>.schema.json``; the assert shows every violation."""
    assert [] == schema_errors(name, body)


class FakeClock:
    """Monotonic and wall time that advance only when the code under test sleeps (or when told)."""

    def __init__(self, start: float = 0.0, wall: float = 1_800_000_000.0) -> None:
        self.now = start
        self.wall_start = wall - start
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall_start + self.now


class DropProxy:
    """A TCP proxy in front of a local AWS endpoint that loses answers on purpose.

    ``drop(target, n)``: the next ``n`` requests whose ``X-Amz-Target`` ends with ``target`` are
    forwarded (so the server applies them) but their answer is never returned: the connection is
    closed instead, as when a response is lost in the network. ``down = True``: every connection
    is closed at once, before anything is forwarded (the endpoint is unreachable).
    """

    def __init__(self, upstream: str) -> None:
        import http.client
        import socketserver
        import threading
        from urllib.parse import urlsplit

        self._upstream = urlsplit(upstream)
        self._drops: dict[str, int] = {}
        self._lock = threading.Lock()
        self.down = False
        self.dropped: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        chunk = self.rfile.readline()
                        if not chunk:
                            return
                        head += chunk
                    if proxy.down:
                        return
                    lines = head.decode("latin-1").split("\r\n")
                    method, path, _ = lines[0].split(" ", 2)
                    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                    body = self.rfile.read(int(headers.get("Content-Length", "0")))
                    conn = http.client.HTTPConnection(
                        proxy._upstream.hostname, proxy._upstream.port, timeout=10
                    )
                    conn.request(method, path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    conn.close()
                    if proxy._take(headers.get("X-Amz-Target", "")):
                        return  # applied upstream; the answer is lost
                    out = [f"HTTP/1.1 {answer.status} {answer.reason}"]
                    out += [
                        f"{k}: {v}"
                        for k, v in answer.getheaders()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection")
                    ]
                    out += [f"Content-Length: {len(data)}", "", ""]
                    self.wfile.write("\r\n".join(out).encode("latin-1") + data)
                    self.wfile.flush()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def drop(self, target: str, times: int = 1) -> None:
        with self._lock:
            self._drops[target] = self._drops.get(target, 0) + times

    def _take(self, target: str) -> bool:
        with self._lock:
            for suffix, left in self._drops.items():
                if left and target.endswith(suffix):
                    self._drops[suffix] = left - 1
                    self.dropped.append(target)
                    return True
        return False

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
