"""The campaigns config block: every problem by key path with its fix, and its messaging check."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from gcnotify.campaigns import (
    MAX_DAYS_BACK,
    CampaignSettings,
    campaign_by_id,
    campaigns_block,
    campaigns_of,
    cross_check,
    load_campaigns,
    parse_campaigns,
)
from gcnotify.core.config import load_config
from gcnotify.core.errors import ConfigError, EventError

from .conftest import MESSAGING, campaign_of, campaign_raw, messaging_of


def problems(value: object) -> dict[str, str]:
    found: list[tuple[str, str]] = []
    assert parse_campaigns(value, lambda p, m: found.append((p, m))) is None
    return dict(found)


def one(**changes: Any) -> dict[str, str]:
    return problems([campaign_raw(**changes)])


def test_full_campaign_is_parsed() -> None:
    """Every key of a campaign lands in its settings."""
    campaign = campaign_of(schedule="09:30")
    assert "webmessaging-followup" == campaign.id
    assert ("webmessaging", 30, ("Support",), True, 50000) == (
        campaign.audience.media,
        campaign.audience.days,
        campaign.audience.queues,
        campaign.audience.exclude_active,
        campaign.audience.limit,
    )
    assert ("email", "chat-followup", "America/New_York") == (
        campaign.channel,
        campaign.template,
        campaign.timezone,
    )
    assert time(9, 30) == campaign.schedule
    assert not campaign.once
    assert {"first_name": "there", "brand": "Example"} == dict(campaign.variables)


def test_minimal_campaign_gets_the_defaults() -> None:
    """Left out, the schedule is once, active customers are excluded, nothing is capped."""
    campaign = campaign_of(schedule=None, variables=None, audience={"media": "voice", "days": 1})
    assert campaign.once
    assert (True, None, ()) == (
        campaign.audience.exclude_active,
        campaign.audience.limit,
        campaign.audience.queues,
    )
    assert {} == dict(campaign.variables)


@pytest.mark.parametrize(
    ("media", "media_type", "message_type"),
    [
        ("webmessaging", "message", "webmessaging"),
        ("sms", "message", "sms"),
        ("open", "message", "open"),
        ("voice", "voice", None),
        ("email", "email", None),
    ],
)
def test_audience_media_maps_to_the_analytics_media(
    media: str, media_type: str, message_type: str | None
) -> None:
    """A messaging medium is mediaType message with its messageType; voice and email are not."""
    audience = campaign_of(audience={"media": media, "days": 7}).audience
    assert (media_type, message_type) == (audience.media_type, audience.message_type)


def test_block_must_be_a_non_empty_list() -> None:
    """A mapping or an empty list is refused at the block's own path."""
    assert ["campaigns"] == list(problems({"id": "x"}))
    assert ["campaigns"] == list(problems([]))


def test_unknown_keys_are_named_with_the_close_one() -> None:
    """A typo at either level is named with its path and the key it was probably meant as."""
    raw = campaign_raw(templat="chat-followup")
    raw["audience"]["exclude_actve"] = False
    found = problems([raw])
    assert "did you mean 'template'?" in found["campaigns[0].templat"]
    assert "did you mean 'exclude_active'?" in found["campaigns[0].audience.exclude_actve"]
    assert "allowed keys here" in found["campaigns[0].audience.exclude_actve"]


def test_required_keys_are_reported_each() -> None:
    """A campaign with nothing in it names every key it lacks."""
    found = problems([{}])
    for key in ("id", "audience", "channel", "template", "timezone"):
        assert f"campaigns[0].{key}" in found
    assert "is required" in found["campaigns[0].timezone"]


def test_ids_are_unique_and_slugs() -> None:
    """Two campaigns with one id, or an id with capitals, are refused."""
    found = problems([campaign_raw(), campaign_raw()])
    assert "already used by campaigns[0]" in found["campaigns[1].id"]
    assert "lowercase" in one(id="Web Followup")["campaigns[0].id"]
    assert "over 64" in one(id="a" * 65)["campaigns[0].id"]


def test_days_beyond_the_retention_name_the_figure() -> None:
    """Asking for more days than Genesys guarantees to keep says how many it does."""
    found = one(audience={"media": "webmessaging", "days": MAX_DAYS_BACK + 1})
    message = found["campaigns[0].audience.days"]
    assert 90 == MAX_DAYS_BACK
    assert "91 is more than 90" in message
    assert "conversation details for 90 days" in message
    assert "at most 90" in message


@pytest.mark.parametrize("days", [0, -3, True, "30", 2.5])
def test_days_must_be_a_whole_positive_number(days: object) -> None:
    """Zero, negatives, booleans, strings and fractions are refused with the range."""
    found = one(audience={"media": "webmessaging", "days": days})
    assert "from 1 to 90" in found["campaigns[0].audience.days"]


