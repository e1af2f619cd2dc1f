"""The DNC sync: the plan from an export and the table, then the sync against moto and the
Genesys stand-in over a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.suppression import (
    Suppression,
    SuppressionEvent,
    SuppressionTable,
    create_suppression_table,
)
from gcnotify.core.model import Queue
from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.dnc import DncList, DncLists
from gcnotify.messaging.dnc_sync import (
    NOT_E164,
    NOT_INTERNAL,
    OPTED_BACK_IN,
    STILL_LISTED,
    normalise_entry,
    plan_list,
    source_of,
    sync,
)
from tests.support import FakeClock

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
LIST_A = "9a1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"
LIST_B = "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081"
INTERNAL = DncList(LIST_A, "Do not call", "Phone", "rds")
SECRET = "stand-in-secret-value"


def _entry(
    address: str,
    source: str,
    *,
    active: bool = True,
    history: tuple[SuppressionEvent, ...] = (),
    channel: str = "sms",
) -> Suppression:
    return Suppression(channel, address, active, "why", source, NOW, history)


# ---------------------------------------------------------------- entries


@pytest.mark.parametrize(
    ("channel", "raw", "expected"),
    [
        ("sms", "+1 (317) 555-0100", "+13175550100"),
        ("sms", "13175550100", "+13175550100"),
        ("sms", "3175550100", None),
        ("sms", "07700900123", None),
        ("email", " Jane@Example.COM ", "jane@example.com"),
        ("email", "jane.example.com", None),
    ],
)
def test_an_export_entry_is_read_in_the_tables_spelling(
    channel: str, raw: str, expected: str | None
) -> None:
    """Punctuation goes; a country code without + is kept; no country code is not guessed."""
    assert expected == normalise_entry(channel, raw)


# ---------------------------------------------------------------- the plan


def test_new_entries_are_imported_and_suppressed_ones_left_alone() -> None:
    """Active from any source: already there. Never seen, or removed by the list: imported."""
    removed_by_list = SuppressionEvent("removed", NOW, "gone", source_of(LIST_A))
    existing = {
        "+13175550100": _entry("+13175550100", "data-action opt-out"),
        "+13175550101": _entry("+13175550101", source_of(LIST_A)),
        "+13175550102": _entry(
            "+13175550102", source_of(LIST_A), active=False, history=(removed_by_list,)
        ),
    }
    on_list = {"+13175550100", "+13175550101", "+13175550102", "+13175550103"}
    plan = plan_list(INTERNAL, on_list, existing)
    assert (("+13175550102", "+13175550103"), 2, (), {}) == (
        plan.to_import,
        plan.already_there,
        plan.to_remove,
        dict(plan.skipped),
    )


def test_a_person_who_opted_back_in_is_not_re_imported() -> None:
    """Their START came after the entry reached Genesys: skipped, counted, not suppressed."""
    start = SuppressionEvent("removed", NOW, "START", "data-action opt-out")
    existing = {"+13175550100": _entry("+13175550100", "STOP", active=False, history=(start,))}
    plan = plan_list(INTERNAL, {"+13175550100"}, existing)
    assert ((), {OPTED_BACK_IN: 1}) == (plan.to_import, dict(plan.skipped))


def test_only_the_lists_own_suppressions_are_removed() -> None:
    """Gone from the list: the list's entry is lifted; a customer's STOP and another list's
    entry are not, and one still on another synced list is kept."""
    existing = {
        "+13175550100": _entry("+13175550100", source_of(LIST_A)),
        "+13175550101": _entry("+13175550101", "data-action opt-out"),
        "+13175550102": _entry("+13175550102", source_of(LIST_B)),
        "+13175550103": _entry("+13175550103", source_of(LIST_A)),
    }
    plan = plan_list(INTERNAL, set(), existing, elsewhere={"+13175550103"})
    assert (("+13175550100",), {STILL_LISTED: 1}) == (plan.to_remove, dict(plan.skipped))


def test_no_removals_when_they_are_not_allowed() -> None:
    """A channel with a list that could not be read removes nothing."""
    existing = {"+13175550100": _entry("+13175550100", source_of(LIST_A))}
    assert () == plan_list(INTERNAL, set(), existing, removals=False).to_remove


def test_own_opt_outs_missing_from_the_list_are_pushed() -> None:
    """STOP and cli entries the list lacks; not DNC imports, not removed ones, not listed ones."""
    existing = {
        "+13175550100": _entry("+13175550100", "data-action opt-out"),
        "+13175550101": _entry("+13175550101", "cli:ops"),
        "+13175550102": _entry("+13175550102", source_of(LIST_B)),
        "+13175550103": _entry("+13175550103", "cli:ops", active=False),
        "+13175550104": _entry("+13175550104", "cli:ops"),
    }
    plan = plan_list(INTERNAL, {"+13175550104"}, existing)
    assert ("+13175550100", "+13175550101") == plan.to_push


def test_a_list_that_takes_no_additions_counts_them_as_skipped() -> None:
    """A gryphon list: nothing pushed, the would-be pushes counted with the reason."""
    existing = {"+13175550100": _entry("+13175550100", "data-action opt-out")}
    plan = plan_list(DncList(LIST_A, "Gryphon", "Phone", "gryphon"), set(), existing)
    assert ((), {NOT_INTERNAL: 1}) == (plan.to_push, dict(plan.skipped))


# ---------------------------------------------------------------- the sync, end to end


@dataclass
class Stack:
    stand_in: GenesysStandIn
    genesys: DncLists
    table: SuppressionTable
    clock: FakeClock


@pytest.fixture
def stack(aws_env: None) -> Iterator[Stack]:
    """moto's DynamoDB with the suppression table, and the Genesys stand-in on 127.0.0.1."""
    queue = Queue("c6fc6f57-4c1e-4812-980a-5154f500b5c6", "Support")
    with (
        mock_aws(),
        GenesysStandIn([queue], client_id="cid", client_secret=SECRET) as stand_in,
    ):
        stand_in.now = lambda: NOW
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_suppression_table(client, "suppression")
        clock = FakeClock()
        genesys = GenesysClient(
            login_url=stand_in.url, api_url=stand_in.url, client_id="cid", client_secret=SECRET
        )
        yield Stack(
            stand_in,
            DncLists(genesys, sleep=clock.sleep, clock=clock),
            SuppressionTable(client, "suppression"),
            clock,
        )


