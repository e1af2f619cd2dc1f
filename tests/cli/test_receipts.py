"""``gcnotify receipts``: messages read by their day index from moto, filtered by campaign and
status, shown as a 100-column table, JSON with history, or CSV; addresses masked; exit codes."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from gcnotify.cli.main import main
from gcnotify.cli.receipts import TABLE_WIDTH, fit_widths, register, run
from tests.reports.test_delivery_summary_run import Stack, moto_stack, seed

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
ENV = {"GCNOTIFY_MESSAGES_TABLE": "messages"}
MONDAY = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def stack(aws_env: None) -> Iterator[Stack]:
    with moto_stack() as tables:
        yield tables


@pytest.fixture
def seeded(stack: Stack) -> Stack:
    """Five messages over three UTC days, two campaigns and the API."""
    store = stack.messages
    seed(store, "campaign:spring:c1", MONDAY, delivered_after=42, receipt_code="delivered")
    seed(
        store,
        "campaign:spring:c2",
        MONDAY + timedelta(minutes=5),
        "failed_permanent",
        address="+13175550199",
        receipt_class="failed_permanent",
        receipt_code="RecipientOptedOut",
    )
    seed(
        store,
        "campaign:autumn:c3",
        MONDAY + timedelta(days=1),
        "read",
        source="campaign:autumn",
        channel="whatsapp",
        receipt_code="Read",
    )
    seed(
        store,
        "order-1234-receipt",
        MONDAY + timedelta(days=2),
        "sent",
        source="api",
        template="receipt",
        channel="email",
        address="jane.doe@example.com",
    )
    seed(store, "old", MONDAY - timedelta(days=20), source="campaign:spring")
    return stack


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gcnotify")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["receipts", *argv])


def call(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = run(parse(argv), environ=ENV if env is None else env, out=out, now=NOW)
    return code, out.getvalue()


def as_json(argv: Sequence[str]) -> dict[str, object]:
    code, out = call([*argv, "--format", "json"])
    assert 0 == code
    body: dict[str, object] = json.loads(out)
    return body


def keys_of(body: dict[str, object]) -> list[str]:
    messages = body["messages"]
    assert isinstance(messages, list)
    return [m["key"] for m in messages]


def test_the_table_lists_the_last_week_oldest_day_first(seeded: Stack) -> None:
    """Without --since: today and the six days before; the 20-day-old message is not read.
    Each UTC day under its date; each row: key, channel, template, masked address, status,
    receipt, sent and delivered times."""
    code, out = call([])
    assert 0 == code
    assert [
        "KEY                CHANNEL  TEMPLATE    TO           STATUS           RECEIPT     "
        "SENT     DELIVERED",
        "2026-03-02 (UTC)",
        "campaign:spring:c1 sms      order-ship… +*******0100 delivered        delivered   "
        "14:00:00 14:00:42",
        "campaign:spring:c2 sms      order-ship… +*******0199 failed_permanent RecipientO… "
        "14:05:00",
        "2026-03-03 (UTC)",
        "campaign:autumn:c3 whatsapp order-ship… +*******0100 read             Read        "
        "14:00:00 14:00:30",
        "2026-03-04 (UTC)",
        "order-1234-receipt email    receipt     j***@exampl… sent                         "
        "14:00:00",
    ] == out.splitlines()
    assert "jane.doe" not in out


def test_a_short_table_is_not_cut(stack: Stack) -> None:
    """Values that fit are shown whole; a delivery on a later day carries its date."""
    seed(stack.messages, "k1", MONDAY, delivered_after=86_400 + 60, source="api")
    code, out = call([])
    assert (0, "k1  sms     order-shipped +*******0100 delivered         14:00:00 03-03 14:01") == (
        code,
        out.splitlines()[2],
    )


def test_long_values_are_cut_so_every_line_fits_100_columns(stack: Stack) -> None:
    """A long key keeps its start and end, long names are cut with …; no line passes 100."""
    key = "campaign:win-back-customers-who-called-twice:" + "x" * 40 + "-END"
    seed(
        stack.messages,
        key,
        MONDAY,
        "failed_permanent",
        source="campaign:win-back",
        template="a-very-long-template-name-for-spanish-overnight-overflow",
        channel="webmessaging",
        address="someone.with.a.long.name@subdomain.example.com",
        receipt_class="failed_permanent",
        receipt_code="InvalidMessageStructureWithAVeryLongCode",
    )
    code, out = call([])
    lines = out.splitlines()
    assert 0 == code
    assert [] == [line for line in lines if len(line) > TABLE_WIDTH]
    assert (
        "campaign…xxxxx-END webmessag… a-very-lo… s***@subdom… failed_permanent InvalidMe… 14:00:00"
    ) == lines[2]


def test_widths_shrink_the_widest_squeezable_column_first() -> None:
    """40, 10 (fixed) and 30 in 60: the widest gives way first, so 25 and 25; never below a
    floor, even when the budget cannot be met."""
    assert [25, 10, 25] == fit_widths([40, 10, 30], [8, None, 8], 60)
    assert [8, 10, 8] == fit_widths([40, 10, 30], [8, None, 8], 10)


def test_since_reads_from_that_day(seeded: Stack) -> None:
    """--since 2026-03-03: Tuesday's and Wednesday's messages, not Monday's."""
    assert ["campaign:autumn:c3", "order-1234-receipt"] == keys_of(
        as_json(["--since", "2026-03-03"])
    )


