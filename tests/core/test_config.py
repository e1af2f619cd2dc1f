"""Config loading: every problem at once, with key path, value and fix."""

from __future__ import annotations

import copy
import tracemalloc
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gcnotify.core.config import is_queue_id, load_config, parse_config
from gcnotify.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

MINIMAL: dict[str, Any] = {
    "genesys": {"environment": "mypurecloud.com"},
    "sendgrid": {"from": {"email": "reports@example.com", "name": "Reports"}},
    "reports": [
        {
            "id": "support-daily",
            "title": "Support queues",
            "timezone": "America/New_York",
            "queues": ["Support"],
            "recipients": {"to": ["sup@example.com"]},
        }
    ],
}


def problems_of(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return [str(p) for p in info.value.problems]


def with_report(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data["reports"][0].update(changes)
    return data


def test_shipped_config_is_valid() -> None:
    """The gcnotify.yaml that ships in the Lambda artifact loads without a problem."""
    config = load_config(REPO / "gcnotify.yaml")
    assert len(config.reports) >= 1
    assert "mypurecloud.com" == config.genesys.environment


def test_minimal_config_gets_documented_defaults() -> None:
    """Omitted keys take the documented defaults."""
    report = parse_config(MINIMAL).reports[0]
    assert "previous_business_day" == report.window
    assert frozenset({0, 1, 2, 3, 4}) == report.business_days
    assert "P1D" == report.interval
    assert "no_activity_email" == report.on_empty
    assert "{business_date" in report.subject


def test_misspelled_timezone_suggests_the_real_one() -> None:
    """A typo in a time zone names the key, the value and the likely fix."""
    found = problems_of(with_report(timezone="America/New_Yrok"))
    assert [
        "reports[0].timezone: 'America/New_Yrok' is not an IANA time zone "
        "(did you mean 'America/New_York'?)"
    ] == found


def test_every_problem_is_reported_at_once() -> None:
    """Three bad keys in two sections give three problems in one error."""
    data = with_report(timezone="Mars/Base", metrics=["offered", "avg_handle"])
    data["sendgrid"]["from"]["email"] = "not-an-email"
    found = problems_of(data)
    assert 3 == len(found)
    assert any(p.startswith("sendgrid.from.email:") for p in found)
    assert any(p.startswith("reports[0].timezone:") for p in found)
    assert any(p.startswith("reports[0].metrics[1]:") for p in found)


def test_unknown_key_is_rejected_with_suggestion() -> None:
    """A misspelled key is an error, not silently ignored."""
    data = with_report(recipents={"to": ["a@example.com"]})
    found = problems_of(data)
    assert any("reports[0].recipents: unknown key (did you mean 'recipients'?)" in p for p in found)


def test_unknown_top_level_key_is_rejected() -> None:
    """Unknown keys at the top level are errors too."""
    data = copy.deepcopy(MINIMAL)
    data["report"] = []
    assert any(p.startswith("report: unknown key") for p in problems_of(data))


def test_genesys_metric_name_maps_to_ours() -> None:
    """A Genesys API or UI metric name points to the report metric to use."""
    found = problems_of(with_report(metrics=["averageHandleTime"]))
    assert any("(did you mean 'aht'?)" in p for p in found)


def test_weekday_typo_suggests_name() -> None:
    """Weekday names get close-match suggestions."""
    found = problems_of(with_report(business_days=["MON", "TUES", "Wendesday"]))
    assert any("reports[0].business_days[1]" in p and "'TUE'" in p for p in found)
    assert any("reports[0].business_days[2]" in p and "'WED'" in p for p in found)


def test_weekday_names_are_case_insensitive() -> None:
    """'mon' and 'MON' are the same day."""
    report = parse_config(with_report(business_days=["mon", "Sat"])).reports[0]
    assert frozenset({0, 5}) == report.business_days


def test_environment_must_be_a_real_region() -> None:
    """An invented host such as mygenesys.com fails at load."""
    data = copy.deepcopy(MINIMAL)
    data["genesys"]["environment"] = "api.us.mygenesys.com"
    found = problems_of(data)
    assert any(p.startswith("genesys.environment: 'api.us.mygenesys.com' is not") for p in found)


def test_environment_given_as_url_says_write_the_domain() -> None:
    """A full API URL is recognised and the fix says to write just the domain."""
    data = copy.deepcopy(MINIMAL)
    data["genesys"]["environment"] = "https://api.mypurecloud.ie"
    found = problems_of(data)
    assert any("write just the domain: 'mypurecloud.ie'" in p for p in found)


def test_environment_given_as_region_key_names_its_domain() -> None:
    """An SDK region key is mapped to its domain in the fix."""
    data = copy.deepcopy(MINIMAL)
    data["genesys"]["environment"] = "eu_central_1"
    assert any("'mypurecloud.de'" in p for p in problems_of(data))


def test_duplicate_report_ids_rejected() -> None:
    """Report ids key the send ledger, so they must be unique."""
    data = copy.deepcopy(MINIMAL)
    data["reports"].append(copy.deepcopy(data["reports"][0]))
    found = problems_of(data)
    assert any(p.startswith("reports[1].id: 'support-daily' is already used") for p in found)


def test_report_id_format() -> None:
    """Report ids are lowercase letters, digits and hyphens."""
    found = problems_of(with_report(id="Support Daily"))
    assert any(p.startswith("reports[0].id: 'Support Daily' must be lowercase") for p in found)


def test_missing_required_keys_each_named() -> None:
    """An empty report lists each required key."""
    data = copy.deepcopy(MINIMAL)
    data["reports"] = [{}]
    found = problems_of(data)
    for key in ("id", "title", "timezone", "queues", "recipients"):
        assert any(p.startswith(f"reports[0].{key}:") for p in found), key


def test_empty_file_lists_required_sections() -> None:
    """An empty config names genesys, sendgrid and reports."""
    found = problems_of(None)
    assert {"genesys", "sendgrid", "reports"} == {p.split(":")[0] for p in found}


def test_bad_recipient_address() -> None:
    """A malformed recipient names its position in the list."""
    found = problems_of(with_report(recipients={"to": ["ok@example.com", "broken.example.com"]}))
    assert any(p.startswith("reports[0].recipients.to[1]: 'broken.example.com'") for p in found)


def test_duplicate_queue_rejected() -> None:
    """A queue listed twice is flagged."""
    found = problems_of(with_report(queues=["Support", "Support"]))
    assert any("reports[0].queues[1]: 'Support' is listed twice" in p for p in found)


def test_queue_with_trailing_space_rejected() -> None:
    """Queue names match exactly, so stray spaces are flagged rather than failing at 6 a.m."""
    found = problems_of(with_report(queues=["Support "]))
    assert any("leading or trailing spaces" in p for p in found)


def test_bad_window_interval_and_on_empty() -> None:
    """Enumerated values list the allowed choices."""
    found = problems_of(with_report(window="last_business_day", interval="PT15M", on_empty="no"))
    assert any(p.startswith("reports[0].window:") and "previous_business_day" in p for p in found)
    assert any(p.startswith("reports[0].interval: 'PT15M' is not one of P1D") for p in found)
    assert any(p.startswith("reports[0].on_empty:") for p in found)


def test_subject_with_unknown_placeholder_rejected() -> None:
    """A subject template that cannot be formatted fails at load, not at send time."""
    found = problems_of(with_report(subject="{title} {date}"))
    assert any(p.startswith("reports[0].subject:") for p in found)


def test_holiday_dates_parse() -> None:
    """Listed closed dates load as dates, whether YAML parsed them or not."""
    report = parse_config(
        with_report(holidays={"dates": [date(2026, 12, 24), "2026-12-31"]})
    ).reports[0]
    assert report.holidays is not None
    assert frozenset({date(2026, 12, 24), date(2026, 12, 31)}) == report.holidays.dates


def test_bad_holiday_date() -> None:
    """A malformed holiday date names its index."""
    found = problems_of(with_report(holidays={"dates": ["24/12/2026"]}))
    assert any(p.startswith("reports[0].holidays.dates[0]:") for p in found)


def test_unknown_holiday_country() -> None:
    """An unsupported holiday country is reported with the key path."""
    found = problems_of(with_report(holidays={"country": "XX"}))
    assert any(p.startswith("reports[0].holidays.country:") for p in found)


def test_bad_media_type() -> None:
    """Media types are checked against the Genesys values."""
    found = problems_of(with_report(media_types=["voicee"]))
    assert any("'voice'" in p and p.startswith("reports[0].media_types[0]") for p in found)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    """A YAML syntax error says where."""
    path = tmp_path / "bad.yaml"
    path.write_text("genesys:\n  environment: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].path.startswith("line ")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing file is a ConfigError naming the path."""
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


def test_config_error_message_lists_each_problem() -> None:
    """The error's text has one line per problem, for the CLI and the Lambda log."""
    with pytest.raises(ConfigError) as info:
        parse_config(with_report(timezone="Nowhere", queues=[]))
    text = str(info.value)
    assert "2 problems" in text
    assert "nothing was fetched" not in text  # validate fetches nothing; the handler says so


def test_is_queue_id() -> None:
    """UUID-shaped refs are ids; anything else is a name."""
    assert is_queue_id("5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
    assert not is_queue_id("Support")


def test_yaml_round_trip_of_shipped_example(tmp_path: Path) -> None:
    """The shipped example (with a real queue list) survives a YAML round trip and loads."""
    example = yaml.safe_load((REPO / "gcnotify.yaml").read_text())
    example["reports"][0]["queues"] = [
        "Support",
        "Billing",
        "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
    ]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(example))
    assert 3 == len(load_config(path).reports[0].queues)


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("{business_date.__class__}", "attribute access"),
        ("{title[x]}", "indexing"),
        ("{title!r}", "conversion"),
        ("{} report", "positional"),
        ("{0} report", "positional"),
        ("{date} report", "unknown placeholder"),
        ("{title:>{width}}", "nested"),
        ("{title:d}", "format spec"),
        ("{title", "braces"),
        ("{title:>100000000}", "width"),
    ],
    ids=[
        "attribute",
        "index",
        "conversion",
        "empty-positional",
        "numbered-positional",
        "unknown-name",
        "nested-spec",
        "spec-invalid-for-text",
        "unbalanced",
        "huge-width",
    ],
)
def test_subject_allows_only_plain_placeholders(subject: str, reason: str) -> None:
    """A subject placeholder other than plain {title} or {business_date} is refused."""
    found = problems_of(with_report(subject=subject))
    assert 1 == len(found), found
    assert found[0].startswith(f"reports[0].subject: {subject!r}"), found
    assert reason in found[0], found
    assert "{title} and {business_date:%a %d %b %Y}" in found[0], found


def test_subject_accepts_specs_and_escaped_braces() -> None:
    """Format specs (any strftime code for the date) and doubled braces are fine."""
    subject = "{{ops}} {title:>5.20} {business_date:%Q %d %b} {business_date}"
    report = parse_config(with_report(subject=subject)).reports[0]
    assert subject == report.subject


def test_subject_whose_date_format_breaks_the_line_is_refused() -> None:
    """A strftime code that expands to a line break (%n) would split the Subject header."""
    found = problems_of(with_report(subject="{title}{business_date:%n%d}"))
    assert 1 == len(found), found
    assert found[0].startswith("reports[0].subject:"), found
    assert "U+000A" in found[0], found


HEADER_BREAKERS = [
    "\u2028",
    "\u2029",
    "\x85",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\r",
    "\n",
    "\x00",
    "\t",
    "\x7f",
    "\x9b",
]


def _header_value(key: str, text: str) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    if key == "title":
        data["reports"][0]["title"] = f"Support{text}Bcc: x@example.com"
    elif key == "subject":
        data["reports"][0]["subject"] = f"{{title}}{text}{{business_date}}"
    elif key == "from":
        data["sendgrid"]["from"]["name"] = f"Reports{text}Team"
    else:
        data["sendgrid"]["reply_to"] = {"email": "ops@example.com", "name": f"Ops{text}Team"}
    return data


HEADER_KEYS = {
    "title": "reports[0].title",
    "subject": "reports[0].subject",
    "from": "sendgrid.from.name",
    "reply_to": "sendgrid.reply_to.name",
}


@pytest.mark.parametrize("key", sorted(HEADER_KEYS))
@pytest.mark.parametrize("char", HEADER_BREAKERS, ids=[f"U+{ord(c):04X}" for c in HEADER_BREAKERS])
def test_header_values_refuse_line_breaks_and_control_characters(key: str, char: str) -> None:
    """Anything that becomes an email header is one line of printable text."""
    found = problems_of(_header_value(key, char))
    assert 1 == len(found), found
    assert found[0].startswith(f"{HEADER_KEYS[key]}:"), found
    assert f"U+{ord(char):04X}" in found[0], found


def test_email_address_with_control_character_refused() -> None:
    """A NUL or other control character in an address is caught before SendGrid sees it."""
    found = problems_of(with_report(recipients={"to": ["sup\x00@example.com"]}))
    assert 1 == len(found), found
    assert found[0].startswith("reports[0].recipients.to[0]:"), found
    assert "U+0000" in found[0], found


def test_header_values_may_hold_non_ascii_text() -> None:
    """Accents, dashes and emoji are not control characters."""
    data = _header_value("title", " — Café 📞 ")
    data["sendgrid"]["from"]["name"] = "Équipe Réseau"
    config = parse_config(data)
    assert "Support — Café 📞 Bcc: x@example.com" == config.reports[0].title


def test_misspelled_required_key_is_one_problem() -> None:
    """A typo for a missing required key is reported once, as the typo, not also as missing."""
    data = copy.deepcopy(MINIMAL)
    data["reports"][0]["recipents"] = data["reports"][0].pop("recipients")
    found = problems_of(data)
    assert 1 == len(found), found
    assert found[0].startswith("reports[0].recipents: unknown key (did you mean 'recipients'?)")


def test_misspelled_top_level_section_is_one_problem() -> None:
    """The same holds for a top-level section such as sendgrid."""
    data = copy.deepcopy(MINIMAL)
    data["sendgird"] = data.pop("sendgrid")
    found = problems_of(data)
    assert 1 == len(found), found
    assert found[0].startswith("sendgird: unknown key (did you mean 'sendgrid'?)"), found


def test_missing_key_with_unrelated_unknown_key_is_two_problems() -> None:
    """An unknown key that is no close match does not hide a missing required key."""
    data = copy.deepcopy(MINIMAL)
    del data["reports"][0]["recipients"]
    data["reports"][0]["colour"] = "blue"
    found = problems_of(data)
    assert 2 == len(found), found
    assert any(p.startswith("reports[0].recipients: is required") for p in found), found


def test_twenty_thousand_queues_validate() -> None:
    """A very long queue list validates (duplicate detection is linear, not quadratic)."""
    queues = [f"Queue {i:05d}" for i in range(20_000)]
    report = parse_config(with_report(queues=queues)).reports[0]
    assert 20_000 == len(report.queues)


def test_long_queue_list_still_flags_duplicates() -> None:
    """The linear duplicate check still names the second occurrence."""
    queues = [f"Queue {i:05d}" for i in range(20_000)] + ["Queue 00007"]
    found = problems_of(with_report(queues=queues))
    assert ["reports[0].queues[20000]: 'Queue 00007' is listed twice; remove the duplicate"] == (
        found
    )


def test_shown_values_are_bounded() -> None:
    """A problem quotes a deeply shared value briefly, never building its full expansion."""
    nested: list[Any] = ["x"] * 10
    for _ in range(6):
        nested = [nested] * 10
    tracemalloc.start()
    try:
        found = problems_of(with_report(queues=nested))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 10 == len(found)
    assert all(len(p) < 200 for p in found), found
    assert peak < 5_000_000, peak


def test_send_at_is_a_quoted_local_time() -> None:
    """send_at "06:30" is read as 06:30 in the report's zone."""
    data = yaml.safe_load((REPO / "gcnotify.yaml").read_text(encoding="utf-8"))
    data["reports"][0]["send_at"] = "06:30"
    assert time(6, 30) == parse_config(data).reports[0].send_at


@pytest.mark.parametrize("value", ["25:00", "6:30", "06:30:00", 390, True])
def test_send_at_must_be_hh_mm(value: object) -> None:
    """Anything but a quoted 24-hour HH:MM is one problem naming the key."""
    data = yaml.safe_load((REPO / "gcnotify.yaml").read_text(encoding="utf-8"))
    data["reports"][0]["send_at"] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert ["reports[0].send_at"] == [p.path for p in info.value.problems]


def test_chat_alert_channels_are_read() -> None:
    """alerts.chat names a kind and the secret key holding its webhook URL."""
    data = yaml.safe_load((REPO / "gcnotify.yaml").read_text(encoding="utf-8"))
    data["alerts"] = {"chat": [{"kind": "teams", "secret_key": "teams_ops_webhook"}]}
    alerts = parse_config(data).alerts
    assert ("teams", ("teams_ops_webhook",)) == (alerts.chat[0].kind, alerts.secret_keys())


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ({"kind": "discord", "secret_key": "k"}, "alerts.chat[0].kind"),
        ({"kind": "slack", "secret_key": "https://hooks.slack.com/x"}, "alerts.chat[0].secret_key"),
        ({"kind": "slack"}, "alerts.chat[0].secret_key"),
    ],
)
def test_bad_chat_channels_are_named(entry: dict[str, str], path: str) -> None:
    """An unknown kind, a URL where the key name goes, or no key: one problem each."""
    data = yaml.safe_load((REPO / "gcnotify.yaml").read_text(encoding="utf-8"))
    data["alerts"] = {"chat": [entry]}
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert [path] == [p.path for p in info.value.problems]


