"""Notification requests: every problem listed with its field and fix, nothing else raised."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnotify.core.errors import GcnotifyError, RequestError
from gcnotify.messaging.request import (
    MAX_REQUEST_BYTES,
    MAX_VARIABLES,
    REQUEST_FIELDS,
    NotificationRequest,
    RequestChannel,
    parse_request,
    parse_request_json,
)

TEMPLATES: dict[str, RequestChannel] = {
    "order-shipped": "sms",
    "shipping-whatsapp": "whatsapp",
    "chat-followup": "email",
    "chat-nudge": "webmessaging",
}
CONTACT = "7d1e2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b"


def sms(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "key": "ORD-998877-shipped",
        "template": "order-shipped",
        "to": "+13175550100",
        "variables": {"order_id": "ORD-998877", "tracking_link": "https://t.example/1"},
    }
    request.update(changes)
    return {k: v for k, v in request.items() if v is not None}


def problems(data: object, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(RequestError) as caught:
        parse_request(data, **kwargs)
    return dict(caught.value.problems)


def fields(data: object, **kwargs: Any) -> list[str]:
    return sorted(problems(data, **kwargs))


def test_valid_sms_request_is_parsed() -> None:
    """A valid request becomes a frozen value with the template's channel."""
    request = parse_request(sms(), templates=TEMPLATES)
    assert ("ORD-998877-shipped", "sms", "+13175550100") == (
        request.key,
        request.channel,
        request.to,
    )


def test_request_is_frozen() -> None:
    """The parsed request cannot be changed after validation."""
    request = parse_request(sms(), templates=TEMPLATES)
    with pytest.raises(AttributeError):
        request.key = "other"  # type: ignore[misc]


def test_variables_cannot_be_changed_after_parsing() -> None:
    """The variables mapping is read-only too."""
    request = parse_request(sms(), templates=TEMPLATES)
    with pytest.raises(TypeError):
        request.variables["order_id"] = "x"  # type: ignore[index]


def test_request_error_is_a_gcnotify_error() -> None:
    """A bad request is caught with every other gcnotify error."""
    assert issubclass(RequestError, GcnotifyError)


def test_every_problem_is_listed_at_once() -> None:
    """Missing key, bad number and bad timezone are all reported in one error."""
    assert ["key", "timezone", "to"] == fields(
        sms(key=None, to="555-0100", timezone="Mars/Olympus"), templates=TEMPLATES
    )


def test_error_keeps_a_valid_key() -> None:
    """A rejected request still carries its key, so the rejection can be recorded."""
    with pytest.raises(RequestError) as caught:
        parse_request(sms(to="nope"), templates=TEMPLATES)
    assert "ORD-998877-shipped" == caught.value.key


def test_error_message_lists_field_and_fix() -> None:
    """The message says how many problems and names each field with its fix."""
    with pytest.raises(RequestError) as caught:
        parse_request(sms(key=None), templates=TEMPLATES)
    assert "the notification request has 1 problem:\n  - key: is required: the idempotency key" in (
        str(caught.value)
    )


def test_messages_are_field_colon_fix_lines() -> None:
    """The intake answers problems as 'field: fix' strings."""
    with pytest.raises(RequestError) as caught:
        parse_request(sms(template=None), templates=TEMPLATES)
    assert ("template: is required: the id of a configured template",) == caught.value.messages


def test_not_an_object_is_refused() -> None:
    """A list, string or number is not a request."""
    assert ["(request)"] == fields(["key"])


def test_unknown_field_suggests_the_close_one() -> None:
    """A misspelt field names the field it probably meant."""
    found = problems(sms(varibles={}), templates=TEMPLATES)
    assert "did you mean 'variables'?" in found["varibles"]


def test_unknown_field_without_a_close_match_lists_allowed_fields() -> None:
    """An unrelated field lists what is allowed."""
    assert ", ".join(REQUEST_FIELDS) in problems(sms(color="red"), templates=TEMPLATES)["color"]


def test_unknown_template_suggests_the_close_one() -> None:
    """A template id that is not configured names the closest configured one."""
    assert (
        "did you mean 'order-shipped'?"
        in (problems(sms(template="order-shiped"), templates=TEMPLATES)["template"])
    )


def test_template_id_must_look_like_an_id() -> None:
    """A template id is lowercase words joined by hyphens."""
    assert ["template"] == fields(sms(template="Order Shipped"), templates=TEMPLATES)


def test_channel_that_disagrees_with_template_is_refused() -> None:
    """Asking for email with an SMS template is a problem, not a guess."""
    assert (
        "does not match template 'order-shipped', which is 'sms'"
        in (problems(sms(channel="email"), templates=TEMPLATES)["channel"])
    )


def test_channel_matching_template_is_accepted() -> None:
    """Naming the template's own channel is fine."""
    assert "sms" == parse_request(sms(channel="sms"), templates=TEMPLATES).channel


