"""The messaging config block: every problem reported by key path, templates compiled at load."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnotify.core.errors import ConfigError
from gcnotify.messaging.policy import SendWindow
from gcnotify.messaging.settings import (
    DEFAULT_KEYWORDS,
    DEFAULT_SEND_WINDOW,
    EmailSender,
    MessagingSettings,
    RatePerMinute,
    load_messaging,
    parse_messaging,
)

WHATSAPP = "0b7c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4"
WEB = "6a1d2e3f-4a5b-4c6d-9e7f-8091a2b3c4d5"
DNC = "9a1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"
RESPONSE = "4e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7"


def block(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "senders": {
            "sms": "+13175550100",
            "whatsapp": WHATSAPP,
            "webmessaging": WEB,
            "email": {"via": "sendgrid", "from": {"email": "notify@example.com", "name": "Ex"}},
        },
        "default_timezone": "America/New_York",
        "templates": [
            {
                "id": "order-shipped",
                "channel": "sms",
                "text": "Your order {{ order_id }} has shipped. Reply STOP to opt out.",
            }
        ],
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def problems(value: object, **kwargs: Any) -> dict[str, str]:
    found: list[tuple[str, str]] = []
    assert parse_messaging(value, lambda p, m: found.append((p, m)), **kwargs) is None
    return dict(found)


def paths(value: object, **kwargs: Any) -> list[str]:
    return sorted(problems(value, **kwargs))


def parsed(value: object, **kwargs: Any) -> MessagingSettings:
    found: list[tuple[str, str]] = []
    settings = parse_messaging(value, lambda p, m: found.append((p, m)), **kwargs)
    assert [] == found
    assert settings is not None
    return settings


def template(**entry: Any) -> dict[str, Any]:
    return block(templates=[entry])


def test_minimal_block_gets_the_defaults() -> None:
    """Left out, the window, rates, expiry, smart encoding and keywords take their defaults."""
    settings = parsed(block())
    assert (
        DEFAULT_SEND_WINDOW,
        RatePerMinute(60, 60, 60, 300),
        timedelta(hours=24),
        True,
        DEFAULT_KEYWORDS,
    ) == (
        settings.send_window,
        settings.rate_per_minute,
        settings.expire_after,
        settings.smart_encoding,
        settings.suppression.keywords,
    )


def test_settings_are_frozen() -> None:
    """The validated settings cannot be changed."""
    settings = parsed(block())
    with pytest.raises(AttributeError):
        settings.smart_encoding = False  # type: ignore[misc]


def test_block_must_be_a_mapping() -> None:
    """A list instead of the block is one problem at the block's path."""
    assert ["messaging"] == paths(["senders"])


def test_problems_use_the_given_path() -> None:
    """The caller's path prefixes every problem."""
    assert ["root.messaging.expire_after"] == paths(
        block(expire_after="P1M"), path="root.messaging"
    )


def test_unknown_key_suggests_the_close_one() -> None:
    """A misspelt key names the key it probably meant."""
    assert "did you mean 'send_window'?" in problems(block(send_windw={}))["messaging.send_windw"]


def test_every_problem_is_reported_at_once() -> None:
    """Bad zone, bad rate and bad expiry are all reported in one pass."""
    assert [
        "messaging.default_timezone",
        "messaging.expire_after",
        "messaging.rate_per_minute.sms",
    ] == paths(block(default_timezone="Mars/Base", rate_per_minute={"sms": 0}, expire_after="x"))


def test_load_messaging_raises_config_error_with_every_problem() -> None:
    """The stand-alone loader raises one ConfigError listing the problems."""
    with pytest.raises(ConfigError) as caught:
        load_messaging(block(smart_encoding="yes", expire_after="P1Y"))
    assert ["messaging.expire_after", "messaging.smart_encoding"] == sorted(
        p.path for p in caught.value.problems
    )


def test_senders_are_required() -> None:
    """Without senders nothing can be sent."""
    assert "messaging.senders" in paths(block(senders=None))


def test_sms_sender_must_be_e164() -> None:
    """The SMS sender is a provisioned number in E.164."""
    senders = block()["senders"] | {"sms": "317-555-0100"}
    assert ["messaging.senders.sms"] == paths(block(senders=senders))


def test_whatsapp_sender_must_be_an_id() -> None:
    """The WhatsApp sender is the integration's UUID."""
    senders = block()["senders"] | {"whatsapp": "my-whatsapp"}
    assert ["messaging.senders.whatsapp"] == paths(block(senders=senders))


