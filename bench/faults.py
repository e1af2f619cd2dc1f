"""Calls made and mails sent under each injected fault: what a failure costs, and that it never
becomes a duplicate or a lost report.

Every scenario runs the real handler against fresh local stand-ins and a moto server (real HTTP
on 127.0.0.1), injects at most one fault, and counts: Genesys requests, SendGrid requests, report
mails accepted, alert mails accepted, DynamoDB ledger calls, the final status, and the ledger
record.
It also times the ledger's own calls in a normal run (lookup, claim, mark sent) against the local
moto server, to show what the ledger costs.

Usage: python bench/faults.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from gcnotify.aws.ledger import Ledger
from gcnotify.cli.demo import DemoStack, start_stack
from gcnotify.core.errors import RunFailedError
from gcnotify.handlers import report as handler

AGG = "/api/v2/analytics/conversations/aggregates/query"
MAIL = "/v3/mail/send"
EVENT: dict[str, Any] = {"report_date": "2026-11-20", "reports": ["support-daily"]}


def invoke(stack: DemoStack, event: dict[str, Any], **env: str) -> str:
    handler.reset_cold_start()
    try:
        summary = handler.handle(event, environ={**stack.environ, **env})
    except RunFailedError as exc:
        return "failed: " + str(exc).split('"error_type": "')[1].split('"')[0]
    except Exception as exc:  # the scenario table reports whatever happened
        return f"raised {type(exc).__name__}"
    return ",".join(r["status"] for r in summary["reports"])


def ledger_of(stack: DemoStack) -> Ledger:
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url)
    return Ledger(client, stack.environ["GCNOTIFY_LEDGER_TABLE"])


def record(stack: DemoStack) -> str:
    found = ledger_of(stack).lookup("support-daily#2026-11-20")
    return "none" if found is None else f"{found.status} (attempts {found.attempts})"


def count_ledger_calls(stack: DemoStack) -> int:
    state = handler._state
    if state is None or state.seams is None or state.seams.ledger is None:
        return 0
    return state.seams.ledger.calls


Scenario = Callable[[DemoStack], str]


def normal(stack: DemoStack) -> str:
    return invoke(stack, EVENT)


def token_500_then_ok(stack: DemoStack) -> str:
    stack.genesys.fail_next("/oauth/token", 500)
    return invoke(stack, EVENT)


def aggregates_429_then_ok(stack: DemoStack) -> str:
    stack.genesys.fail_next(AGG, 429, headers={"Retry-After": "1"})
    return invoke(stack, EVENT)


def aggregates_500_always(stack: DemoStack) -> str:
    stack.genesys.fail_next(AGG, 500, times=50)
    return invoke(stack, EVENT)


def sendgrid_500_then_202(stack: DemoStack) -> str:
    stack.sendgrid.fail_next(MAIL, 500)
    return invoke(stack, EVENT)


def sendgrid_response_lost(stack: DemoStack) -> str:
    stack.sendgrid.drop_next(MAIL)
    first = invoke(stack, EVENT)
    second = invoke(stack, EVENT)  # what Lambda's async retry would do
    return f"{first} / retry: {second}"


def reinvoke_after_success(stack: DemoStack) -> str:
    invoke(stack, EVENT)
    g, s = stack.genesys.count("/"), stack.sendgrid.count("/")
    status = invoke(stack, EVENT)
    genesys, sendgrid = stack.genesys.count("/") - g, stack.sendgrid.count("/") - s
    return f"{status} (2nd run: {genesys} Genesys, {sendgrid} SendGrid calls)"


def ledger_table_missing(stack: DemoStack) -> str:
    return invoke(stack, EVENT, GCNOTIFY_LEDGER_TABLE="missing-table")


def crash_between_fetch_and_send(stack: DemoStack) -> str:
    from gcnotify.reports.render import Renderer

    class Died(BaseException):
        pass

    original = Renderer.render_report

    def die(*args: object, **kwargs: object) -> None:
        raise Died

    Renderer.render_report = die  # type: ignore[method-assign,assignment]
    try:
        first = invoke(stack, EVENT)
    except Died:
        first = "process died"
    finally:
        Renderer.render_report = original  # type: ignore[method-assign]
    return f"{first} / next run: {invoke(stack, EVENT)}"


def stale_claim(stack: DemoStack) -> str:
    claimed = datetime(2026, 11, 21, tzinfo=UTC)
    ledger_of(stack).claim(
        "support-daily#2026-11-20",
        owner="x",
        now=claimed,
        lease_until=claimed + timedelta(minutes=5),
    )
    return invoke(stack, EVENT)


SCENARIOS: list[tuple[str, Scenario]] = [
    ("normal run", normal),
    ("token endpoint 500, then OK", token_500_then_ok),
    ("aggregates 429 Retry-After: 1, then OK", aggregates_429_then_ok),
    ("aggregates 500 on every try", aggregates_500_always),
    ("SendGrid 500, then 202", sendgrid_500_then_202),
    ("SendGrid accepted, response lost", sendgrid_response_lost),
    ("re-invoked after success", reinvoke_after_success),
    ("ledger table unavailable", ledger_table_missing),
    ("crash between fetch and send", crash_between_fetch_and_send),
    ("claim left by a crashed run", stale_claim),
]


def ledger_overhead(work: Path, runs: int = 50) -> tuple[float, int]:
    """Median wall time of the ledger's own calls in one normal run (lookup, claim, mark_sent),
    against the local moto server; a whole run's time is too noisy to show a few ms."""
    samples = []
    with start_stack(work / "overhead", queue_count=1) as stack:
        ledger = ledger_of(stack)
        now = datetime(2026, 11, 23, 11, tzinfo=UTC)
        for i in range(runs):
            day = date(2026, 1, 1) + timedelta(days=i)
            t0 = time.perf_counter()
            key = f"r#{day.isoformat()}"
            ledger.lookup(key)
            ledger.claim(key, owner="bench", now=now, lease_until=now + timedelta(minutes=5))
            ledger.mark_sent(
                key,
                owner="bench",
                now=now,
                message_id="m",
                attributes={"recipients": ["a@example.com"], "report_status": "sent"},
            )
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000, ledger.calls // runs