def test_unknown_channel_suggests_the_close_one() -> None:
    """A misspelt channel names the channel it probably meant."""
    assert "did you mean 'whatsapp'?" in problems(sms(channel="whatsap"))["channel"]


def test_channel_is_required_without_templates() -> None:
    """Without the configured templates, the channel must be given to check the address."""
    assert ["channel"] == fields(sms())


def test_channel_given_without_templates_is_used() -> None:
    """With no templates passed, the request's channel decides."""
    assert "whatsapp" == parse_request(sms(channel="whatsapp")).channel


def test_sms_number_must_be_e164() -> None:
    """An SMS address is a + and digits, valid for its country."""
    assert "is not E.164" in problems(sms(to="3175550100"), templates=TEMPLATES)["to"]


def test_whatsapp_number_must_be_valid_for_its_country() -> None:
    """A WhatsApp address is checked like an SMS one, digit count included."""
    request = sms(template="shipping-whatsapp", to="+15550100100")
    assert "not a valid number" in problems(request, templates=TEMPLATES)["to"]


def test_sms_needs_a_recipient() -> None:
    """An SMS request without 'to' says what to give."""
    found = problems(sms(to=None), templates=TEMPLATES)
    assert "is required for sms: an E.164 number" in found["to"]


def test_email_address_is_accepted() -> None:
    """An email request takes one email address."""
    request = sms(template="chat-followup", to="ana@example.com")
    assert "ana@example.com" == parse_request(request, templates=TEMPLATES).to


def test_email_address_without_at_is_refused() -> None:
    """An address missing its @ is refused with the expected form."""
    request = sms(template="chat-followup", to="ana.example.com")
    assert "expected name@example.com" in problems(request, templates=TEMPLATES)["to"]


def test_email_address_with_line_break_is_refused() -> None:
    """An address that would break a header line is refused."""
    request = sms(template="chat-followup", to="ana@example.com\nBcc: x@example.com")
    assert ["to"] == fields(request, templates=TEMPLATES)


def test_email_with_a_list_of_addresses_is_refused() -> None:
    """One request notifies one customer: 'to' is a single address."""
    request = sms(template="chat-followup", to=["a@example.com", "b@example.com"])
    assert "must be one address" in problems(request, templates=TEMPLATES)["to"]


def test_webmessaging_needs_external_contact_id() -> None:
    """Web messaging has no address: the external contact id is required."""
    request = sms(template="chat-nudge", to=None)
    assert ["external_contact_id"] == fields(request, templates=TEMPLATES)


def test_webmessaging_refuses_to() -> None:
    """Web messaging addresses the contact, so 'to' must be left out."""
    request = sms(template="chat-nudge", external_contact_id=CONTACT)
    assert ["to"] == fields(request, templates=TEMPLATES)


def test_webmessaging_request_is_parsed() -> None:
    """A web messaging request keeps the contact id, lowercased, and no address."""
    request = sms(template="chat-nudge", to=None, external_contact_id=CONTACT.upper())
    parsed = parse_request(request, templates=TEMPLATES)
    assert (None, CONTACT) == (parsed.to, parsed.external_contact_id)


def test_external_contact_id_must_be_a_uuid() -> None:
    """A contact id that is not a UUID is refused on any channel."""
    assert ["external_contact_id"] == fields(sms(external_contact_id="bob"), templates=TEMPLATES)


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "ключ", 42])
def test_bad_keys_are_refused(key: object) -> None:
    """A key is 1 to 128 printable ASCII characters without spaces."""
    assert ["key"] == fields(sms(key=key), templates=TEMPLATES)


def test_longest_key_is_accepted() -> None:
    """128 characters is the longest key."""
    assert 128 == len(parse_request(sms(key="k" * 128), templates=TEMPLATES).key)


def test_variables_must_be_an_object() -> None:
    """Variables given as a list are refused."""
    assert ["variables"] == fields(sms(variables=["a"]), templates=TEMPLATES)


def test_variables_are_optional() -> None:
    """A template without variables needs none in the request."""
    assert {} == dict(parse_request(sms(variables=None), templates=TEMPLATES).variables)


def test_too_many_variables_are_refused() -> None:
    """More than the variable limit is one problem, not one per variable."""
    many = {f"v{i}": "x" for i in range(MAX_VARIABLES + 1)}
    assert ["variables"] == fields(sms(variables=many), templates=TEMPLATES)


def test_long_variable_is_refused() -> None:
    """A variable longer than the longest text Genesys accepts is refused by name."""
    assert ["variables.order_id"] == fields(
        sms(variables={"order_id": "x" * 2001}), templates=TEMPLATES
    )


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, float("nan"), 2**60])
def test_unrenderable_variable_values_are_refused(value: object) -> None:
    """Null, lists, objects, NaN and integers beyond 2**53 are refused."""
    assert ["variables.v"] == fields(sms(variables={"v": value}), templates=TEMPLATES)


