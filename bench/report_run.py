"""API calls and wall time of one report run, gcnotify vs the tutorial's algorithm.

Runs against the local stand-ins (real HTTP on 127.0.0.1) with injected latency per Genesys and
SendGrid request (default 80 ms), for 10, 50 and 200 queues, report `support-daily` of the demo
config (America/New_York, holidays US-NY), business date 2026-11-20:

- gcnotify cold: `handler.handle` in a new container (config, secret, clients, Genesys token,
  queue lookup pages, 1 aggregates query, 1 send, send-ledger writes);
- gcnotify warm: the same container's next invocations (token and clients reused), for the
  business dates before (11-19, 11-18, 11-17: each a first send, as a nightly run is; median);
- tutorial: token, then one aggregates query per queue id, 100 ms apart, then one send.

The stand-in's synthetic traffic for those days is generated before timing (`prewarm`), so it is
not counted as our overhead; Python modules are imported before timing too (their cost is
bench/cold_start.py's subject). Secrets Manager and DynamoDB are a local moto server without
injected latency: their time is measured and shown apart, and is included in the wall time.

The round-trip floor (the target's) counts Genesys and SendGrid round trips only:
cold (3 + lookup pages) x latency, warm (2 + lookup pages) x latency, with lookup pages =
ceil(queues / 100), the largest page Genesys serves.
Usage: python bench/report_run.py [--latency-ms 80] [--queues 10 50 200] [--skip-tutorial]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# Imported before any timing: module import cost belongs to bench/cold_start.py.
import holidays
import jinja2  # noqa: F401 - imported for its import cost only

import gcnotify.render
import gcnotify.runner
import gcnotify.sendgrid
from gcnotify import handler, ledger
from gcnotify.config import load_config
from gcnotify.demo import DemoStack, demo_queues, start_stack
from gcnotify.genesys import QUEUE_PAGE_SIZE, QUEUES_PATH, TOKEN_PATH, GenesysClient
from gcnotify.metrics import genesys_metrics
from gcnotify.queries import build_aggregates_query
from gcnotify.secrets import parse_secret
from gcnotify.windows import ReportWindow, plan_window, run_day_for_report_date, start_of_day

REPORT = "support-daily"
COLD_DATE = date(2026, 11, 20)  # a Friday
WARM_DATES = (date(2026, 11, 19), date(2026, 11, 18), date(2026, 11, 17))
TUTORIAL_GAP_S = 0.1
RATIO_TARGET = 1.5
holidays.country_holidays("US", subdiv="NY", years=2026)  # loads every country module once


@dataclass
class Timers:
    """Seconds and calls spent in the wrapped functions (AWS calls to the local moto server)."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    _depth: int = 0

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def wrap(self, owner: Any, name: str, label: str) -> Callable[[], None]:
        """Time ``owner.name`` under ``label`` (outermost call only); returns the undo."""
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds[label] = self.seconds.get(label, 0.0) + (
                        time.perf_counter() - start
                    )
                    self.calls[label] = self.calls.get(label, 0) + 1

        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


TIMERS = Timers()


@contextmanager
def timed_aws() -> Iterator[None]:
    undo = [
        # Secrets Manager: client creation and GetSecretValue, once per cold start.
        TIMERS.wrap(handler._ColdStart, "load_credentials", "secret"),
        # DynamoDB client creation, once per cold start.
        TIMERS.wrap(handler._ColdStart, "_make_ledger", "ledger_client"),
        # One DynamoDB request each.
        *(TIMERS.wrap(ledger.Ledger, name, "ledger") for name in ("lookup", "claim", "_finish")),
    ]
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


@dataclass
class Run:
    """One invocation: wall time and what reached each service."""

    wall: float
    genesys: int
    token: int
    pages: int
    sendgrid: int
    ledger_calls: int
    secret_s: float
    ledger_s: float

    @property
    def aws_s(self) -> float:
        return self.secret_s + self.ledger_s


def _counts(stack: DemoStack) -> tuple[int, int, int, int]:
    genesys = stack.genesys.requests
    return (
        len(genesys),
        sum(1 for r in genesys if r.path == TOKEN_PATH),
        sum(1 for r in genesys if r.path == QUEUES_PATH),
        len(stack.sendgrid.requests),
    )


