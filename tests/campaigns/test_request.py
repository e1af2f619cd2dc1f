"""A campaign recipient's request: valid for the messaging intake, and rendering as configured."""

from __future__ import annotations

from typing import Any

import pytest

from gcnotify.campaigns import Recipient, campaign_request, campaign_requests
from gcnotify.core.errors import RequestError
from gcnotify.messaging.request import parse_request

from .conftest import campaign_of, messaging_of

CONTACT = "00000000-0000-4000-8000-000000000001"
MESSAGING = messaging_of()


def parsed(request: dict[str, Any]) -> Any:
    return parse_request(request, templates=MESSAGING.template_channels)


def rendered_text(template_id: str, variables: dict[str, object]) -> str:
    template = MESSAGING.template(template_id)
    assert template is not None
    assert template.compiled is not None
    text = template.compiled.render(variables).text
    assert text is not None
    return text


def test_email_request_goes_to_the_contacts_email_with_its_name() -> None:
    """An email request has to and the variables, no external_contact_id, and renders."""
    campaign = campaign_of()
    recipient = Recipient(CONTACT, "ana@example.com", first_name="Ana", last_name="Smith")
    request = campaign_request(campaign, recipient)
    valid = parsed(request)
    assert (f"campaign:webmessaging-followup:{CONTACT}", "email", "ana@example.com", None) == (
        valid.key,
        valid.channel,
        valid.to,
        valid.external_contact_id,
    )
    assert {"first_name": "Ana", "brand": "Example"} == dict(valid.variables)
    assert "Hello Ana, thanks for chatting with Example." == rendered_text(
        "chat-followup", dict(valid.variables)
    )


@pytest.mark.parametrize("first_name", [None, "", "   "])
def test_contact_without_a_name_gets_the_fallback(first_name: str | None) -> None:
    """No usable first name on the contact: the campaign's configured value is used."""
    request = campaign_request(campaign_of(), Recipient(CONTACT, "a@example.com", first_name))
    assert "there" == parsed(request).variables["first_name"]


def test_sms_request_links_the_contact() -> None:
    """An sms request goes to the phone and names the external contact beside it."""
    campaign = campaign_of(
        id="sms-follow", channel="sms", template="sms-followup", variables={"first_name": "x"}
    )
    valid = parsed(campaign_request(campaign, Recipient(CONTACT, "+13175550142", " Bo ")))
    assert ("sms", "+13175550142", CONTACT) == (valid.channel, valid.to, valid.external_contact_id)
    assert "Hi Bo, how did we do? Reply STOP to opt out." == rendered_text(
        "sms-followup", dict(valid.variables)
    )


def test_webmessaging_request_names_only_the_contact() -> None:
    """Web messaging has no to: the external contact id is the address."""
    campaign = campaign_of(id="web", channel="webmessaging", template="web-plain", variables=None)
    request = campaign_request(campaign, Recipient(CONTACT, CONTACT))
    assert "to" not in request
    assert "variables" not in request
    valid = parsed(request)
    assert (None, CONTACT) == (valid.to, valid.external_contact_id)


def test_whatsapp_request_goes_to_the_phone_only() -> None:
    """WhatsApp takes a number and no external contact."""
    campaign = campaign_of(
        id="wa", channel="whatsapp", template="shipping-whatsapp", variables=None
    )
    valid = parsed(campaign_request(campaign, Recipient(CONTACT, "+13175550142")))
    assert ("whatsapp", "+13175550142", None) == (
        valid.channel,
        valid.to,
        valid.external_contact_id,
    )


def test_name_too_long_for_a_request_falls_back() -> None:
    """A name past a request variable's 2,000 characters is not sent; the fallback is."""
    request = campaign_request(campaign_of(), Recipient(CONTACT, "a@example.com", "N" * 2001))
    assert "there" == parsed(request).variables["first_name"]


def test_a_name_is_never_added_when_the_template_does_not_use_it() -> None:
    """The contact's names fill only variables the campaign lists."""
    campaign = campaign_of(id="web", channel="webmessaging", template="web-plain", variables=None)
    request = campaign_request(campaign, Recipient(CONTACT, CONTACT, "Ana", "Smith"))
    assert "variables" not in request


def test_the_intake_would_refuse_a_wrong_address() -> None:
    """What the builder passes through is still checked by the intake: a bad phone fails."""
    campaign = campaign_of(
        id="sms-follow", channel="sms", template="sms-followup", variables={"first_name": "x"}
    )
    with pytest.raises(RequestError, match=r"E\.164"):
        parsed(campaign_request(campaign, Recipient(CONTACT, "317-555-0142")))


def test_one_request_per_recipient_each_with_its_own_key() -> None:
    """Requests for an audience come in its order, keyed per contact."""
    other = "00000000-0000-4000-8000-000000000002"
    recipients = [Recipient(CONTACT, "a@example.com"), Recipient(other, "b@example.com")]
    keys = [r["key"] for r in campaign_requests(campaign_of(), recipients)]
    assert [f"campaign:webmessaging-followup:{c}" for c in (CONTACT, other)] == keys
