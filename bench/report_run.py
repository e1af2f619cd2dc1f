"""API calls and wall time of one report run, gcnotify vs the tutorial's algorithm.

Runs against the local stand-ins (real HTTP on 127.0.0.1) with injected latency per request
(default 80 ms), for 10, 50 and 200 queues:

- gcnotify cold: a new container (token call + queue lookup pages + 1 aggregates query + 1 send);
- gcnotify warm: the same container's next invocation (token reused);
- tutorial: one aggregates query per queue, 100 ms apart (as the tutorial this project grew from).

The round-trip floor is (calls made) x latency; the ratio wall/floor shows our own overhead.
Usage: python bench/report_run.py [--latency-ms 80] [--queues 10 50 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gcnotify import handler
from gcnotify.demo import start_stack
from gcnotify.genesys import GenesysClient
from gcnotify.metrics import genesys_metrics
from gcnotify.queries import build_aggregates_query
from gcnotify.windows import plan_window, run_day_for_report_date

EVENT = {"report_date": "2026-11-20", "reports": ["support-daily"]}


def _calls(stack: object) -> tuple[int, int]:
    genesys = stack.genesys  # type: ignore[attr-defined]
    sendgrid = stack.sendgrid  # type: ignore[attr-defined]
    return len(genesys.requests), len(sendgrid.requests)


def bench_gcnotify(queues: int, latency_ms: float, work: Path) -> dict[str, float]:
    with start_stack(work / f"g{queues}", queue_count=queues, latency_ms=latency_ms) as stack:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ[key] = stack.environ[key]
        handler.reset_cold_start()
        # Cold: config, secret (moto, no injected latency) and the first Genesys token.
        t0 = time.perf_counter()
        handler.handle(EVENT | {"force": True}, environ=stack.environ)
        cold = time.perf_counter() - t0
        g_cold, s_cold = _calls(stack)
        pages = stack.genesys.count("/api/v2/routing/queues")
        warm_times = []
        for _ in range(3):
            before = _calls(stack)
            t0 = time.perf_counter()
            handler.handle(EVENT | {"force": True}, environ=stack.environ)
            warm_times.append(time.perf_counter() - t0)
            after = _calls(stack)
        g_warm, s_warm = after[0] - before[0], after[1] - before[1]
        handler.reset_cold_start()
    return {
        "cold_s": cold,
        "warm_s": statistics.median(warm_times),
        "genesys_cold": g_cold,
        "sendgrid_cold": s_cold,
        "genesys_warm": g_warm,
        "sendgrid_warm": s_warm,
        "lookup_pages": pages,
    }


def bench_tutorial(queues: int, latency_ms: float, work: Path) -> dict[str, float]:
    """One aggregates query per queue, 100 ms apart, then one send: the tutorial's loop."""
    from gcnotify.config import load_config
    from gcnotify.secrets import parse_secret

    with start_stack(work / f"t{queues}", queue_count=queues, latency_ms=latency_ms) as stack:
        config = load_config(stack.environ["GCNOTIFY_CONFIG"])
        report = config.report("support-daily")
        import boto3

        secret = boto3.client(
            "secretsmanager",
            endpoint_url=stack.moto_url,
            region_name="us-east-1",
            aws_access_key_id="demo",
            aws_secret_access_key="demo",  # noqa: S106 - moto
        ).get_secret_value(SecretId=stack.environ["GCNOTIFY_SECRET_ID"])["SecretString"]
        creds = parse_secret("demo", secret)
        from gcnotify.calendar import closed_days

        window = plan_window(
            report, run_day_for_report_date(EVENT_DATE), closed_days(None), explicit_date=True
        )
        t0 = time.perf_counter()
        client = GenesysClient(
            login_url=stack.genesys.url,
            api_url=stack.genesys.url,
            client_id=creds.genesys_client_id,
            client_secret=creds.genesys_client_secret,
        )
        resolved = client.resolve_queues(report.queues)
        for queue in resolved:
            client.query_aggregates(
                build_aggregates_query(
                    interval=window.genesys_interval(),  # type: ignore[union-attr]
                    timezone=report.timezone,
                    queue_ids=[queue.id],
                    genesys_metrics=genesys_metrics(report.metrics),
                )
            )
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        return {"wall_s": elapsed, "genesys": len(stack.genesys.requests)}


EVENT_DATE = __import__("datetime").date(2026, 11, 20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=80.0)
    parser.add_argument("--queues", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--skip-tutorial", action="store_true")
    args = parser.parse_args()
    lat = args.latency_ms / 1000
    print(
        f"latency injected per request: {args.latency_ms:.0f} ms; Python {sys.version.split()[0]}"
    )
    header = (
        "queues | gcnotify cold: calls (G+S), pages, wall, floor, ratio | "
        "warm: calls, wall, floor, ratio | tutorial: calls, wall"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in args.queues:
            g = bench_gcnotify(n, args.latency_ms, work)
            cold_calls = g["genesys_cold"] + g["sendgrid_cold"]
            warm_calls = g["genesys_warm"] + g["sendgrid_warm"]
            cold_floor = cold_calls * lat
            warm_floor = warm_calls * lat
            line = (
                f"{n:>6} | {g['genesys_cold']:.0f}+{g['sendgrid_cold']:.0f}, "
                f"{g['lookup_pages']:.0f}, {g['cold_s']:.3f} s, {cold_floor:.3f} s, "
                f"{g['cold_s'] / cold_floor:.2f}x | {warm_calls:.0f}, {g['warm_s']:.3f} s, "
                f"{warm_floor:.3f} s, {g['warm_s'] / warm_floor:.2f}x"
            )
            if not args.skip_tutorial:
                t = bench_tutorial(n, args.latency_ms, work)
                line += f" | {t['genesys']:.0f}+1, {t['wall_s']:.3f} s (+send)"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
