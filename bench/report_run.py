"""API calls and wall time of one report run: gcnotify, and a naive per-queue loop to compare.

Runs against the local stand-ins (real HTTP on 127.0.0.1) with injected latency per Genesys and
SendGrid request (default 80 ms), for 10, 50 and 200 queues, report `support-daily` of the demo
config (America/New_York, holidays US-NY):

- gcnotify cold: `handler.handle` in a new container (config, secret, boto3 clients, Genesys
  token, queue lookup pages, 1 aggregates query, render, 1 send, send-ledger calls; from the
  artifact, holidays come from its precomputed table and `holidays` is never imported: checked);
- gcnotify warm: the same container's next 3 invocations (token and clients reused);
- the per-queue loop a naive script would write, for comparison: token, then one aggregates
  query per queue id, 100 ms apart, then one send;
- a cold start as Lambda runs it: a fresh interpreter per run, timing INIT (`import
  gcnotify.handlers.report`) and the first invocation with all it imports on first use
  (--rounds runs).

Each invocation reports a business date not sent before (as a nightly run does: ledger lookup,
claim, mark sent), starting at 2026-11-20 and going back over business days; --rounds (default 3)
cold starts per queue count, each followed by 3 warm invocations; the tables show medians. The
stand-in's synthetic traffic for those days is generated before timing (`prewarm`), and Python
modules are imported before timing (their cost is bench/cold_start.py's subject).

The stand-ins and moto run in a separate process (bench/stack_process.py), as real APIs do, so
they share neither the GIL nor the garbage collector with the code measured.
Secrets Manager and DynamoDB are a local moto server without injected latency: their time is
measured (with boto3 client creation) and shown apart, as is the stand-ins' own processing time;
both are inside the wall time. The round-trip floor is the time the network alone needs: the
Genesys and SendGrid round trips of a run, one after another (token when cold, each lookup page,
one aggregates query, one send), cold (3 + lookup pages) x latency, warm (2 + lookup pages) x
latency, where lookup pages = ceil(queues / 100), 100 being the largest page Genesys serves. A
run is expected to take at most 1.5x that floor (column "<= 1.5x floor"): gcnotify's own work,
the AWS calls and the stand-ins' processing together may add half the network time, no more.
gcnotify requests the pages a report's queue count needs at once (up to 4 in flight), so its own
sequential round trips are fewer: 3 + ceil(pages / 4) cold; the tables show the ratio to that
too ("path").

By default the handler runs from the Lambda artifact as `sam build` makes it (built here with
build.mk for this machine's architecture, or --artifact DIR), in an interpreter that has only the
artifact on sys.path, as Lambda's; --from-venv runs it from the development install instead.

Usage: python bench/report_run.py [--latency-ms 80] [--queues 10 50 200] [--rounds 3]
       [--skip-per-queue-loop]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ARTIFACT_ENV = "GCNOTIFY_BENCH_ARTIFACT"  # set in the re-run on the artifact
STACK_PYTHON_ENV = "GCNOTIFY_BENCH_STACK_PYTHON"  # the interpreter with moto and the stand-ins


def _options(argv: list[str] | None = None, *, known_only: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=80.0)
    parser.add_argument("--queues", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--rounds", type=int, default=3, help="cold starts per queue count")
    parser.add_argument(
        "--skip-per-queue-loop",
        dest="skip_tutorial",
        action="store_true",
        help="do not time the naive per-queue loop (one aggregates query per queue, 100 ms apart)",
    )
    parser.add_argument(
        "--stand-in-nagle",
        action="store_true",
        help="leave Nagle's algorithm on in the stand-ins, as src/ has it: their responses then "
        "often stall ~40 ms on a delayed ACK (headers and body are written separately)",
    )
    parser.add_argument(
        "--artifact", type=Path, help="an already built Lambda artifact (default: build one)"
    )
    parser.add_argument(
        "--from-venv",
        action="store_true",
        help="run the handler from this interpreter's packages (every botocore model, templates "
        "compiled at cold start) instead of from the Lambda artifact",
    )
    if known_only:
        return parser.parse_known_args(argv)[0]
    return parser.parse_args(argv)


def _rerun_on_artifact() -> int:
    """This script again, importing what Lambda imports: the built artifact alone on sys.path
    (its trimmed botocore data, precompiled templates and checked-hash .pyc) in an interpreter
    without site-packages; the stand-ins and moto keep running on this interpreter."""
    sys.path.insert(0, str(BENCH))
    import cold_start

    options = _options(known_only=True)
    base = cold_start.find_python312()
    tmp = Path(tempfile.mkdtemp(prefix="gcnotify-bench-"))
    try:
        artifact = options.artifact or tmp / "artifact"
        if options.artifact is None:
            print("building the Lambda artifact (build.mk, as sam build does) ...", flush=True)
            cold_start.build(artifact, base)
        python = cold_start.bare_venv(base, tmp / "venv")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(artifact),
            "LAMBDA_TASK_ROOT": str(artifact),
            "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only
            ARTIFACT_ENV: str(artifact),
            STACK_PYTHON_ENV: sys.executable,
        }
        return subprocess.run([python, __file__, *sys.argv[1:]], env=env, check=False).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__" and ARTIFACT_ENV not in os.environ and "--from-venv" not in sys.argv:
    raise SystemExit(_rerun_on_artifact())

# Imported before any timing: module import cost belongs to bench/cold_start.py.
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import jinja2  # noqa: E402

import gcnotify.reports.render  # noqa: E402
import gcnotify.reports.runner  # noqa: E402 - imported for its import cost only
from gcnotify.aws import ledger, secrets  # noqa: E402
from gcnotify.aws.secrets import parse_secret  # noqa: E402
from gcnotify.cli.demo import demo_queues, write_demo_config  # noqa: E402
from gcnotify.core.calendar import closed_days  # noqa: E402
from gcnotify.core.config import load_config  # noqa: E402
from gcnotify.core.model import ReportConfig  # noqa: E402
from gcnotify.core.windows import ReportWindow, plan_window, run_day_for_report_date  # noqa: E402
from gcnotify.genesys.client import PAGE_WORKERS, QUEUE_PAGE_SIZE, GenesysClient  # noqa: E402
from gcnotify.handlers import report as handler  # noqa: E402
from gcnotify.reports.metrics import genesys_metrics  # noqa: E402
from gcnotify.reports.query import build_aggregates_query  # noqa: E402
from gcnotify.runtime.resources import precomputed_holidays  # noqa: E402
from gcnotify.sendgrid.client import SendGridClient  # noqa: E402

if ARTIFACT_ENV in os.environ:
    _outside = sorted(
        f"{module.__name__} ({module.__file__})"
        for module in (boto3, jinja2, gcnotify.reports.render, sys.modules["botocore"])
        if not str(module.__file__).startswith(os.environ[ARTIFACT_ENV])
    )
    if _outside:
        raise SystemExit(f"imported from outside the artifact: {', '.join(_outside)}")

REPORT = "support-daily"
NAGLE = ["0"]  # "1" with --stand-in-nagle
FIRST_DATE = date(2026, 11, 20)  # a Friday; the per-queue loop reports this one
WARM_PER_COLD = 3
TUTORIAL_GAP_S = 0.1
RATIO_TARGET = 1.5
if ARTIFACT_ENV not in os.environ:
    # The development install has no precomputed holidays table: import the package and its
    # US calendar before timing, as other imports are.
    import holidays

    holidays.country_holidays("US", subdiv="NY", years=2026)


@dataclass
class Timers:
    """Seconds spent in the wrapped functions, whichever thread runs them."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()

    def get(self, label: str) -> float:
        with self._lock:
            return self.seconds.get(label, 0.0)

    def wrap(self, owner: Any, name: str, label: str) -> Callable[[], None]:
        """Time ``owner.name`` under ``label`` (outermost call per thread); returns the undo."""
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._local, label, 0)
            setattr(self._local, label, depth + 1)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                setattr(self._local, label, depth)
                if depth == 0:
                    elapsed = time.perf_counter() - start
                    with self._lock:
                        self.seconds[label] = self.seconds.get(label, 0.0) + elapsed
                        self.calls[label] = self.calls.get(label, 0) + 1

        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


