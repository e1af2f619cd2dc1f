"""Receipts for 10,000 pending messages: gcnotify's poll runs against the one-GET-per-message loop.

The Genesys stand-in and a moto server (DynamoDB, SQS) run in their own process (``--serve``),
with ``--latency-ms`` added to every Genesys request. The child sends ``--messages`` agentless
SMS twice over, through the stand-in's own send endpoint before the latency is switched on:

- ``own``: every send a conversation of its own, as gcnotify's sender sends;
- ``grouped``: ``useExistingActiveConversation``, ``--per-conversation`` sends per recipient.

Then it moves the stand-in's present three hours on, so every drawn timeline has played out
(delivered, read, failed with its code, or never final). For each population:

- ``plan``: the calls ``genesys.receipts.plan_calls`` needs to read every message once;
- ``one scheduled run``: ``receipts.poller.poll`` with the default ``max_calls_per_run`` (500)
  over the messages table holding all of them (sent, in the ``awaiting`` index, oldest first),
  receipts classified and applied on moto's DynamoDB: what one invocation does, with the
  analytics screen on (the default) and off;
- ``every message once, gcnotify with the analytics screen``: the seam's calls for all of them
  as a run with the screen makes them (one-message conversations screened 100 a call by
  ``deliveryStatus``, then the details of each the screen cannot settle, grouped conversations
  in bulk), ``--workers`` in flight, DynamoDB left out;
- ``every message once, gcnotify with the screen off``: ``plan_calls`` then
  ``ReceiptReader.read``, ``--workers`` in flight, DynamoDB left out;
- ``every message once, naive``: one ``GET …/messages/{id}/details`` per message, one at a time,
  DynamoDB left out.

The Genesys columns leave DynamoDB out because moto's writes slow down with the table's size
(tens of milliseconds each at 10,000 items), which real DynamoDB does not; the scheduled run's
row includes them and shows its DynamoDB calls. Columns: Genesys calls (token and retries
included), messages read, wall seconds, Genesys calls per message. Usage:

    python bench/receipts_poll.py [--messages 10000] [--latency-ms 80] [--per-conversation 4]
        [--skip-naive] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the stand-in's, in its own process
SMS_FROM = "+13175550100"
REGION = "us-east-1"


def serve(messages: int, latency_ms: float, per_conversation: int) -> int:
    """The stand-in and moto in this (child) process, until standard input closes."""
    import logging

    from gcnotify.core.model import Queue
    from gcnotify.devserver.genesys_server import GenesysStandIn
    from gcnotify.devserver.moto_server import SerializedMotoServer
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.genesys.messaging import agentless_message_body, send_agentless_message

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    moto = SerializedMotoServer()
    moto.start()
    queue = Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")
    stand_in = GenesysStandIn([queue], client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    stand_in.start()
    client = GenesysClient(
        login_url=stand_in.url, api_url=stand_in.url, client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )  # fmt: skip
    populations: dict[str, list[list[str]]] = {"own": [], "grouped": []}
    for name, sent_list in populations.items():
        for n in range(messages):
            number = n if name == "own" else n // per_conversation
            to = f"+1555{number:07d}"
            body = agentless_message_body(
                channel="sms", from_address=SMS_FROM, to_address=to, text="Your order shipped."
            )
            if name == "grouped":
                body["useExistingActiveConversation"] = True
            sent = send_agentless_message(client, body)
            sent_list.append([sent.message_id, sent.conversation_id or "", to])
    started = datetime.now(UTC)
    stand_in.now = lambda: started + timedelta(hours=3) + (datetime.now(UTC) - started)
    stand_in.clear_requests()
    stand_in.latency = latency_ms / 1000.0
    print(
        json.dumps({"genesys": stand_in.url, "moto": moto.url, "populations": populations}),
        flush=True,
    )
    for line in sys.stdin:
        if line.strip() == "counts":
            print(json.dumps({"requests": len(stand_in.requests)}), flush=True)
    stand_in.close()
    moto.stop()
    return 0


@dataclass
class Row:
    population: str
    way: str
    calls: int
    read: int
    seconds: float

    def line(self) -> str:
        per = self.calls / self.read if self.read else 0.0
        return (
            f"| {self.population} | {self.way} | {self.calls:,} | {self.read:,} | "
            f"{self.seconds:,.1f} | {per:.3f} |"
        )


class Tables:
    """The messages, suppression and ledger tables and the outbox on the child's moto."""

    def __init__(self, moto_url: str) -> None:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - moto's, any value does
            region_name=REGION,
        )
        self.dynamodb = session.client("dynamodb", endpoint_url=moto_url)
        self.sqs = session.client("sqs", endpoint_url=moto_url)
        from gcnotify.aws.ledger import create_ledger_table
        from gcnotify.aws.suppression import create_suppression_table

        create_suppression_table(self.dynamodb, "suppression")
        create_ledger_table(self.dynamodb, "ledger")
        self.outbox_url = self.sqs.create_queue(QueueName="outbox")["QueueUrl"]

    def fresh(self, messages: list[list[str]]) -> None:
        """The messages table anew, holding ``messages`` sent and awaiting, oldest first."""
        from gcnotify.aws.messages import create_messages_table

        names = self.dynamodb.list_tables()["TableNames"]
        if "messages" in names:
            self.dynamodb.delete_table(TableName="messages")
        create_messages_table(self.dynamodb, "messages")
        base = datetime.now(UTC) - timedelta(hours=1)
        items = []
        for n, (message_id, conversation_id, to) in enumerate(messages):
            when = (base + timedelta(milliseconds=n)).isoformat()
            items.append(
                {
                    "pk": {"S": f"bench:{n}"},
                    "status": {"S": "sent"},
                    "channel": {"S": "sms"},
                    "template": {"S": "bench"},
                    "address": {"S": to},
                    "created_at": {"S": when},
                    "updated_at": {"S": when},
                    "version": {"N": "3"},
                    "history": {"L": []},
                    "expires_at": {"N": str(int(time.time()) + 86_400)},
                    "message_id": {"S": message_id},
                    "conversation_id": {"S": conversation_id},
                    "provider": {"S": "genesys"},
                    "awaiting": {"S": "genesys"},
                    "awaiting_since": {"S": when},
                    "send_by": {"S": (base + timedelta(days=1)).isoformat()},
                }
            )
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            self.dynamodb.batch_write_item(RequestItems={"messages": batch})

    def seams(self) -> tuple[Any, Any, Any, Any]:
        from gcnotify.aws.audit import AuditLog
        from gcnotify.aws.messages import MessageStore
        from gcnotify.aws.queue import Outbox
        from gcnotify.aws.suppression import SuppressionTable

        return (
            MessageStore(self.dynamodb, "messages"),
            SuppressionTable(self.dynamodb, "suppression"),
            Outbox(self.sqs, self.outbox_url),
            AuditLog(self.dynamodb, "ledger"),
        )


