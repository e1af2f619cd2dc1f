"""``gcnotify suppress``: each sub-command against moto, its exit codes and output formats."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.suppression import SuppressionTable, create_suppression_table
from gcnotify.cli.suppress import register, run

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ENV = {"GCNOTIFY_SUPPRESSION_TABLE": "suppression"}


@pytest.fixture
def table(aws_env: None) -> Iterator[SuppressionTable]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_suppression_table(client, "suppression")
        yield SuppressionTable(client, "suppression")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gcnotify")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["suppress", *argv])


def call(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = run(parse(argv), environ=ENV if env is None else env, out=out, now=NOW)
    return code, out.getvalue()


def test_add_suppresses_the_normalised_address(table: SuppressionTable) -> None:
    """add: exit 0, the entry in the table under its E.164 spelling with reason and source."""
    argv = ["add", "+1 (317) 555-0100", "--channel", "sms", "--reason", "asked"]
    code, out = call([*argv, "--source", "cli:ops"])
    entry = table.check("sms", "+13175550100")
    assert entry is not None
    assert (0, "asked", "cli:ops", NOW) == (code, entry.reason, entry.source, entry.since)
    assert out.startswith("suppressed sms +13175550100 (reason: asked; source: cli:ops;")


def test_the_default_source_names_the_user(
    table: SuppressionTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --source: cli:<login name>."""
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    call(["add", "jane@example.com", "--channel", "email", "--reason", "asked"])
    entry = table.check("email", "jane@example.com")
    assert entry is not None
    assert "cli:alice" == entry.source


def test_remove_lifts_the_suppression_and_keeps_history(table: SuppressionTable) -> None:
    """remove: exit 0, the entry inactive with the removal in its history."""
    table.add("sms", "+13175550100", "STOP", "data-action opt-out", NOW)
    code, out = call(["remove", "+13175550100", "--channel", "sms", "--source", "cli:ops"])
    entry = table.get("sms", "+13175550100")
    assert entry is not None
    assert (0, False, "removed", "cli:ops") == (
        code,
        entry.active,
        entry.history[-1].action,
        entry.history[-1].source,
    )
    assert "unsuppressed sms +13175550100\n" == out


def test_removing_an_address_that_is_not_suppressed_changes_nothing(
    table: SuppressionTable,
) -> None:
    """Nothing to lift: exit 0 and says so; no entry is created."""
    code, out = call(["remove", "+13175550100", "--channel", "sms"])
    assert (0, "sms +13175550100 was not suppressed; nothing changed\n", None) == (
        code,
        out,
        table.get("sms", "+13175550100"),
    )


def test_check_in_both_formats(table: SuppressionTable) -> None:
    """check: plain text or one JSON object; suppressed or not."""
    table.add("sms", "+13175550100", "STOP", "data-action opt-out", NOW)
    code, text = call(["check", "+1 317 555 0100", "--channel", "sms"])
    _, free = call(["check", "+13175550101", "--channel", "sms", "--format", "json"])
    _, held = call(["check", "+13175550100", "--channel", "sms", "--format", "json"])
    assert (0, True) == (code, text.startswith("sms +13175550100 is suppressed: "))
    assert {"channel": "sms", "address": "+13175550101", "suppressed": False} == json.loads(free)
    assert {
        "channel": "sms",
        "address": "+13175550100",
        "suppressed": True,
        "reason": "STOP",
        "source": "data-action opt-out",
        "since": NOW.isoformat(),
    } == json.loads(held)


def test_list_as_json_filters_by_channel_and_leaves_out_removed(table: SuppressionTable) -> None:
    """list --channel sms --format json: the active sms entries only, addresses in full."""
    table.add("sms", "+13175550100", "STOP", "data-action opt-out", NOW)
    table.add("sms", "+13175550101", "STOP", "data-action opt-out", NOW)
    table.remove("sms", "+13175550101", "START", "data-action opt-out", NOW)
    table.add("email", "jane@example.com", "bounce", "sendgrid", NOW)
    code, out = call(["list", "--channel", "sms", "--format", "json"])
    body = json.loads(out)
    assert (0, ["+13175550100"], False) == (
        code,
        [e["address"] for e in body["suppressions"]],
        body["truncated"],
    )