TIMERS = Timers()


def _gc_timer(phase: str, info: dict[str, Any]) -> None:
    """Garbage collection time (it stops every thread, so it is inside the wall time)."""
    now = time.perf_counter()
    if phase == "start":
        TIMERS._local.gc_start = now
    elif (start := getattr(TIMERS._local, "gc_start", None)) is not None:
        with TIMERS._lock:
            TIMERS.seconds["gc"] = TIMERS.seconds.get("gc", 0.0) + (now - start)


@contextmanager
def timed_parts() -> Iterator[None]:
    undo = [
        # boto3 Session, both clients and GetSecretValue (overlapped), once per cold start.
        TIMERS.wrap(handler._ColdStart, "connect", "secret"),
        # Counts GetSecretValue reads (the handler imports it when it needs it).
        TIMERS.wrap(secrets, "load_credentials", "secret_read"),
        # One DynamoDB request each.
        *(TIMERS.wrap(ledger.Ledger, name, "ledger") for name in ("lookup", "claim", "_finish")),
    ]
    gc.callbacks.append(_gc_timer)
    try:
        yield
    finally:
        gc.callbacks.remove(_gc_timer)
        for step in reversed(undo):
            step()


@dataclass(frozen=True)
class Run:
    """One invocation: wall time, what reached each service, and where the time went."""

    wall: float
    genesys: int
    token: int
    pages: int
    sendgrid: int
    ledger_calls: int
    secret_reads: int
    secret_s: float  # boto3 Session, both clients and the Secrets Manager read
    ledger_s: float
    server_s: float
    gc_s: float

    @property
    def aws_s(self) -> float:
        return self.secret_s + self.ledger_s


