"""``gcnotify`` command line: ``validate``, ``run``, ``send``, ``campaign``, ``suppress``,
``receipts`` and ``demo`` (docs/EVENTS.md).

``run`` builds the same event a manual Lambda invocation would and goes through the same
``gcnotify.handlers.report.handle`` code path, so what works here works in Lambda.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from gcnotify import __version__
from gcnotify.core.errors import ConfigError, EventError, GcnotifyError, RunFailedError

__all__ = ["main"]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-20") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gcnotify",
        description="Genesys Cloud queue reports by email, on AWS Lambda or from this command.",
    )
    parser.add_argument("--version", action="version", version=f"gcnotify {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser(
        "validate", help="check the config file; exit 2 listing every problem"
    )
    validate.add_argument(
        "--config",
        type=Path,
        help="config path (default: GCNOTIFY_CONFIG or the bundled gcnotify.yaml)",
    )

    run = sub.add_parser("run", help="run reports now, through the Lambda handler's code path")
    run.add_argument(
        "--config",
        type=Path,
        help="config path (default: GCNOTIFY_CONFIG or the bundled gcnotify.yaml)",
    )
    run.add_argument(
        "--report",
        action="append",
        dest="reports",
        metavar="ID",
        help="run only this report (repeatable)",
    )
    run.add_argument(
        "--date", type=_date, metavar="YYYY-MM-DD", help="the business date to report on"
    )
    run.add_argument(
        "--from",
        dest="date_from",
        type=_date,
        metavar="YYYY-MM-DD",
        help="backfill: first business date (with --to); already-sent days are not re-sent",
    )
    run.add_argument(
        "--to",
        dest="date_to",
        type=_date,
        metavar="YYYY-MM-DD",
        help="backfill: last business date, inclusive",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="render and write the email, send nothing"
    )
    run.add_argument("--force", action="store_true", help="send even if already sent for that date")
    run.add_argument(
        "--allow-partial",
        action="store_true",
        help="allow a --date whose day is not over yet; the email says it is partial",
    )
    run.add_argument(
        "--out", type=Path, metavar="DIR", help="write each email as .html/.txt/.eml here"
    )

    send = sub.add_parser(
        "send", help="take one notification request, as the intake does (validated, recorded)"
    )
    send.add_argument(
        "request",
        nargs="?",
        type=Path,
        help="a JSON file with the request (- for standard input); or use the options below",
    )
    send.add_argument("--template", help="template id")
    send.add_argument("--to", help="E.164 number or email address")
    send.add_argument("--key", help="the idempotency key (required)")
    send.add_argument("--external-contact-id", help="web messaging: the external contact")
    send.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="a template variable"
    )
    send.add_argument("--timezone", help="the recipient's IANA zone")
    send.add_argument("--config", type=Path, help="config path")

    campaign = sub.add_parser(
        "campaign", help="preview or run a configured campaign (the campaign function's path)"
    )
    campaign.add_argument("action", choices=("preview", "run"), help="preview: queue nothing")
    campaign.add_argument("id", help="the campaign id (campaigns[].id)")
    campaign.add_argument("--config", type=Path, help="config path")

    from gcnotify.cli.receipts import register as register_receipts
    from gcnotify.cli.suppress import register as register_suppress

    register_suppress(sub)
    register_receipts(sub)

    demo = sub.add_parser(
        "demo", help="run the main job end to end on local stand-ins (no account needed)"
    )
    demo.add_argument(
        "which",
        nargs="?",
        choices=("report", "standup", "all", "notify", "campaign", "receipts"),
        default="all",
        help="which pipeline to run: the queue reports, the standup pack, all the reports "
        "(default), notify (notifications across channels), campaign, or receipts (delivery "
        "receipts: the poller, the SendGrid webhook, the delivery summary)",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        help="where to write the sent email (default: out/)",
    )
    demo.add_argument(
        "--queues", type=int, default=12, help="number of synthetic queues (default 12)"
    )
    demo.add_argument(
        "--latency-ms", type=float, default=0.0, help="latency the stand-ins add per request"
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="keep the stand-ins running (for `sam local invoke --env-vars`)",
    )
    return parser


def _configure_logging(verbose: bool) -> None:
    from gcnotify.runtime.log import configure_cli_logging

    configure_cli_logging(logging.INFO if verbose else logging.WARNING)


def _validate(config_path: Path | None) -> int:
    from gcnotify.campaigns.settings import campaigns_block
    from gcnotify.core.config import load_config
    from gcnotify.messaging.settings import MessagingSettings, messaging_block
    from gcnotify.receipts.settings import ReceiptSettings, receipts_block
    from gcnotify.runtime.resources import read_template
    from gcnotify.runtime.settings import Settings

    path = config_path or Settings.from_env(os.environ).config_path
    blocks = {
        "messaging": messaging_block(read_template),
        "campaigns": campaigns_block(),
        "receipts": receipts_block(),
    }
    config = load_config(path, blocks=blocks)
    messaging = config.blocks.get("messaging")
    campaign_ids: list[str] = []
    if "campaigns" in config.blocks:
        # What only both blocks together show: templates, channels, variables.
        from gcnotify.campaigns.settings import campaigns_of, cross_check
        from gcnotify.core.errors import ConfigProblem

        campaigns = campaigns_of(config)
        if not isinstance(messaging, MessagingSettings):
            missing = ConfigProblem("messaging", "is missing: campaigns send through its templates")
            raise ConfigError([missing], str(path))
        found = [ConfigProblem(p, m) for p, m in cross_check(campaigns, messaging)]
        if found:
            raise ConfigError(found, str(path))
        campaign_ids = [c.id for c in campaigns]
    print(
        f"{path}: OK — {len(config.reports)} report(s): {', '.join(r.id for r in config.reports)}"
    )
    if isinstance(messaging, MessagingSettings):
        ids = ", ".join(t.id for t in messaging.templates)
        print(f"  messaging: {len(messaging.templates)} template(s): {ids}")
    if "campaigns" in config.blocks:
        print(f"  campaigns: {len(campaign_ids)}: {', '.join(campaign_ids)}")
    receipts = config.blocks.get("receipts")
    if isinstance(receipts, ReceiptSettings):
        minutes = int(receipts.poll_every.total_seconds() // 60)
        hours = receipts.final_after.total_seconds() / 3600
        print(f"  receipts: polled every {minutes} min, final after {hours:g} h")
    return 0


def _send(args: argparse.Namespace) -> int:
    """One request through the intake's own path; the answer is printed as JSON."""
    from gcnotify.handlers.intake import take_one

    environ = dict(os.environ)
    if args.config is not None:
        environ["GCNOTIFY_CONFIG"] = str(args.config)
    if args.request is not None:
        body = sys.stdin.read() if str(args.request) == "-" else args.request.read_text("utf-8")
    else:
        request: dict[str, object] = {}
        for name in ("template", "to", "key", "external_contact_id", "timezone"):
            value = getattr(args, name)
            if value is not None:
                request[name] = value
        variables: dict[str, str] = {}
        for pair in args.var:
            name, sep, value = pair.partition("=")
            if not sep:
                raise EventError(f"--var {pair!r} must be NAME=VALUE")
            variables[name] = value
        request["variables"] = variables
        body = json.dumps(request)
    from datetime import UTC, datetime

    outcome = take_one(body, source="cli", environ=environ, now=datetime.now(UTC))
    print(json.dumps(outcome.answer(), indent=2, ensure_ascii=False))
    return 0 if outcome.status != "rejected" else 2