def test_list_as_a_table_has_a_header_and_one_row_per_entry(table: SuppressionTable) -> None:
    """The default format: aligned columns, every channel."""
    table.add("sms", "+13175550100", "STOP", "data-action opt-out", NOW)
    table.add("email", "jane@example.com", "bounce", "sendgrid", NOW)
    code, out = call(["list"])
    lines = out.splitlines()
    assert (0, ["CHANNEL", "ADDRESS", "SINCE", "SOURCE", "REASON"], 3) == (
        code,
        lines[0].split(),
        len(lines),
    )
    assert {"+13175550100", "jane@example.com"} == {line.split()[1] for line in lines[1:]}


def test_list_stops_at_the_limit_and_says_there_is_more(table: SuppressionTable) -> None:
    """--limit 2 of 3: two rows, and a hint to raise the limit."""
    for n in range(3):
        table.add("sms", f"+1317555010{n}", "STOP", "data-action opt-out", NOW)
    _, text = call(["list", "--limit", "2"])
    _, data = call(["list", "--limit", "2", "--format", "json"])
    assert (3, True, 2, True) == (
        len(text.splitlines()) - 1,
        "raise --limit above 2" in text,
        len(json.loads(data)["suppressions"]),
        json.loads(data)["truncated"],
    )


def test_an_empty_table_lists_nothing(table: SuppressionTable) -> None:
    """No entries: the header and a line saying so."""
    code, out = call(["list"])
    assert (0, "(no suppressed addresses)") == (code, out.splitlines()[1])


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["add", "3175550100", "--channel", "sms", "--reason", "x"], "not an E.164 number"),
        (["check", "jane.example.com", "--channel", "email"], "does not parse"),
        (["add", "+13175550100", "--channel", "sms", "--reason", "  "], "--reason is empty"),
        (["add", "+13175550100", "--channel", "sms", "--reason", "x" * 501], "within 500"),
    ],
)
def test_bad_input_exits_2_and_touches_nothing(
    table: SuppressionTable,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    problem: str,
) -> None:
    """A bad address or reason: exit 2, the fix on stderr, the table untouched."""
    assert 2 == call(argv)[0]
    assert problem in capsys.readouterr().err
    assert () == table.list().items


def test_a_missing_table_variable_exits_2(
    table: SuppressionTable, capsys: pytest.CaptureFixture[str]
) -> None:
    """No GCNOTIFY_SUPPRESSION_TABLE: exit 2 naming it."""
    assert 2 == call(["list"], env={})[0]
    assert "GCNOTIFY_SUPPRESSION_TABLE is not set" in capsys.readouterr().err


def test_a_table_that_does_not_exist_exits_1(
    table: SuppressionTable, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table cannot be used: exit 1 with the table's own error and fix."""
    missing = {"GCNOTIFY_SUPPRESSION_TABLE": "nope"}
    code, _ = call(["check", "+13175550100", "--channel", "sms"], env=missing)
    assert (1, True) == (
        code,
        "could not be read (ResourceNotFoundException)" in capsys.readouterr().err,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["add", "+13175550100", "--channel", "sms"],  # --reason is required for add
        ["check", "+13175550100"],  # --channel is required
        ["add", "+13175550100", "--channel", "fax", "--reason", "x"],
        ["list", "--limit", "0"],
        ["list", "--format", "csv"],
    ],
)
def test_argparse_refuses_missing_or_bad_options(argv: list[str]) -> None:
    """Usage errors exit 2 before anything runs."""
    with pytest.raises(SystemExit) as caught:
        parse(argv)
    assert 2 == caught.value.code
