"""External contacts: E.164 numbers only (never guessed), emails in field order, one GET each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from gcnotify.core.errors import GenesysPermissionError
from gcnotify.genesys.contacts import ExternalContact, ExternalContacts, e164_of, parse_contact
from tests.genesys.standup_http import API, client, forbidden
from tests.support import FakeClock

CONTACT_ID = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
URL = f"{API}/api/v2/externalcontacts/contacts/{CONTACT_ID}"
BODY: dict[str, Any] = {
    "id": CONTACT_ID,
    "firstName": " Ada ",
    "lastName": "Lovelace",
    "workPhone": {"display": "+1 317-555-0101", "e164": "+13175550101", "countryCode": "US"},
    "cellPhone": {"display": "+44 7700 900123", "userInput": "07700 900123"},
    "homePhone": {"display": "(317) 555-0199", "userInput": "(317) 555-0199"},
    "otherPhone": {"display": "+1 317-555-0101", "e164": "+13175550101"},
    "workEmail": "ada@example.com",
    "personalEmail": "ADA@example.com",
    "otherEmail": "not an address",
    "whatsAppId": {"phoneNumber": {"display": "+1 317-555-0142", "e164": "13175550142"}},
    "type": "Curated",
    "selfUri": f"/api/v2/externalcontacts/contacts/{CONTACT_ID}",
}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def test_a_contact_keeps_e164_numbers_cell_first() -> None:
    """cellPhone first; a display without a country code is dropped, duplicates once."""
    assert ExternalContact(
        id=CONTACT_ID,
        first_name="Ada",
        last_name="Lovelace",
        phones=("+447700900123", "+13175550101"),
        emails=("ada@example.com",),
        whatsapp=("+13175550142",),
    ) == parse_contact(BODY)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ({"e164": "+13175550101", "display": "garbage"}, "+13175550101"),
        ({"display": "+1 (317) 555.0101"}, "+13175550101"),
        ({"display": "317-555-0101"}, None),
        ({"display": "+0 317"}, None),
        ({"display": "ext. 12"}, None),
        ("+13175550101", None),
        (None, None),
    ],
)
def test_e164_is_read_never_guessed(phone: object, expected: str | None) -> None:
    """The e164 field, else a display already in E.164; nothing else."""
    assert expected == e164_of(phone)


def test_a_contact_without_phones_or_emails_is_empty() -> None:
    """A bare contact has no numbers and no addresses, not an error."""
    contact = parse_contact({"id": CONTACT_ID})
    assert ((), (), ()) == (contact.phones, contact.emails, contact.whatsapp)


def test_each_contact_is_fetched_once(rsps: responses.RequestsMock) -> None:
    """The second get of the same id is answered from the instance's cache."""
    contacts = ExternalContacts(client(FakeClock(), rsps))
    rsps.get(URL, json=BODY)
    first, second = contacts.get(CONTACT_ID), contacts.get(CONTACT_ID)
    assert first is second
    assert 1 == contacts.fetched
    assert 1 == sum(1 for c in rsps.calls if "externalcontacts" in str(c.request.url))


def test_a_missing_contact_is_none_and_cached(rsps: responses.RequestsMock) -> None:
    """404 means no such contact (an ephemeral one may have expired): None, asked once."""
    contacts = ExternalContacts(client(FakeClock(), rsps))
    rsps.get(URL, status=404, json={"message": "not found", "code": "not.found", "status": 404})
    assert (None, None) == (contacts.get(CONTACT_ID), contacts.get(CONTACT_ID))
    assert 1 == contacts.fetched


def test_a_403_names_the_permission(rsps: responses.RequestsMock) -> None:
    """A forbidden read says the OAuth client lacks externalContacts:contact:view."""
    contacts = ExternalContacts(client(FakeClock(), rsps))
    rsps.get(URL, status=403, json=forbidden("externalContacts:contact:view"))
    with pytest.raises(GenesysPermissionError, match="externalContacts:contact:view"):
        contacts.get(CONTACT_ID)


def test_an_id_that_would_change_the_path_is_refused() -> None:
    """A contact id with a slash or query is a ValueError before any request."""
    contacts = ExternalContacts(client(FakeClock(), responses.RequestsMock()))
    with pytest.raises(ValueError, match="not an external contact id"):
        contacts.get("../users/me")
