"""The SendGrid Event Webhook on this machine: events per second verified, and applied.

Three measurements, each printed as a Markdown table:

1. **Signature alone**: one POST of ``--batch`` events (the stand-in's events, compact JSON with
   the trailing CR LF, about 400 bytes an event), signed with a test key, checked ``--rounds``
   times by ``sendgrid/webhook.py``'s ``SignatureVerifier`` (key loaded once per container), and
   parsed by ``parse_events``. Next to it the naive way, which is how the official library's
   helper is used per request: a new ``EventWebhook(key)`` each POST (PEM-wrap the key, load it),
   the body decoded to ``str`` and encoded again, then the same ``verify``.
2. **The handler against moto**: ``--messages`` notification emails recorded as sent (in the
   ``awaiting`` index, as the sender leaves them) on a moto server in its own process (one request
   at a time, as ``devserver/moto_server.py`` serves); their processed and delivered events (every
   20th a hard bounce instead) in signed POSTs of ``--batch``, each handed to
   ``handlers/sendgrid_webhook.handle`` as Lambda's function URL event; then the first two POSTs
   again (SendGrid's retries: every event a duplicate). With the handler's 8 workers, and with 1
   (each event in turn, the naive loop). Columns: events, wall seconds, events per second, and a
   POST's time p50 / max (what SendGrid waits for its 2xx).
3. **Cold start**: in fresh interpreters (this venv, median of ``--runs``), the milliseconds
   ``import gcnotify.handlers.sendgrid_webhook`` adds after ``import boto3``, and what the first
   POST's key load adds on top: ``cryptography``'s import plus loading the key, which the handler
   does once per container.

Usage: python bench/webhook_throughput.py [--messages 1000] [--batch 500] [--rounds 200]
       [--runs 9] [--skip-handler]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from gcnotify.devserver.sendgrid_events import (
    WebhookKey,
    encode_batch,
    events_for,
    signed_headers,
)
from gcnotify.devserver.sendgrid_server import StoredMessage

REGION = "us-east-1"


def stored(n: int) -> StoredMessage:
    """One notification email the SendGrid stand-in would have accepted."""
    return StoredMessage(
        message_id=f"bench{n:07d}xmid",
        body={
            "personalizations": [{"to": [{"email": f"person{n}@example.com"}]}],
            "from": {"email": "notify@example.com"},
            "subject": "Following up on your chat",
            "content": [{"type": "text/plain", "value": "Hello"}],
            "custom_args": {"gcnotify_key": f"bench:{n}", "gcnotify_template": "chat-followup"},
        },
        received_at=datetime.now(UTC),
    )


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# ---------------------------------------------------------------------------- 1. signature alone


def signature_alone(batch: int, rounds: int) -> list[str]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from gcnotify.sendgrid.webhook import SignatureVerifier, parse_events

    key = WebhookKey()
    start = int(time.time()) - 600
    messages = [stored(n) for n in range(batch // 2)]
    events = events_for(messages, start=start)[:batch]
    body = encode_batch(events)
    stamp = int(time.time())
    headers = signed_headers(key, body, stamp)
    lower = {k.lower(): v for k, v in headers.items()}
    now = datetime.fromtimestamp(stamp, UTC)
    verifier = SignatureVerifier(key.public_key_b64)

    def ours() -> None:
        assert verifier.check(lower, body, now=now) is None

    def parsed() -> None:
        assert len(getattr(parse_events(body), "events", ())) == len(events)

    signature = lower["x-twilio-email-event-webhook-signature"]

    def naive() -> None:
        # sendgrid.EventWebhook(key).verify_signature(payload_str, signature, timestamp), inlined.
        pem = "-----BEGIN PUBLIC KEY-----\n" + key.public_key_b64 + "\n-----END PUBLIC KEY-----"
        public = serialization.load_pem_public_key(pem.encode("utf-8"))
        assert isinstance(public, ec.EllipticCurvePublicKey)
        payload = body.decode("utf-8")
        public.verify(
            base64.b64decode(signature),
            (str(stamp) + payload).encode("utf-8"),
            ec.ECDSA(hashes.SHA256()),
        )

    rows = []
    for name, fn in (
        ("gcnotify: SignatureVerifier.check (key loaded once)", ours),
        ("naive: key loaded and body decoded per POST", naive),
        ("gcnotify: parse_events (json.loads, events kept)", parsed),
    ):
        fn()
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        per_post = statistics.median(samples)
        rows.append(
            f"| {name} | {len(body) / 1024:,.0f} kB | {per_post * 1000:.3f} | "
            f"{len(events) / per_post:,.0f} |"
        )
    return [
        f"{len(events)} events per POST, {rounds} rounds, median",
        "| step | POST body | ms per POST | events per second |",
        "|---|---:|---:|---:|",
        *rows,
    ]


# ---------------------------------------------------------------------------- 2. the handler


def serve() -> int:
    """moto in this (child) process until standard input closes."""
    import logging

    from gcnotify.devserver.moto_server import SerializedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = SerializedMotoServer()
    moto.start()
    print(json.dumps({"moto": moto.url}), flush=True)
    sys.stdin.read()
    moto.stop()
    return 0


def _session() -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - moto's, any value does
        region_name=REGION,
    )


def seed(moto_url: str, messages: int, suffix: str) -> dict[str, str]:
    """Fresh tables holding ``messages`` sent emails; the handler's environment names them."""
    import requests

    from gcnotify.aws.ledger import create_ledger_table
    from gcnotify.aws.messages import create_messages_table
    from gcnotify.aws.suppression import create_suppression_table

    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    dynamodb = _session().client("dynamodb", endpoint_url=moto_url)
    names = {k: f"{k}-{suffix}" for k in ("ledger", "messages", "suppression")}
    create_ledger_table(dynamodb, names["ledger"])
    create_messages_table(dynamodb, names["messages"])
    create_suppression_table(dynamodb, names["suppression"])
    base = datetime.now(UTC) - timedelta(hours=1)
    items = []
    for n in range(messages):
        when = (base + timedelta(milliseconds=n)).isoformat()
        items.append(
            {
                "pk": {"S": f"bench:{n}"},
                "status": {"S": "sent"},
                "channel": {"S": "email"},
                "template": {"S": "chat-followup"},
                "address": {"S": f"person{n}@example.com"},
                "created_at": {"S": when},
                "updated_at": {"S": when},
                "version": {"N": "3"},
                "history": {"L": []},
                "expires_at": {"N": str(int(time.time()) + 86_400)},
                "message_id": {"S": f"bench{n:07d}xmid"},
                "provider": {"S": "sendgrid"},
                "awaiting": {"S": "sendgrid"},
                "awaiting_since": {"S": when},
                "send_by": {"S": (base + timedelta(days=1)).isoformat()},
            }
        )
    for start in range(0, len(items), 25):
        chunk = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={names["messages"]: chunk})
    return {
        "GCNOTIFY_LEDGER_TABLE": names["ledger"],
        "GCNOTIFY_MESSAGES_TABLE": names["messages"],
        "GCNOTIFY_SUPPRESSION_TABLE": names["suppression"],
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
    }