def client_of(url: str) -> Any:
    from gcnotify.genesys.client import GenesysClient

    return GenesysClient(
        login_url=url, api_url=url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


def scheduled_run(
    tables: Tables,
    url: str,
    population: str,
    messages: list[list[str]],
    *,
    workers: int,
    screen: bool = True,
) -> Row:
    """One poll run with the default settings (``screen``: the analytics screen) over the
    whole table."""
    from gcnotify.genesys.receipts import ReceiptReader
    from gcnotify.receipts.poller import poll
    from gcnotify.receipts.settings import ReceiptSettings

    tables.fresh(messages)
    store, suppression, outbox, audit = tables.seams()
    client = client_of(url)
    started = time.perf_counter()
    result = poll(
        store=store,
        reader=ReceiptReader(client),
        settings=ReceiptSettings(analytics_screen=screen),
        suppression=suppression,
        outbox=outbox,
        audit=audit,
        workers=workers,
    )
    seconds = time.perf_counter() - started
    settled = sum(result.answered.values())
    way = (
        f"one scheduled run, analytics screen {'on' if screen else 'off'} (max_calls_per_run "
        f"500, {workers} in flight; {settled:,} answered; "
        f"{store.calls + suppression.calls:,} DynamoDB calls on moto, stopped: {result.stopped})"
    )
    return Row(population, way, client.calls, result.asked, seconds)


def gcnotify_reads(url: str, population: str, messages: list[list[str]], *, workers: int) -> Row:
    """Every message read once the seam's way: the planned calls, ``workers`` in flight."""
    from concurrent.futures import ThreadPoolExecutor

    from gcnotify.genesys.receipts import MessageRef, ReceiptReader, plan_calls

    client = client_of(url)
    reader = ReceiptReader(client)
    plan = plan_calls(MessageRef(m, c or None) for m, c, _ in messages)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(reader.read, plan))
    seconds = time.perf_counter() - started
    read = sum(len(r.messages) for r in results)
    way = f"every message once, gcnotify with the screen off ({workers} in flight)"
    return Row(population, way, client.calls, read, seconds)