def test_a_first_sync_imports_and_pushes(stack: Stack) -> None:
    """Entries land with the list's source and reason; a STOP keeps its own; the STOP the list
    lacks is pushed to it; a number without country code is skipped."""
    phones = stack.stand_in.dnc.add_list(
        "Do not call",
        list_id=LIST_A,
        entries=("+1 317-555-0100", "13175550101", "3175550199"),
    )
    stack.table.add("sms", "+13175550101", "STOP", "data-action opt-out", NOW)
    stack.table.add("sms", "+13175550150", "STOP", "data-action opt-out", NOW)
    result = sync([phones], stack.genesys, stack.table, NOW).to_dict()["lists"][0]
    assert (3, 1, 1, 1, {NOT_E164: 1}, None) == (
        result["entries"],
        result["imported"],
        result["already_there"],
        result["pushed"],
        result["skipped"],
        result["error"],
    )
    imported = stack.table.check("sms", "+13175550100")
    own = stack.table.check("sms", "+13175550101")
    assert imported is not None
    assert own is not None
    assert (source_of(LIST_A), "on Genesys DNC list Do not call", "data-action opt-out") == (
        imported.source,
        imported.reason,
        own.source,
    )
    assert "+13175550150" in stack.stand_in.dnc.entries(phones)
    assert [{"action": "Add", "phoneNumbers": ["+13175550150"]}] == stack.stand_in.dnc.patches


def test_a_second_sync_changes_nothing_and_a_left_entry_is_lifted(stack: Stack) -> None:
    """Run again: all already there, nothing pushed twice. Then the list loses both numbers:
    the imported one is lifted, the pushed STOP stays suppressed."""
    phones = stack.stand_in.dnc.add_list("Do not call", list_id=LIST_A, entries=("+13175550100",))
    stack.table.add("sms", "+13175550150", "STOP", "data-action opt-out", NOW)
    sync([phones], stack.genesys, stack.table, NOW)
    stack.stand_in.now = lambda: LATER
    again = sync([phones], stack.genesys, stack.table, LATER).to_dict()["lists"][0]
    assert (0, 2, 0) == (again["imported"], again["already_there"], again["pushed"])
    stack.stand_in.dnc.set_entries(phones, ())
    stack.stand_in.now = lambda: LATER + timedelta(hours=1)
    third = sync([phones], stack.genesys, stack.table, LATER + timedelta(hours=1))
    counts = third.to_dict()["lists"][0]
    lifted = stack.table.get("sms", "+13175550100")
    assert lifted is not None
    assert (1, False, True) == (
        counts["removed"],
        lifted.active,
        stack.table.check("sms", "+13175550150") is not None,
    )
    assert ("removed", source_of(LIST_A)) == (lifted.history[-1].action, lifted.history[-1].source)


