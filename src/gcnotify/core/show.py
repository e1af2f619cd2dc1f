"""How a problem message quotes what it was given: bounded, and with the closest valid choice.

A config or a request may hold a huge or deeply nested value; quoting it whole would flood the
message a person reads. A misspelt name is answered with the name they probably meant.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Callable, Mapping, Sequence

__all__ = ["closest", "did_you_mean", "known_keys", "show"]

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = 60


def show(value: object) -> str:
    """A short repr: at most 60 characters, two levels deep."""
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def closest(value: str, choices: Sequence[str], n: int = 1) -> list[str]:
    """The choices closest to ``value``, case-insensitively; empty when none is close."""
    lowered = {c.lower(): c for c in choices}
    return [lowered[m] for m in difflib.get_close_matches(value.lower(), list(lowered), n, 0.6)]


def did_you_mean(value: object, choices: Sequence[str], n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for a string close to a choice, else an empty string."""
    close = closest(value, choices, n) if isinstance(value, str) else []
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)"


def known_keys(
    path: str, value: object, allowed: Sequence[str], add: Callable[[str, str], None]
) -> dict[str, object] | None:
    """The keys of a config mapping that are allowed; each other key reported with the closest
    allowed one. None (reported) when ``value`` is not a mapping."""
    if not isinstance(value, Mapping):
        add(path, f"must be a mapping of keys, got {show(value)}")
        return None
    out: dict[str, object] = {}
    for key, item in value.items():
        if isinstance(key, str) and key in allowed:
            out[key] = item
            continue
        hint = did_you_mean(str(key), allowed)
        add(f"{path}.{key}", f"unknown key{hint}; allowed keys here: {', '.join(allowed)}")
    return out
