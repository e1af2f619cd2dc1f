"""What the campaign tests share: a messaging block with a template per channel, a campaign."""

from __future__ import annotations

from typing import Any

from gcnotify.campaigns import CampaignSettings, parse_campaigns
from gcnotify.messaging.settings import MessagingSettings, parse_messaging

WEB = "6a1d2e3f-4a5b-4c6d-9e7f-8091a2b3c4d5"
WHATSAPP = "0b7c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4"
RESPONSE = "4e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7"

MESSAGING: dict[str, Any] = {
    "senders": {
        "sms": "+13175550100",
        "whatsapp": WHATSAPP,
        "webmessaging": WEB,
        "email": {"via": "sendgrid", "from": {"email": "notify@example.com", "name": "Example"}},
    },
    "default_timezone": "America/New_York",
    "templates": [
        {
            "id": "chat-followup",
            "channel": "email",
            "subject": "Following up on your chat with {{ brand }}",
            "text": "Hello {{ first_name }}, thanks for chatting with {{ brand }}.",
        },
        {
            "id": "sms-followup",
            "channel": "sms",
            "text": "Hi {{ first_name }}, how did we do? Reply STOP to opt out.",
        },
        {"id": "web-nudge", "channel": "webmessaging", "text": "Hello again {{ first_name }}!"},
        {"id": "web-plain", "channel": "webmessaging", "text": "We are here if you need us."},
        {"id": "shipping-whatsapp", "channel": "whatsapp", "genesys_response": RESPONSE},
    ],
}


def messaging_of(block: dict[str, Any] | None = None) -> MessagingSettings:
    found: list[tuple[str, str]] = []
    parsed = parse_messaging(block or MESSAGING, lambda p, m: found.append((p, m)))
    assert [] == found
    assert parsed is not None
    return parsed


def campaign_raw(**changes: Any) -> dict[str, Any]:
    """One valid campaign entry; a change of None drops that key."""
    raw: dict[str, Any] = {
        "id": "webmessaging-followup",
        "audience": {"media": "webmessaging", "days": 30, "queues": ["Support"], "limit": 50000},
        "channel": "email",
        "template": "chat-followup",
        "timezone": "America/New_York",
        "schedule": "once",
        "variables": {"first_name": "there", "brand": "Example"},
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def campaign_of(**changes: Any) -> CampaignSettings:
    found: list[tuple[str, str]] = []
    parsed = parse_campaigns([campaign_raw(**changes)], lambda p, m: found.append((p, m)))
    assert [] == found
    assert parsed is not None
    return parsed[0]