def test_the_longest_window_is_accepted() -> None:
    """Exactly MAX_DAYS_BACK is fine."""
    assert MAX_DAYS_BACK == campaign_of(audience={"media": "sms", "days": 90}).audience.days


def test_bad_media_suggests_the_close_one() -> None:
    """A misspelt medium is named with the likely one and the list."""
    found = one(audience={"media": "webmesaging", "days": 3})
    assert "did you mean 'webmessaging'?" in found["campaigns[0].audience.media"]
    assert "voice" in found["campaigns[0].audience.media"]


def test_audience_limit_queues_and_flags_are_checked() -> None:
    """A zero limit, a repeated or padded queue and a non-boolean flag are each reported."""
    found = one(
        audience={
            "media": "sms",
            "days": 3,
            "limit": 0,
            "queues": ["Support", "Support", " Sales"],
            "exclude_active": "yes",
        }
    )
    assert "1 to 1,000,000" in found["campaigns[0].audience.limit"]
    assert "listed twice" in found["campaigns[0].audience.queues[1]"]
    assert "leading or trailing spaces" in found["campaigns[0].audience.queues[2]"]
    assert "true or false" in found["campaigns[0].audience.exclude_active"]


def test_bad_channel_suggests_the_close_one() -> None:
    """A channel that is not one of the four is named with the likely one."""
    assert "did you mean 'email'?" in one(channel="emial")["campaigns[0].channel"]
    assert "webmessaging, sms, email, whatsapp" in one(channel="voice")["campaigns[0].channel"]


def test_bad_zone_suggests_the_closest_names() -> None:
    """A misspelt zone is named with the IANA names closest to it."""
    message = one(timezone="America/New_Yrok")["campaigns[0].timezone"]
    assert "is not an IANA time zone" in message
    assert "'America/New_York'" in message


def test_zone_without_a_close_name_gets_an_example() -> None:
    """Nothing close: the message shows what a zone name looks like."""
    assert "such as 'America/New_York'" in one(timezone="Mars")["campaigns[0].timezone"]


@pytest.mark.parametrize("schedule", ["25:00", "9:30", "daily", "09:30:00"])
def test_bad_schedule_says_what_it_takes(schedule: str) -> None:
    """Anything but once or a 24-hour HH:MM is refused with both forms."""
    message = one(schedule=schedule)["campaigns[0].schedule"]
    assert 'once or a daily local time like "09:30"' in message


def test_unquoted_schedule_is_told_to_quote() -> None:
    """YAML reads an unquoted 09:30 as 570 minutes: the fix is to quote it."""
    assert 'quote the time: schedule: "09:30"' in one(schedule=570)["campaigns[0].schedule"]


def test_misspelt_once_suggests_once() -> None:
    """A near miss of once says so."""
    assert "did you mean 'once'?" in one(schedule="onec")["campaigns[0].schedule"]


def test_variables_must_travel_in_a_request() -> None:
    """A list value, a null and a bad name are refused, each at its own path."""
    found = one(variables={"brand": ["a"], "first_name": None, "bad-name": "x"})
    assert "string, number or boolean" in found["campaigns[0].variables.brand"]
    assert "string, number or boolean" in found["campaigns[0].variables.first_name"]
    assert "not a variable name" in found["campaigns[0].variables.bad-name"]


def test_every_problem_of_a_block_is_reported_at_once() -> None:
    """Two broken campaigns: the problems of both come back together."""
    found = problems([campaign_raw(channel="fax"), campaign_raw(id="second", timezone="X/Y")])
    assert {"campaigns[0].channel", "campaigns[1].timezone"} == set(found)


def test_load_campaigns_raises_with_every_problem() -> None:
    """On its own, the block raises one ConfigError listing the problems."""
    with pytest.raises(ConfigError) as caught:
        load_campaigns([campaign_raw(channel="fax", schedule="noon")])
    assert {"campaigns[0].channel", "campaigns[0].schedule"} == {
        p.path for p in caught.value.problems
    }


def test_template_of_another_channel_names_its_channel() -> None:
    """An sms template for an email campaign: the message names sms and the email templates."""
    campaign = campaign_of(template="sms-followup", variables={"first_name": "there"})
    found = dict(cross_check([campaign], messaging_of()))
    message = found["campaigns[0].template"]
    assert "'sms-followup' is a sms template, not email" in message
    assert "(chat-followup)" in message
    assert "or set channel: sms" in message


def test_unknown_template_names_the_closest_ids() -> None:
    """A misspelt template id is named with the closest configured ones."""
    found = dict(cross_check([campaign_of(template="chat-folowup")], messaging_of()))
    assert "did you mean 'chat-followup'" in found["campaigns[0].template"]


