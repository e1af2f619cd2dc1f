"""Load and validate ``gcnotify.yaml`` once, reporting every problem at once.

A typo in a config key must fail the deploy check, not silently fall back to a default at 6 a.m.
So unknown keys are errors, each problem names its key path, the bad value and the fix, and close
matches are suggested for time zones, metric names, weekday names and keys. Nothing here touches
the network: a bad config fails before anything is fetched or sent.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytz
import yaml

from gcnotify.core.errors import ConfigError, ConfigProblem
from gcnotify.core.model import (
    METRIC_NAMES,
    WEEKDAYS,
    WINDOW_KINDS,
    Address,
    AlertSettings,
    Config,
    GenesysSettings,
    HolidaySettings,
    Recipients,
    ReportConfig,
    SendGridSettings,
)
from gcnotify.core.regions import GENESYS_ENVIRONMENTS

if TYPE_CHECKING:
    from gcnotify.core.calendar import PrecomputedHolidays

__all__ = ["load_config", "parse_config"]

_REPORT_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Deliberately loose: SendGrid validates the address itself; this catches typos like a missing @.
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

GRANULARITIES = ("P1D", "PT1H", "PT30M")
ON_EMPTY = ("no_activity_email", "skip")
DATA_RESIDENCY = ("global", "eu")
# Aggregates `mediaType` values for queue reports (SDK model AnalyticsSession.mediaType).
MEDIA_TYPES = (
    "voice",
    "chat",
    "email",
    "callback",
    "message",
    "cobrowse",
    "video",
    "screenshare",
)
# Names users bring from the Genesys UI, the API or the tutorials, mapped to our metric names.
_METRIC_ALIASES = {
    "noffered": "offered",
    "tanswered": "answered",
    "tabandon": "abandoned",
    "thandle": "aht",
    "averagehandletime": "aht",
    "handle_time": "aht",
    "abandon_pct": "abandon_rate",
    "abandon_percent": "abandon_rate",
    "oservicelevel": "service_level",
    "sl": "service_level",
    "speed_of_answer": "asa",
    "sessions": "offered",
}

_TOP_KEYS = ("genesys", "sendgrid", "secret_id", "reports", "alerts")
_REPORT_KEYS = (
    "id",
    "title",
    "timezone",
    "window",
    "business_days",
    "holidays",
    "queues",
    "media_types",
    "metrics",
    "interval",
    "on_empty",
    "subject",
    "recipients",
    "send_on_non_business_days",
)


def _suggest(value: str, choices: Sequence[str], *, n: int = 1) -> str:
    """' (did you mean 'x'?)' for the closest choices, case-insensitively; '' when none is close."""
    lowered = {c.lower(): c for c in choices}
    matches = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.6)
    if not matches:
        return ""
    names = " or ".join(repr(lowered[m]) for m in matches)
    return f" (did you mean {names}?)"


class _Checker:
    """Collects problems while walking the raw YAML, so one run reports all of them."""

    def __init__(self, holidays: PrecomputedHolidays | None = None) -> None:
        self.problems: list[ConfigProblem] = []
        self.holidays = holidays

    def add(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    def mapping(self, path: str, value: object, allowed: Sequence[str]) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, f"must be a mapping of keys, got {_show(value)}")
            return None
        for key in value:
            if key not in allowed:
                hint = _suggest(str(key), allowed)
                self.add(
                    f"{path}.{key}" if path else str(key),
                    f"unknown key{hint}; allowed keys here: {', '.join(allowed)}",
                )
        return {str(k): v for k, v in value.items()}

    def string(self, path: str, value: object, *, required: bool = True) -> str | None:
        if value is None:
            if required:
                self.add(path, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(path, f"must be a non-empty string, got {_show(value)}")
            return None
        return value

    def choice(self, path: str, value: object, choices: Sequence[str], default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            hint = _suggest(str(value), choices)
            self.add(path, f"{_show(value)} is not one of {', '.join(choices)}{hint}")
            return default
        return value

    def string_list(
        self, path: str, value: object, *, required: bool, item: Callable[[str, str], bool]
    ) -> tuple[str, ...]:
        if value is None:
            if required:
                self.add(path, "is required and must list at least one entry")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(path, f"must be a list, got {_show(value)}")
            return ()
        if required and not value:
            self.add(path, "must list at least one entry")
        out: list[str] = []
        for i, entry in enumerate(value):
            entry_path = f"{path}[{i}]"
            if not isinstance(entry, str) or not entry.strip():
                self.add(entry_path, f"must be a non-empty string, got {_show(entry)}")
                continue
            if entry in out:
                self.add(entry_path, f"{entry!r} is listed twice; remove the duplicate")
                continue
            if item(entry_path, entry):
                out.append(entry)
        return tuple(out)

    def email(self, path: str, value: str) -> bool:
        if not _EMAIL.match(value):
            self.add(path, f"{value!r} is not an email address (expected name@example.com)")
            return False
        return True

    def address(self, path: str, value: object, *, required: bool) -> Address | None:
        if value is None:
            if required:
                self.add(path, "is required, e.g. {email: reports@example.com, name: Reports}")
            return None
        if isinstance(value, str):
            value = {"email": value}
        raw = self.mapping(path, value, ("email", "name"))
        if raw is None:
            return None
        email = self.string(f"{path}.email", raw.get("email"))
        name = self.string(f"{path}.name", raw.get("name"), required=False)
        if name is not None and re.search(r"[;,]", name):
            self.add(f"{path}.name", f"{name!r} must not contain ';' or ',' (SendGrid rejects it)")
        if email is None or not self.email(f"{path}.email", email):
            return None
        return Address(email=email, name=name)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_config(path: str | Path, *, holidays: PrecomputedHolidays | None = None) -> Config:
    """Read and validate a config file; raise ``ConfigError`` listing every problem.

    ``holidays``: the artifact's precomputed table, so validation need not import ``holidays``.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem("(file)", f"cannot read {source}: {exc.strerror or exc}")], source
        ) from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader, C-accelerated when present
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(where, f"YAML syntax error: {problem}")], source) from exc
    return parse_config(data, source=source, holidays=holidays)


