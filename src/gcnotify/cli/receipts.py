"""``gcnotify receipts``: what became of each message, read from the messages table.

The table is the one named by ``GCNOTIFY_MESSAGES_TABLE`` (``AWS_ENDPOINT_URL`` points boto3 at
a local stack). Messages are read by the day index (``by_day``: the UTC day of the first send
attempt), from ``--since`` (default: six days before today, so a week) through today, oldest day
first; ``--campaign`` and ``--status`` filter what was read. ``--key`` reads one message instead.

Addresses are masked as a campaign preview masks them: this output is pasted into tickets.
Exit codes as everywhere in the command line: 0 done, 2 bad input, 1 the table could not be used.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from gcnotify.aws.messages import RETENTION, STATUSES, MessageStore
from gcnotify.cli.tables import limit_argument, open_table, table_name
from gcnotify.core.errors import GcnotifyError
from gcnotify.core.show import did_you_mean, show
from gcnotify.core.values import instant
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from gcnotify.aws.messages import MessageRecord

__all__ = ["TABLE_WIDTH", "register", "run"]

DEFAULT_DAYS = 7  # without --since: today and the six days before it
DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
TABLE_WIDTH = 100  # the table's lines never exceed this many characters
_GAP = " "
_MIDDLE_CUT = frozenset({0})  # keys differ at their ends (the contact): keep both
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Table columns: (heading, the narrowest it may be squeezed to; None: never squeezed). Rows sit
# under a line naming their UTC day, so the times need no date. The floors keep a masked phone
# whole and, with every unsqueezed column at its widest, still fit TABLE_WIDTH.
_COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("KEY", 18),
    ("CHANNEL", 8),
    ("TEMPLATE", 10),
    ("TO", 12),
    ("STATUS", None),
    ("RECEIPT", 10),
    ("SENT", None),
    ("DELIVERED", None),
)


class _BadInput(Exception):
    """Input the user must fix (exit 2)."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``receipts`` to the command line's sub-parsers."""
    receipts = subparsers.add_parser(
        "receipts",
        help="what happened to each message: status, receipt, sent and delivered times",
        description=(
            "List messages from the messages table named by GCNOTIFY_MESSAGES_TABLE, by the UTC "
            f"day of their first send (default: the last {DEFAULT_DAYS} days)."
        ),
    )
    receipts.add_argument("--campaign", metavar="ID", help="only messages of this campaign")
    receipts.add_argument(
        "--since",
        type=_day,
        metavar="YYYY-MM-DD",
        help=f"first UTC day of first sends to read (default: {DEFAULT_DAYS - 1} days ago)",
    )
    receipts.add_argument(
        "--status", metavar="S", help=f"only messages in this status ({', '.join(STATUSES)})"
    )
    receipts.add_argument("--key", help="only the message with this idempotency key")
    receipts.add_argument(
        "--limit",
        type=limit_argument(MAX_LIMIT),
        default=DEFAULT_LIMIT,
        help=f"at most this many messages (default {DEFAULT_LIMIT:,})",
    )
    receipts.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (fits 100 columns), json (with each message's history) or csv",
    )


