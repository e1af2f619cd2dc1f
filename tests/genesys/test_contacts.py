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


BULK_URL = f"{API}/api/v2/externalcontacts/bulk/contacts"


def _ids(n: int) -> list[str]:
    return [f"b1c2d3e4-f5a6-4b7c-8d9e-{i:012x}" for i in range(n)]


def _body(request: Any) -> dict[str, Any]:
    import json

    body: dict[str, Any] = json.loads(request.body)
    return body


def _bulk_answer(
    request: Any, missing: frozenset[str] = frozenset()
) -> tuple[int, dict[str, str], str]:
    import json

    entities = json.loads(request.body)["entities"]
    results = [
        {"id": e["id"], "success": False, "error": {"code": "not.found", "status": 404}}
        if e["id"] in missing
        else {"id": e["id"], "success": True, "entity": {**BODY, "id": e["id"]}}
        for e in entities
    ]
    return 200, {}, json.dumps({"results": results, "errorCount": len(missing)})


def test_many_contacts_are_read_a_hundred_per_request(rsps: responses.RequestsMock) -> None:
    """250 ids: three bulk POSTs of at most 100 ``{id}`` entities; misses are None; no GETs."""
    ids = _ids(250)
    gone = frozenset(ids[7:9])
    rsps.add_callback(responses.POST, BULK_URL, callback=lambda r: _bulk_answer(r, gone))
    contacts = ExternalContacts(client(FakeClock(), rsps))
    found = contacts.get_many([*ids, ids[0]])
    assert ids == list(found)
    assert {i for i, c in found.items() if c is None} == gone
    assert "+447700900123" == found[ids[0]].phones[0]  # type: ignore[union-attr]
    posts = [c for c in rsps.calls if c.request.method == "POST" and "bulk" in str(c.request.url)]
    assert [100, 100, 50] == [len(_body(c.request)["entities"]) for c in posts]
    assert (3, 0) == (contacts.bulk_requests, contacts.fetched)
    contacts.get_many(ids[:10])  # cached: no request
    assert 3 == contacts.bulk_requests


def test_a_refused_batch_size_is_halved(rsps: responses.RequestsMock) -> None:
    """Genesys refusing 100 ids (400) makes the batch 50, and every contact is still read."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        if len(_body(request)["entities"]) > 50:
            return 400, {}, '{"message": "too many entities", "code": "bad.request", "status": 400}'
        return _bulk_answer(request)

    rsps.add_callback(responses.POST, BULK_URL, callback=answer)
    contacts = ExternalContacts(client(FakeClock(), rsps))
    found = contacts.get_many(_ids(120))
    assert 120 == sum(c is not None for c in found.values())
    assert 50 == contacts.batch
    sizes = [len(_body(c.request)["entities"]) for c in rsps.calls if "bulk" in str(c.request.url)]
    assert [100, 50, 50, 20] == sizes


def test_a_result_failed_otherwise_is_read_by_its_own_get(rsps: responses.RequestsMock) -> None:
    """A bulk result with a 500 error (or left out) is asked again with GET, not taken as gone."""
    ids = _ids(3)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        results = [
            {"id": ids[0], "success": True, "entity": {**BODY, "id": ids[0]}},
            {"id": ids[1], "success": False, "error": {"code": "server.error", "status": 500}},
        ]
        return 200, {}, json.dumps({"results": results, "errorCount": 1, "errorIndexes": [1]})

    rsps.add_callback(responses.POST, BULK_URL, callback=answer)
    for contact_id in ids[1:]:
        rsps.get(
            f"{API}/api/v2/externalcontacts/contacts/{contact_id}", json={**BODY, "id": contact_id}
        )
    contacts = ExternalContacts(client(FakeClock(), rsps))
    found = contacts.get_many(ids)
    assert all(found[i] is not None for i in ids)
    assert (1, 2) == (contacts.bulk_requests, contacts.fetched)


def test_a_forbidden_bulk_read_names_the_permission(rsps: responses.RequestsMock) -> None:
    rsps.post(BULK_URL, status=403, json=forbidden("externalContacts:contact:view"))
    contacts = ExternalContacts(client(FakeClock(), rsps))
    with pytest.raises(GenesysPermissionError, match="externalContacts:contact:view"):
        contacts.get_many(_ids(2))