def test_email_sender_defaults_to_sendgrid() -> None:
    """An email sender without via goes through SendGrid."""
    senders = block()["senders"] | {"email": {"from": "notify@example.com"}}
    expected = EmailSender("sendgrid", "notify@example.com")
    assert expected == parsed(block(senders=senders)).senders.email


def test_email_sender_via_must_be_known() -> None:
    """A misspelt provider names the one it probably meant."""
    senders = block()["senders"] | {"email": {"via": "sendgird", "from": "n@example.com"}}
    found = problems(block(senders=senders))
    assert "did you mean 'sendgrid'?" in found["messaging.senders.email.via"]


def test_email_sender_address_must_parse() -> None:
    """A from address without @ is refused."""
    senders = block()["senders"] | {"email": {"from": {"email": "notify"}}}
    assert ["messaging.senders.email.from.email"] == paths(block(senders=senders))


def test_send_window_is_parsed_with_state_rules() -> None:
    """A window with us_state_rules keeps both."""
    settings = parsed(block(send_window={"start": "09:00", "end": "20:00", "us_state_rules": True}))
    assert (SendWindow(time(9), time(20)), True) == (settings.send_window, settings.us_state_rules)


def test_send_window_always_turns_it_off() -> None:
    """send_window: always means no quiet hours."""
    assert None is parsed(block(send_window="always")).send_window


def test_bad_send_window_is_a_problem() -> None:
    """A window time that is not HH:MM is reported at the window."""
    assert ["messaging.send_window"] == paths(block(send_window={"start": "8am", "end": "21:00"}))


def test_send_window_unknown_key_is_refused() -> None:
    """A misspelt window key is refused, not ignored."""
    window = {"start": "08:00", "end": "21:00", "us_state_rule": True}
    assert ["messaging.send_window.us_state_rule"] == paths(block(send_window=window))


def test_default_timezone_is_required_with_a_window() -> None:
    """Without a default zone, an unplaceable recipient's window could not be read."""
    assert ["messaging.default_timezone"] == paths(block(default_timezone=None))


def test_default_timezone_is_optional_without_a_window() -> None:
    """With send_window: always the zone is never needed."""
    assert None is parsed(block(default_timezone=None, send_window="always")).default_timezone


def test_default_timezone_suggests_the_close_one() -> None:
    """A misspelt zone names the zone it probably meant."""
    found = problems(block(default_timezone="America/New_Yrok"))
    assert "did you mean 'America/New_York'?" in found["messaging.default_timezone"]


def test_rates_override_the_defaults_per_channel() -> None:
    """A configured rate replaces that channel's default only."""
    rates = parsed(block(rate_per_minute={"sms": 120})).rate_per_minute
    assert (120, 300) == (rates.of("sms"), rates.of("email"))


def test_rate_for_an_unknown_channel_is_refused() -> None:
    """A rate key that is not a channel is an unknown key."""
    assert ["messaging.rate_per_minute.fax"] == paths(block(rate_per_minute={"fax": 5}))


@pytest.mark.parametrize("rate", [0, -1, 10_001, 1.5, True, "60"])
def test_bad_rates_are_refused(rate: object) -> None:
    """A rate is a whole number from 1 to 10,000."""
    assert ["messaging.rate_per_minute.sms"] == paths(block(rate_per_minute={"sms": rate}))


def test_genesys_email_rate_is_capped_at_its_limit() -> None:
    """Email via Genesys cannot be paced faster than Genesys allows."""
    senders = block()["senders"] | {"email": {"via": "genesys", "from": "n@example.com"}}
    found = problems(block(senders=senders, rate_per_minute={"email": 400}))
    assert "over the 300 per minute" in found["messaging.rate_per_minute.email"]


def test_expire_after_is_parsed() -> None:
    """An ISO-8601 duration sets the expiry."""
    assert timedelta(days=2, hours=12) == parsed(block(expire_after="P2DT12H")).expire_after


def test_expire_after_beyond_two_weeks_is_refused() -> None:
    """An expiry longer than P14D is refused."""
    assert ["messaging.expire_after"] == paths(block(expire_after="P15D"))


def test_keywords_are_upper_cased() -> None:
    """Keywords are kept upper-case, as inbound text is compared."""
    assert ("STOP", "QUIT") == parsed(
        block(suppression={"keywords": ["stop", "Quit"]})
    ).suppression.keywords


