"""The campaigns pipeline: notify customers chosen from their Genesys conversation history.

What lives here so far is the pure part, decided from its inputs alone: the ``campaigns:``
config block and its check against the messaging block (``settings``), the window and the
audience built from conversation details, de-duplicated with every exclusion counted
(``audience``), and the notification request made for each recipient (``request``). Each request
goes to the messaging pipeline's intake, which sends it once.
"""

from __future__ import annotations

from gcnotify.campaigns.audience import (
    EXCLUSION_REASONS,
    Audience,
    AudienceBuilder,
    Candidate,
    ContactLike,
    ContactLookup,
    ExclusionReason,
    Recipient,
    campaign_key,
    campaign_window,
    customers,
    mask,
)
from gcnotify.campaigns.request import campaign_request, campaign_requests
from gcnotify.campaigns.settings import (
    CONTACT_VARIABLES,
    MAX_DAYS_BACK,
    AudienceSettings,
    CampaignSettings,
    campaign_by_id,
    campaigns_block,
    campaigns_of,
    cross_check,
    load_campaigns,
    parse_campaigns,
)

__all__ = [
    "CONTACT_VARIABLES",
    "EXCLUSION_REASONS",
    "MAX_DAYS_BACK",
    "Audience",
    "AudienceBuilder",
    "AudienceSettings",
    "CampaignSettings",
    "Candidate",
    "ContactLike",
    "ContactLookup",
    "ExclusionReason",
    "Recipient",
    "campaign_by_id",
    "campaign_key",
    "campaign_request",
    "campaign_requests",
    "campaign_window",
    "campaigns_block",
    "campaigns_of",
    "cross_check",
    "customers",
    "load_campaigns",
    "mask",
    "parse_campaigns",
]
