"""One shared send pace (gcnotify.aws.pace) against the naive way, each instance pacing itself at
rate / N with time.sleep, when the number of sender instances running is not the N assumed.

Every scenario runs its workers (threads, or processes for the rows marked so) for --seconds
against a moto server in its own process (real HTTP on 127.0.0.1, requests applied one at a time
as DynamoDB applies one item's writes). A worker stands for one sender Lambda with an endless
backlog: it reserves a slot (Pace.take, at most --max-wait-ms of sleep), then "sends" (sleeps
--send-ms, the provider call); on Later it spends --requeue-ms re-queueing the message and takes
the next one. A naive worker sleeps to its own schedule, one send every N / rate minutes, from a
random phase, and never calls DynamoDB.

Columns: sends started in the run and their share of the configured rate; the rate's 1-second
share ("allowed"); the most slots (the times the sends were scheduled for) and the most actual
starts in any 1-second window; the smallest gap between two starts; DynamoDB calls per send; the
mean wall time of one call as a worker saw it (the local server is the bottleneck at high rates);
the share of reservations answered Later.

Usage: python bench/pace.py [--seconds 20] [--assumed 4]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotoConfig

from gcnotify.aws.ledger import create_ledger_table
from gcnotify.aws.pace import Pace, Slot

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SERVE = (
    "import logging, sys\n"
    "logging.disable(logging.CRITICAL)\n"
    "from gcnotify.devserver.moto_server import SerializedMotoServer\n"
    "server = SerializedMotoServer()\n"
    "server.start()\n"
    "print(server.url, flush=True)\n"
    "sys.stdin.read()\n"
)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class Knobs:
    seconds: float
    max_wait_ms: int
    send_ms: float
    requeue_ms: float


@dataclass
class Outcome:
    """What one worker did: each send's slot and actual start, Later answers, DynamoDB calls."""

    starts: list[float]
    slots: list[float] = field(default_factory=list)
    laters: int = 0
    calls: int = 0
    in_take: float = 0.0  # seconds in Pace.take, then (at the end) minus the sleeps


@contextmanager
def moto_server() -> Iterator[str]:
    with subprocess.Popen(
        [sys.executable, "-c", SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **CREDENTIALS},
    ) as process:
        try:
            url = process.stdout.readline().strip() if process.stdout else ""
            if not url.startswith("http://"):
                raise RuntimeError(f"the moto server did not start: {url!r}")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def client_for(url: str) -> DynamoDBClient:
    made: DynamoDBClient = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=BotoConfig(retries={"mode": "standard", "max_attempts": 3}, read_timeout=5),
    )
    return made


def paced_worker(
    client: DynamoDBClient, table: str, rate: int, knobs: Knobs, start: float
) -> Outcome:
    """A sender instance on the shared pace, until ``start + seconds``."""
    pace = Pace(client, table)
    out = Outcome(starts=[])
    slept = [0.0]

    def sleep(seconds: float) -> None:
        slept[0] += seconds
        time.sleep(seconds)

    time.sleep(max(0.0, start - time.time()))
    end = start + knobs.seconds
    while time.time() < end:
        before = time.perf_counter()
        got = pace.take("sms", rate, sleep=sleep, max_wait_ms=knobs.max_wait_ms)
        out.in_take += time.perf_counter() - before
        if isinstance(got, Slot):
            now = time.time()
            if now < end:
                out.starts.append(now)
                out.slots.append(got.at_ms / 1000)
            time.sleep(knobs.send_ms / 1000)
        else:
            out.laters += 1
            time.sleep(knobs.requeue_ms / 1000)
    out.calls = pace.calls
    out.in_take -= slept[0]  # what is left is the DynamoDB calls
    return out


def paced_process(job: tuple[str, str, int, Knobs], ready: Any, results: Any) -> None:
    """paced_worker in a process of its own (its own client, as a Lambda instance has), started
    once every process has imported boto3 and made its client."""
    url, table, rate, knobs = job
    logging.disable(logging.CRITICAL)
    client = client_for(url)
    client.describe_table(TableName=table)  # the connection and the SDK's loaders, warmed
    ready.wait()
    results.put(paced_worker(client, table, rate, knobs, time.time()))