def test_opt_in_keyword_is_refused() -> None:
    """START in the opt-out keywords would opt people out when they opt in."""
    found = problems(block(suppression={"keywords": ["STOP", "start"]}))
    assert "means opt back in" in found["messaging.suppression.keywords[1]"]


def test_duplicate_keyword_is_refused() -> None:
    """Keywords differing only in case are duplicates."""
    assert ["messaging.suppression.keywords[1]"] == paths(
        block(suppression={"keywords": ["STOP", "stop"]})
    )


def test_empty_keywords_are_refused() -> None:
    """An empty keyword list would leave no way to opt out."""
    assert ["messaging.suppression.keywords"] == paths(block(suppression={"keywords": []}))


def test_dnc_lists_are_kept() -> None:
    """Genesys DNC list ids are kept, lowercased."""
    settings = parsed(block(suppression={"genesys_dnc_lists": [DNC.upper()]}))
    assert (DNC,) == settings.suppression.genesys_dnc_lists


def test_dnc_list_must_be_an_id() -> None:
    """A DNC list given by name is refused."""
    assert ["messaging.suppression.genesys_dnc_lists[0]"] == paths(
        block(suppression={"genesys_dnc_lists": ["Main DNC"]})
    )


def test_intake_secret_key_is_kept() -> None:
    """The intake names the key in the credentials secret."""
    intake = parsed(block(intake={"shared_secret_key": "genesys_data_action_secret"})).intake
    assert intake is not None
    assert "genesys_data_action_secret" == intake.shared_secret_key


def test_intake_secret_key_must_be_a_key_name() -> None:
    """Something with spaces or symbols is not a key name (likely the secret itself)."""
    assert ["messaging.intake.shared_secret_key"] == paths(
        block(intake={"shared_secret_key": "s3cr3t value!"})
    )


def test_templates_are_required() -> None:
    """The block needs at least one template."""
    assert ["messaging.templates"] == paths(block(templates=[]))


def test_inline_template_is_compiled_at_load() -> None:
    """An inline SMS template is compiled, its variables known before any request."""
    compiled = parsed(block()).templates[0].compiled
    assert compiled is not None
    assert frozenset({"order_id"}) == compiled.variables


def test_template_syntax_error_is_a_config_problem() -> None:
    """A Jinja syntax error fails the config at load, naming the template."""
    found = problems(template(id="bad", channel="sms", text="Hi {{ name"))
    assert "template 'bad' (text), line 1" in found["messaging.templates[0]"]


def test_template_ids_are_unique() -> None:
    """Two templates with one id are refused."""
    entry = {"id": "a", "channel": "sms", "text": "x"}
    assert ["messaging.templates[1].id"] == paths(block(templates=[entry, entry]))


def test_template_channel_suggests_the_close_one() -> None:
    """A misspelt channel names the channel it probably meant."""
    found = problems(template(id="a", channel="emial", subject="s", text="t"))
    assert "did you mean 'email'?" in found["messaging.templates[0].channel"]


def test_template_channel_needs_a_sender() -> None:
    """A template on a channel without a sender could never be sent."""
    raw = template(id="a", channel="whatsapp", text="hi")
    raw["senders"] = {"sms": "+13175550100"}
    assert "whatsapp has no sender" in problems(raw)["messaging.templates[0].channel"]


def test_template_lookup_by_id() -> None:
    """Settings find a template by id and list each template's channel."""
    settings = parsed(block())
    assert ("sms", {"order-shipped": "sms"}) == (
        getattr(settings.template("order-shipped"), "channel", None),
        settings.template_channels,
    )


def test_email_template_needs_a_subject() -> None:
    """An email template without a subject is refused by key."""
    assert ["messaging.templates[0].subject"] == paths(template(id="a", channel="email", text="t"))


def test_sms_template_refuses_html() -> None:
    """HTML is for email only."""
    assert ["messaging.templates[0].html"] == paths(
        template(id="a", channel="sms", text="t", html="<p>t</p>")
    )


def test_inline_and_file_part_together_are_refused() -> None:
    """A part given inline and as a file is ambiguous."""
    entry = {"id": "a", "channel": "sms", "text": "t", "text_file": "messages/a.txt"}
    assert ["messaging.templates[0].text_file"] == paths(template(**entry))