def run(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """Run ``receipts``; 0 done, 2 bad input, 1 the table failed."""
    env = os.environ if environ is None else environ
    stdout = out if out is not None else sys.stdout
    today = (now if now is not None else datetime.now(UTC)).astimezone(UTC).date()
    try:  # everything the user typed is checked before the table is touched
        status = _status(args.status)
        days = _days(args.since, today)
        name = table_name(MessageStore, env, "MessagesTable", _BadInput)
    except _BadInput as exc:
        print(f"gcnotify: {exc}", file=sys.stderr)
        return 2
    try:
        store = open_table(MessageStore, name, env)
        records, more = _collect(store, args, days, status)
    except GcnotifyError as exc:
        print(f"gcnotify: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        body = {
            # The UTC days of first sends read; none for one --key.
            "days": [] if args.key is not None else [days[0].isoformat(), days[-1].isoformat()],
            "messages": [_as_json(r) for r in records],
            "truncated": more,
        }
        print(json.dumps(body, ensure_ascii=False, indent=2), file=stdout)
    elif args.format == "csv":
        _print_csv(records, stdout)
    else:
        _print_table(records, stdout)
        if not records:
            print("(no messages match)", file=stdout)
        if more:
            print(f"(more messages: raise --limit above {args.limit:,})", file=stdout)
    return 0


def _status(text: str | None) -> str | None:
    if text is None or text in STATUSES:
        return text
    raise _BadInput(
        f"--status {show(text)} is not a message status{did_you_mean(text, STATUSES)}; use one "
        f"of {', '.join(STATUSES)}"
    )


def _days(since: date | None, today: date) -> list[date]:
    first = since if since is not None else today - timedelta(days=DEFAULT_DAYS - 1)
    if first > today:
        raise _BadInput(f"--since {first} is after today ({today}, UTC); nothing was sent yet")
    if (today - first) > RETENTION:
        raise _BadInput(
            f"--since {first} is more than {RETENTION.days} days ago: the messages table keeps "
            f"a message {RETENTION.days} days after its last move; use a later date"
        )
    return [first + timedelta(days=i) for i in range((today - first).days + 1)]


def _read(
    store: MessageStore, args: argparse.Namespace, days: Sequence[date]
) -> Iterator[MessageRecord]:
    if args.key is not None:
        record = store.get(args.key)
        if record is not None:
            yield record
        return
    for day in days:
        start: dict[str, Any] | None = None
        while True:
            page = store.sent_on(day, start=start)
            yield from sorted(page.records, key=_order)
            start = page.next_start
            if not start:
                break


def _collect(
    store: MessageStore, args: argparse.Namespace, days: Sequence[date], status: str | None
) -> tuple[list[MessageRecord], bool]:
    """The matching records, at most ``--limit``, and whether more matched."""
    source = f"campaign:{args.campaign}" if args.campaign is not None else None
    found: list[MessageRecord] = []
    for record in _read(store, args, days):
        if status is not None and record.status != status:
            continue
        if source is not None and record.fields.get("source") != source:
            continue
        if len(found) == args.limit:
            return found, True
        found.append(record)
    return found, False


def _order(record: MessageRecord) -> tuple[str, str]:
    sent = _sent(record)
    return (sent.isoformat() if sent else "", record.key)


def _sent(record: MessageRecord) -> datetime | None:
    """The first send attempt: ``sent_at``, else the first ``sending`` move."""
    at = instant(record.fields.get("sent_at"))
    if at is not None:
        return at
    return next((e.at for e in record.history if e.status == "sending" and e.at), None)


def _masked(record: MessageRecord) -> str:
    from gcnotify.campaigns import mask

    return mask(record.address) if record.address else ""


def _text(record: MessageRecord, name: str) -> str:
    value = record.fields.get(name)
    return REDACTOR.mask(str(value)) if value is not None else ""


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _as_json(record: MessageRecord) -> dict[str, Any]:
    return {
        "key": record.key,
        "channel": record.channel,
        "template": record.template,
        "to": _masked(record),
        "source": _text(record, "source") or None,
        "status": record.status,
        "receipt_class": _text(record, "receipt_class") or None,
        "receipt_code": _text(record, "receipt_code") or None,
        "receipt_text": _text(record, "receipt_text") or None,
        "receipt_at": _text(record, "receipt_at") or None,
        "sent_at": _iso(_sent(record)),
        "delivered_at": _iso(instant(record.fields.get("delivered_at"))),
        "attempt": record.fields.get("attempt", 1),
        "history": [
            {"status": e.status, "at": _iso(e.at), "detail": REDACTOR.mask(e.detail)}
            for e in record.history
        ],
    }


def _receipt(record: MessageRecord) -> str:
    """The provider's code; its class too when the class says more than the status does (a
    temporary failure that was not retried ends failed_permanent)."""
    cls, code = _text(record, "receipt_class"), _text(record, "receipt_code")
    if cls and cls != record.status:
        return f"{cls}: {code}" if code else cls
    return code


def _day_of(record: MessageRecord) -> str:
    sent = _sent(record)
    return f"{sent.astimezone(UTC):%Y-%m-%d} (UTC)" if sent is not None else "not sent"


def _clock(value: datetime | None, day: datetime | None) -> str:
    """HH:MM:SS on the row's day; a time on another day carries its date."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    if day is not None and value.date() == day.astimezone(UTC).date():
        return f"{value:%H:%M:%S}"
    return f"{value:%m-%d %H:%M}"


def _row(record: MessageRecord) -> list[str]:
    sent = _sent(record)
    return [
        record.key,
        record.channel,
        record.template,
        _masked(record),
        record.status,
        _receipt(record),
        _clock(sent, sent),
        _clock(instant(record.fields.get("delivered_at")), sent),
    ]


def _cut(text: str, width: int, *, middle: bool) -> str:
    """``text`` in at most ``width`` characters, marked with …; ``middle`` keeps both ends."""
    if len(text) <= width:
        return text
    if middle:
        head = (width - 1) // 2
        return text[:head] + "…" + text[len(text) - (width - 1 - head) :]
    return text[: width - 1] + "…"


def fit_widths(natural: Sequence[int], floors: Sequence[int | None], budget: int) -> list[int]:
    """Column widths whose sum is at most ``budget``: the widest squeezable column gives up one
    character at a time, none below its floor."""
    widths = list(natural)
    while sum(widths) > budget:
        candidates = [
            i for i, floor in enumerate(floors) if floor is not None and widths[i] > floor
        ]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _print_table(records: Sequence[MessageRecord], out: TextIO) -> None:
    """Aligned columns within ``TABLE_WIDTH``, each UTC day's messages under its date."""
    header = [heading for heading, _ in _COLUMNS]
    rows = [_row(r) for r in records]
    natural = [max(len(row[i]) for row in [header, *rows]) for i in range(len(_COLUMNS))]
    budget = TABLE_WIDTH - len(_GAP) * (len(_COLUMNS) - 1)
    widths = fit_widths(natural, [floor for _, floor in _COLUMNS], budget)

    def line(row: Sequence[str]) -> str:
        cells = [
            _cut(cell, width, middle=i in _MIDDLE_CUT).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return _GAP.join(cells).rstrip()

    print(line(header), file=out)
    day = None
    for record, row in zip(records, rows, strict=True):
        if _day_of(record) != day:
            day = _day_of(record)
            print(day[:TABLE_WIDTH], file=out)
        print(line(row), file=out)


def _csv_cell(text: str) -> str:
    """Neutralise spreadsheet formulas (a key or template starting with = or +)."""
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def _print_csv(records: Sequence[MessageRecord], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    header = [
        "key",
        "channel",
        "template",
        "to",
        "source",
        "status",
        "receipt_class",
        "receipt_code",
        "sent_at",
        "delivered_at",
    ]
    writer.writerow(header)
    for record in records:
        data = _as_json(record)
        writer.writerow([_csv_cell(str(data[name] or "")) for name in header])