def parse_config(
    data: object, *, source: str = "config", holidays: PrecomputedHolidays | None = None
) -> Config:
    """Validate already-parsed YAML; raise ``ConfigError`` listing every problem."""
    check = _Checker(holidays)
    top = check.mapping("", data if data is not None else {}, _TOP_KEYS) or {}

    genesys = _genesys(check, top.get("genesys"))
    sendgrid = _sendgrid(check, top.get("sendgrid"))
    secret_id = check.string("secret_id", top.get("secret_id"), required=False)
    alerts = _alerts(check, top.get("alerts"))

    reports: list[ReportConfig] = []
    raw_reports = top.get("reports")
    if raw_reports is None or (isinstance(raw_reports, list) and not raw_reports):
        check.add("reports", "must list at least one report")
    elif not isinstance(raw_reports, list):
        check.add("reports", f"must be a list of reports, got {_show(raw_reports)}")
    else:
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_reports):
            report = _report(check, f"reports[{i}]", raw)
            if report is None:
                continue
            if report.id in seen:
                check.add(
                    f"reports[{i}].id",
                    f"{report.id!r} is already used by reports[{seen[report.id]}]; "
                    "ids must be unique (they key the send ledger)",
                )
                continue
            seen[report.id] = i
            reports.append(report)

    if check.problems or genesys is None or sendgrid is None:
        raise ConfigError(check.problems, source)
    return Config(
        genesys=genesys,
        sendgrid=sendgrid,
        reports=tuple(reports),
        secret_id=secret_id,
        alerts=alerts,
    )


def _genesys(check: _Checker, value: object) -> GenesysSettings | None:
    if value is None:
        check.add("genesys", "is required, e.g. {environment: mypurecloud.com}")
        return None
    raw = check.mapping("genesys", value, ("environment",))
    if raw is None:
        return None
    env = check.string("genesys.environment", raw.get("environment"))
    if env is None:
        return None
    domains = tuple(GENESYS_ENVIRONMENTS.values())
    if env in domains:
        return GenesysSettings(environment=env)
    stripped = re.sub(r"^(https?://)?(api\.|login\.)?", "", env).rstrip("/")
    if stripped in domains:
        fix = f" (write just the domain: {stripped!r})"
    elif env in GENESYS_ENVIRONMENTS:
        fix = f" (that is the region key; its domain is {GENESYS_ENVIRONMENTS[env]!r})"
    else:
        fix = _suggest(env, domains) or f"; known domains: {', '.join(domains)}"
    check.add("genesys.environment", f"{env!r} is not a Genesys Cloud region domain{fix}")
    return None