def main() -> int:
    print(
        "Each scenario runs report support-daily for 2026-11-20 (12 queues, alerts on) against "
        "fresh local stand-ins and moto,\nwith at most one fault injected. status: the report's "
        "status, or 'failed: <error type>' when the invocation\nraised (Lambda counts an error); "
        "calls: every request the stand-ins received in the scenario, retries included;\n"
        "mails: what SendGrid accepted; ledger calls: the DynamoDB requests of the scenario's last "
        "run;\nledger record: the send key's record afterwards.\n\n"
        "scenario | status | Genesys calls | SendGrid calls | report mails | alert mails | "
        "ledger calls | ledger record"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i, (name, scenario) in enumerate(SCENARIOS):
            with start_stack(work / str(i), queue_count=12) as stack:
                for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
                    os.environ[key] = stack.environ[key]
                status = scenario(stack)
                reports = [
                    m for m in stack.sendgrid.messages if not m.custom_args.get("gcnotify_alert")
                ]
                alerts = len(stack.sendgrid.messages) - len(reports)
                calls = f"{stack.genesys.count('/')} | {stack.sendgrid.count('/')}"
                ledger = f"{count_ledger_calls(stack)} (last run) | {record(stack)}"
                print(
                    f"{name} | {status} | {calls} | {len(reports)} | {alerts} | {ledger}",
                    flush=True,
                )
                handler.reset_cold_start()
        ledger_ms, calls = ledger_overhead(work)
    print(
        f"\nledger cost of a normal run: {calls} DynamoDB calls (GetItem, 2 x UpdateItem), "
        f"median {ledger_ms:.1f} ms together against the local moto server (50 runs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
