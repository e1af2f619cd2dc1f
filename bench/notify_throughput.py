"""The notification pipeline under load: intake queue → intake → outbox → sender → Genesys, on
this machine, against the naive loop that posts each message itself.

Each pipeline scenario starts the local stack (the Genesys stand-in, moto with DynamoDB, SQS and
Secrets Manager on 127.0.0.1), seeds a share of the recipients as suppressed, puts the requests
on an intake queue, and runs two local event source mappings as Lambda would: one over the
intake handler, one over the sender handler (batch size 10, the sender's MaximumConcurrency as
given). Requests repeat a share of keys (a caller retrying); a share of recipients are in quiet
hours (their zone's night), the rest inside the send window now. A scenario ends when every
expected send reached the stand-in and the queues hold nothing but deferred messages (or when
no send happened for --stall seconds).

Columns: achieved sends per minute between the first and the last send (stand-in timestamps)
against the configured rate; accepted requests that should have been sent and were not (by final
status); recipients sent more than once; suppressed and quiet-hours recipients sent; DynamoDB
calls (messages, suppression, ledger and pace seams together), SQS calls (the outbox seam:
enqueues, re-queues, backoffs) and Genesys requests per accepted message; intake-to-send latency
(the record's created_at to the stand-in's send time) p50 and p99; wall time from the first
request queued to the last send.

The naive loop (token once, one POST per recipient with ``requests``, ``time.sleep(0.5)``
between sends, a 429 retried by recursion after Retry-After) runs on a sample of the same
requests against the same stand-in; its time for all requests is extrapolated and labelled so.

Locally the stack, not the pipeline, sets the ceiling: moto serves every DynamoDB and SQS call
in this one Python process behind one lock (about 12 calls per message), and its ReceiveMessage
scans the whole queue on each call, so its cost grows with the queue's depth. On a 2-CPU machine
that caps the pipeline at a few hundred sends per minute, far under 6000; the calls per message,
the drops, the duplicates and the pacing are what this run shows, and the under-rate scenario
uses a rate the local stack can reach so its latency is the pipeline's own.

Usage: python bench/notify_throughput.py [--requests 1000] [--rate 6000] [--feed-rate PER_MIN]
       [--latency-ms 0] [--throttle-every 0] [--concurrency 2 4] [--under-rate 300]
       [--under-rate-rate 300] [--naive-sample 200]
e.g. the full size: --requests 10000 --feed-rate 6000 (about half an hour per scenario here).
Not part of ``make bench``: the default run takes several minutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from gcnotify.aws.messages import MessageRecord
from gcnotify.aws.suppression import SuppressionTable
from gcnotify.cli.demo import DEMO_SECRET_ID
from gcnotify.cli.demo_notify import (
    SUPPRESSION_TABLE,
    NotifyStack,
    notify_block,
    notify_stack,
    zone_at,
)
from gcnotify.devserver.esm import EventSourceMapping, LambdaContext
from gcnotify.devserver.messaging_endpoints import MESSAGES_PATH
from gcnotify.handlers import intake, notify_state, sender

TEMPLATE = "order-shipped"
SMS_FROM = str(notify_block()["senders"]["sms"])
BATCH_SIZE = 10
FUNCTION_TIMEOUT = 30.0  # the outbox's visibility timeout in notify_stack
# Lambda long-polls; the local mapping short-polls, and every empty poll takes moto's one lock.
POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class Request:
    """One request as a caller puts it on the intake queue, and what the bench knows of it."""

    key: str
    to: str
    body: dict[str, Any]
    suppressed: bool
    night: bool
    repeat: bool


@dataclass(frozen=True)
class Workload:
    """The requests of one scenario, in the order they are sent."""

    requests: tuple[Request, ...]

    @property
    def unique(self) -> list[Request]:
        return [r for r in self.requests if not r.repeat]

    @property
    def expected_sends(self) -> int:
        """Unique keys whose recipient is neither suppressed nor in quiet hours."""
        return sum(1 for r in self.unique if not (r.suppressed or r.night))


def number(n: int) -> str:
    """A distinct valid Indianapolis number per recipient (exchanges 555, 556, …)."""
    return f"+1317{555 + n // 10_000:03d}{n % 10_000:04d}"


def workload(
    count: int,
    *,
    now: datetime,
    seed: int,
    repeat_share: float,
    suppressed_share: float,
    night_share: float,
) -> Workload:
    """``count`` requests; a repeat copies an earlier request whole (same key, same body)."""
    rng = random.Random(seed)
    day, night = zone_at(now, range(10, 18)), zone_at(now, range(1, 5))
    out: list[Request] = []
    unique: list[Request] = []
    for _ in range(count):
        if unique and rng.random() < repeat_share:
            original = rng.choice(unique)
            out.append(Request(**{**original.__dict__, "repeat": True}))
            continue
        n = len(unique)
        is_night = rng.random() < night_share
        body = {
            "template": TEMPLATE,
            "to": number(n),
            "key": f"bench-{seed}-{n:06d}",
            "variables": {
                "order_id": f"ORD-{n:06d}",
                "tracking_link": f"https://track.example.com/{n:06d}",
            },
            "timezone": night if is_night else day,
        }
        request = Request(
            key=str(body["key"]),
            to=number(n),
            body=body,
            suppressed=rng.random() < suppressed_share,
            night=is_night,
            repeat=False,
        )
        unique.append(request)
        out.append(request)
    return Workload(tuple(out))


def parse_stamp(text: str) -> float:
    """The stand-in's ``2026-01-01T00:00:00.000Z`` as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def per_minute(stamps: Sequence[float]) -> float:
    """Sends per minute between the first and the last send."""
    if len(stamps) < 2:
        return float("nan")
    span = max(stamps) - min(stamps)
    return (len(stamps) - 1) / span * 60 if span > 0 else float("inf")


