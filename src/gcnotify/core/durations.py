"""ISO 8601 durations as the config writes them (``PT5M``, ``P2DT12H``), parsed exactly.

One grammar for every block that takes a duration. Years and months are always refused: their
length depends on the date, and a deadline or an age limit must be exact. Weeks and fractional
seconds are each block's choice (an expiry may say ``P1W`` or ``PT0.5S``; the receipts poller,
whose schedule is in minutes, takes whole seconds only).
"""

from __future__ import annotations

import re
from datetime import timedelta

from gcnotify.core.show import show

__all__ = ["parse_duration"]

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?P<fraction>\.\d+)?)S)?)?"
)


def parse_duration(
    text: str,
    *,
    weeks: bool = False,
    fractions: bool = False,
    examples: str = "PT5M, PT72H or P3D",
    what: str = "duration",
) -> timedelta:
    """``text`` as a timedelta; ValueError (saying what is allowed, with ``examples``) else.

    ``weeks`` allows ``nW``, ``fractions`` seconds such as ``PT0.5S``; at least one part must be
    given, and a ``T`` must be followed by a time part. ``what`` names the value in the error
    for a duration longer than a timedelta holds.
    """
    match = _DURATION.fullmatch(text)
    parts = match.groupdict() if match else {}
    fraction = parts.pop("fraction", None)
    if (
        match is None
        or text.endswith("T")
        or not any(parts.values())
        or (parts["weeks"] is not None and not weeks)
        or (fraction is not None and not fractions)
    ):
        units = "weeks, days, hours, minutes or seconds" if weeks else "days, hours, minutes or "
        if not weeks:
            units += "seconds" if fractions else "whole seconds"
        raise ValueError(
            f"{show(text)} is not an ISO 8601 duration in {units}, e.g. {examples}; years and "
            "months are not allowed (their length varies)"
        )
    try:
        return timedelta(**{name: float(value) for name, value in parts.items() if value})
    except OverflowError:
        raise ValueError(f"{show(text)} is longer than any {what} can be") from None