def test_email_lists_sync_on_the_email_channel(stack: Stack) -> None:
    """An Email list: addresses lower-cased into channel email, a cli entry pushed with the
    email body."""
    emails = stack.stand_in.dnc.add_list(
        "No email", list_id=LIST_B, contact_method="Email", entries=("Jane@Example.com",)
    )
    stack.table.add("email", "ops@example.com", "asked by phone", "cli:ops", NOW)
    result = sync([emails], stack.genesys, stack.table, NOW).to_dict()["lists"][0]
    assert ("email", 1, 1) == (result["channel"], result["imported"], result["pushed"])
    assert stack.table.check("email", "jane@example.com") is not None
    assert [{"action": "Add", "emailAddresses": ["ops@example.com"]}] == (
        stack.stand_in.dnc.patches
    )


def test_a_list_that_takes_no_additions_is_only_imported(stack: Stack) -> None:
    """A gryphon list: imported from, no PATCH sent, the opt-out counted as skipped."""
    gryphon = stack.stand_in.dnc.add_list(
        "Gryphon", list_id=LIST_A, source_type="gryphon", entries=("+13175550100",)
    )
    stack.table.add("sms", "+13175550150", "STOP", "data-action opt-out", NOW)
    result = sync([gryphon], stack.genesys, stack.table, NOW).to_dict()["lists"][0]
    assert (1, 0, {NOT_INTERNAL: 1}, []) == (
        result["imported"],
        result["pushed"],
        result["skipped"],
        stack.stand_in.dnc.patches,
    )


def test_a_failing_list_is_reported_and_blocks_removals_on_its_channel(stack: Stack) -> None:
    """List B is forbidden: its error is kept, list A still imports, but nothing of A's is
    lifted while B's entries are unknown."""
    a = stack.stand_in.dnc.add_list("A", list_id=LIST_A, entries=("+13175550100",))
    b = stack.stand_in.dnc.add_list("B", list_id=LIST_B, entries=("+13175550200",))
    stack.table.add("sms", "+13175550199", "on Genesys DNC list A", source_of(LIST_A), NOW)
    stack.stand_in.forbid(f"/api/v2/outbound/dnclists/{b}/export")
    summary = sync([a, b], stack.genesys, stack.table, NOW).to_dict()
    first, second = summary["lists"]
    assert (False, [b], 1, 0) == (
        summary["ok"],
        summary["failed"],
        first["imported"],
        first["removed"],
    )
    assert "403" in second["error"]
    assert SECRET not in second["error"]
    assert stack.table.check("sms", "+13175550199") is not None


def test_an_export_of_an_unknown_shape_imports_and_removes_nothing(stack: Stack) -> None:
    """A file gcnotify cannot read fails that list; its earlier imports stay suppressed."""
    phones = stack.stand_in.dnc.add_list("A", list_id=LIST_A, entries=("+13175550100",))
    stack.table.add("sms", "+13175550199", "on Genesys DNC list A", source_of(LIST_A), NOW)
    stack.stand_in.dnc.serve_file = b"id,name\r\n1,Jane Doe\r\n"
    result = sync([phones], stack.genesys, stack.table, NOW).to_dict()["lists"][0]
    assert "does not recognise" in result["error"]
    assert (0, 0) == (result["imported"], result["removed"])
    assert stack.table.check("sms", "+13175550199") is not None


def test_an_empty_export_of_a_list_said_to_hold_entries_removes_nothing(stack: Stack) -> None:
    """Genesys says the list has entries but the file is empty: an error, nothing lifted."""
    phones = stack.stand_in.dnc.add_list("A", list_id=LIST_A, entries=("+13175550100",))
    stack.table.add("sms", "+13175550100", "on Genesys DNC list A", source_of(LIST_A), NOW)
    stack.stand_in.dnc.serve_file = b"phoneNumber,expirationDateTime\r\n"
    result = sync([phones], stack.genesys, stack.table, NOW).to_dict()["lists"][0]
    assert "was empty, but Genesys says the list holds 1 entry" in (result["error"] or "")
    assert 0 == result["removed"]
    assert stack.table.check("sms", "+13175550100") is not None


def test_a_missing_list_is_reported_by_id(stack: Stack) -> None:
    """An id Genesys does not know: that list's error names it and the config key."""
    result = sync([LIST_A], stack.genesys, stack.table, NOW).to_dict()["lists"][0]
    assert f"no DNC list {LIST_A}" in result["error"]
    assert "genesys_dnc_lists" in result["error"]