def fn_event(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def handler_run(moto_url: str, messages: int, batch: int, workers: int, workdir: Path) -> list[str]:
    import os

    from gcnotify.handlers import sendgrid_webhook as webhook

    key = WebhookKey()
    config = workdir / f"webhook-{workers}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "genesys": {"environment": "mypurecloud.com"},
                "sendgrid": {
                    "from": {"email": "notify@example.com"},
                    "webhook_public_key": key.public_key_b64,
                },
                "messaging": {},
            }
        ),
        encoding="utf-8",
    )
    environ = {**seed(moto_url, messages, f"w{workers}"), "GCNOTIFY_CONFIG": str(config)}
    os.environ.update({k: v for k, v in environ.items() if k.startswith("AWS_")})
    start = int(time.time()) - 900
    outcomes: dict[str, Any] = {f"person{n}@example.com": "bounce" for n in range(0, messages, 20)}
    events = events_for([stored(n) for n in range(messages)], start=start, outcomes=outcomes)
    posts = [events[i : i + batch] for i in range(0, len(events), batch)]
    webhook.reset()
    targets = webhook._cold_start(environ).targets()
    targets.workers = workers
    seams = [targets.events, targets.store, targets.suppression, targets.ledger]

    def run(chunks: list[list[dict[str, Any]]]) -> tuple[float, list[float], dict[str, int]]:
        times: list[float] = []
        totals: dict[str, int] = {"calls": -sum(s.calls for s in seams if s is not None)}
        t0 = time.perf_counter()
        for chunk in chunks:
            body = encode_batch(chunk)
            event = fn_event(body, signed_headers(key, body, int(time.time())))
            p0 = time.perf_counter()
            answer = webhook.handle(event, environ=environ)
            times.append(time.perf_counter() - p0)
            assert answer["statusCode"] == 200, answer["body"]
            for name, value in json.loads(answer["body"]).items():
                if isinstance(value, int):
                    totals[name] = totals.get(name, 0) + value
        totals["calls"] += sum(s.calls for s in seams if s is not None)
        return time.perf_counter() - t0, times, totals

    rows = []
    for label, chunks in (("first delivery", posts), ("retried POSTs (duplicates)", posts[:2])):
        wall, times, totals = run(chunks)
        count = sum(len(c) for c in chunks)
        rows.append(
            f"| {workers} | {label} | {count:,} | {wall:,.1f} | {count / wall:,.0f} | "
            f"{median_ms(times):,.0f} / {max(times) * 1000:,.0f} | {totals.get('recorded', 0):,} "
            f"| {totals.get('duplicates', 0):,} | {totals.get('suppressed', 0):,} | "
            f"{totals['calls'] / count:.2f} |"
        )
    webhook.reset()
    return rows


