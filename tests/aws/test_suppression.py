"""The suppression table: normalised addresses, kept removals, paged listing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.suppression import (
    SuppressionEvent,
    SuppressionTable,
    create_suppression_table,
    normalise_address,
    suppression_key,
)
from gcnotify.core.errors import SuppressionError
from tests.aws.support import unreachable

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)


@pytest.fixture
def table(aws_env: None) -> Iterator[SuppressionTable]:
    """A suppression table on a fresh moto table."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_suppression_table(client, "suppression")
        yield SuppressionTable(client, "suppression")


def test_a_formatted_number_is_normalised_to_e164() -> None:
    """Spaces, dashes, dots and parentheses go: one spelling per number."""
    assert "sms#+13175550100" == suppression_key("sms", " +1 (317) 555-01.00 ")


def test_an_email_is_lower_cased() -> None:
    """Email addresses match whatever their case."""
    assert "email#jane@example.com" == suppression_key("email", "Jane@Example.COM")


def test_a_web_messaging_id_keeps_its_case() -> None:
    """External contact ids are opaque: only surrounding space is stripped."""
    assert "AbC-123" == normalise_address("webmessaging", " AbC-123 ")


@pytest.mark.parametrize(
    ("channel", "address", "problem"),
    [
        ("sms", "3175550100", "not an E.164 number"),
        ("whatsapp", "+0123", "not an E.164 number"),
        ("email", "jane.example.com", "does not parse"),
        ("webmessaging", "  ", "is empty"),
        ("fax", "+13175550100", "unknown channel 'fax'"),
    ],
)
def test_a_bad_address_is_our_error(channel: str, address: str, problem: str) -> None:
    """An address that cannot be normalised: SuppressionError saying how to write it."""
    with pytest.raises(SuppressionError, match=problem):
        normalise_address(channel, address)


def test_an_added_address_is_suppressed(table: SuppressionTable) -> None:
    """add, then check: the entry with who, when and why."""
    table.add("sms", "+13175550100", "STOP", "data-action opt-out", NOW)
    entry = table.check("sms", "+1 317 555 0100")
    assert entry is not None
    assert ("sms", "+13175550100", True, "STOP", "data-action opt-out", NOW) == (
        entry.channel,
        entry.address,
        entry.active,
        entry.reason,
        entry.source,
        entry.since,
    )


def test_an_address_never_added_is_not_suppressed(table: SuppressionTable) -> None:
    """check of an unknown address is None: it may be messaged."""
    assert None is table.check("email", "jane@example.com")


def test_a_suppression_is_per_channel(table: SuppressionTable) -> None:
    """An SMS opt-out does not suppress WhatsApp to the same number."""
    table.add("sms", "+13175550100", "STOP", "cli", NOW)
    assert None is table.check("whatsapp", "+13175550100")


def test_a_removed_address_is_not_suppressed(table: SuppressionTable) -> None:
    """remove lifts the suppression: check answers None."""
    table.add("sms", "+13175550100", "STOP", "data-action", NOW)
    table.remove("sms", "+13175550100", "START", "data-action", LATER)
    assert None is table.check("sms", "+13175550100")


def test_a_removal_is_kept_with_its_history(table: SuppressionTable) -> None:
    """The removed entry stays, inactive, with both events in order."""
    table.add("sms", "+13175550100", "STOP", "data-action", NOW)
    table.remove("sms", "+13175550100", "START", "data-action", LATER)
    entry = table.get("sms", "+13175550100")
    assert entry is not None
    assert (
        False,
        (
            SuppressionEvent("added", NOW, "STOP", "data-action"),
            SuppressionEvent("removed", LATER, "START", "data-action"),
        ),
    ) == (entry.active, entry.history)


def test_removing_an_address_not_suppressed_changes_nothing(table: SuppressionTable) -> None:
    """remove of an address never added answers None and creates no entry."""
    assert (None, None) == (
        table.remove("sms", "+13175550100", "START", "cli", NOW),
        table.get("sms", "+13175550100"),
    )


def test_an_address_can_be_suppressed_again(table: SuppressionTable) -> None:
    """add after remove suppresses again with the new reason; the history keeps all three."""
    table.add("email", "jane@example.com", "bounce", "sendgrid", NOW)
    table.remove("email", "jane@example.com", "fixed mailbox", "cli", NOW)
    entry = table.add("email", "jane@example.com", "spamreport", "sendgrid", LATER)
    assert (True, "spamreport", LATER, 3) == (
        entry.active,
        entry.reason,
        entry.since,
        len(entry.history),
    )


def test_list_pages_through_every_active_entry(table: SuppressionTable) -> None:
    """Pages of two, followed by their cursors, give every active entry once."""
    for n in range(5):
        table.add("sms", f"+1317555010{n}", "STOP", "cli", NOW)
    table.add("email", "jane@example.com", "bounce", "sendgrid", NOW)
    keys: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = table.list(limit=2, cursor=cursor)
        keys += [e.key for e in page.items]
        pages += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    assert (6, 6) == (len(keys), len(set(keys)))
    assert pages >= 3


def test_list_of_one_channel_uses_only_that_channel(table: SuppressionTable) -> None:
    """list("email") pages through the channel index and holds no SMS entry."""
    table.add("sms", "+13175550100", "STOP", "cli", NOW)
    for name in ("a", "b", "c"):
        table.add("email", f"{name}@example.com", "bounce", "sendgrid", NOW)
    keys: list[str] = []
    cursor = None
    while True:
        page = table.list("email", limit=2, cursor=cursor)
        keys += [e.key for e in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert ["email#a@example.com", "email#b@example.com", "email#c@example.com"] == sorted(keys)


def test_list_leaves_removed_entries_out_unless_asked(table: SuppressionTable) -> None:
    """A removed entry is listed only with include_removed."""
    table.add("sms", "+13175550100", "STOP", "cli", NOW)
    table.remove("sms", "+13175550100", "START", "cli", LATER)
    assert ((), 1) == (
        table.list().items,
        len(table.list(include_removed=True).items),
    )


def test_list_of_an_unknown_channel_is_our_error(table: SuppressionTable) -> None:
    """A channel gcnotify does not have: SuppressionError, not an empty list."""
    with pytest.raises(SuppressionError, match="unknown channel 'fax'"):
        table.list("fax")


@pytest.mark.parametrize("action", ["add", "remove", "check", "list"])
def test_an_unreachable_table_is_our_error(action: str) -> None:
    """Nothing listening on the endpoint: SuppressionError naming the table and the fix."""
    table = SuppressionTable(unreachable(), "suppression")
    calls: dict[str, Callable[[], object]] = {
        "add": lambda: table.add("sms", "+13175550100", "STOP", "cli", NOW),
        "remove": lambda: table.remove("sms", "+13175550100", "START", "cli", NOW),
        "check": lambda: table.check("sms", "+13175550100"),
        "list": table.list,
    }
    with pytest.raises(SuppressionError, match=r"'suppression'.*GCNOTIFY_SUPPRESSION_TABLE"):
        calls[action]()


def test_a_missing_table_is_our_error(table: SuppressionTable) -> None:
    """A table that does not exist: SuppressionError with DynamoDB's code."""
    other = SuppressionTable(table._client, "absent")
    with pytest.raises(SuppressionError, match="ResourceNotFoundException"):
        other.check("sms", "+13175550100")
