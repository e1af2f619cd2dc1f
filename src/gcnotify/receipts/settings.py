"""The ``receipts:`` config block, validated into a frozen ``ReceiptSettings``.

Problems go to a callback ``add(path, message)``, the shape of the config checker's own ``add``,
so every bad key is listed with the rest of the config's, each with its value and the fix.
Defaults, used for each key left out and for the whole block when there is none:

- ``poll_every``: PT5M, from PT1M to PT1H in whole minutes (the poller's schedule is a
  ``rate(n minutes)``): often enough to see a failure while a retry is still worth it.
- ``final_after``: PT72H, at least PT30S: Genesys says delivery can take "minutes, hours or
  days"; a message with no final receipt by then is ``unknown``.
- ``retry_temporary``: true; temporary failures are re-sent within the request's expiry.
- ``max_calls_per_run``: 500 Genesys calls per poll run (1 to 10,000), so a backlog never eats
  the organisation's API budget.
- ``breaker_failures``: 5 consecutive failed calls stop a run (1 to 100, and at most
  ``max_calls_per_run``); the next run starts fresh.
- ``analytics_screen``: true; one-message conversations are screened 100 a call by analytics
  (``deliveryStatus``) before any message is read on its own. False reads each message's
  details, for an org where analytics is not to be relied on for agentless messages.

Durations are ISO 8601 in days, hours, minutes and whole seconds (``P1DT12H``, ``PT90S``):
years, months and weeks are refused, their length is not what an operator means to type here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gcnotify.core.durations import parse_duration
from gcnotify.core.errors import ConfigError, ConfigProblem
from gcnotify.core.model import Config
from gcnotify.core.show import known_keys
from gcnotify.core.show import show as _show

__all__ = [
    "RECEIPTS_KEYS",
    "Add",
    "ReceiptSettings",
    "load_receipts",
    "parse_receipts",
    "receipts_block",
    "receipts_of",
]

Add = Callable[[str, str], None]

RECEIPTS_KEYS = (
    "poll_every",
    "final_after",
    "retry_temporary",
    "max_calls_per_run",
    "breaker_failures",
    "analytics_screen",
)
MIN_POLL = timedelta(minutes=1)
MAX_POLL = timedelta(hours=1)
MIN_FINAL_AFTER = timedelta(seconds=30)
MAX_CALLS = 10_000
MAX_BREAKER = 100


@dataclass(frozen=True)
class ReceiptSettings:
    """The whole ``receipts:`` block, validated; the defaults are the block's own."""

    poll_every: timedelta = timedelta(minutes=5)
    final_after: timedelta = timedelta(hours=72)
    retry_temporary: bool = True
    max_calls_per_run: int = 500
    breaker_failures: int = 5
    analytics_screen: bool = True


def load_receipts(value: object, *, source: str = "config") -> ReceiptSettings:
    """Validate the block on its own; raise ``ConfigError`` listing every problem."""
    problems: list[ConfigProblem] = []
    settings = parse_receipts(value, lambda p, m: problems.append(ConfigProblem(p, m)))
    if settings is None:
        raise ConfigError(problems, source)
    return settings


def receipts_block() -> Callable[[object, Add], object | None]:
    """This block's parser as ``load_config(..., blocks={"receipts": ...})`` takes it."""

    def parse(value: object, add: Add) -> ReceiptSettings | None:
        return parse_receipts(value, add)

    return parse


def receipts_of(config: Config) -> ReceiptSettings:
    """The validated block of a config loaded with ``receipts_block``; the defaults when the
    config has none."""
    block = config.blocks.get("receipts")
    if block is None:
        return ReceiptSettings()
    if isinstance(block, ReceiptSettings):
        return block
    raise TypeError("the config was loaded without the receipts block's parser")


def parse_receipts(value: object, add: Add, *, path: str = "receipts") -> ReceiptSettings | None:
    """Validate the block, reporting each problem through ``add``; None when any was reported."""
    count = [0]

    def report(where: str, message: str) -> None:
        count[0] += 1
        add(where, message)

    raw = known_keys(path, value, RECEIPTS_KEYS, report)
    if raw is None:
        return None
    defaults = ReceiptSettings()
    poll = _duration(f"{path}.poll_every", raw.get("poll_every"), defaults.poll_every, report)
    if poll is not None and not MIN_POLL <= poll <= MAX_POLL:
        report(
            f"{path}.poll_every",
            f"{_show(raw.get('poll_every'))} must be from PT1M to PT1H: the poller's schedule",
        )
    elif poll is not None and poll % timedelta(minutes=1):
        report(
            f"{path}.poll_every",
            f"{_show(raw.get('poll_every'))} must be whole minutes (the schedule is a "
            "rate in minutes), e.g. PT5M",
        )
    final = _duration(f"{path}.final_after", raw.get("final_after"), defaults.final_after, report)
    if final is not None and final < MIN_FINAL_AFTER:
        report(
            f"{path}.final_after",
            f"{_show(raw.get('final_after'))} is shorter than PT30S: give a message time to "
            "be delivered, e.g. PT72H",
        )
    retry = raw.get("retry_temporary", defaults.retry_temporary)
    if not isinstance(retry, bool):
        report(f"{path}.retry_temporary", f"must be true or false, got {_show(retry)}")
    screen = raw.get("analytics_screen", defaults.analytics_screen)
    if not isinstance(screen, bool):
        report(f"{path}.analytics_screen", f"must be true or false, got {_show(screen)}")
    calls = _count(
        f"{path}.max_calls_per_run",
        raw.get("max_calls_per_run", defaults.max_calls_per_run),
        MAX_CALLS,
        "Genesys calls one poll run may make",
        report,
    )
    breaker = _count(
        f"{path}.breaker_failures",
        raw.get("breaker_failures", defaults.breaker_failures),
        MAX_BREAKER,
        "consecutive failed calls that stop a run",
        report,
    )
    if calls is not None and breaker is not None and breaker > calls:
        report(
            f"{path}.breaker_failures",
            f"{breaker} is more than max_calls_per_run ({calls}): the breaker could never trip",
        )
    if count[0] or poll is None or final is None or calls is None or breaker is None:
        return None
    return ReceiptSettings(
        poll_every=poll,
        final_after=final,
        retry_temporary=bool(retry),
        max_calls_per_run=calls,
        breaker_failures=breaker,
        analytics_screen=bool(screen),
    )


def _duration(path: str, value: object, default: timedelta, add: Add) -> timedelta | None:
    if value is None:
        return default
    if not isinstance(value, str):
        add(path, f"{_show(value)} must be an ISO 8601 duration written as text, e.g. PT5M")
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        add(path, str(exc))
        return None


def _count(path: str, value: object, top: int, what: str, add: Add) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        add(path, f"{_show(value)} must be a whole number from 1 to {top}: the {what}")
        return None
    return value
