"""Validated configuration values: what the rest of gcnotify reads, never the raw YAML.

``config.py`` turns ``gcnotify.yaml`` into these frozen objects once per cold start; every other
module takes them as arguments, so nothing downstream re-checks or re-parses the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "METRIC_NAMES",
    "PIPELINE_BLOCKS",
    "WEEKDAYS",
    "WINDOW_KINDS",
    "Address",
    "AlertSettings",
    "Config",
    "GenesysSettings",
    "HoldsSecretKeys",
    "HolidaySettings",
    "Queue",
    "Recipients",
    "ReportConfig",
    "SendGridSettings",
    "WindowKind",
]

WindowKind = Literal["previous_business_day", "yesterday", "previous_week", "month_to_date"]
WINDOW_KINDS: tuple[WindowKind, ...] = (
    "previous_business_day",
    "yesterday",
    "previous_week",
    "month_to_date",
)
Granularity = Literal["P1D", "PT1H", "PT30M"]
OnEmpty = Literal["no_activity_email", "skip"]

# Weekday names as written in the config, in Python's date.weekday() order (MON = 0).
WEEKDAYS: tuple[str, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")

# The report metric names a config may list; metrics.py maps each to Genesys metrics.
METRIC_NAMES: tuple[str, ...] = (
    "offered",
    "answered",
    "handled",
    "abandoned",
    "abandon_rate",
    "aht",
    "asa",
    "service_level",
    "avg_talk",
    "avg_hold",
    "avg_acw",
    "short_abandoned",
    "flow_out",
    "transferred",
)


# Top-level config blocks owned by a pipeline; the core validates them only through the parser
# the pipeline hands in (see ``gcnotify.core.config.load_config``).
PIPELINE_BLOCKS = ("messaging", "campaigns", "receipts")


@runtime_checkable
class HoldsSecretKeys(Protocol):
    """A parsed block that needs keys of its own in the credentials secret."""

    def secret_keys(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Address:
    email: str
    name: str | None = None


@dataclass(frozen=True)
class Recipients:
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()


@dataclass(frozen=True)
class HolidaySettings:
    """Closed days: public holidays of ``country``/``subdivision`` plus explicit ``dates``."""

    country: str | None = None
    subdivision: str | None = None
    dates: frozenset[date] = frozenset()
    genesys_schedule_group: str | None = None  # an Architect schedule group's holiday/closed days


@dataclass(frozen=True)
class ChatChannel:
    """A Slack or Microsoft Teams incoming webhook; its URL is a secret, under ``secret_key``."""

    kind: Literal["slack", "teams"]
    secret_key: str


ReportKind = Literal["queue_report", "standup", "delivery_summary"]
StandupAttachment = Literal["pdf", "xlsx"]
STANDUP_ATTACHMENTS: tuple[StandupAttachment, ...] = ("pdf", "xlsx")
STANDUP_BASES = ("same_weekday_last_week", "trailing_4_weeks")
MAX_EMAIL_BYTES = 30_000_000  # SendGrid's hard limit for a whole message


@dataclass(frozen=True)
class GenesysExportSettings:
    """Genesys' own reporting export of a view, attached to the pack too."""

    view: str
    format: Literal["PDF", "CSV"] = "PDF"


@dataclass(frozen=True)
class StandupSettings:
    """What a standup pack holds beyond a queue report's keys."""

    compare: tuple[str, ...] = STANDUP_BASES
    intervals: Literal["PT30M", "PT1H"] = "PT30M"
    occupancy: bool = False
    adherence: bool = False
    management_unit: str | None = None  # the WFM management unit of the agents (adherence)
    attachments: tuple[StandupAttachment, ...] = ("pdf",)
    genesys_export: GenesysExportSettings | None = None
    max_email_bytes: int = 10_000_000
    on_holiday: Literal["notice", "skip"] = "notice"
    chat: tuple[ChatChannel, ...] = ()


@dataclass(frozen=True)
class ReportConfig:
    id: str
    title: str
    timezone: str
    recipients: Recipients
    queues: tuple[str, ...]  # empty for a delivery summary (it reads the messages table)
    window: WindowKind = "previous_business_day"
    business_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # date.weekday() numbers
    holidays: HolidaySettings | None = None
    media_types: tuple[str, ...] = ()
    metrics: tuple[str, ...] = (
        "offered",
        "answered",
        "abandoned",
        "abandon_rate",
        "aht",
        "asa",
        "service_level",
    )
    interval: Granularity = "P1D"
    on_empty: OnEmpty = "no_activity_email"
    subject: str = "{title} — {business_date:%a %d %b %Y}"
    send_on_non_business_days: bool = False
    send_at: time | None = None  # due-based runs: not sent before this local time on run day R
    kind: ReportKind = "queue_report"
    standup: StandupSettings | None = None  # set exactly when kind is "standup"


@dataclass(frozen=True)
class GenesysSettings:
    environment: str


@dataclass(frozen=True)
class SendGridSettings:
    from_: Address
    reply_to: Address | None = None
    data_residency: Literal["global", "eu"] = "global"
    # Base64 DER SubjectPublicKeyInfo of the Signed Event Webhook's P-256 key (public, not a
    # secret); None: the webhook function refuses every POST.
    webhook_public_key: str | None = None


@dataclass(frozen=True)
class AlertSettings:
    """Who hears when a report fails: a short plain email to ``to``, a post to each ``chat``."""

    to: tuple[str, ...] = ()
    chat: tuple[ChatChannel, ...] = ()

    def secret_keys(self) -> tuple[str, ...]:
        """The keys the credentials secret must hold for these alerts."""
        return tuple(dict.fromkeys(c.secret_key for c in self.chat))


@dataclass(frozen=True)
class Config:
    genesys: GenesysSettings
    sendgrid: SendGridSettings
    reports: tuple[ReportConfig, ...]
    secret_id: str | None = None
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # Pipeline blocks by name (``messaging`` …): the pipeline's own settings object when the
    # loader was given its parser, else the raw YAML value, unvalidated.
    blocks: Mapping[str, object] = field(default_factory=dict)

    def report(self, report_id: str) -> ReportConfig:
        for report in self.reports:
            if report.id == report_id:
                return report
        raise KeyError(report_id)

    def secret_keys(self) -> tuple[str, ...]:
        """The keys beyond the three credentials that the secret must hold for this config."""
        keys = list(self.alerts.secret_keys())
        for report in self.reports:
            if report.standup is not None:
                keys.extend(c.secret_key for c in report.standup.chat)
        for block in self.blocks.values():
            if isinstance(block, HoldsSecretKeys):
                keys.extend(block.secret_keys())
        return tuple(dict.fromkeys(keys))


@dataclass(frozen=True)
class Queue:
    """A Genesys routing queue as resolved at run time (config may name it or give its id)."""

    id: str
    name: str
