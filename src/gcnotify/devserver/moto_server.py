"""A local moto server (AWS APIs on 127.0.0.1) whose requests are applied one at a time.

moto's backends do not lock: two concurrent conditional writes to one DynamoDB item can both
pass their condition, which real DynamoDB never allows. Serialising requests restores the
guarantee the send ledger relies on, so concurrency tests exercise our protocol, not moto's race.

``fast_sqs_clock`` makes moto's SQS read the clock with ``time.time()``: moto checks every queued
message's visibility on every receive through a datetime-based helper, which made a receive cost
seconds once a few thousand messages were queued. Same values, a fraction of the cost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

__all__ = ["SerializedMotoServer", "fast_sqs_clock"]


def fast_sqs_clock() -> None:
    """Point moto's SQS models at ``time.time()`` for "now" (a given datetime keeps moto's own
    conversion)."""
    import moto.sqs.models as sqs_models
    from moto.core.utils import unix_time

    def now_seconds(dt: Any = None) -> float:
        return time.time() if dt is None else unix_time(dt)

    def now_millis(dt: Any = None) -> float:
        return now_seconds(dt) * 1000.0

    sqs_models.unix_time = now_seconds  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = now_millis  # type: ignore[attr-defined]


class SerializedMotoServer(ThreadedMotoServer):
    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        fast_sqs_clock()

    def _server_entry(self) -> None:
        from moto.moto_server.threaded_moto_server import (  # type: ignore[attr-defined]
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
            make_server,
        )

        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serialized(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(
            self._ip_address, self._port, serialized, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
