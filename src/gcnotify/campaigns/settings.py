"""The ``campaigns:`` config block, validated into frozen ``CampaignSettings``.

Problems go to a callback ``add(path, message)``, the shape of the config checker's own ``add``,
so a campaign's problems are listed with the rest of the config's. What needs the ``messaging:``
block too (the template and its channel, the channel's sender, the template's variables) is
``cross_check``, run once both blocks are parsed. Choices made here, and why:

- ``audience.days``: 1 to ``MAX_DAYS_BACK`` (90). Genesys keeps conversation detail data for the
  customer contract's lifespan unless the organization sets a maximum interaction data retention
  time, and the shortest it may set is 90 days (Genesys Cloud Resource Center, "Retention period
  for analytics data and recording" and "Data retention periods and export functionality by
  feature": conversation data "90 days to five years"). Further back, some organizations' details
  are gone and the audience would be silently short.
- ``schedule``: ``once`` (run on demand; the default, so adding a campaign never starts sending
  on its own) or a quoted daily ``"HH:MM"`` in the campaign's ``timezone``, at the latest
  ``23:45``: the schedule ticks on the quarter hours, so a later time would never meet a tick on
  its own day.
- ``variables``: exactly the variables the campaign's template uses, each with a fixed value (a
  string, number or boolean). ``first_name`` and ``last_name`` are filled from the customer's
  external contact when it has them; the value given is the fallback for a contact without one,
  so every request renders.
- ``id``: lowercase words joined by ``-``, at most 64 characters, so the request key
  ``campaign:<id>:<contact id>`` stays within the 128 characters a request key may have.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from types import MappingProxyType
from typing import Literal, Protocol

import pytz

from gcnotify.core.errors import ConfigError, ConfigProblem, EventError
from gcnotify.core.model import Config
from gcnotify.core.show import closest as _closest
from gcnotify.core.show import did_you_mean as _hint
from gcnotify.core.show import known_keys
from gcnotify.core.show import show as _show

__all__ = [
    "AUDIENCE_KEYS",
    "AUDIENCE_MEDIA",
    "CAMPAIGN_CHANNELS",
    "CAMPAIGN_KEYS",
    "CONTACT_VARIABLES",
    "MAX_CAMPAIGN_ID",
    "MAX_DAYS_BACK",
    "MAX_LIMIT",
    "Add",
    "AudienceMedia",
    "AudienceSettings",
    "CampaignChannel",
    "CampaignSettings",
    "MessagingLike",
    "campaign_by_id",
    "campaigns_block",
    "campaigns_of",
    "cross_check",
    "load_campaigns",
    "parse_campaigns",
]

Add = Callable[[str, str], None]
AudienceMedia = Literal["webmessaging", "sms", "whatsapp", "open", "voice", "email"]
AUDIENCE_MEDIA: tuple[AudienceMedia, ...] = (
    "webmessaging",
    "sms",
    "whatsapp",
    "open",
    "voice",
    "email",
)
CampaignChannel = Literal["webmessaging", "sms", "email", "whatsapp"]
CAMPAIGN_CHANNELS: tuple[CampaignChannel, ...] = ("webmessaging", "sms", "email", "whatsapp")
# The last quarter-hour tick of a local day (every zone in use is a whole quarter hour from UTC).
LATEST_DAILY = time(23, 45)
CAMPAIGN_KEYS = ("id", "audience", "channel", "template", "timezone", "schedule", "variables")
AUDIENCE_KEYS = ("media", "days", "queues", "exclude_active", "limit")
# The variables a campaign fills from the customer's external contact record.
CONTACT_VARIABLES = ("first_name", "last_name")

MAX_DAYS_BACK = 90  # the shortest conversation detail retention Genesys lets an org set
MAX_LIMIT = 1_000_000
MAX_CAMPAIGN_ID = 64
_MAX_VARIABLES = 50  # a request's own bounds, so every request built from a campaign is valid
_MAX_VARIABLE_CHARACTERS = 2000
_MAX_INTEGER = 2**53

Variable = str | int | float | bool

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DAILY = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class AudienceSettings:
    """Who a campaign is for: customers of these conversations in the last ``days`` days."""

    media: AudienceMedia
    days: int
    queues: tuple[str, ...] = ()  # names or ids; empty: every queue
    exclude_active: bool = True
    limit: int | None = None

    @property
    def media_type(self) -> str:
        """The analytics ``mediaType`` of the audience's sessions."""
        return self.media if self.media in ("voice", "email") else "message"

    @property
    def message_type(self) -> str | None:
        """The analytics ``messageType`` of a messaging audience; None for voice and email."""
        return None if self.media in ("voice", "email") else self.media


