"""``gcnotify suppress add|remove|list|check``: the operator's hands on the suppression table.

The table is the one named by ``GCNOTIFY_SUPPRESSION_TABLE`` (``AWS_ENDPOINT_URL`` points boto3
at a local stack). Addresses are normalised as the sender does (``+1 (317) 555-0100`` is
``+13175550100``), so what ``check`` says is what a send would meet. Exit codes as everywhere in
the command line: 0 done, 2 bad input (an address that does not parse, a missing option or
variable), 1 the table could not be used.

Output shows addresses in full: this is the operator's own table. Reasons and sources were masked
for secrets when written and are masked again on the way out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from gcnotify.aws.suppression import CHANNELS, TEXT_LIMIT, SuppressionTable, normalise_address
from gcnotify.cli.tables import limit_argument, open_table, table_name
from gcnotify.core.errors import GcnotifyError, SuppressionError
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from gcnotify.aws.suppression import Suppression

__all__ = ["register", "run"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
REMOVE_REASON = "removed with gcnotify suppress remove"


class _BadInput(Exception):
    """Input the user must fix (exit 2)."""


def _channel(parser: argparse.ArgumentParser, *, required: bool, help: str) -> None:
    parser.add_argument(
        "--channel",
        required=required,
        choices=CHANNELS,
        metavar="{" + ",".join(CHANNELS) + "}",
        help=help,
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``suppress`` and its sub-commands to the command line's sub-parsers."""
    suppress = subparsers.add_parser(
        "suppress",
        help="add, remove, list or check opted-out addresses (the suppression table)",
        description="Manage the suppression table named by GCNOTIFY_SUPPRESSION_TABLE.",
    )
    sub = suppress.add_subparsers(dest="suppress_command", required=True)
    address = "E.164 number (+13175550100), email address, or external contact id"

    add = sub.add_parser("add", help="suppress an address on a channel")
    add.add_argument("address", help=address)
    _channel(add, required=True, help="the channel it must not be messaged on")
    add.add_argument("--reason", required=True, help="why, kept in the entry's history")
    add.add_argument("--source", help="who (default: cli:<your user name>)")

    remove = sub.add_parser("remove", help="lift an address's suppression (history kept)")
    remove.add_argument("address", help=address)
    _channel(remove, required=True, help="the channel to lift it on")
    remove.add_argument("--reason", default=REMOVE_REASON, help="why it is lifted")
    remove.add_argument("--source", help="who (default: cli:<your user name>)")

    listing = sub.add_parser("list", help="list suppressed addresses")
    _channel(listing, required=False, help="only this channel")
    listing.add_argument(
        "--limit",
        type=limit_argument(MAX_LIMIT),
        default=DEFAULT_LIMIT,
        help=f"at most this many entries (default {DEFAULT_LIMIT})",
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")

    check = sub.add_parser("check", help="would a send to this address be suppressed?")
    check.add_argument("address", help=address)
    _channel(check, required=True, help="the channel a send would use")
    check.add_argument("--format", choices=("table", "json"), default="table")


def run(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """Run one ``suppress`` sub-command; 0 done, 2 bad input, 1 the table failed."""
    env = os.environ if environ is None else environ
    stdout = out if out is not None else sys.stdout
    command = args.suppress_command
    try:  # everything the user typed is checked before the table is touched
        address = None
        if command in ("add", "remove", "check"):
            address = normalise_address(args.channel, args.address)
        if command in ("add", "remove"):
            _check_text("--reason", args.reason)
            if args.source is not None:
                _check_text("--source", args.source)
        name = table_name(SuppressionTable, env, "SuppressionTable", _BadInput)
    except (_BadInput, SuppressionError) as exc:
        print(f"gcnotify: {exc}", file=sys.stderr)
        return 2
    when = now if now is not None else datetime.now(UTC)
    try:
        table = open_table(SuppressionTable, name, env)
        if command == "add" and address is not None:
            entry = table.add(args.channel, address, args.reason, _source(args), when)
            print(f"suppressed {_line(entry)}", file=stdout)
        elif command == "remove" and address is not None:
            removed = table.remove(args.channel, address, args.reason, _source(args), when)
            if removed is None:
                print(f"{args.channel} {address} was not suppressed; nothing changed", file=stdout)
            else:
                print(f"unsuppressed {args.channel} {address}", file=stdout)
        elif command == "check" and address is not None:
            _print_check(table.check(args.channel, address), args, address, stdout)
        else:
            _print_list(table, args, stdout)
    except GcnotifyError as exc:
        print(f"gcnotify: {exc}", file=sys.stderr)
        return 1
    return 0


def _check_text(option: str, value: str) -> None:
    if not value.strip():
        raise _BadInput(f"{option} is empty; say in a few words what happened")
    if len(value) > TEXT_LIMIT:
        raise _BadInput(f"{option} is {len(value)} characters; keep it within {TEXT_LIMIT}")


def _source(args: argparse.Namespace) -> str:
    if args.source is not None:
        return str(args.source)
    import getpass

    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        user = "unknown"
    return f"cli:{user}"


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _line(entry: Suppression) -> str:
    return (
        f"{entry.channel} {entry.address} (reason: {REDACTOR.mask(entry.reason)}; "
        f"source: {REDACTOR.mask(entry.source)}; since {_when(entry.since)})"
    )


def _entry(entry: Suppression) -> dict[str, Any]:
    return {
        "channel": entry.channel,
        "address": entry.address,
        "reason": REDACTOR.mask(entry.reason),
        "source": REDACTOR.mask(entry.source),
        "since": _when(entry.since) or None,
    }


def _print_check(
    entry: Suppression | None, args: argparse.Namespace, address: str, out: TextIO
) -> None:
    if args.format == "json":
        answer: dict[str, Any] = {"channel": args.channel, "address": address}
        answer["suppressed"] = entry is not None
        if entry is not None:
            answer.update(_entry(entry))
        print(json.dumps(answer, ensure_ascii=False), file=out)
    elif entry is None:
        print(f"{args.channel} {address} is not suppressed: it may be messaged", file=out)
    else:
        print(f"{args.channel} {address} is suppressed: {_line(entry)}", file=out)


def _print_list(table: SuppressionTable, args: argparse.Namespace, out: TextIO) -> None:
    """Pages until ``--limit`` entries or the end: a page may hold fewer than asked."""
    entries: list[Suppression] = []
    cursor: str | None = None
    while len(entries) < args.limit:
        page = table.list(args.channel, limit=args.limit - len(entries), cursor=cursor)
        entries.extend(page.items)
        cursor = page.cursor
        if cursor is None:
            break
    entries = entries[: args.limit]
    more = cursor is not None
    if args.format == "json":
        body = {"suppressions": [_entry(e) for e in entries], "truncated": more}
        print(json.dumps(body, ensure_ascii=False, indent=2), file=out)
        return
    rows = [("CHANNEL", "ADDRESS", "SINCE", "SOURCE", "REASON")]
    rows += [
        (
            e.channel,
            e.address,
            _when(e.since)[:19],
            REDACTOR.mask(e.source),
            REDACTOR.mask(e.reason),
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip(), file=out)
    if not entries:
        print("(no suppressed addresses)", file=out)
    if more:
        print(f"(more entries: raise --limit above {args.limit})", file=out)