def naive_reads(url: str, population: str, messages: list[list[str]]) -> Row:
    """One details GET per message, one after the other (a failed one is counted, not read)."""
    from gcnotify.core.errors import GenesysError
    from gcnotify.genesys.receipts import RECEIPT_PERMISSION, details_path

    client = client_of(url)
    started = time.perf_counter()
    read = failed = 0
    for message_id, _, _ in messages:
        try:
            client.get_json(details_path(message_id), permission=RECEIPT_PERMISSION)
        except GenesysError:
            failed += 1
            continue
        read += 1
    seconds = time.perf_counter() - started
    way = "every message once, naive (one GET each, in turn)"
    if failed:
        way += f"; {failed} failed"
    return Row(population, way, client.calls, read, seconds)


def gcnotify_screened(url: str, population: str, messages: list[list[str]], *, workers: int) -> Row:
    """Every message once the way a poll run reads it with the analytics screen on (the
    default), DynamoDB left out: one-message conversations screened 100 a call, then the
    details of each the screen cannot settle (a failure's code, one not shown), and the grouped
    conversations in bulk. A message still on its way waits for the next run, unread."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    from gcnotify.genesys.receipts import MessageRef, ReceiptReader, plan_calls, screen_calls
    from gcnotify.receipts.classify import classify_genesys_analytics

    client = client_of(url)
    reader = ReceiptReader(client)
    refs = [MessageRef(m, c or None) for m, c, _ in messages]
    held = Counter(r.conversation_id for r in refs)
    alone = [r for r in refs if r.conversation_id and held[r.conversation_id] == 1]
    rest = [r for r in refs if not (r.conversation_id and held[r.conversation_id] == 1)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        screened = list(pool.map(reader.read, screen_calls(alone)))
        statuses: Counter[str] = Counter()
        settled = 0
        by_id = {r.message_id: r for r in alone}
        for result in screened:
            for message_id, shown in result.screened.items():
                statuses[str(shown.status)] += 1
                receipt = classify_genesys_analytics(shown.status, shown.changed)
                if receipt is not None:
                    settled += 1  # final, or still on its way: screened again next run
                else:
                    rest.append(by_id[message_id])  # a failure's code is in its details
            rest.extend(by_id[m] for m in result.missing)
        results = list(pool.map(reader.read, plan_calls(rest)))
    seconds = time.perf_counter() - started
    read = settled + sum(len(r.messages) for r in results)
    shown = ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items()))
    way = (
        f"every message once, gcnotify with the analytics screen ({workers} in flight; "
        f"{len(screened):,} screens: {shown or 'none'}; then {len(results):,} reads)"
    )
    return Row(population, way, client.calls, read, seconds)


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        return serve(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=80.0)
    parser.add_argument("--per-conversation", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    from gcnotify.genesys.receipts import MessageRef, plan_calls

    seeding = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(args.messages),
            str(args.latency_ms),
            str(args.per_conversation),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rows: list[Row] = []
    try:
        assert child.stdout is not None
        ready = json.loads(child.stdout.readline())
        print(f"seeded in {time.perf_counter() - seeding:.0f} s", file=sys.stderr, flush=True)
        tables = Tables(ready["moto"])
        url = ready["genesys"]
        for population, messages in ready["populations"].items():
            plan = plan_calls(MessageRef(m, c or None) for m, c, _ in messages)
            rows.append(Row(population, "plan_calls (no network)", len(plan), len(messages), 0.0))
            for screen in (True, False):
                row = scheduled_run(
                    tables, url, population, messages, workers=args.workers, screen=screen
                )
                rows.append(row)
                print(rows[-1].line(), file=sys.stderr, flush=True)
            rows.append(gcnotify_screened(url, population, messages, workers=args.workers))
            print(rows[-1].line(), file=sys.stderr, flush=True)
            rows.append(gcnotify_reads(url, population, messages, workers=args.workers))
            print(rows[-1].line(), file=sys.stderr, flush=True)
            if not args.skip_naive:
                rows.append(naive_reads(url, population, messages))
                print(rows[-1].line(), file=sys.stderr, flush=True)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(60)
    print(
        f"{args.messages:,} pending messages per population, {args.latency_ms:g} ms per Genesys "
        f"request, grouped = {args.per_conversation} per conversation"
    )
    print("| population | way | Genesys calls | messages read | seconds | calls/message |")
    print("|---|---|---:|---:|---:|---:|")
    for row in rows:
        print(row.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