def test_since_reads_only_the_day_index(seeded: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """One index query per day, never a scan: 2026-02-10 to today is 23 days."""
    from gcnotify.aws.messages import AwaitingPage, MessageStore

    asked: list[date] = []
    original = MessageStore.sent_on

    def spy(self: MessageStore, day: date, **kwargs: Any) -> AwaitingPage:
        asked.append(day)
        return original(self, day, **kwargs)

    monkeypatch.setattr(MessageStore, "sent_on", spy)
    monkeypatch.setattr(seeded.client, "scan", lambda **_: pytest.fail("scanned"), raising=False)
    body = as_json(["--since", "2026-02-10"])
    assert "old" in keys_of(body)
    assert (date(2026, 2, 10), date(2026, 3, 4), 23) == (asked[0], asked[-1], len(asked))


def test_campaign_filters_by_source(seeded: Stack) -> None:
    """--campaign spring: its two messages this week; autumn and the API's are left out."""
    assert ["campaign:spring:c1", "campaign:spring:c2"] == keys_of(
        as_json(["--campaign", "spring"])
    )


def test_status_filters(seeded: Stack) -> None:
    """--status failed_permanent: only the opt-out."""
    assert ["campaign:spring:c2"] == keys_of(as_json(["--status", "failed_permanent"]))


def test_a_misspelt_status_suggests_the_closest(
    seeded: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """--status deliverd: exit 2 before the table is read, with "did you mean 'delivered'"."""
    code, out = call(["--status", "deliverd"])
    err = capsys.readouterr().err
    assert (2, "") == (code, out)
    assert "did you mean 'delivered'?" in err
    assert "read" in err  # the statuses are listed


def test_json_holds_the_history_and_the_receipt(seeded: Stack) -> None:
    """--format json: each message's fields and every move of its history, address masked."""
    body = as_json(["--campaign", "spring", "--status", "failed_permanent"])
    messages = body["messages"]
    assert isinstance(messages, list)
    (message,) = messages
    assert {
        "key": "campaign:spring:c2",
        "channel": "sms",
        "template": "order-shipped",
        "to": "+*******0199",
        "source": "campaign:spring",
        "status": "failed_permanent",
        "receipt_class": "failed_permanent",
        "receipt_code": "RecipientOptedOut",
        "sent_at": "2026-03-02T14:05:00+00:00",
        "delivered_at": None,
    }.items() <= message.items()
    assert ["accepted", "sending", "failed_permanent"] == [h["status"] for h in message["history"]]
    assert (False, ["2026-02-26", "2026-03-04"]) == (body["truncated"], body["days"])


def test_csv_has_one_row_per_message(seeded: Stack) -> None:
    """--format csv: a header and a row each, the delivered time in full."""
    code, out = call(["--format", "csv", "--campaign", "spring"])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert 0 == code
    assert ["campaign:spring:c1", "campaign:spring:c2"] == [r["key"] for r in rows]
    assert "2026-03-02T14:00:42+00:00" == rows[0]["delivered_at"]
    assert "'+*******0100" == rows[0]["to"]  # a leading + is never read as a formula


def test_limit_says_there_is_more(seeded: Stack) -> None:
    """--limit 2 of four: two rows (under the heading and their day), and the table and the
    JSON say more matched."""
    code, out = call(["--limit", "2"])
    assert (0, 5) == (code, len(out.splitlines()))
    assert "(more messages: raise --limit above 2)" == out.splitlines()[-1]
    assert True is as_json(["--limit", "2"])["truncated"]


def test_key_reads_one_message(seeded: Stack) -> None:
    """--key: that message, whatever day it was sent."""
    body = as_json(["--key", "old"])
    assert (["old"], []) == (keys_of(body), body["days"])
    code, out = call(["--key", "nobody"])
    assert (0, "(no messages match)") == (code, out.splitlines()[-1])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "2026-03-05"], "after today"),
        (["--since", "2025-01-01"], "more than 400 days ago"),
    ],
)
def test_dates_outside_the_table_are_refused(
    stack: Stack, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == call(argv)[0]
    assert message in capsys.readouterr().err


def test_without_the_table_variable_it_says_what_to_set(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == call([], env={})[0]
    assert "GCNOTIFY_MESSAGES_TABLE is not set" in capsys.readouterr().err


def test_a_missing_table_is_exit_1(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert 1 == call([], env={"GCNOTIFY_MESSAGES_TABLE": "no-such-table"})[0]
    assert "messages table (DynamoDB table 'no-such-table')" in capsys.readouterr().err


def test_the_command_line_runs_it(
    seeded: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """gcnotify receipts is registered: a bad --format is argparse's exit 2, a good run 0."""
    monkeypatch.setenv("GCNOTIFY_MESSAGES_TABLE", "messages")
    with pytest.raises(SystemExit) as info:
        main(["receipts", "--format", "xml"])
    assert 2 == info.value.code
    capsys.readouterr()
    assert 0 == main(["receipts", "--since", "2026-03-01", "--format", "json"])
    assert "campaign:spring:c1" in capsys.readouterr().out