class Throttler:
    """Arms the stand-in's 429 (Retry-After 1 s) so roughly every Nth agentless send gets it."""

    def __init__(self, stack: NotifyStack, every: int) -> None:
        self._stack = stack
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="throttler", daemon=True)

    def __enter__(self) -> Throttler:
        if self._every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._stack.genesys.clear_faults()

    def _run(self) -> None:
        messaging = self._stack.genesys.messaging
        mark, armed_at = self._every, -1
        while not self._stop.wait(0.01):
            seen = self._stack.genesys.count(MESSAGES_PATH)
            if armed_at >= 0 and seen > armed_at:
                armed_at, mark = -1, seen + self._every
            if armed_at < 0 and seen >= mark - 1:
                messaging.throttle(1, retry_after=1)
                armed_at = seen


@dataclass
class PipelineResult:
    """What one pipeline scenario measured."""

    label: str
    rate: int
    concurrency: int
    requests: int
    accepted: int
    expected: int
    sent: int
    send_stamps: list[float]
    dropped: Counter[str]
    sent_twice: int
    suppressed_sent: int
    night_sent: int
    dynamodb_calls: int
    sqs_calls: int
    genesys_calls: int
    throttled: int
    latencies: list[float]
    wall: float
    stalled: bool
    handler_errors: int = 0
    notes: list[str] = field(default_factory=list)


def seed_suppressed(stack: NotifyStack, work: Workload) -> int:
    """Suppress the chosen recipients with a client of the bench's own (not counted)."""
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=stack.base.moto_url, region_name="us-east-1")
    table = SuppressionTable(dynamodb, SUPPRESSION_TABLE)
    now = datetime.now(UTC)
    chosen = [r for r in work.unique if r.suppressed]
    for r in chosen:
        table.add("sms", r.to, "replied STOP", "bench", now)
    return len(chosen)


def queue_counts(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed) messages of a queue."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible, flight, delayed = (int(got.get(n, "0")) for n in names)
    return visible, flight, delayed