def _invoke(stack: DemoStack, day: date) -> Run:
    before = _counts(stack)
    ledger_before = _ledger_calls()
    TIMERS.reset()
    start = time.perf_counter()
    summary = handler.handle(
        {"report_date": day.isoformat(), "reports": [REPORT]}, environ=stack.environ
    )
    wall = time.perf_counter() - start
    status = summary["reports"][0]["status"]
    if status != "sent":
        raise SystemExit(f"report {REPORT} for {day} ended {status!r}, not 'sent': {summary}")
    after = _counts(stack)
    g, tok, pages, s = (a - b for a, b in zip(after, before, strict=True))
    if summary["reports"][0]["genesys_api_calls"] != g:
        raise SystemExit(f"summary says {summary['reports'][0]['genesys_api_calls']} Genesys calls")
    return Run(
        wall=wall,
        genesys=g,
        token=tok,
        pages=pages,
        sendgrid=s,
        ledger_calls=_ledger_calls() - ledger_before,
        secret_s=TIMERS.seconds.get("secret", 0.0) + TIMERS.seconds.get("ledger_client", 0.0),
        ledger_s=TIMERS.seconds.get("ledger", 0.0),
    )


def _ledger_calls() -> int:
    state = handler._state
    if state is None or not state.services:
        return 0
    service = next(iter(state.services.values()))
    return service.ledger.calls if service.ledger is not None else 0


def _prewarm(stack: DemoStack, first: date, last: date, tz: str) -> None:
    stack.genesys.prewarm(start_of_day(first, tz), start_of_day(last + timedelta(days=1), tz))


def bench_gcnotify(queues: int, latency_ms: float, work: Path) -> tuple[Run, list[Run]]:
    with start_stack(work / f"g{queues}", queue_count=queues, latency_ms=latency_ms) as stack:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = stack.environ[key]
        tz = load_config(stack.environ["GCNOTIFY_CONFIG"]).report(REPORT).timezone
        _prewarm(stack, min(WARM_DATES), COLD_DATE, tz)
        handler.reset_cold_start()
        try:
            with timed_aws():
                cold = _invoke(stack, COLD_DATE)
                warm = [_invoke(stack, day) for day in WARM_DATES]
        finally:
            handler.reset_cold_start()
    return cold, warm


