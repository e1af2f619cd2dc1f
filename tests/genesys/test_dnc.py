"""Genesys DNC lists: the list read, its export polled and parsed, PATCH Add in batches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import responses
from jsonschema import Draft202012Validator

from gcnotify.core.errors import (
    GenesysPermissionError,
    GenesysRequestError,
    GenesysUnavailableError,
)
from gcnotify.genesys.dnc import (
    DncList,
    DncLists,
    email_patch_body,
    format_expiry,
    parse_export,
    phone_patch_body,
)
from tests.genesys.standup_http import API, bodies, client, forbidden
from tests.support import FakeClock, assert_valid

LIST_ID = "9a1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"
LIST_URL = f"{API}/api/v2/outbound/dnclists/{LIST_ID}"
EXPORT_URL = f"{LIST_URL}/export"
FILE_URL = f"{API}/api/v2/downloads/dnc-file-1"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SCHEMA = "genesys-dnc-phonenumbers-patch"
PHONES = DncList(LIST_ID, "Do not call", "Phone", "rds", 2)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    # The token is registered for every test; a test that must make no call asserts so itself.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@cache
def _email_validator() -> Any:
    root = Path(__file__).resolve().parents[2] / "src" / "gcnotify" / "devserver" / "schemas"
    schema = json.loads((root / f"{SCHEMA}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema["$defs"]["DncPatchEmailsRequest"])


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _lists(clock: FakeClock, rsps: responses.RequestsMock) -> DncLists:
    return DncLists(client(clock, rsps), sleep=clock.sleep, clock=clock)


# ---------------------------------------------------------------- the list


def test_the_list_is_read_with_its_size(rsps: responses.RequestsMock) -> None:
    """Name, contact method, source type and size, asked for with includeSize."""
    rsps.get(
        LIST_URL,
        json={"id": LIST_ID, "name": "Do not call", "contactMethod": "Phone",
              "dncSourceType": "rds", "size": 42, "version": 3},
    )  # fmt: skip
    found = _lists(FakeClock(), rsps).get_list(LIST_ID)
    assert (DncList(LIST_ID, "Do not call", "Phone", "rds", 42), "phone", True) == (
        found,
        found.kind,
        found.accepts_additions,
    )
    assert "includeSize=true" in str(rsps.calls[-1].request.url)


@pytest.mark.parametrize(
    ("method", "source", "kind", "internal"),
    [
        ("Email", "rds", "email", True),
        ("Any", "rds", None, True),
        ("WhatsApp", "rds", None, True),
        ("Phone", "gryphon", "phone", False),
        (None, "rds_custom", None, False),
    ],
)
def test_only_phone_and_email_lists_are_usable_and_only_internal_ones_take_additions(
    method: str | None, source: str, kind: str | None, internal: bool
) -> None:
    """The kind follows contactMethod; additions need an Internal (rds) list."""
    dnc = DncList(LIST_ID, "x", method, source)
    assert (kind, internal) == (dnc.kind, dnc.accepts_additions)


def test_a_missing_list_names_the_id_and_the_config_key(rsps: responses.RequestsMock) -> None:
    """404: the id and messaging.suppression.genesys_dnc_lists, not a report's advice."""
    rsps.get(LIST_URL, status=404, json={"message": "not found", "code": "not.found"})
    with pytest.raises(GenesysRequestError, match=rf"no DNC list {LIST_ID}.*genesys_dnc_lists"):
        _lists(FakeClock(), rsps).get_list(LIST_ID)


def test_a_refused_list_read_names_the_permission(rsps: responses.RequestsMock) -> None:
    """403 on the list: outbound:dncList:view."""
    rsps.get(LIST_URL, status=403, json=forbidden("outbound:dncList:view"))
    with pytest.raises(GenesysPermissionError, match="lack the permission outbound:dncList:view"):
        _lists(FakeClock(), rsps).get_list(LIST_ID)


# ---------------------------------------------------------------- the export


def test_the_export_is_polled_until_it_is_newer_than_the_request(
    rsps: responses.RequestsMock,
) -> None:
    """The previous export is passed over; the new one is downloaded after 2 s then 4 s."""
    clock = FakeClock()
    rsps.post(EXPORT_URL, json={"id": LIST_ID, "name": "Do not call"})
    old = {"uri": "https://api.mypurecloud.test/old", "exportTimestamp": "2026-02-01T00:00:00Z"}
    rsps.get(EXPORT_URL, json=old)
    rsps.get(EXPORT_URL, json=old)
    rsps.get(EXPORT_URL, json={"uri": FILE_URL, "exportTimestamp": _stamp(NOW)})
    rsps.get(FILE_URL, body=b"phoneNumber\r\n+13175550100\r\n+13175550101\r\n")
    entries = _lists(clock, rsps).export_entries(PHONES, now=NOW)
    assert (["+13175550100", "+13175550101"], [2.0, 4.0]) == (entries, clock.sleeps)
    export_gets = [c.request.url for c in rsps.calls if "/export?" in str(c.request.url)]
    assert all("download=false" in str(url) for url in export_gets)