def feed(
    sqs: Any, url: str, work: Workload, *, per_minute_rate: float | None, started: float
) -> None:
    """Put the requests on the intake queue, 10 per call; at a steady rate when one is given."""
    items = work.requests
    for start in range(0, len(items), BATCH_SIZE):
        if per_minute_rate is not None:
            due = started + start * 60 / per_minute_rate
            time.sleep(max(0.0, due - time.time()))
        chunk = items[start : start + BATCH_SIZE]
        answer = sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "MessageBody": json.dumps(r.body)} for n, r in enumerate(chunk)
            ],
        )
        if answer.get("Failed"):
            raise RuntimeError(f"the intake queue refused {len(answer['Failed'])} requests")


def sender_handler(env: dict[str, str]) -> Callable[[dict[str, Any], LambdaContext], object]:
    """The sender handler as Lambda calls it: the invocation's deadline from its context."""

    def handle(event: dict[str, Any], context: LambdaContext) -> object:
        return sender.handle_batch(event, deadline=notify_state.deadline_of(context), environ=env)

    return handle


def scan_records(stack: NotifyStack) -> dict[str, MessageRecord]:
    """Every record of the messages table, read with a client of the bench's own."""
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=stack.base.moto_url, region_name="us-east-1")
    table = stack.environ["GCNOTIFY_MESSAGES_TABLE"]
    out: dict[str, MessageRecord] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            record = MessageRecord.from_item(item)
            out[record.key] = record
    return out


def run_pipeline(
    label: str,
    work: Workload,
    *,
    rate: int,
    concurrency: int,
    latency_ms: float,
    throttle_every: int,
    feed_rate: float | None,
    stall: float,
    timeout: float,
) -> PipelineResult:
    """One scenario on a fresh stack; see the module docstring."""
    with (
        tempfile.TemporaryDirectory(prefix="gcnotify-bench-") as tmp,
        notify_stack(Path(tmp), latency_ms=latency_ms, rate=rate, moto_url=MOTO_URL) as stack,
    ):
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = stack.environ[key]
        notify_state.reset()
        env = stack.environ
        seed_suppressed(stack, work)
        intake_url = stack.sqs.create_queue(
            QueueName="gcnotify-bench-intake", Attributes={"VisibilityTimeout": "60"}
        )["QueueUrl"]
        state = notify_state.state(env)
        state.providers()  # the secret read and clients made once, as a warm container has
        intake_mapping = EventSourceMapping(
            stack.sqs,
            intake_url,
            lambda event, context: intake.handle(event, environ=env),
            batch_size=BATCH_SIZE,
            max_concurrency=2,
            function_timeout=FUNCTION_TIMEOUT,
            function_name="gcnotify-intake",
            poll_interval=POLL_INTERVAL,
        )
        sender_mapping = EventSourceMapping(
            stack.sqs,
            stack.outbox_url,
            sender_handler(env),
            batch_size=BATCH_SIZE,
            max_concurrency=concurrency,
            function_timeout=FUNCTION_TIMEOUT,
            function_name="gcnotify-sender",
            poll_interval=POLL_INTERVAL,
        )
        messaging = stack.genesys.messaging
        expected = work.expected_sends
        started = time.time()
        stalled = False
        with Throttler(stack, throttle_every):
            feeder = threading.Thread(
                target=feed,
                args=(stack.sqs, intake_url, work),
                kwargs={"per_minute_rate": feed_rate, "started": started},
                daemon=True,
            )
            feeder.start()
            intake_mapping.start()
            sender_mapping.start()
            last_count, last_change = 0, time.time()
            try:
                while True:
                    time.sleep(0.5)
                    count = stack.genesys.count(MESSAGES_PATH)
                    now = time.time()
                    if count != last_count:
                        last_count, last_change = count, now
                    if not feeder.is_alive() and len(messaging.sent) >= expected:
                        intake_busy = any(queue_counts(stack.sqs, intake_url))
                        visible, flight, _ = queue_counts(stack.sqs, stack.outbox_url)
                        if not intake_busy and not visible and not flight:
                            break
                    if now - last_change > stall or now - started > timeout:
                        stalled = True
                        break
            finally:
                feeder.join()
                intake_mapping.stop()
                sender_stats = sender_mapping.stop()
                intake_stats = intake_mapping.stats
        sent = messaging.sent
        stamps = [parse_stamp(str(s["time"])) for s in sent]
        wall = (max(stamps) if stamps else time.time()) - started
        records = scan_records(stack)
        by_to = Counter(str(s["to"]) for s in sent)
        dropped: Counter[str] = Counter()
        latencies: list[float] = []
        send_time = {str(s["to"]): parse_stamp(str(s["time"])) for s in reversed(sent)}
        suppressed_sent = night_sent = 0
        for r in work.unique:
            record = records.get(r.key)
            if r.suppressed or r.night:
                suppressed_sent += r.suppressed and by_to[r.to] > 0
                night_sent += r.night and by_to[r.to] > 0
                continue
            status = record.status if record is not None else "no record"
            if status != "sent":
                dropped[status] += 1
            elif record is not None and record.created_at is not None and r.to in send_time:
                latencies.append(send_time[r.to] - record.created_at.timestamp())
        dynamodb_calls = (
            state.store.calls + state.suppression.calls + state.ledger.calls + state.pace.calls
        )
        accepted = sum(1 for r in work.unique if r.key in records)
        result = PipelineResult(
            label=label,
            rate=rate,
            concurrency=concurrency,
            requests=len(work.requests),
            accepted=accepted,
            expected=expected,
            sent=len(sent),
            send_stamps=stamps,
            dropped=dropped,
            sent_twice=sum(1 for n in by_to.values() if n > 1),
            suppressed_sent=suppressed_sent,
            night_sent=night_sent,
            dynamodb_calls=dynamodb_calls,
            sqs_calls=state.outbox.calls,
            genesys_calls=len(stack.genesys.requests),
            throttled=stack.genesys.count(MESSAGES_PATH) - len(sent),
            latencies=latencies,
            wall=wall,
            stalled=stalled,
            handler_errors=sender_stats.whole_batch_failures + intake_stats.whole_batch_failures,
        )
        result.notes.append(
            f"sender mapping: {sender_stats.batches} batches, most in the handler at once "
            f"{sender_stats.max_concurrent} (MaximumConcurrency {concurrency})"
        )
        notify_state.reset()
        return result