class RemoteStack:
    """The stand-ins and moto running in bench/stack_process.py, a separate process."""

    def __init__(self, process: subprocess.Popen[str], ready: dict[str, Any]) -> None:
        self._process = process
        self.environ: dict[str, str] = ready["environ"]
        self.moto_url: str = ready["moto_url"]
        self.genesys_url: str = ready["genesys_url"]
        self.sendgrid_url: str = ready["sendgrid_url"]

    def counts(self) -> dict[str, float]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("counts\n")
        self._process.stdin.flush()
        return dict(json.loads(self._process.stdout.readline()))


@contextmanager
def remote_stack(
    work: Path, queues: int, latency_ms: float, days: list[date]
) -> Iterator[RemoteStack]:
    """Start bench/stack_process.py with the stand-in traffic for ``days`` generated; stop it."""
    script = Path(__file__).with_name("stack_process.py")
    dates = ",".join(d.isoformat() for d in days)
    args = [
        os.environ.get(STACK_PYTHON_ENV, sys.executable),
        str(script),
        str(queues),
        str(latency_ms),
        str(work),
        dates,
        "America/New_York",
        NAGLE[0],
    ]
    # The stand-ins run from the development install (moto, jsonschema), not from the artifact.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAMBDA_TASK_ROOT")}
    process = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit("bench/stack_process.py did not start")
        stack = RemoteStack(process, json.loads(line))
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = stack.environ[key]
        yield stack
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=30)


def _counts(stack: RemoteStack) -> tuple[int, int, int, int, float]:
    c = stack.counts()
    return (
        int(c["genesys"]),
        int(c["token"]),
        int(c["pages"]),
        int(c["sendgrid"]),
        float(c["server_s"]),
    )