def test_a_list_never_exported_before_is_waited_for(rsps: responses.RequestsMock) -> None:
    """A 404 on the export GET means none yet: poll on."""
    clock = FakeClock()
    rsps.post(EXPORT_URL, json={"id": LIST_ID})
    rsps.get(EXPORT_URL, status=404, json={"message": "no export", "code": "not.found"})
    rsps.get(EXPORT_URL, json={"uri": FILE_URL, "exportTimestamp": _stamp(NOW)})
    rsps.get(FILE_URL, body=b"phoneNumber\n+13175550100\n")
    assert ["+13175550100"] == _lists(clock, rsps).export_entries(PHONES, now=NOW)


def test_an_export_that_never_comes_times_out_within_two_minutes(
    rsps: responses.RequestsMock,
) -> None:
    """2, 4, 8, 16, 30, 30, 30 s, then a clear error: never past 120 s."""
    clock = FakeClock()
    rsps.post(EXPORT_URL, json={"id": LIST_ID})
    rsps.get(EXPORT_URL, json={"uri": FILE_URL, "exportTimestamp": "2026-01-01T00:00:00Z"})
    with pytest.raises(GenesysUnavailableError, match=r"at most 120 s.*next sync tries again"):
        _lists(clock, rsps).export_entries(PHONES, now=NOW)
    assert [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0] == clock.sleeps


def test_the_invocation_deadline_cuts_the_polling_short(rsps: responses.RequestsMock) -> None:
    """With 5 s left, no 8 s wait is started."""
    clock = FakeClock()
    lists = _lists(clock, rsps)
    lists.client.time_left = lambda: 11.0 - clock.now
    rsps.post(EXPORT_URL, json={"id": LIST_ID})
    rsps.get(EXPORT_URL, json={"uri": FILE_URL, "exportTimestamp": "2026-01-01T00:00:00Z"})
    with pytest.raises(GenesysUnavailableError, match="had not finished exporting"):
        lists.export_entries(PHONES, now=NOW)
    assert [2.0, 4.0] == clock.sleeps


def test_an_export_stamped_just_before_the_request_counts_as_fresh(
    rsps: responses.RequestsMock,
) -> None:
    """Clocks a few seconds apart do not make the sync wait for nothing."""
    clock = FakeClock()
    rsps.post(EXPORT_URL, json={"id": LIST_ID})
    stamp = _stamp(NOW - timedelta(seconds=20))
    rsps.get(EXPORT_URL, json={"uri": FILE_URL, "exportTimestamp": stamp})
    rsps.get(FILE_URL, body=b"phoneNumber\n+13175550100\n")
    assert (["+13175550100"], []) == (
        _lists(clock, rsps).export_entries(PHONES, now=NOW),
        clock.sleeps,
    )


def test_a_refused_export_names_both_permissions(rsps: responses.RequestsMock) -> None:
    """403 on POST export: outbound:dnc:view and outbound:dncList:view."""
    rsps.post(EXPORT_URL, status=403, json=forbidden("outbound:dnc:view"))
    with pytest.raises(GenesysPermissionError, match="outbound:dnc:view and outbound:dncList:view"):
        _lists(FakeClock(), rsps).export_entries(PHONES, now=NOW)


def test_a_list_of_another_contact_method_is_refused_before_any_call(
    rsps: responses.RequestsMock,
) -> None:
    """An Any list: an error saying to remove it from the config; no export is started."""
    lists = _lists(FakeClock(), rsps)
    with pytest.raises(GenesysRequestError, match="Phone and Email lists only"):
        lists.export_entries(DncList(LIST_ID, "Mixed", "Any", "rds"), now=NOW)
    assert [] == list(rsps.calls)


# ---------------------------------------------------------------- the export file


@pytest.mark.parametrize(
    "header",
    ["phoneNumber", "Phone Number", "DNC Phone Number", "phone_number", "PHONE", "number"],
)
def test_the_phone_column_is_found_by_its_header(header: str) -> None:
    """Spellings of the column's name, among other columns, in any position."""
    data = f"expirationDateTime,{header}\r\n,+13175550100\r\n2026-09-01T00:00Z,+13175550101\r\n"
    assert ["+13175550100", "+13175550101"] == parse_export(data.encode(), "phone")


def test_a_file_without_a_header_row_is_read_by_its_values() -> None:
    """One column of numbers and no header: every line is an entry."""
    assert ["+13175550100", "13175550101"] == parse_export(b"+13175550100\n13175550101\n", "phone")


def test_an_unnamed_column_of_numbers_is_found_by_its_values() -> None:
    """A header gcnotify does not know, but exactly one column of numbers beneath it."""
    data = b"Entry Id,Value X\r\nabc,+13175550100\r\ndef,+13175550101\r\n"
    assert ["+13175550100", "+13175550101"] == parse_export(data, "phone")