def test_scalar_variable_values_are_kept() -> None:
    """Strings, integers, floats and booleans pass through unchanged."""
    values = {"a": "x", "b": 3, "c": 1.5, "d": True}
    assert values == dict(parse_request(sms(variables=values), templates=TEMPLATES).variables)


def test_variable_names_must_be_identifiers() -> None:
    """A name a template could not use is refused."""
    assert ["variables"] == fields(sms(variables={"order id": "x"}), templates=TEMPLATES)


def test_timezone_is_kept() -> None:
    """A valid IANA zone is kept for the send window."""
    request = parse_request(sms(timezone="America/Chicago"), templates=TEMPLATES)
    assert "America/Chicago" == request.timezone


def test_times_with_offsets_are_parsed() -> None:
    """not_before and expires_at are aware instants; Z is UTC."""
    request = parse_request(
        sms(not_before="2026-03-08T09:00:00-05:00", expires_at="2026-03-09T00:00:00Z"),
        templates=TEMPLATES,
    )
    assert (
        datetime(2026, 3, 8, 9, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 3, 9, tzinfo=UTC),
    ) == (request.not_before, request.expires_at)


def test_time_without_offset_is_refused() -> None:
    """A wall time without a zone is ambiguous and refused."""
    assert (
        "has no offset"
        in (problems(sms(expires_at="2026-03-09T00:00:00"), templates=TEMPLATES)["expires_at"])
    )


def test_time_that_does_not_parse_is_refused() -> None:
    """A date-time that is not ISO-8601 is refused with an example."""
    assert ["not_before"] == fields(sms(not_before="next Tuesday"), templates=TEMPLATES)


def test_not_before_after_expires_at_is_refused() -> None:
    """A message that could never be sendable is refused."""
    request = sms(not_before="2026-03-09T10:00:00Z", expires_at="2026-03-09T09:00:00Z")
    assert "is not before expires_at" in problems(request, templates=TEMPLATES)["not_before"]


def test_json_body_is_parsed() -> None:
    """A JSON body becomes a request."""
    body = json.dumps(sms()).encode()
    assert isinstance(parse_request_json(body, templates=TEMPLATES), NotificationRequest)


def test_json_body_that_is_not_json_is_refused() -> None:
    """A body that is not JSON is one problem."""
    with pytest.raises(RequestError) as caught:
        parse_request_json(b"{key:", templates=TEMPLATES)
    assert ["(body)"] == [f for f, _ in caught.value.problems]


def test_json_body_with_a_repeated_field_is_refused() -> None:
    """A field given twice is refused rather than silently keeping the last."""
    with pytest.raises(RequestError) as caught:
        parse_request_json('{"key": "a", "key": "b"}', templates=TEMPLATES)
    assert "repeats key" in caught.value.messages[0]


def test_oversized_json_body_is_refused() -> None:
    """A body over the size bound is refused before parsing."""
    with pytest.raises(RequestError) as caught:
        parse_request_json(b" " * (MAX_REQUEST_BYTES + 1))
    assert "over" in caught.value.messages[0]


def test_body_that_is_not_utf8_is_refused() -> None:
    """Invalid UTF-8 is a request problem, not a decode traceback."""
    with pytest.raises(RequestError):
        parse_request_json(b'{"key": "\xff"}')


def outcome(parse: Callable[..., NotificationRequest], data: Any, templates: Any) -> bool:
    """True when parsing ends in a request or in a RequestError that lists problems."""
    try:
        return isinstance(parse(data, templates=templates), NotificationRequest)
    except RequestError as exc:
        return bool(exc.problems)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
FIELD_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "key": st.text(max_size=10) | JSON,
        "template": st.sampled_from(["order-shipped", "chat-nudge", "chat-followup"]) | JSON,
        "channel": st.sampled_from(["sms", "email", "webmessaging", "whatsapp"]) | JSON,
        "to": st.sampled_from(["+13175550100", "a@example.com", "+1"]) | JSON,
        "external_contact_id": st.just(CONTACT) | JSON,
        "variables": st.dictionaries(st.text(max_size=8), JSON, max_size=4) | JSON,
        "timezone": st.sampled_from(["UTC", "Europe/Paris"]) | JSON,
        "not_before": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | JSON,
        "expires_at": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | JSON,
        "extra": JSON,
    },
)


@settings(max_examples=300)
@given(FIELD_VALUES, st.booleans())
def test_any_json_object_is_a_request_or_a_request_error(data: dict[str, Any], known: bool) -> None:
    """Whatever the object holds, the outcome is a request or a RequestError, never a crash."""
    assert outcome(parse_request, data, TEMPLATES if known else None)


@settings(max_examples=200)
@given(st.binary(max_size=200) | JSON.map(json.dumps))
def test_any_body_is_a_request_or_a_request_error(body: bytes | str) -> None:
    """Any body, JSON or not, ends in a request or a RequestError."""
    assert outcome(parse_request_json, body, TEMPLATES)
