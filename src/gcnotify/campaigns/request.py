"""The notification request for one campaign recipient, as the messaging intake takes it.

One request per recipient, keyed ``campaign:<id>:<contact id>``, so a re-run, a retry or two
overlapping runs never notify anyone twice; the policy gate (suppression, expiry, quiet hours,
pace) still applies to each at send time. What goes in it, and why:

- ``template`` and ``channel``: the campaign's; the intake checks they agree.
- The address by channel: web messaging sends to ``external_contact_id`` alone; sms to ``to``
  (the contact's phone) with ``external_contact_id`` beside it, linking the message to the
  contact; whatsapp and email to ``to`` only (Genesys links neither to an external contact).
- ``variables``: the campaign's ``variables:``, with ``first_name`` and ``last_name`` replaced by
  the contact's own when the contact has them (the configured value is the fallback). Nothing
  else: the config check makes those exactly the template's variables.
- No ``timezone``: the campaign's zone is where it is scheduled, not where the customer lives;
  the gate derives the recipient's zone from the number, else the messaging default.
- No ``expires_at``: the messaging block's ``expire_after`` bounds how late it may go.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gcnotify.campaigns.audience import Recipient, campaign_key
from gcnotify.campaigns.settings import CONTACT_VARIABLES, CampaignSettings

__all__ = ["campaign_request", "campaign_requests"]

_MAX_NAME = 2000  # a request variable's longest string


def campaign_request(campaign: CampaignSettings, recipient: Recipient) -> dict[str, object]:
    """The request dict for one recipient, valid for the messaging intake."""
    request: dict[str, object] = {
        "key": campaign_key(campaign.id, recipient.contact_id),
        "template": campaign.template,
        "channel": campaign.channel,
    }
    if campaign.channel == "webmessaging":
        request["external_contact_id"] = recipient.contact_id
    else:
        request["to"] = recipient.address
        if campaign.channel == "sms":
            request["external_contact_id"] = recipient.contact_id
    variables = dict(campaign.variables)
    names = {"first_name": recipient.first_name, "last_name": recipient.last_name}
    for name in CONTACT_VARIABLES:
        value = (names[name] or "").strip()
        if name in variables and value and len(value) <= _MAX_NAME:
            variables[name] = value
    if variables:
        request["variables"] = variables
    return request


def campaign_requests(
    campaign: CampaignSettings, recipients: Iterable[Recipient]
) -> Iterator[dict[str, object]]:
    """One request per recipient, in the audience's order."""
    for recipient in recipients:
        yield campaign_request(campaign, recipient)