def test_a_byte_order_mark_blank_lines_and_quotes_are_read() -> None:
    """UTF-8 with BOM, quoted cells, blank lines and empty cells skipped."""
    data = '\ufeff"emailAddress","expiry"\r\n\r\n"Jane@Example.com",""\r\n"",""\r\n'.encode()
    assert ["Jane@Example.com"] == parse_export(data, "email")


def test_an_empty_file_has_no_entries() -> None:
    """Nothing in it: no entries (the pipeline decides whether that can be right)."""
    assert [] == parse_export(b"\r\n", "phone")


def test_an_unknown_shape_is_an_error_naming_only_the_header() -> None:
    """No column of numbers: the error lists the header row, never an entry."""
    data = b"id,name\r\n1,Jane Doe\r\n2,+13175550100 and more\r\n"
    with pytest.raises(GenesysRequestError, match="does not recognise") as caught:
        parse_export(data, "phone")
    assert ("'id', 'name'" in str(caught.value), "Jane" in str(caught.value)) == (True, False)


def test_a_named_column_of_other_values_is_an_error() -> None:
    """A 'number' column holding ids, not phone numbers, is not guessed at."""
    data = b"number,phone2\r\nA-1,+13175550100\r\nB-2,+13175550101\r\n"
    with pytest.raises(GenesysRequestError, match="column 'number' holds no phone numbers"):
        parse_export(data, "phone")


def test_a_file_that_is_not_utf8_is_an_error() -> None:
    """Binary data is not a CSV file: refused with what to check."""
    with pytest.raises(GenesysRequestError, match="not UTF-8 text"):
        parse_export(b"\xff\xfe\x00\x00PK\x03\x04", "phone")


# ---------------------------------------------------------------- PATCH


def test_numbers_go_in_batches_of_1000_each_valid(rsps: responses.RequestsMock) -> None:
    """2,500 numbers: three PATCH Add bodies of 1,000, 1,000 and 500, with the expiry."""
    rsps.patch(f"{LIST_URL}/phonenumbers", status=204)
    numbers = [f"+1317555{n:04d}" for n in range(2500)]
    expires = datetime(2026, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=-4)))
    sent = _lists(FakeClock(), rsps).add_phone_numbers(LIST_ID, numbers, expires)
    sent_bodies = bodies(rsps, "/phonenumbers")
    for body in sent_bodies:
        assert_valid(SCHEMA, body)
    assert (3, [1000, 1000, 500], numbers, {"2026-06-01T13:30Z"}) == (
        sent,
        [len(b["phoneNumbers"]) for b in sent_bodies],
        [n for b in sent_bodies for n in b["phoneNumbers"]],
        {b["expirationDateTime"] for b in sent_bodies},
    )
    methods = {c.request.method for c in rsps.calls if "/phonenumbers" in str(c.request.url)}
    assert ({"PATCH"}, {"Add"}) == (methods, {b["action"] for b in sent_bodies})


def test_email_addresses_go_to_their_own_path_with_their_own_body(
    rsps: responses.RequestsMock,
) -> None:
    """PATCH …/emailaddresses with emailAddresses, valid against DncPatchEmailsRequest."""
    rsps.patch(f"{LIST_URL}/emailaddresses", status=204)
    assert 1 == _lists(FakeClock(), rsps).add_email_addresses(LIST_ID, ["jane@example.com"])
    body = bodies(rsps, "/emailaddresses")[0]
    assert ([], {"action": "Add", "emailAddresses": ["jane@example.com"]}) == (
        [e.message for e in _email_validator().iter_errors(body)],
        body,
    )


def test_nothing_to_add_sends_nothing(rsps: responses.RequestsMock) -> None:
    """An empty list of numbers makes no call."""
    assert 0 == _lists(FakeClock(), rsps).add_phone_numbers(LIST_ID, [])
    assert [] == list(rsps.calls)


def test_a_refused_patch_names_the_edit_permission(rsps: responses.RequestsMock) -> None:
    """403 on PATCH: outbound:dnc:edit."""
    rsps.patch(f"{LIST_URL}/phonenumbers", status=403, json=forbidden("outbound:dnc:edit"))
    with pytest.raises(GenesysPermissionError, match="outbound:dnc:edit"):
        _lists(FakeClock(), rsps).add_phone_numbers(LIST_ID, ["+13175550100"])


def test_the_bodies_validate_against_the_schema() -> None:
    """Both builders, with and without expiry; a Remove body too."""
    phone = phone_patch_body(["+13175550100"], NOW, action="Remove")
    email = email_patch_body(["jane@example.com"], NOW)
    assert_valid(SCHEMA, phone)
    assert [] == [e.message for e in _email_validator().iter_errors(email)]
    assert ("2026-03-02T14:00Z", "Remove") == (phone["expirationDateTime"], phone["action"])


def test_an_expiry_without_a_zone_is_refused() -> None:
    """Genesys wants UTC: a naive time would be a guess."""
    with pytest.raises(ValueError, match="time zone"):
        format_expiry(datetime(2026, 6, 1, 9, 30))