def bench_tutorial(queues: int, latency_ms: float, work: Path) -> tuple[float, int, int]:
    """Token, one aggregates query per queue (ids known, no lookup) 100 ms apart, one send."""
    with start_stack(work / f"t{queues}", queue_count=queues, latency_ms=latency_ms) as stack:
        report = load_config(stack.environ["GCNOTIFY_CONFIG"]).report(REPORT)
        _prewarm(stack, COLD_DATE, COLD_DATE, report.timezone)
        import boto3

        secret = boto3.client(
            "secretsmanager",
            endpoint_url=stack.moto_url,
            region_name="us-east-1",
            aws_access_key_id="demo",
            aws_secret_access_key="demo",  # noqa: S106 - moto
        ).get_secret_value(SecretId=stack.environ["GCNOTIFY_SECRET_ID"])["SecretString"]
        creds = parse_secret("demo", secret)
        window = plan_window(
            report, run_day_for_report_date(COLD_DATE), lambda _: False, explicit_date=True
        )
        assert isinstance(window, ReportWindow)
        mail = {
            "personalizations": [{"to": [{"email": "supervisor@example.com"}]}],
            "from": {"email": "reports@example.com"},
            "subject": f"Queue report {COLD_DATE.isoformat()}",
            "content": [{"type": "text/plain", "value": "one line per queue"}],
        }
        start = time.perf_counter()
        client = GenesysClient(
            login_url=stack.genesys.url,
            api_url=stack.genesys.url,
            client_id=creds.genesys_client_id,
            client_secret=creds.genesys_client_secret,
        )
        client.token()
        for i, queue in enumerate(demo_queues(queues)):
            if i:
                time.sleep(TUTORIAL_GAP_S)
            client.query_aggregates(
                build_aggregates_query(
                    interval=window.genesys_interval(),
                    timezone=report.timezone,
                    queue_ids=[queue.id],
                    genesys_metrics=genesys_metrics(report.metrics),
                )
            )
        gcnotify.sendgrid.SendGridClient(creds.sendgrid_api_key, stack.sendgrid.url).send(mail)
        wall = time.perf_counter() - start
        return wall, len(stack.genesys.requests), len(stack.sendgrid.requests)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=80.0)
    parser.add_argument("--queues", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--skip-tutorial", action="store_true")
    args = parser.parse_args()
    lat = args.latency_ms / 1000
    print(
        f"latency injected per Genesys/SendGrid request: {args.latency_ms:.0f} ms; "
        f"Python {sys.version.split()[0]}; warm = median of {len(WARM_DATES)} invocations"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in args.queues:
            cold, warm = bench_gcnotify(n, args.latency_ms, work)
            tutorial = None if args.skip_tutorial else bench_tutorial(n, args.latency_ms, work)
            rows.append((n, cold, warm, tutorial))
            print(f"  {n} queues done", file=sys.stderr, flush=True)

    print()
    print("API calls per report (G = Genesys: token + queue pages + aggregates; S = SendGrid)")
    head = (
        f"{'queues':>6} | {'pages':>5} | {'cold G (tok+pg+agg)':>19} | {'cold S':>6} | "
        f"{'warm G (pg+agg)':>15} | {'warm S':>6} | {'expected cold/warm':>18} | "
        f"{'calls target':>12} | {'ledger cold/warm':>16} | {'tutorial G+S':>12}"
    )
    print(head)
    print("-" * len(head))
    for n, cold, warm, tutorial in rows:
        pages = math.ceil(n / QUEUE_PAGE_SIZE)
        w = warm[0]
        same = all((r.genesys, r.token, r.sendgrid) == (w.genesys, 0, 1) for r in warm)
        ok = (
            cold.genesys == 2 + pages
            and cold.token == 1
            and cold.sendgrid == 1
            and same
            and w.genesys == 1 + pages
            and w.token == 0
        )
        cold_g = (
            f"{cold.genesys} ({cold.token}+{cold.pages}+{cold.genesys - cold.token - cold.pages})"
        )
        warm_g = f"{w.genesys} ({w.pages}+{w.genesys - w.pages})"
        tut = "-" if tutorial is None else f"{tutorial[1]}+{tutorial[2]}"
        print(
            f"{n:>6} | {pages:>5} | {cold_g:>19} | {cold.sendgrid:>6} | {warm_g:>15} | "
            f"{w.sendgrid:>6} | {f'{3 + pages} / {2 + pages}':>18} | {_verdict(ok):>12} | "
            f"{f'{cold.ledger_calls} / {w.ledger_calls}':>16} | {tut:>12}"
        )

    print()
    print(
        f"Wall time of one report run; floor = Genesys+SendGrid round trips x {args.latency_ms:.0f}"
        " ms; AWS = local moto time (secret + ledger) inside the wall time"
    )
    head = (
        f"{'queues':>6} | {'cold wall':>9} | {'floor':>7} | {'ratio':>5} | {'AWS':>7} | "
        f"{'warm wall':>9} | {'floor':>7} | {'ratio':>5} | {'AWS':>7} | "
        f"{'<= 1.5x floor':>13} | {'tutorial wall':>13} | {'tutorial/cold':>13}"
    )
    print(head)
    print("-" * len(head))
    for n, cold, warm, tutorial in rows:
        pages = math.ceil(n / QUEUE_PAGE_SIZE)
        cold_floor = (3 + pages) * lat
        warm_floor = (2 + pages) * lat
        warm_wall = statistics.median(r.wall for r in warm)
        warm_aws = statistics.median(r.aws_s for r in warm)
        ok = cold.wall <= RATIO_TARGET * cold_floor and warm_wall <= RATIO_TARGET * warm_floor
        verdict = f"cold {'ok' if cold.wall <= RATIO_TARGET * cold_floor else 'NO'}, "
        verdict += f"warm {'ok' if warm_wall <= RATIO_TARGET * warm_floor else 'NO'}"
        tut_wall = "-" if tutorial is None else f"{tutorial[0]:.3f} s"
        speedup = "-" if tutorial is None else f"{tutorial[0] / cold.wall:.1f}x"
        print(
            f"{n:>6} | {cold.wall:7.3f} s | {cold_floor:5.3f} s | {cold.wall / cold_floor:5.2f} | "
            f"{cold.aws_s:5.3f} s | {warm_wall:7.3f} s | {warm_floor:5.3f} s | "
            f"{warm_wall / warm_floor:5.2f} | {warm_aws:5.3f} s | "
            f"{verdict if not ok else 'met':>13} | {tut_wall:>13} | {speedup:>13}"
        )
    print()
    for n, cold, warm, _ in rows:
        w = statistics.median(r.wall - r.aws_s for r in warm)
        pages = math.ceil(n / QUEUE_PAGE_SIZE)
        print(
            f"{n:>4} queues, without the AWS time: cold {cold.wall - cold.aws_s:.3f} s "
            f"({(cold.wall - cold.aws_s) / ((3 + pages) * lat):.2f}x floor; secret+clients "
            f"{cold.secret_s:.3f} s, ledger {cold.ledger_s:.3f} s), warm {w:.3f} s "
            f"({w / ((2 + pages) * lat):.2f}x floor)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