@dataclass(frozen=True)
class CampaignSettings:
    """One configured campaign, validated."""

    id: str
    audience: AudienceSettings
    channel: CampaignChannel
    template: str
    timezone: str
    schedule: time | None = None  # a daily local time in ``timezone``; None: once, on demand
    variables: Mapping[str, Variable] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def once(self) -> bool:
        """True when the campaign runs only when asked, never on a schedule."""
        return self.schedule is None


class _Compiled(Protocol):
    @property
    def variables(self) -> frozenset[str]: ...


class _Template(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def compiled(self) -> _Compiled | None: ...


class _Senders(Protocol):
    def has(self, channel: CampaignChannel) -> bool: ...


class MessagingLike(Protocol):
    """What ``cross_check`` reads of the messaging block (``MessagingSettings`` fits)."""

    @property
    def templates(self) -> Sequence[_Template]: ...
    @property
    def senders(self) -> _Senders: ...


def load_campaigns(value: object, *, source: str = "config") -> tuple[CampaignSettings, ...]:
    """Validate the block on its own; raise ``ConfigError`` listing every problem."""
    problems: list[ConfigProblem] = []
    campaigns = parse_campaigns(value, lambda p, m: problems.append(ConfigProblem(p, m)))
    if campaigns is None:
        raise ConfigError(problems, source)
    return campaigns


def campaigns_block() -> Callable[[object, Add], object | None]:
    """This block's parser as ``load_config(..., blocks={"campaigns": ...})`` takes it."""

    def parse(value: object, add: Add) -> tuple[CampaignSettings, ...] | None:
        return parse_campaigns(value, add)

    return parse


def campaigns_of(config: Config) -> tuple[CampaignSettings, ...]:
    """The validated block of a config loaded with ``campaigns_block``; a clear error without."""
    block = config.blocks.get("campaigns")
    if block is None:
        raise ConfigError(
            [
                ConfigProblem(
                    "campaigns",
                    "is missing: campaigns need a campaigns: list, each with id, audience, "
                    "channel, template and timezone (docs/CONFIG.md)",
                )
            ]
        )
    if isinstance(block, tuple) and all(isinstance(c, CampaignSettings) for c in block):
        return block
    raise TypeError("the config was loaded without the campaigns block's parser")


def campaign_by_id(campaigns: Sequence[CampaignSettings], campaign_id: str) -> CampaignSettings:
    """The campaign with this id; an ``EventError`` naming the closest ids when there is none."""
    for campaign in campaigns:
        if campaign.id == campaign_id:
            return campaign
    ids = [c.id for c in campaigns]
    hint = _hint(campaign_id, ids)
    known = ", ".join(ids) if ids else "none"
    raise EventError(
        f"no campaign is called {_show(campaign_id)}{hint}; configured campaigns: {known}"
    )


def parse_campaigns(
    value: object, add: Add, *, path: str = "campaigns"
) -> tuple[CampaignSettings, ...] | None:
    """Validate the block, reporting each problem through ``add``; None when any was reported."""
    count = [0]

    def report(where: str, message: str) -> None:
        count[0] += 1
        add(where, message)

    if not isinstance(value, list) or not value:
        report(path, f"must list at least one campaign, got {_show(value)}")
        return None
    check = _Check(report)
    out: list[CampaignSettings] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(value):
        campaign = check.campaign(f"{path}[{i}]", entry)
        if campaign is None:
            continue
        if campaign.id in seen:
            report(
                f"{path}[{i}].id",
                f"{campaign.id!r} is already used by {path}[{seen[campaign.id]}]; ids are unique "
                "(they key every request a campaign makes)",
            )
            continue
        seen[campaign.id] = i
        out.append(campaign)
    if count[0]:
        return None
    return tuple(out)


class _Check:
    """The block's checks, each reporting through ``add`` with its key path."""

    def __init__(self, add: Add) -> None:
        self.add = add

    def mapping(self, path: str, value: object, allowed: Sequence[str]) -> dict[str, object] | None:
        return known_keys(path, value, allowed, self.add)

    def campaign(self, path: str, value: object) -> CampaignSettings | None:
        raw = self.mapping(path, value, CAMPAIGN_KEYS)
        if raw is None:
            return None
        campaign_id = self.slug(f"{path}.id", raw.get("id"), "campaign", MAX_CAMPAIGN_ID)
        audience = self.audience(f"{path}.audience", raw.get("audience"))
        channel = self.channel(f"{path}.channel", raw.get("channel"))
        template = self.slug(f"{path}.template", raw.get("template"), "template", 128)
        zone = self.zone(f"{path}.timezone", raw.get("timezone"))
        ok, schedule = self.schedule(f"{path}.schedule", raw.get("schedule"))
        variables = self.variables(f"{path}.variables", raw.get("variables"))
        if (
            campaign_id is None
            or audience is None
            or channel is None
            or template is None
            or zone is None
            or not ok
            or variables is None
        ):
            return None
        return CampaignSettings(
            id=campaign_id,
            audience=audience,
            channel=channel,
            template=template,
            timezone=zone,
            schedule=schedule,
            variables=MappingProxyType(variables),
        )

    def slug(self, path: str, value: object, what: str, longest: int) -> str | None:
        if value is None:
            self.add(path, f"is required: the {what} id, lowercase words joined by -")
            return None
        if not isinstance(value, str) or not _ID.fullmatch(value):
            self.add(
                path,
                f"{_show(value)} must be lowercase letters and digits in words joined by -, "
                "e.g. chat-followup",
            )
            return None
        if len(value) > longest:
            self.add(path, f"is {len(value)} characters, over {longest}: shorten it")
            return None
        return value

    def channel(self, path: str, value: object) -> CampaignChannel | None:
        if value is None:
            self.add(
                path, f"is required: how customers are notified, {', '.join(CAMPAIGN_CHANNELS)}"
            )
            return None
        for channel in CAMPAIGN_CHANNELS:
            if value == channel:
                return channel
        hint = _hint(value, CAMPAIGN_CHANNELS)
        self.add(path, f"{_show(value)} is not one of {', '.join(CAMPAIGN_CHANNELS)}{hint}")
        return None

    def audience(self, path: str, value: object) -> AudienceSettings | None:
        if value is None:
            self.add(path, "is required, e.g. {media: webmessaging, days: 30}")
            return None
        raw = self.mapping(path, value, AUDIENCE_KEYS)
        if raw is None:
            return None
        ok = True
        media: AudienceMedia | None = None
        given = raw.get("media")
        for choice in AUDIENCE_MEDIA:
            if given == choice:
                media = choice
        if media is None:
            what = "is required" if given is None else f"{_show(given)} is not valid"
            self.add(
                f"{path}.media",
                f"{what}: the conversations' media, one of {', '.join(AUDIENCE_MEDIA)}"
                f"{_hint(given, AUDIENCE_MEDIA)}",
            )
        days = self.days(f"{path}.days", raw.get("days"))
        queues = self.queues(f"{path}.queues", raw.get("queues"))
        exclude = raw.get("exclude_active", True)
        if not isinstance(exclude, bool):
            self.add(f"{path}.exclude_active", f"must be true or false, got {_show(exclude)}")
            ok = False
        limit = raw.get("limit")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT
        ):
            self.add(
                f"{path}.limit",
                f"{_show(limit)} must be a whole number of recipients from 1 to {MAX_LIMIT:,}, "
                "or left out for no cap",
            )
            ok = False
        if media is None or days is None or queues is None or not ok:
            return None
        return AudienceSettings(
            media=media,
            days=days,
            queues=queues,
            exclude_active=bool(exclude),
            limit=limit if isinstance(limit, int) else None,
        )

    def days(self, path: str, value: object) -> int | None:
        if value is None:
            self.add(path, f"is required: how many days back to look, 1 to {MAX_DAYS_BACK}")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.add(
                path, f"{_show(value)} must be a whole number of days from 1 to {MAX_DAYS_BACK}"
            )
            return None
        if value > MAX_DAYS_BACK:
            self.add(
                path,
                f"{value} is more than {MAX_DAYS_BACK}: Genesys guarantees conversation details "
                f"for {MAX_DAYS_BACK} days only (an organization may set its retention that "
                f"short), so an older start could silently miss customers; give at most "
                f"{MAX_DAYS_BACK}",
            )
            return None
        return value

    def queues(self, path: str, value: object) -> tuple[str, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.add(path, f"must list queue names or ids, or be left out, got {_show(value)}")
            return None
        out: list[str] = []
        ok = True
        for i, entry in enumerate(value):
            where = f"{path}[{i}]"
            if not isinstance(entry, str) or not entry.strip():
                self.add(where, f"{_show(entry)} must be a queue name or id")
                ok = False
            elif entry != entry.strip():
                self.add(where, f"{entry!r} has leading or trailing spaces; names match exactly")
                ok = False
            elif entry in out:
                self.add(where, f"{entry!r} is listed twice; remove the duplicate")
                ok = False
            else:
                out.append(entry)
        return tuple(out) if ok else None

    def zone(self, path: str, value: object) -> str | None:
        if value is None:
            self.add(path, "is required: the campaign's IANA time zone, e.g. America/New_York")
            return None
        if not isinstance(value, str) or not 0 < len(value) <= 64:
            self.add(path, f"{_show(value)} must be an IANA time zone name")
            return None
        if value in pytz.all_timezones_set:
            return value
        hint = _hint(value, pytz.common_timezones, n=2)
        if not hint:
            hint = " (use an IANA name such as 'America/New_York' or 'Europe/London')"
        self.add(path, f"{value!r} is not an IANA time zone{hint}")
        return None

    def schedule(self, path: str, value: object) -> tuple[bool, time | None]:
        if value is None or value == "once":
            return True, None
        if isinstance(value, str) and (match := _DAILY.fullmatch(value)):
            at = time(int(match.group(1)), int(match.group(2)))
            if at <= LATEST_DAILY:
                return True, at
            self.add(
                path,
                f'"{value}" is after 23:45: the campaign schedule ticks every 15 minutes and its '
                'last tick of a local day is at 23:45, so this time would never run; give "23:45" '
                "at the latest",
            )
            return False, None
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 09:30 as sexagesimal minutes: 570.
            hint = ' (quote the time: schedule: "09:30")'
        else:
            hint = _hint(value, ("once",))
        self.add(
            path,
            f'{_show(value)} is not once or a daily local time like "09:30" (24-hour HH:MM in '
            f"the campaign's timezone){hint}",
        )
        return False, None

    def variables(self, path: str, value: object) -> dict[str, Variable] | None:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(path, f"must be a mapping of variable names to values, got {_show(value)}")
            return None
        if len(value) > _MAX_VARIABLES:
            self.add(path, f"has {len(value)} entries, over {_MAX_VARIABLES}: give fewer")
            return None
        out: dict[str, Variable] = {}
        ok = True
        for name, item in value.items():
            if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
                self.add(
                    f"{path}.{name}",
                    "is not a variable name (letters, digits and _, e.g. brand)",
                )
                ok = False
                continue
            problem = _variable_problem(item)
            if problem is not None:
                self.add(f"{path}.{name}", problem)
                ok = False
                continue
            out[name] = item
        return out if ok else None


def _variable_problem(item: object) -> str | None:
    """Why a fixed value could not travel in a notification request, or None."""
    if isinstance(item, str):
        if len(item) > _MAX_VARIABLE_CHARACTERS:
            return f"is {len(item)} characters, over {_MAX_VARIABLE_CHARACTERS}: shorten it"
        return None
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return None if abs(item) <= _MAX_INTEGER else "is beyond +/-2**53: quote it as a string"
    if isinstance(item, float):
        return None if math.isfinite(item) else f"{item!r} is not a finite number"
    return f"{_show(item)} must be a string, number or boolean (no lists, mappings or null)"


def cross_check(
    campaigns: Sequence[CampaignSettings], messaging: MessagingLike, *, path: str = "campaigns"
) -> list[tuple[str, str]]:
    """What the two blocks only show together: each (path, message), empty when all is well.

    The template must be a messaging template of the campaign's channel, the channel must have a
    sender, and (when the template is compiled) the campaign's ``variables`` must be exactly the
    variables the template uses. A Response Management template's substitutions are checked
    against Genesys before each batch instead.
    """
    problems: list[tuple[str, str]] = []
    templates = {t.id: t for t in messaging.templates}
    for i, campaign in enumerate(campaigns):
        where = f"{path}[{i}]"
        if not messaging.senders.has(campaign.channel):
            problems.append(
                (
                    f"{where}.channel",
                    f"{campaign.channel} has no sender: add messaging.senders.{campaign.channel} "
                    "or notify by another channel",
                )
            )
        template = templates.get(campaign.template)
        if template is None:
            problems.append((f"{where}.template", _unknown_template(campaign, templates)))
            continue
        if template.channel != campaign.channel:
            same = sorted(t for t, v in templates.items() if v.channel == campaign.channel)
            instead = (
                f"use one of its {campaign.channel} templates ({', '.join(same)})"
                if same
                else f"add a {campaign.channel} template to messaging.templates"
            )
            problems.append(
                (
                    f"{where}.template",
                    f"{campaign.template!r} is a {template.channel} template, not "
                    f"{campaign.channel}: {instead}, or set channel: {template.channel}",
                )
            )
            continue
        if template.compiled is not None:
            problems.extend(_variable_problems(where, campaign, template.compiled.variables))
    return problems


def _unknown_template(campaign: CampaignSettings, templates: Mapping[str, _Template]) -> str:
    close = _closest(campaign.template, list(templates), n=3)
    if close:
        names = " or ".join(repr(c) for c in close)
        return f"{campaign.template!r} is not a messaging template (did you mean {names}?)"
    same = sorted(t for t, v in templates.items() if v.channel == campaign.channel)
    known = (
        f"its {campaign.channel} templates: {', '.join(same)}"
        if same
        else f"it has no {campaign.channel} template yet"
    )
    return f"{campaign.template!r} is not a messaging template; {known}"


def _variable_problems(
    where: str, campaign: CampaignSettings, uses: frozenset[str]
) -> list[tuple[str, str]]:
    problems = []
    for name in sorted(uses - campaign.variables.keys()):
        if name in CONTACT_VARIABLES:
            message = (
                f"template {campaign.template!r} uses {name}, which a contact may lack: give its "
                f"fallback under variables, e.g. {name}: there"
            )
        else:
            message = (
                f"template {campaign.template!r} uses {name}: give its value under variables "
                f"(a campaign fills only {' and '.join(CONTACT_VARIABLES)} from the contact)"
            )
        problems.append((f"{where}.variables", message))
    used = ", ".join(sorted(uses)) or "none"
    for name in sorted(campaign.variables.keys() - uses):
        problems.append(
            (
                f"{where}.variables.{name}",
                f"is not used by template {campaign.template!r} (it uses {used}): remove it",
            )
        )
    return problems