def _sendgrid(check: _Checker, value: object) -> SendGridSettings | None:
    if value is None:
        check.add("sendgrid", "is required, e.g. {from: {email: reports@example.com}}")
        return None
    raw = check.mapping("sendgrid", value, ("from", "reply_to", "data_residency"))
    if raw is None:
        return None
    sender = check.address("sendgrid.from", raw.get("from"), required=True)
    reply_to = check.address("sendgrid.reply_to", raw.get("reply_to"), required=False)
    residency = check.choice(
        "sendgrid.data_residency", raw.get("data_residency"), DATA_RESIDENCY, "global"
    )
    if sender is None:
        return None
    return SendGridSettings(
        from_=sender,
        reply_to=reply_to,
        data_residency=cast("Any", residency),
    )


def _alerts(check: _Checker, value: object) -> AlertSettings:
    if value is None:
        return AlertSettings()
    raw = check.mapping("alerts", value, ("to",))
    if raw is None:
        return AlertSettings()
    to = check.string_list("alerts.to", raw.get("to"), required=False, item=check.email)
    return AlertSettings(to=to)


def _timezone(check: _Checker, path: str, value: object) -> str | None:
    tz = check.string(path, value)
    if tz is None:
        return None
    if tz in pytz.all_timezones_set:
        return tz
    hint = _suggest(tz, pytz.common_timezones)
    if not hint:
        hint = " (use an IANA name such as 'America/New_York' or 'Europe/London')"
    check.add(path, f"{tz!r} is not an IANA time zone{hint}")
    return None


def _weekday(check: _Checker, path: str, value: str) -> bool:
    if value.upper() in WEEKDAYS:
        return True
    hint = _suggest(value[:3] if len(value) > 3 else value, WEEKDAYS) or _suggest(value, WEEKDAYS)
    check.add(path, f"{value!r} is not a weekday name{hint}; use {', '.join(WEEKDAYS)}")
    return False


def _metric(check: _Checker, path: str, value: str) -> bool:
    if value in METRIC_NAMES:
        return True
    alias = _METRIC_ALIASES.get(value.lower().replace(" ", "_"))
    hint = f" (did you mean {alias!r}?)" if alias else _suggest(value, METRIC_NAMES)
    check.add(
        path,
        f"{value!r} is not a report metric{hint}; available: {', '.join(METRIC_NAMES)}",
    )
    return False


def _holidays(check: _Checker, path: str, value: object) -> HolidaySettings | None:
    if value is None:
        return None
    raw = check.mapping(path, value, ("country", "subdivision", "dates"))
    if raw is None:
        return None
    country = check.string(f"{path}.country", raw.get("country"), required=False)
    subdivision = check.string(f"{path}.subdivision", raw.get("subdivision"), required=False)
    if subdivision is not None and country is None:
        check.add(f"{path}.subdivision", "needs holidays.country as well")
    if country is not None:
        from gcnotify.core.calendar import check_holiday_settings

        problem = check_holiday_settings(country, subdivision, check.holidays)
        if problem is not None:
            key = (
                "subdivision" if subdivision is not None and "subdivision" in problem else "country"
            )
            check.add(f"{path}.{key}", problem)
    dates: set[date] = set()
    raw_dates = raw.get("dates") or []
    if not isinstance(raw_dates, list):
        check.add(f"{path}.dates", f"must be a list of dates, got {_show(raw_dates)}")
        raw_dates = []
    for i, entry in enumerate(raw_dates):
        if isinstance(entry, date):
            dates.add(entry)
            continue
        try:
            dates.add(date.fromisoformat(str(entry)))
        except ValueError:
            check.add(f"{path}.dates[{i}]", f"{_show(entry)} is not a date; write YYYY-MM-DD")
    return HolidaySettings(country=country, subdivision=subdivision, dates=frozenset(dates))