# -- the naive loop ---------------------------------------------------------------------------


@dataclass
class NaiveResult:
    """What the naive loop did on its sample."""

    sample: int
    sent: int
    stamps: list[float]
    seconds: float
    night_sent: int
    suppressed_sent: int
    duplicates: int
    throttled: int
    genesys_calls: int


def naive_send(session: requests.Session, url: str, token: str, to: str, text: str) -> Any:
    """One POST; on 429 sleep Retry-After and call itself again."""
    answer = session.post(
        url + MESSAGES_PATH,
        json={
            "fromAddress": SMS_FROM,
            "toAddress": to,
            "toAddressMessengerType": "sms",
            "textBody": text,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if answer.status_code == 429:
        time.sleep(int(answer.headers.get("Retry-After", "1")))
        return naive_send(session, url, token, to, text)
    return answer.json()


def run_naive(
    work: Workload, *, sample: int, latency_ms: float, throttle_every: int
) -> NaiveResult:
    """The loop on the first ``sample`` requests, against a fresh stand-in."""
    import boto3

    chosen = work.requests[:sample]
    with (
        tempfile.TemporaryDirectory(prefix="gcnotify-bench-") as tmp,
        notify_stack(Path(tmp), latency_ms=latency_ms, moto_url=MOTO_URL) as stack,
    ):
        secrets = boto3.client(
            "secretsmanager", endpoint_url=stack.base.moto_url, region_name="us-east-1"
        )
        secret = json.loads(secrets.get_secret_value(SecretId=DEMO_SECRET_ID)["SecretString"])
        url = stack.genesys.url
        session = requests.Session()
        token = session.post(
            url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(secret["genesys_client_id"], secret["genesys_client_secret"]),
            timeout=30,
        ).json()["access_token"]
        started = time.time()
        with Throttler(stack, throttle_every):
            for r in chosen:
                v = r.body["variables"]
                text = (
                    f"Your order {v['order_id']} has shipped: {v['tracking_link']}. "
                    "Reply STOP to opt out."
                )
                naive_send(session, url, token, r.to, text)
                time.sleep(0.5)
        seconds = time.time() - started
        sent = stack.genesys.messaging.sent
        by_to = Counter(str(s["to"]) for s in sent)
        unique = {r.to: r for r in chosen}
        return NaiveResult(
            sample=len(chosen),
            sent=len(sent),
            stamps=[parse_stamp(str(s["time"])) for s in sent],
            seconds=seconds,
            night_sent=sum(by_to[to] for to, r in unique.items() if r.night),
            suppressed_sent=sum(by_to[to] for to, r in unique.items() if r.suppressed),
            duplicates=sum(n - 1 for n in by_to.values() if n > 1),
            throttled=stack.genesys.count(MESSAGES_PATH) - len(sent),
            genesys_calls=len(stack.genesys.requests),
        )


# -- output -----------------------------------------------------------------------------------


def pipeline_row(r: PipelineResult) -> str:
    achieved = per_minute(r.send_stamps)
    dropped = sum(r.dropped.values())
    dropped_text = (
        "0"
        if not dropped
        else f"{dropped} (" + ", ".join(f"{k} {v}" for k, v in r.dropped.most_common()) + ")"
    )
    accepted = max(1, r.accepted)
    return (
        f"{r.label:<30} | {r.concurrency:>2} | {r.requests:>6} | {r.sent:>6} | "
        f"{achieved:>7.0f} | {achieved / r.rate:>6.1%} | {dropped_text:>8} | {r.sent_twice:>5} | "
        f"{r.suppressed_sent:>3}/{r.night_sent:<3} | {r.dynamodb_calls / accepted:>5.2f} | "
        f"{r.sqs_calls / accepted:>4.2f} | {r.genesys_calls / accepted:>4.2f} | "
        f"{percentile(r.latencies, 0.5):>6.2f} | {percentile(r.latencies, 0.99):>7.2f} | "
        f"{r.wall:>6.1f}{' stalled' if r.stalled else ''}"
    )


HEADER = (
    f"{'scenario':<30} | {'N':>2} | {'reqs':>6} | {'sent':>6} | {'sent/min':>7} | {'rate %':>6} | "
    f"{'dropped':>8} | {'twice':>5} | sup/qh  | DDB/m | SQS/m | GC/m | p50 s  | p99 s   | wall s"
)


MOTO_URL: str | None = None  # a moto server in its own process (--moto-process)


def _moto_process() -> Callable[[], None]:
    """Start moto's own server on a free port in a child process; set MOTO_URL; return a stop."""
    import socket
    import subprocess
    import sys

    global MOTO_URL  # noqa: PLW0603 - one bench run, one server
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # moto's own server, with the stand-ins' faster SQS clock (gcnotify.devserver.moto_server).
    run = (
        "import sys; from gcnotify.devserver.moto_server import fast_sqs_clock; fast_sqs_clock(); "
        "from moto.server import main; main(sys.argv[1:])"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", run, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    MOTO_URL = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{MOTO_URL}/moto-api/", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    return child.terminate


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=6000, help="sends per minute (SMS)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="Genesys stand-in latency")
    parser.add_argument(
        "--throttle-every", type=int, default=0, help="a 429 (Retry-After 1 s) every Nth send"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 4])
    parser.add_argument(
        "--feed-rate", type=float, default=None, help="requests per minute onto the intake queue"
    )
    parser.add_argument(
        "--under-rate", type=int, default=300, help="requests fed at 80%% of a rate (0: skip)"
    )
    parser.add_argument(
        "--under-rate-rate", type=int, default=300, help="that scenario's rate per minute"
    )
    parser.add_argument("--naive-sample", type=int, default=200, help="0: skip the naive loop")
    parser.add_argument("--repeat-share", type=float, default=0.01)
    parser.add_argument("--suppressed-share", type=float, default=0.02)
    parser.add_argument("--night-share", type=float, default=0.02)
    parser.add_argument("--stall", type=float, default=30.0, help="seconds without a send")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per scenario")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--moto-process",
        action="store_true",
        help="run moto in its own process (frees this one's CPU and lock for the pipeline)",
    )
    args = parser.parse_args()
    if args.moto_process:
        _moto_process()
    logging.disable(logging.INFO)
    now = datetime.now(UTC)
    shares = {
        "repeat_share": args.repeat_share,
        "suppressed_share": args.suppressed_share,
        "night_share": args.night_share,
    }
    work = workload(args.requests, now=now, seed=args.seed, **shares)
    print(
        f"{len(work.requests)} requests ({len(work.unique)} keys: "
        f"{sum(r.repeat for r in work.requests)} repeated requests, "
        f"{sum(r.suppressed for r in work.unique)} suppressed, "
        f"{sum(r.night for r in work.unique)} in quiet hours; {work.expected_sends} to send); "
        f"SMS at {args.rate}/min; Genesys latency {args.latency_ms:g} ms; "
        f"429 every {args.throttle_every or '-'} sends; {os.cpu_count()} CPUs\n",
        flush=True,
    )
    results: list[PipelineResult] = []
    print(HEADER, flush=True)
    for concurrency in args.concurrency:
        result = run_pipeline(
            "all queued at once" if args.feed_rate is None else f"fed at {args.feed_rate:g}/min",
            work,
            rate=args.rate,
            concurrency=concurrency,
            latency_ms=args.latency_ms,
            throttle_every=args.throttle_every,
            feed_rate=args.feed_rate,
            stall=args.stall,
            timeout=args.timeout,
        )
        results.append(result)
        print(pipeline_row(result), flush=True)
    if args.under_rate:
        small = workload(args.under_rate, now=now, seed=args.seed + 1, **shares)
        result = run_pipeline(
            f"arrivals at 80% of {args.under_rate_rate}/min",
            small,
            rate=args.under_rate_rate,
            concurrency=args.concurrency[0],
            latency_ms=args.latency_ms,
            throttle_every=args.throttle_every,
            feed_rate=0.8 * args.under_rate_rate,
            stall=args.stall,
            timeout=args.timeout,
        )
        results.append(result)
        print(pipeline_row(result), flush=True)
    print()
    for r in results:
        extra = f"; 429s answered {r.throttled}" if r.throttled else ""
        failed = f"; batches failed whole {r.handler_errors}" if r.handler_errors else ""
        print(f"{r.label}, N {r.concurrency}: {'; '.join(r.notes)}{extra}{failed}")
    if args.naive_sample:
        naive = run_naive(
            work,
            sample=args.naive_sample,
            latency_ms=args.latency_ms,
            throttle_every=args.throttle_every,
        )
        rate = per_minute(naive.stamps)
        total = naive.seconds / naive.sample * len(work.requests)
        scale = len(work.requests) / naive.sample
        print(
            f"\nnaive loop (sleep 0.5 s, 429 retried by recursion), measured on the first "
            f"{naive.sample} requests:\n"
            f"  sent {naive.sent} in {naive.seconds:.1f} s: {rate:.0f}/min "
            f"({rate / args.rate:.1%} of {args.rate}/min); Genesys calls per request "
            f"{naive.genesys_calls / naive.sample:.2f}; 429s answered {naive.throttled}\n"
            f"  sent in quiet hours {naive.night_sent}, to suppressed numbers "
            f"{naive.suppressed_sent}, duplicates of repeated requests {naive.duplicates}\n"
            f"  extrapolated to all {len(work.requests)} requests: {total / 60:.1f} min, "
            f"~{naive.night_sent * scale:.0f} quiet-hours sends, "
            f"~{naive.suppressed_sent * scale:.0f} to suppressed numbers, "
            f"~{naive.duplicates * scale:.0f} duplicates"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
