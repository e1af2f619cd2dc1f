"""``gcnotify demo``: the nightly report, end to end, with no account anywhere.

Starts the local Genesys and SendGrid stand-ins and a moto server (Secrets Manager) on 127.0.0.1,
stores demo credentials in that Secrets Manager, writes a demo config naming the stand-in's
queues, then invokes the real Lambda handler code path with a Scheduler-shaped event. What the
SendGrid stand-in received is written to ``out/`` as ``.html``, ``.txt`` and ``.eml``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from gcnotify.core.model import Queue

__all__ = ["DemoStack", "demo_queues", "run_demo", "start_stack"]

# Realistic queue names; the last one checks escaping end to end.
_NAMES = [
    "Support",
    "Billing",
    "Sales",
    "Claims",
    "Retention",
    "Tech Support Tier 2",
    "Collections",
    "Onboarding",
    "VIP Care",
    "Returns",
    "Spanish Support",
    'Partners & "Resellers"',
]

DEMO_CLIENT_ID = "demo-client-id"
DEMO_LEDGER_TABLE = "gcnotify-demo-ledger"
DEMO_SECRET_ID = "gcnotify/demo-credentials"  # noqa: S105 - a name, not a value


def demo_queues(count: int) -> list[Queue]:
    """``count`` queues with stable ids; names past the list get a number."""
    queues = []
    for i in range(count):
        name = _NAMES[i] if i < len(_NAMES) else f"Queue {i + 1:03d}"
        queues.append(Queue(id=f"00000000-0000-4000-8000-{i + 1:012d}", name=name))
    return queues


@dataclass
class DemoStack:
    """The running local servers and the environment that points gcnotify at them."""

    genesys: Any
    sendgrid: Any
    moto_url: str
    environ: dict[str, str]


def _demo_secret() -> dict[str, str]:
    # Random per run: these are stand-in credentials, but they still never get printed.
    import secrets as pysecrets

    return {
        "genesys_client_id": DEMO_CLIENT_ID,
        "genesys_client_secret": pysecrets.token_urlsafe(24),
        "sendgrid_api_key": "SG." + pysecrets.token_urlsafe(16) + "." + pysecrets.token_urlsafe(32),
    }


STANDUP_REPORT = "support-standup"
QUEUE_REPORTS = ("support-daily", "support-hourly")


def _standup_report(queues: list[Queue]) -> dict[str, Any]:
    """A standup pack over the first four queues, PDF and XLSX, Architect holidays."""
    return {
        "id": STANDUP_REPORT,
        "kind": "standup",
        "title": "Support standup",
        "timezone": "America/Chicago",
        "window": "previous_business_day",
        "holidays": {"country": "US", "genesys_schedule_group": "Support Hours"},
        "queues": [q.name for q in queues[:4]],
        "recipients": {"to": ["support-supervisors@example.com"]},
        "standup": {
            "intervals": "PT30M",
            "attachments": ["pdf", "xlsx"],
            "agents": {"occupancy": True},
        },
    }


def write_demo_config(path: Path, queues: list[Queue], *, standup: bool = False) -> None:
    """A config with a daily report over all queues and an hourly one over three (and, with
    ``standup``, a standup pack)."""
    config = {
        "genesys": {"environment": "mypurecloud.com"},
        "sendgrid": {
            "from": {"email": "reports@example.com", "name": "Contact Center Reports"},
            "reply_to": {"email": "cc-ops@example.com"},
        },
        "secret_id": DEMO_SECRET_ID,
        "alerts": {"to": ["cc-ops@example.com"]},
        "reports": [
            {
                "id": "support-daily",
                "title": "Contact center queues",
                "timezone": "America/New_York",
                "window": "previous_business_day",
                "holidays": {"country": "US", "subdivision": "NY"},
                "queues": [q.name for q in queues],
                "metrics": [
                    "offered",
                    "answered",
                    "handled",
                    "abandoned",
                    "abandon_rate",
                    "aht",
                    "asa",
                    "service_level",
                ],
                "recipients": {
                    "to": ["supervisor@example.com"],
                    "cc": ["cc-ops@example.com", "Supervisor@example.com"],
                },
            },
            {
                "id": "support-hourly",
                "title": "Support — hour by hour",
                "timezone": "America/New_York",
                "window": "yesterday",
                "send_on_non_business_days": True,
                "queues": [q.name for q in queues[:3]],
                "metrics": ["offered", "answered", "abandon_rate", "aht", "asa", "service_level"],
                "interval": "PT1H",
                "recipients": {"to": ["team-leads@example.com"]},
            },
        ],
    }
    if standup:
        config["reports"].append(_standup_report(queues))  # type: ignore[attr-defined]
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


# The ports `gcnotify demo --serve` uses, matching env.json (Genesys, SendGrid, moto).
SERVE_PORTS = (8101, 8102, 5000)


@contextmanager
def start_stack(
    workdir: Path,
    *,
    queue_count: int = 12,
    latency_ms: float = 0.0,
    ports: tuple[int, int, int] = (0, 0, 0),
    standup: bool = False,
    moto_url: str | None = None,
) -> Iterator[DemoStack]:
    """Start the stand-ins and moto, store the secret, write the config; stop on exit.

    Port 0 (the default) picks free ports; the servers listen on 127.0.0.1 only. ``moto_url``:
    a moto server already running (in its own process, for a benchmark), reset and used instead.
    """
    import boto3
    import requests

    from gcnotify.aws.ledger import create_ledger_table
    from gcnotify.devserver.genesys_server import GenesysStandIn
    from gcnotify.devserver.sendgrid_server import SendGridStandIn

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    queues = demo_queues(queue_count)
    secret = _demo_secret()
    genesys = GenesysStandIn(
        queues,
        client_id=secret["genesys_client_id"],
        client_secret=secret["genesys_client_secret"],
        port=ports[0],
    )
    sendgrid = SendGridStandIn(api_key=secret["sendgrid_api_key"], port=ports[1])
    genesys.latency = sendgrid.latency = latency_ms / 1000.0
    from gcnotify.devserver.moto_server import SerializedMotoServer

    moto = SerializedMotoServer(port=ports[2]) if moto_url is None else None
    genesys.start()
    sendgrid.start()
    if moto is not None:
        moto.start()
    try:
        url: str = moto.url if moto is not None else str(moto_url)
        # moto keeps its state per process: start every stack from an empty account.
        requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
        aws = {
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        session = boto3.session.Session(
            aws_access_key_id="demo",
            aws_secret_access_key="demo",  # noqa: S106 - moto accepts any key
            region_name="us-east-1",
        )
        session.client("secretsmanager", endpoint_url=url).create_secret(
            Name=DEMO_SECRET_ID, SecretString=json.dumps(secret)
        )
        create_ledger_table(session.client("dynamodb", endpoint_url=url), DEMO_LEDGER_TABLE)
        workdir.mkdir(parents=True, exist_ok=True)
        config_path = workdir / "demo-gcnotify.yaml"
        write_demo_config(config_path, queues, standup=standup)
        environ = {
            **aws,
            "GCNOTIFY_CONFIG": str(config_path),
            "GCNOTIFY_SECRET_ID": DEMO_SECRET_ID,
            "GCNOTIFY_GENESYS_LOGIN_URL": genesys.url,
            "GCNOTIFY_GENESYS_API_URL": genesys.url,
            "GCNOTIFY_SENDGRID_API_URL": sendgrid.url,
            "GCNOTIFY_LEDGER_TABLE": DEMO_LEDGER_TABLE,
            "AWS_ENDPOINT_URL": url,
        }
        yield DemoStack(genesys=genesys, sendgrid=sendgrid, moto_url=url, environ=environ)
    finally:
        genesys.close()
        sendgrid.close()
        if moto is not None:
            moto.stop()


def run_demo(
    *,
    out: Path,
    queues: int = 12,
    latency_ms: float = 0.0,
    serve: bool = False,
    which: str = "all",
) -> int:
    """Run the scheduled job once against the local stack and write what was sent.

    ``which``: ``report`` (the queue reports), ``standup`` (the standup pack) or ``all``.
    """
    from gcnotify.handlers import report as handler
    from gcnotify.reports.outputs import write_outputs

    ports = SERVE_PORTS if serve else (0, 0, 0)
    with_standup = which in ("standup", "all")
    with start_stack(
        out, queue_count=queues, latency_ms=latency_ms, ports=ports, standup=with_standup
    ) as stack:
        # boto3 reads credentials and region from the process environment.
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = stack.environ[key]
        if serve:
            return _serve(stack)
        handler.reset_cold_start()
        scheduled = datetime.now(UTC).replace(hour=11, minute=0, second=0, microsecond=0)
        event: dict[str, Any] = {
            "scheduled_time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "execution_id": "demo",
        }
        if which != "all":
            event["reports"] = [STANDUP_REPORT] if which == "standup" else list(QUEUE_REPORTS)
        try:
            summary = handler.handle(event, environ=stack.environ)
        finally:
            handler.reset_cold_start()
        print(f"Scheduled run for {event['scheduled_time']} (EventBridge Scheduler event):")
        for entry in summary["reports"]:
            window = entry["window"] or {}
            print(
                f"  {entry['report']}: {entry['status']} for business date "
                f"{entry['business_date']} [{window.get('start')} .. {window.get('end')}], "
                f"{entry['recipients']} recipient(s), {entry['genesys_api_calls']} Genesys calls, "
                f"SendGrid message id {entry['sendgrid_message_id']}"
            )
        print("Emails received by the local SendGrid stand-in, written to:")
        for message in stack.sendgrid.messages:
            body = message.body
            custom = {
                **body.get("custom_args", {}),
                **body["personalizations"][0].get("custom_args", {}),
            }
            report_id = custom.get("gcnotify_report_id", "mail")
            stem = f"{report_id}-{custom.get('gcnotify_business_date', 'undated')}"
            for path in write_outputs(out, stem, body):
                print(f"  {path}")
    return 0


def _serve(stack: DemoStack) -> int:
    """Keep the stack up for `sam local invoke --env-vars env.json`; say how to use it."""
    from gcnotify.runtime.settings import ENV_VARS

    # The bundled gcnotify.yaml is what sam local invoke uses, so GCNOTIFY_CONFIG stays unset.
    keep = [name for name in ENV_VARS if name != "GCNOTIFY_CONFIG" and name in stack.environ]
    print("Local Genesys, SendGrid and AWS (moto) stand-ins are running on 127.0.0.1:")
    for key in keep:
        print(f"  {key}={stack.environ[key]}")
    print("env.json points sam local invoke at these ports through host.docker.internal;")
    print("on Linux use --docker-network host and 127.0.0.1 instead (see docs/DEPLOY.md):")
    print("  AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1 \\")
    print("    sam local invoke ReportFunction -e events/dry_run.json --env-vars env.json")
    print("From this machine, in another shell (gcnotify run takes them from the environment):")
    exports = " ".join(f"{key}={stack.environ[key]}" for key in keep)
    print(f"  export {exports} AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo")
    print("  export AWS_DEFAULT_REGION=us-east-1")
    print("  .venv/bin/gcnotify run --date 2026-11-20 --dry-run --out out/")
    print("Press Ctrl-C to stop.")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
