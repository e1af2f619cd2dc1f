"""The local stand-ins and moto in their own process, as real APIs are, for bench/report_run.py.

Run in-process, the servers share the benchmark's GIL and garbage collector, so their work slows
the code being measured and any overlap gcnotify does would only contend with them.

Protocol: argv = queues latency_ms workdir dates(comma-separated ISO) tz nagle(0|1). Prints one
JSON line {environ, moto_url, genesys_url, sendgrid_url} when ready; then answers each stdin line
"counts" with a JSON line of request counts and the stand-ins' cumulative processing seconds.
Exits when stdin closes.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gcnotify.cli.demo import start_stack
from gcnotify.core.windows import start_of_day
from gcnotify.devserver import http_base
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.devserver.sendgrid_server import SendGridStandIn
from gcnotify.genesys.client import QUEUES_PATH, TOKEN_PATH

_lock = threading.Lock()
_server_s = [0.0]


def _timed(cls: Any) -> None:
    """Accumulate the stand-in's own processing time per request (after injected latency)."""
    original = cls.route

    def route(self: Any, request: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, request)
        finally:
            with _lock:
                _server_s[0] += time.perf_counter() - start

    cls.route = route


def main() -> int:
    queues, latency_ms, workdir, dates, tz, nagle = sys.argv[1:7]
    if nagle == "0":
        http_base._Handler.disable_nagle_algorithm = True
    else:
        http_base._Handler.disable_nagle_algorithm = False
    _timed(GenesysStandIn)
    _timed(SendGridStandIn)
    days = [date.fromisoformat(d) for d in dates.split(",") if d]
    with start_stack(Path(workdir), queue_count=int(queues), latency_ms=float(latency_ms)) as stack:
        for day in days:
            stack.genesys.prewarm(start_of_day(day, tz), start_of_day(day + timedelta(days=1), tz))
        # The synthetic traffic is millions of objects: a full collection over them stalls the
        # stand-ins ~0.5 s at random moments, which no real API does. Frozen, it is not scanned.
        gc.collect()
        gc.freeze()
        ready = {
            "environ": stack.environ,
            "moto_url": stack.moto_url,
            "genesys_url": stack.genesys.url,
            "sendgrid_url": stack.sendgrid.url,
        }
        print(json.dumps(ready), flush=True)
        for line in sys.stdin:
            if line.strip() != "counts":
                continue
            genesys = stack.genesys.requests
            with _lock:
                server_s = _server_s[0]
            counts = {
                "genesys": len(genesys),
                "token": sum(1 for r in genesys if r.path == TOKEN_PATH),
                "pages": sum(1 for r in genesys if r.path == QUEUES_PATH),
                "sendgrid": len(stack.sendgrid.requests),
                "server_s": server_s,
            }
            print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