def _recipients(check: _Checker, path: str, value: object) -> Recipients | None:
    if value is None:
        check.add(path, "is required, e.g. {to: [supervisor@example.com]}")
        return None
    raw = check.mapping(path, value, ("to", "cc", "bcc"))
    if raw is None:
        return None
    to = check.string_list(f"{path}.to", raw.get("to"), required=True, item=check.email)
    cc = check.string_list(f"{path}.cc", raw.get("cc"), required=False, item=check.email)
    bcc = check.string_list(f"{path}.bcc", raw.get("bcc"), required=False, item=check.email)
    total = len({a.lower() for a in (*to, *cc, *bcc)})
    if total > 1000:
        check.add(path, f"has {total} unique addresses; SendGrid allows at most 1000 per email")
    if not to:
        return None
    return Recipients(to=to, cc=cc, bcc=bcc)


def _subject(check: _Checker, path: str, value: object, default: str) -> str:
    if value is None:
        return default
    subject = check.string(path, value)
    if subject is None:
        return default
    try:
        subject.format(title="T", business_date=date(2026, 1, 2))
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        check.add(
            path,
            f"{subject!r} is not a valid subject template ({type(exc).__name__}: {exc}); "
            "use the placeholders {title} and {business_date:%a %d %b %Y}",
        )
        return default
    return subject


def _report(check: _Checker, path: str, value: object) -> ReportConfig | None:
    raw = check.mapping(path, value, _REPORT_KEYS)
    if raw is None:
        return None
    defaults = ReportConfig(id="x", title="x", timezone="UTC", recipients=Recipients(()), queues=())

    report_id = check.string(f"{path}.id", raw.get("id"))
    if report_id is not None and not _REPORT_ID.match(report_id):
        check.add(
            f"{path}.id",
            f"{report_id!r} must be lowercase letters, digits and single hyphens "
            "(e.g. 'support-daily')",
        )
        report_id = None
    title = check.string(f"{path}.title", raw.get("title"))
    timezone = _timezone(check, f"{path}.timezone", raw.get("timezone"))
    window = check.choice(f"{path}.window", raw.get("window"), WINDOW_KINDS, defaults.window)

    days = check.string_list(
        f"{path}.business_days",
        raw.get("business_days", list(WEEKDAYS[:5])),
        required=True,
        item=lambda p, v: _weekday(check, p, v),
    )
    business_days = frozenset(WEEKDAYS.index(d.upper()) for d in days)

    holidays = _holidays(check, f"{path}.holidays", raw.get("holidays"))

    def queue_ref(p: str, v: str) -> bool:
        if v != v.strip():
            check.add(p, f"{v!r} has leading or trailing spaces; queue names are matched exactly")
            return False
        return True

    queues = check.string_list(f"{path}.queues", raw.get("queues"), required=True, item=queue_ref)

    def media(p: str, v: str) -> bool:
        if v in MEDIA_TYPES:
            return True
        check.add(p, f"{v!r} is not a media type{_suggest(v, MEDIA_TYPES)}; use {MEDIA_TYPES}")
        return False

    media_types = check.string_list(
        f"{path}.media_types", raw.get("media_types"), required=False, item=media
    )
    metrics = check.string_list(
        f"{path}.metrics",
        raw.get("metrics", list(defaults.metrics)),
        required=True,
        item=lambda p, v: _metric(check, p, v),
    )
    interval = check.choice(f"{path}.interval", raw.get("interval"), GRANULARITIES, "P1D")
    on_empty = check.choice(f"{path}.on_empty", raw.get("on_empty"), ON_EMPTY, defaults.on_empty)
    subject = _subject(check, f"{path}.subject", raw.get("subject"), defaults.subject)
    recipients = _recipients(check, f"{path}.recipients", raw.get("recipients"))
    send_non_business = raw.get("send_on_non_business_days", False)
    if not isinstance(send_non_business, bool):
        check.add(
            f"{path}.send_on_non_business_days",
            f"must be true or false, got {_show(send_non_business)}",
        )
        send_non_business = False

    if None in (report_id, title, timezone, recipients) or not queues:
        return None
    return ReportConfig(
        id=cast("str", report_id),
        title=cast("str", title),
        timezone=cast("str", timezone),
        recipients=cast("Recipients", recipients),
        queues=queues,
        window=cast("Any", window),
        business_days=business_days,
        holidays=holidays,
        media_types=media_types,
        metrics=metrics,
        interval=cast("Any", interval),
        on_empty=cast("Any", on_empty),
        subject=subject,
        send_on_non_business_days=send_non_business,
    )


def is_queue_id(ref: str) -> bool:
    """Queue refs that look like Genesys ids are looked up by id, others by exact name."""
    return bool(_UUID.match(ref))