def _campaign(args: argparse.Namespace) -> int:
    """Preview (a dry run) or run one campaign through the campaign handler's own code."""
    from gcnotify.handlers.campaign import handle

    environ = dict(os.environ)
    if args.config is not None:
        environ["GCNOTIFY_CONFIG"] = str(args.config)
    event = {"campaign": args.id, "dry_run": args.action == "preview"}
    summary = handle(event, environ=environ)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 1 if summary.get("rejected") else 0


def _dates(args: argparse.Namespace) -> list[date | None]:
    """The business dates to run: one (--date), a range (--from/--to), or none (now)."""
    if (args.date_from is None) != (args.date_to is None):
        raise EventError("--from and --to go together")
    if args.date_from is None:
        return [args.date]
    if args.date is not None:
        raise EventError("give --date or --from/--to, not both")
    if args.date_to < args.date_from:
        raise EventError(f"--to {args.date_to} is before --from {args.date_from}")
    days = (args.date_to - args.date_from).days + 1
    if days > 366:
        raise EventError(f"--from/--to spans {days} days; backfill at most 366 at a time")
    return [args.date_from + timedelta(days=i) for i in range(days)]


def _run(args: argparse.Namespace) -> int:
    from gcnotify.handlers.report import handle

    environ = dict(os.environ)
    if args.config is not None:
        environ["GCNOTIFY_CONFIG"] = str(args.config)
    failed = False
    for day in _dates(args):
        event: dict[str, object] = {"dry_run": args.dry_run, "force": args.force}
        if args.allow_partial:
            event["allow_partial"] = True
        if args.reports:
            event["reports"] = args.reports
        if day is not None:
            event["report_date"] = day.isoformat()
        try:
            summary = handle(event, environ=environ, out_dir=args.out)
        except RunFailedError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
            continue
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        if args.command == "validate":
            return _validate(args.config)
        if args.command == "run":
            return _run(args)
        if args.command == "send":
            return _send(args)
        if args.command == "campaign":
            return _campaign(args)
        if args.command == "suppress":
            from gcnotify.cli.suppress import run as run_suppress

            return run_suppress(args)
        if args.command == "receipts":
            from gcnotify.cli.receipts import run as run_receipts

            return run_receipts(args)
        if args.which == "campaign":
            from gcnotify.cli.demo_campaign import run_campaign_demo

            return run_campaign_demo(out=args.out, latency_ms=args.latency_ms)
        if args.which == "receipts":
            from gcnotify.cli.demo_receipts import run_receipts_demo

            return run_receipts_demo(out=args.out, latency_ms=args.latency_ms)
        if args.which == "notify":
            from gcnotify.cli.demo_notify import run_notify_demo

            return run_notify_demo(out=args.out, latency_ms=args.latency_ms)
        from gcnotify.cli.demo import run_demo

        return run_demo(
            out=args.out,
            queues=args.queues,
            latency_ms=args.latency_ms,
            serve=args.serve,
            which=args.which,
        )
    except (ConfigError, EventError) as exc:
        print(f"gcnotify: {exc}" if isinstance(exc, EventError) else str(exc), file=sys.stderr)
        return 2
    except GcnotifyError as exc:
        print(f"gcnotify: {exc}", file=sys.stderr)
        return 1
