"""Pipeline blocks (``messaging`` …): validated through the parser a caller hands in."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from gcnotify.core.config import parse_config
from gcnotify.core.errors import ConfigError

BASE: dict[str, Any] = {
    "genesys": {"environment": "mypurecloud.com"},
    "sendgrid": {"from": {"email": "reports@example.com"}},
}


class Block:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys

    def secret_keys(self) -> tuple[str, ...]:
        return self.keys


def strict(value: object, add: Callable[[str, str], None]) -> object | None:
    """A parser that wants a mapping with a ``secret`` key."""
    if not isinstance(value, dict) or "secret" not in value:
        add("messaging.secret", "is required")
        return None
    return Block((str(value["secret"]),))


def test_a_block_with_its_parser_is_parsed_and_needs_its_secret_keys() -> None:
    data = copy.deepcopy(BASE) | {"messaging": {"secret": "intake_key"}}
    config = parse_config(data, blocks={"messaging": strict})
    assert isinstance(config.blocks["messaging"], Block)
    assert config.reports == ()  # notifications alone need no report
    assert "intake_key" in config.secret_keys()


def test_block_problems_are_listed_with_every_other_problem() -> None:
    data = copy.deepcopy(BASE) | {"messaging": {"nope": 1}, "alerts": {"to": ["not-an-address"]}}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, blocks={"messaging": strict})
    paths = [p.path for p in caught.value.problems]
    assert "messaging.secret" in paths
    assert any(path.startswith("alerts") for path in paths)


def test_a_caller_without_the_parser_keeps_the_block_unvalidated() -> None:
    raw = {"anything": ["goes"]}
    config = parse_config(copy.deepcopy(BASE) | {"messaging": raw})
    assert config.blocks["messaging"] == raw


def test_reports_are_still_required_without_any_pipeline_block() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(copy.deepcopy(BASE))
    assert [p.path for p in caught.value.problems] == ["reports"]


def test_a_parser_that_fails_silently_still_fails_the_config() -> None:
    data = copy.deepcopy(BASE) | {"messaging": {}}
    with pytest.raises(ConfigError, match="messaging"):
        parse_config(data, blocks={"messaging": lambda value, add: None})


def test_an_unknown_block_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="campains"):
        parse_config(copy.deepcopy(BASE), blocks={"campains": strict})
