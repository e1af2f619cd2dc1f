"""Helpers shared by the tests: schema validation of bodies and a clock the tests drive."""

from __future__ import annotations

from functools import cache
from typing import Any

from gcnotify.devserver.http_base import load_schema_validator


@cache
def validator(name: str) -> Any:
    """The draft 2020-12 validator of one shipped schema (the same the stand-ins use)."""
    return load_schema_validator(name)


def schema_errors(name: str, body: Any) -> list[str]:
    return [e.message for e in validator(name).iter_errors(body)]


def assert_valid(name: str, body: Any) -> None:
    """``body`` is valid against ``<name>.schema.json``; the assert shows every violation."""
    assert [] == schema_errors(name, body)


class FakeClock:
    """Monotonic and wall time that advance only when the code under test sleeps (or when told)."""

    def __init__(self, start: float = 0.0, wall: float = 1_800_000_000.0) -> None:
        self.now = start
        self.wall_start = wall - start
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall_start + self.now