# ---------------------------------------------------------------------------- 3. cold start

COLD = """
import sys, time
import boto3
t0 = time.perf_counter()
import gcnotify.handlers.sendgrid_webhook
t1 = time.perf_counter()
loaded = "cryptography" in sys.modules
from gcnotify.sendgrid.webhook import SignatureVerifier
SignatureVerifier(sys.argv[1])
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, loaded)
"""


def cold_start(runs: int) -> list[str]:
    key = WebhookKey().public_key_b64
    handler, key_load = [], []
    loaded = set()
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", COLD, key], capture_output=True, text=True, check=True
        ).stdout.split()
        handler.append(float(out[0]))
        key_load.append(float(out[1]))
        loaded.add(out[2])
    return [
        f"fresh interpreters ({sys.executable}), median of {runs}",
        "| step | ms |",
        "|---|---:|",
        f"| import gcnotify.handlers.sendgrid_webhook (after boto3; cryptography imported: "
        f"{', '.join(sorted(loaded))}) | {median_ms(handler):.1f} |",
        f"| first key load: import cryptography + load the P-256 key | {median_ms(key_load):.1f} |",
    ]


def main() -> int:
    if len(sys.argv) == 2 and sys.argv[1] == "--serve":
        return serve()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--skip-handler", action="store_true")
    args = parser.parse_args()
    out: list[str] = ["## Signature alone", *signature_alone(args.batch, args.rounds), ""]
    if not args.skip_handler:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            moto_url = json.loads(child.stdout.readline())["moto"]
            rows: list[str] = []
            with tempfile.TemporaryDirectory() as work:
                for workers in (8, 1):
                    rows += handler_run(moto_url, args.messages, args.batch, workers, Path(work))
                    print(rows[-2], rows[-1], sep="\n", file=sys.stderr, flush=True)
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(60)
        out += [
            "## The handler against moto (own process)",
            f"{args.messages:,} sent emails, processed + delivered (every 20th bounced), "
            f"POSTs of {args.batch}",
            "| workers | POSTs | events | seconds | events per second | POST ms p50 / max | "
            "recorded | duplicates | suppressed | DynamoDB calls per event |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    out += ["## Cold start", *cold_start(args.runs)]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