def _ledger_calls() -> int:
    """``Ledger.calls`` of the handler's cached services (0 before the first cold start)."""
    state = handler._state
    if state is None or state.seams is None or state.seams.ledger is None:
        return 0
    return state.seams.ledger.calls


def _invoke(stack: RemoteStack, day: date) -> Run:
    before = _counts(stack)
    ledger_before = _ledger_calls()
    # The harness (moto, the stand-ins and their synthetic traffic) holds far more objects than
    # a Lambda process; frozen, they do not make gcnotify's garbage collections slower.
    gc.collect()
    gc.freeze()
    TIMERS.reset()
    start = time.perf_counter()
    summary = handler.handle(
        {"report_date": day.isoformat(), "reports": [REPORT]}, environ=stack.environ
    )
    wall = time.perf_counter() - start
    entry = summary["reports"][0]
    if entry["status"] != "sent":
        raise SystemExit(f"report {REPORT} for {day} ended {entry['status']!r}, not 'sent'")
    after = _counts(stack)
    g, token, pages, s = (int(a - b) for a, b in zip(after[:4], before[:4], strict=True))
    server_s = after[4] - before[4]
    if entry["genesys_api_calls"] != g:
        raise SystemExit(f"summary says {entry['genesys_api_calls']} Genesys calls, stand-in {g}")
    return Run(
        wall=wall,
        genesys=g,
        token=token,
        pages=pages,
        sendgrid=s,
        ledger_calls=_ledger_calls() - ledger_before,
        secret_reads=TIMERS.calls.get("secret_read", 0),
        secret_s=TIMERS.get("secret"),
        ledger_s=TIMERS.get("ledger"),
        server_s=server_s,
        gc_s=TIMERS.get("gc"),
    )


def business_days(report: ReportConfig, count: int) -> list[date]:
    """``count`` business days of ``report``, from FIRST_DATE backwards."""
    closed = closed_days(report.holidays, precomputed_holidays())
    days: list[date] = []
    day = FIRST_DATE
    while len(days) < count:
        if day.weekday() in report.business_days and not closed(day):
            days.append(day)
        day -= timedelta(days=1)
    return days


def _demo_report(work: Path, queues: int) -> ReportConfig:
    """The demo config's support-daily report (what the stack process serves)."""
    path = work / f"config-{queues}.yaml"
    write_demo_config(path, demo_queues(queues))
    return load_config(path, holidays=precomputed_holidays()).report(REPORT)


# A cold start as Lambda runs it, in a fresh interpreter: INIT imports the handler module, then
# the first invocation (its lazy imports included) runs one report. Seconds, as one JSON line.
FRESH = """
import json, sys, time
t0 = time.perf_counter()
import gcnotify.handlers.report
t1 = time.perf_counter()
summary = gcnotify.handlers.report.handle(json.loads(sys.argv[1]), environ=json.loads(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"init": t1 - t0, "invoke": t2 - t1, "status": summary["reports"][0]["status"],
                  "holidays": "holidays" in sys.modules}))
"""


@dataclass(frozen=True)
class Fresh:
    init: float
    invoke: float
    holidays_imported: bool