def run_processes(url: str, table: str, rate: int, n: int, knobs: Knobs) -> list[Outcome]:
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(n)
    results = context.Queue()
    processes = [
        context.Process(target=paced_process, args=((url, table, rate, knobs), ready, results))
        for _ in range(n)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return outcomes


def naive_worker(rate: int, assumed: int, knobs: Knobs, start: float, seed: int) -> Outcome:
    """A sender instance pacing itself at rate / assumed, whatever the real number of instances."""
    interval = 60 * assumed / rate
    out = Outcome(starts=[])
    due = start + random.Random(seed).uniform(0, interval)
    end = start + knobs.seconds
    while due < end:
        time.sleep(max(0.0, due - time.time()))
        out.starts.append(time.time())
        out.slots.append(due)
        time.sleep(knobs.send_ms / 1000)
        due += interval
    return out


def run_threads(targets: list[tuple[Any, ...]], fn: Callable[..., Outcome]) -> list[Outcome]:
    results: list[Outcome] = [Outcome(starts=[]) for _ in targets]

    def run(i: int) -> None:
        results[i] = fn(*targets[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def max_in_window(starts: list[float], width: float = 1.0) -> int:
    """The most starts in any half-open window [t, t + width)."""
    best, first = 0, 0
    for last, t in enumerate(starts):
        while t - starts[first] >= width:
            first += 1
        best = max(best, last - first + 1)
    return best


def row(label: str, rate: int, workers: int, results: list[Outcome], knobs: Knobs) -> str:
    starts = sorted(t for r in results for t in r.starts)
    slots = sorted(t for r in results for t in r.slots)
    sends = len(starts)
    achieved = sends / (rate * knobs.seconds / 60)
    gap_ms = min((b - a for a, b in itertools.pairwise(starts)), default=math.nan) * 1000
    calls = sum(r.calls for r in results)
    laters = sum(r.laters for r in results)
    per_send = f"{calls / sends:.2f}" if calls and sends else "-"
    per_call = f"{sum(r.in_take for r in results) / calls * 1000:.1f}" if calls else "-"
    later = f"{laters / (laters + sends):.1%}" if calls else "-"
    return (
        f"{label:<24} | {rate:>5} | {workers:>2} | {sends:>5} | {achieved:>7.1%} | "
        f"{rate / 60:>7g} | {max_in_window(slots):>5} | {max_in_window(starts):>6} | "
        f"{gap_ms:>6.1f} | {per_send:>5} | {per_call:>7} | {later:>6}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--assumed", type=int, default=4, help="N the naive instances assume")
    parser.add_argument("--max-wait-ms", type=int, default=1000)
    parser.add_argument("--send-ms", type=float, default=10.0)
    parser.add_argument("--requeue-ms", type=float, default=15.0)
    args = parser.parse_args()
    knobs = Knobs(args.seconds, args.max_wait_ms, args.send_ms, args.requeue_ms)
    rates = (600, 6000)
    counts = (2, args.assumed, 2 * args.assumed, 4 * args.assumed)
    logging.disable(logging.CRITICAL)
    print(
        f"{knobs.seconds:g} s per scenario; send {knobs.send_ms:g} ms, re-queue "
        f"{knobs.requeue_ms:g} ms, max wait {knobs.max_wait_ms} ms; naive instances assume "
        f"N = {args.assumed}. slots / starts: the most in any 1-second window (scheduled / "
        "actual); gap: the smallest between two starts; calls: DynamoDB calls per send\n"
    )
    header = (
        f"{'scenario':<24} | {'rate':>5} | {'N':>2} | {'sends':>5} | {'of rate':>7} | "
        f"allowed | slots | starts | gap ms | calls | ms/call | Later"
    )
    print(header, flush=True)

    # The naive rows touch nothing shared, so all of them run at once.
    naive_jobs = [(rate, n) for rate in rates for n in counts]
    start = time.time() + 0.5
    naive = run_threads(
        [
            (rate, n, i, start)
            for rate, n in naive_jobs
            for i in range(n)  # worker i of scenario (rate, n)
        ],
        lambda rate, n, i, at: naive_worker(rate, args.assumed, knobs, at, hash((rate, n, i))),
    )
    results_by_job: dict[tuple[int, int], list[Outcome]] = {}
    cursor = 0
    for job in naive_jobs:
        results_by_job[job] = naive[cursor : cursor + job[1]]
        cursor += job[1]

    with moto_server() as url:
        for rate in rates:
            for n in counts:
                print(
                    row(
                        f"naive, rate/{args.assumed} each",
                        rate,
                        n,
                        results_by_job[(rate, n)],
                        knobs,
                    )
                )
            for n in counts:
                table = f"pace-{uuid.uuid4().hex[:8]}"
                clients = [client_for(url) for _ in range(n)]
                create_ledger_table(clients[0], table)
                start = time.time() + 0.5
                results = run_threads(
                    [(c, table, rate, knobs, start) for c in clients], paced_worker
                )
                print(row("shared pace, threads", rate, n, results, knobs), flush=True)
            n = 2 * args.assumed
            table = f"pace-{uuid.uuid4().hex[:8]}"
            create_ledger_table(client_for(url), table)
            results = run_processes(url, table, rate, n, knobs)
            print(row("shared pace, processes", rate, n, results, knobs), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