def test_unknown_template_without_a_close_id_lists_the_channels_templates() -> None:
    """Nothing close: the message lists the templates of the campaign's channel."""
    found = dict(cross_check([campaign_of(template="zzz")], messaging_of()))
    assert "its email templates: chat-followup" in found["campaigns[0].template"]


def test_channel_without_a_sender_is_reported() -> None:
    """A campaign by email where the messaging block has no email sender."""
    block = {**MESSAGING, "senders": {"sms": "+13175550100"}}
    block["templates"] = [t for t in MESSAGING["templates"] if t["channel"] == "sms"]
    found = dict(cross_check([campaign_of()], messaging_of(block)))
    assert "email has no sender: add messaging.senders.email" in found["campaigns[0].channel"]


def test_template_variable_without_a_value_is_reported() -> None:
    """A template using brand with no brand under variables cannot render: reported."""
    found = cross_check([campaign_of(variables={"first_name": "there"})], messaging_of())
    assert [("campaigns[0].variables", found[0][1])] == found
    assert "uses brand: give its value under variables" in found[0][1]


def test_contact_variable_needs_a_fallback() -> None:
    """first_name comes from the contact, which may have none: a fallback is required."""
    found = dict(cross_check([campaign_of(variables={"brand": "Example"})], messaging_of()))
    assert "uses first_name, which a contact may lack" in found["campaigns[0].variables"]


def test_variable_the_template_does_not_use_is_reported() -> None:
    """An extra variable would fail every render: reported with the ones the template uses."""
    campaign = campaign_of(variables={"first_name": "x", "brand": "y", "promo": "z"})
    found = dict(cross_check([campaign], messaging_of()))
    assert (
        "not used by template 'chat-followup' (it uses brand, first_name)"
        in (found["campaigns[0].variables.promo"])
    )


def test_matching_campaigns_pass_the_cross_check() -> None:
    """Campaigns on each channel with fitting templates and variables raise nothing."""
    campaigns = [
        campaign_of(),
        campaign_of(
            id="sms", channel="sms", template="sms-followup", variables={"first_name": "x"}
        ),
        campaign_of(id="web", channel="webmessaging", template="web-plain", variables=None),
        campaign_of(id="wa", channel="whatsapp", template="shipping-whatsapp", variables=None),
    ]
    assert [] == cross_check(campaigns, messaging_of())


CONFIG = """\
genesys: {environment: mypurecloud.com}
sendgrid: {from: {email: reports@example.com}}
campaigns:
  - id: webmessaging-followup
    audience: {media: webmessaging, days: 30, queues: [Support]}
    channel: email
    template: chat-followup
    timezone: America/New_York
    schedule: "07:15"
    variables: {first_name: there, brand: Example}
"""


def test_load_config_parses_the_block_through_its_parser(tmp_path: Path) -> None:
    """Handed to load_config, the parser turns the block into settings campaigns_of returns."""
    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path, blocks={"campaigns": campaigns_block()})
    (campaign,) = campaigns_of(config)
    assert isinstance(campaign, CampaignSettings)
    assert time(7, 15) == campaign.schedule


def test_load_config_lists_the_blocks_problems_with_the_rest(tmp_path: Path) -> None:
    """A bad campaign fails the whole config, by path, beside the config's other problems."""
    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG.replace("days: 30", "days: 120"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, blocks={"campaigns": campaigns_block()})
    assert ["campaigns[0].audience.days"] == [p.path for p in caught.value.problems]


def test_campaigns_of_without_the_block_says_what_to_add(tmp_path: Path) -> None:
    """A config with no campaigns: block is a ConfigError naming the block."""
    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG.partition("campaigns:")[0] + "messaging: {}\n", encoding="utf-8")
    config = load_config(path)
    with pytest.raises(ConfigError, match="campaigns: list"):
        campaigns_of(config)


def test_campaign_by_id_names_the_close_one() -> None:
    """An unknown id on the command line is an EventError with the likely id."""
    campaigns = [campaign_of()]
    assert campaigns[0] is campaign_by_id(campaigns, "webmessaging-followup")
    with pytest.raises(EventError, match="did you mean 'webmessaging-followup'"):
        campaign_by_id(campaigns, "webmessaging-folowup")


@pytest.mark.parametrize("schedule", ["23:46", "23:59"])
def test_a_daily_time_after_the_last_tick_is_refused(schedule: str) -> None:
    """After 23:45 no quarter-hour tick of that local day would run it: refused, with the fix."""
    message = one(schedule=schedule)["campaigns[0].schedule"]
    assert f'"{schedule}" is after 23:45' in message
    assert 'give "23:45" at the latest' in message


def test_the_last_tick_itself_is_a_daily_time() -> None:
    assert time(23, 45) == campaign_of(schedule="23:45").schedule