def _fresh_cold_start(stack: RemoteStack, day: date) -> Fresh:
    event = {"report_date": day.isoformat(), "reports": [REPORT]}
    out = subprocess.run(
        [sys.executable, "-c", FRESH, json.dumps(event), json.dumps(stack.environ)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["status"] != "sent":
        raise SystemExit(f"fresh cold start for {day} ended {result['status']!r}, not 'sent'")
    return Fresh(result["init"], result["invoke"], result["holidays"])


def bench_gcnotify(
    queues: int, latency_ms: float, rounds: int, work: Path
) -> tuple[list[Run], list[Run], list[Fresh]]:
    dates = business_days(_demo_report(work, queues), rounds * (2 + WARM_PER_COLD))
    with remote_stack(work / f"g{queues}", queues, latency_ms, dates) as stack:
        days = iter(dates)
        cold: list[Run] = []
        warm: list[Run] = []
        with timed_parts():
            for _ in range(rounds):
                handler.reset_cold_start()  # a new container
                try:
                    cold.append(_invoke(stack, next(days)))
                    warm.extend(_invoke(stack, next(days)) for _ in range(WARM_PER_COLD))
                finally:
                    handler.reset_cold_start()
        gc.unfreeze()
        fresh = [_fresh_cold_start(stack, next(days)) for _ in range(rounds)]
    return cold, warm, fresh


def _fresh_table(rows: list[tuple[int, list[Fresh]]], lat: float) -> None:
    print(
        "A cold start as Lambda runs it: a fresh interpreter per run, INIT = `import "
        "gcnotify.handlers.report`,\nthen the first invocation with everything it imports on first "
        "use "
        "(median of runs; s)"
    )
    head = (
        f"{'queues':>6} | {'INIT':>6} | {'first invocation':>16} | {'INIT + invocation':>17} | "
        f"{'floor':>5} | {'invocation / floor':>18} | holidays imported"
    )
    print(head)
    print("-" * len(head))
    for n, runs in rows:
        floor = (3 + math.ceil(n / QUEUE_PAGE_SIZE)) * lat
        init = statistics.median(r.init for r in runs)
        invoke = statistics.median(r.invoke for r in runs)
        total = statistics.median(r.init + r.invoke for r in runs)
        imported = "yes" if any(r.holidays_imported for r in runs) else "no"
        print(
            f"{n:>6} | {init:6.3f} | {invoke:16.3f} | {total:17.3f} | {floor:5.2f} | "
            f"{invoke / floor:18.2f} | {imported}"
        )


def bench_tutorial(queues: int, latency_ms: float, work: Path) -> tuple[float, int, int]:
    """Token, one aggregates query per queue (ids known, no lookup) 100 ms apart, one send."""
    with remote_stack(work / f"t{queues}", queues, latency_ms, [FIRST_DATE]) as stack:
        config = load_config(stack.environ["GCNOTIFY_CONFIG"], holidays=precomputed_holidays())
        report = config.report(REPORT)
        secret = boto3.client(
            "secretsmanager",
            endpoint_url=stack.moto_url,
            region_name="us-east-1",
            aws_access_key_id="demo",
            aws_secret_access_key="demo",  # noqa: S106 - moto accepts any key
        ).get_secret_value(SecretId=stack.environ["GCNOTIFY_SECRET_ID"])["SecretString"]
        creds = parse_secret("demo", secret)
        window = plan_window(
            report, run_day_for_report_date(FIRST_DATE), lambda _: False, explicit_date=True
        )
        assert isinstance(window, ReportWindow)
        mail = {
            "personalizations": [{"to": [{"email": "supervisor@example.com"}]}],
            "from": {"email": "reports@example.com"},
            "subject": f"Queue report {FIRST_DATE.isoformat()}",
            "content": [{"type": "text/plain", "value": "one line per queue"}],
        }
        gc.collect()
        gc.freeze()
        start = time.perf_counter()
        client = GenesysClient(
            login_url=stack.genesys_url,
            api_url=stack.genesys_url,
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
        SendGridClient(creds.sendgrid_api_key, stack.sendgrid_url).send(mail)
        wall = time.perf_counter() - start
        gc.unfreeze()
        counts = stack.counts()
        return wall, int(counts["genesys"]), int(counts["sendgrid"])


def _median_run(runs: list[Run]) -> Run:
    """The run with the median wall time (its parts add up, unlike medians of each part)."""
    return sorted(runs, key=lambda r: r.wall)[(len(runs) - 1) // 2]


def _calls_table(rows: list[tuple[int, list[Run], list[Run], Any]]) -> None:
    print(
        "API calls per report run (Genesys = token + queue pages + aggregates queries); "
        "floor calls = 1 token (cold) + pages + 1 query + 1 send;\n'calls = floor' says whether "
        "every run made exactly those; per-queue G+S = the naive per-queue loop's Genesys + "
        "SendGrid calls"
    )
    head = (
        f"{'queues':>6} | {'pages':>5} | {'cold Genesys':>14} | {'warm Genesys':>12} | "
        f"{'SendGrid c/w':>12} | {'floor calls c/w':>15} | {'calls = floor':>13} | "
        f"{'ledger c/w':>10} | {'secret c/w':>10} | {'per-queue G+S':>13}"
    )
    print(head)
    print("-" * len(head))
    for n, cold, warm, tutorial in rows:
        pages = math.ceil(n / QUEUE_PAGE_SIZE)
        c, w = cold[0], warm[0]
        same = all(
            (r.genesys, r.token, r.pages, r.sendgrid, r.ledger_calls, r.secret_reads)
            == (x.genesys, x.token, x.pages, x.sendgrid, x.ledger_calls, x.secret_reads)
            for runs, x in ((cold, c), (warm, w))
            for r in runs
        )
        ok = same and (c.token, c.pages, c.genesys, c.sendgrid) == (1, pages, 2 + pages, 1)
        ok = ok and (w.token, w.pages, w.genesys, w.sendgrid) == (0, pages, 1 + pages, 1)
        cold_g = f"{c.genesys} = {c.token}+{c.pages}+{c.genesys - c.token - c.pages}"
        warm_g = f"{w.genesys} = {w.token}+{w.pages}+{w.genesys - w.token - w.pages}"
        tut = "-" if tutorial is None else f"{tutorial[1]}+{tutorial[2]}"
        print(
            f"{n:>6} | {pages:>5} | {cold_g:>14} | {warm_g:>12} | "
            f"{f'{c.sendgrid} / {w.sendgrid}':>12} | {f'{3 + pages} / {2 + pages}':>15} | "
            f"{'yes' if ok else 'NO':>13} | {f'{c.ledger_calls} / {w.ledger_calls}':>10} | "
            f"{f'{c.secret_reads} / {w.secret_reads}':>10} | {tut:>13}"
        )


def _path_trips(pages: int) -> int:
    """Sequential lookup round trips in gcnotify: its pages go out together, 4 at a time."""
    return math.ceil(pages / PAGE_WORKERS)


def _time_table(rows: list[tuple[int, list[Run], list[Run], Any]], lat: float) -> None:
    print(
        f"Wall time of one report run, s (median run). floor = Genesys+SendGrid round trips x "
        f"{lat * 1000:.0f} ms (token when cold, lookup pages one after another, 1 query, 1 send);\n"
        "path = wall / gcnotify's own sequential round trips (its lookup pages go out together);\n"
        "AWS = boto3 Session and clients, secret read, ledger calls (local moto, no injected "
        "latency); stand-in = the stand-ins' own processing;\n"
        "rest = wall - floor - AWS - stand-in (gcnotify's own work, HTTP client, loopback);\n"
        "<= 1.5x floor: whether the median run stayed within 1.5x its floor; loop = the naive "
        "per-queue loop (one aggregates query per queue, 100 ms apart): its wall, s, and that "
        "wall / gcnotify's cold and warm walls"
    )
    head = (
        f"{'queues':>6} | {'cold wall':>9} {'floor':>5} {'ratio':>5} {'path':>5} {'AWS':>5} "
        f"{'stand-in':>8} {'rest':>6} | {'warm wall':>9} {'floor':>5} {'ratio':>5} {'path':>5} "
        f"{'AWS':>5} {'stand-in':>8} {'rest':>6} | {'<= 1.5x floor':>16} | "
        f"{'loop':>8} {'/cold':>5} {'/warm':>5}"
    )
    print(head)
    print("-" * len(head))
    for n, cold, warm, tutorial in rows:
        pages = math.ceil(n / QUEUE_PAGE_SIZE)
        cells, verdicts = [], []
        picked = (
            ("cold", _median_run(cold), 3 + pages, 3 + _path_trips(pages)),
            ("warm", _median_run(warm), 2 + pages, 2 + _path_trips(pages)),
        )
        for kind, run, trips, path_trips in picked:
            floor = trips * lat
            rest = run.wall - floor - run.aws_s - run.server_s
            cells.append(
                f"{run.wall:9.3f} {floor:5.2f} {run.wall / floor:5.2f} "
                f"{run.wall / (path_trips * lat):5.2f} {run.aws_s:5.3f} {run.server_s:8.3f} "
                f"{rest:6.3f}"
            )
            verdicts.append(f"{kind} {'ok' if run.wall <= RATIO_TARGET * floor else 'NO'}")
        if tutorial is None:
            tut = f"{'-':>8} {'-':>5} {'-':>5}"
        else:
            tut = (
                f"{tutorial[0]:8.3f} {tutorial[0] / picked[0][1].wall:4.0f}x "
                f"{tutorial[0] / picked[1][1].wall:4.0f}x"
            )
        print(f"{n:>6} | {cells[0]} | {cells[1]} | {', '.join(verdicts):>16} | {tut}")
    print()
    print(
        "Details: ratio to the floor without the local AWS time and the stand-ins' processing = "
        "(wall - AWS - stand-in) / floor, median of runs;\nGC = garbage collection inside the "
        "median run (in the wall time; harness objects frozen); all walls, in run order"
    )
    for n, cold, warm, _ in rows:
        pages = math.ceil(n / QUEUE_PAGE_SIZE)
        parts = []
        for kind, runs, trips in (("cold", cold, 3 + pages), ("warm", warm, 2 + pages)):
            own = statistics.median(r.wall - r.aws_s - r.server_s for r in runs)
            parts.append(f"{kind} {own / (trips * lat):.2f}x")
        c, w = _median_run(cold), _median_run(warm)
        print(
            f"  {n:>4} queues: {', '.join(parts)}; cold AWS = Session, 2 clients and secret read "
            f"{c.secret_s:.3f} s + {c.ledger_calls} ledger calls {c.ledger_s:.3f} s; "
            f"GC cold {c.gc_s:.3f} s, warm {w.gc_s:.3f} s;\n"
            f"        cold walls {', '.join(f'{r.wall:.3f}' for r in cold)}; "
            f"warm walls {', '.join(f'{r.wall:.3f}' for r in warm)}"
        )


def main() -> int:
    args = _options()
    if args.stand_in_nagle:
        NAGLE[0] = "1"
    source = (
        f"the Lambda artifact {os.environ[ARTIFACT_ENV]}"
        if ARTIFACT_ENV in os.environ
        else "this interpreter's packages (--from-venv)"
    )
    print(f"handler imported from {source}")
    print(
        f"latency injected per Genesys/SendGrid request: {args.latency_ms:.0f} ms; Python "
        f"{sys.version.split()[0]}; {args.rounds} cold starts x {WARM_PER_COLD} warm invocations "
        "per queue count; stand-ins and moto in a separate process; stand-ins with TCP_NODELAY: "
        f"{'no (--stand-in-nagle)' if args.stand_in_nagle else 'yes'}"
    )
    rows = []
    fresh_rows: list[tuple[int, list[Fresh]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in args.queues:
            cold, warm, fresh = bench_gcnotify(n, args.latency_ms, args.rounds, work)
            fresh_rows.append((n, fresh))
            tutorial = None if args.skip_tutorial else bench_tutorial(n, args.latency_ms, work)
            rows.append((n, cold, warm, tutorial))
    if ARTIFACT_ENV in os.environ and "holidays" in sys.modules:
        raise SystemExit("the artifact's precomputed holidays were not used: holidays got imported")
    print()
    _calls_table(rows)
    print()
    _time_table(rows, args.latency_ms / 1000)
    print()
    _fresh_table(fresh_rows, args.latency_ms / 1000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