def test_file_templates_without_reader_are_kept_uncompiled() -> None:
    """Without a reader, file templates are kept for later and not compiled."""
    entry = {
        "id": "a",
        "channel": "email",
        "subject": "Hi",
        "html_file": "messages/a.html",
        "text_file": "messages/a.txt",
    }
    kept = parsed(template(**entry)).templates[0]
    assert (None, "messages/a.html") == (kept.compiled, kept.html_file)


def test_file_templates_are_compiled_through_the_reader() -> None:
    """With a reader, file parts are read and compiled with the inline subject."""
    entry = {
        "id": "a",
        "channel": "email",
        "subject": "Hi {{ name }}",
        "html_file": "m/a.html",
        "text": "{{ body }}",
    }
    files = {"m/a.html": "<p>{{ body }}</p>"}
    compiled = parsed(template(**entry), read_template=files.__getitem__).templates[0].compiled
    assert compiled is not None
    assert frozenset({"name", "body"}) == compiled.variables


def test_unreadable_template_file_is_a_problem() -> None:
    """A file the reader cannot open is reported at its key."""

    def missing(path: str) -> str:
        raise FileNotFoundError(2, "No such file or directory", path)

    entry = {"id": "a", "channel": "sms", "text_file": "messages/a.txt"}
    found = problems(template(**entry), read_template=missing)
    assert "cannot read templates/messages/a.txt" in found["messaging.templates[0].text_file"]


@pytest.mark.parametrize("path", ["/etc/passwd", "../secrets.txt", "a\\b.txt", "m//a.txt"])
def test_template_file_must_stay_under_templates(path: str) -> None:
    """Absolute paths, .., backslashes and empty segments are refused."""
    entry = {"id": "a", "channel": "sms", "text_file": path}
    assert ["messaging.templates[0].text_file"] == paths(template(**entry))


def test_an_email_template_needs_a_plain_text_part() -> None:
    found = problems(template(id="e", channel="email", subject="Hi", html="<p>Hi</p>"))
    assert "text or text_file" in found["messaging.templates[0].text"]


def test_a_whatsapp_template_must_be_an_approved_genesys_response() -> None:
    senders = block()["senders"]
    found = problems(
        block(senders=senders, templates=[{"id": "w", "channel": "whatsapp", "text": "hi"}])
    )
    assert "approved template" in found["messaging.templates[0].genesys_response"]


def test_whatsapp_genesys_response_is_kept() -> None:
    """A WhatsApp template can name its Response Management response instead of text."""
    kept = parsed(template(id="w", channel="whatsapp", genesys_response=RESPONSE)).templates[0]
    assert (RESPONSE, None) == (kept.genesys_response, kept.compiled)


def test_genesys_response_is_only_for_whatsapp() -> None:
    """An SMS template cannot name a Response Management response."""
    assert ["messaging.templates[0].genesys_response"] == paths(
        template(id="s", channel="sms", genesys_response=RESPONSE)
    )


def test_genesys_response_comes_without_text() -> None:
    """A response template with inline text too is ambiguous."""
    found = problems(template(id="w", channel="whatsapp", genesys_response=RESPONSE, text="t"))
    assert "remove text" in found["messaging.templates[0].genesys_response"]


def test_template_unknown_key_suggests_the_close_one() -> None:
    """A misspelt template key names the key it probably meant."""
    found = problems(template(id="a", channel="sms", text="t", txt_file="a.txt"))
    assert "did you mean 'text_file'?" in found["messaging.templates[0].txt_file"]


def test_expire_after_too_large_for_a_duration_is_a_problem() -> None:
    """A duration beyond what a timedelta holds is a problem, not an OverflowError."""
    assert ["messaging.expire_after"] == paths(block(expire_after="P99999999999D"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
KEYS = [
    "senders",
    "send_window",
    "default_timezone",
    "rate_per_minute",
    "expire_after",
    "smart_encoding",
    "suppression",
    "intake",
    "templates",
]


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(KEYS), JSON), st.booleans())
def test_any_block_ends_in_settings_or_problems(changes: dict[str, Any], known: bool) -> None:
    """Whatever each key holds, the outcome is settings or reported problems, never a crash."""
    found: list[tuple[str, str]] = []
    result = parse_messaging(
        block(**changes) if known else changes, lambda p, m: found.append((p, m))
    )
    assert (result is None) == bool(found)