def _standup(**standup: object) -> dict[str, Any]:
    data = yaml.safe_load((REPO / "gcnotify.yaml").read_text(encoding="utf-8"))
    data["reports"][0]["kind"] = "standup"
    data["reports"][0]["standup"] = standup
    return data


def test_a_standup_report_reads_its_keys_with_defaults() -> None:
    """kind: standup with an empty block: both comparisons, PT30M, a PDF, 10 MB, notice."""
    report = parse_config(_standup()).reports[0]
    assert report.standup is not None
    assert (
        "standup",
        ("same_weekday_last_week", "trailing_4_weeks"),
        "PT30M",
        ("pdf",),
        10_000_000,
        "notice",
    ) == (
        report.kind,
        report.standup.compare,
        report.standup.intervals,
        report.standup.attachments,
        report.standup.max_email_bytes,
        report.standup.on_holiday,
    )


@pytest.mark.parametrize(
    ("standup", "path"),
    [
        ({"attachments": ["pdf", "docx"]}, "reports[0].standup.attachments[1]"),
        ({"compare": ["yesterday"]}, "reports[0].standup.compare[0]"),
        ({"intervals": "PT15M"}, "reports[0].standup.intervals"),
        ({"max_email_bytes": 40_000_000}, "reports[0].standup.max_email_bytes"),
        ({"on_holiday": "email"}, "reports[0].standup.on_holiday"),
        ({"agents": {"occupancy": "yes"}}, "reports[0].standup.agents.occupancy"),
        ({"agents": {"adherence": True}}, "reports[0].standup.agents.management_unit"),
        ({"sections": []}, "reports[0].standup.sections"),
        ({"genesys_export": {"format": "PDF"}}, "reports[0].standup.genesys_export.view"),
    ],
)
def test_bad_standup_keys_are_named(standup: dict[str, object], path: str) -> None:
    """Each bad standup key is one problem at its path."""
    with pytest.raises(ConfigError) as info:
        parse_config(_standup(**standup))
    assert [path] == [p.path for p in info.value.problems]


def test_standup_keys_on_a_queue_report_are_refused() -> None:
    """A standup block without kind: standup would be silently ignored: refused instead."""
    data = _standup()
    del data["reports"][0]["kind"]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert ["reports[0].standup"] == [p.path for p in info.value.problems]


def test_a_standup_has_its_own_default_subject() -> None:
    """Without a subject, a standup is "Daily Standup Report - <date>"."""
    data = _standup()
    del data["reports"][0]["subject"]
    assert (
        "Daily Standup Report - {business_date:%Y-%m-%d}" == parse_config(data).reports[0].subject
    )
