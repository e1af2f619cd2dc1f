"""The receipts: config block: defaults, bounds, and every bad key listed at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gcnotify.core.config import load_config
from gcnotify.core.errors import ConfigError
from gcnotify.receipts.settings import (
    ReceiptSettings,
    load_receipts,
    parse_receipts,
    receipts_block,
    receipts_of,
)


def problems(value: object) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    assert parse_receipts(value, lambda p, m: found.append((p, m))) is None
    return found


def test_an_empty_block_is_all_defaults() -> None:
    """receipts: {} is the documented defaults."""
    assert ReceiptSettings(
        poll_every=timedelta(minutes=5),
        final_after=timedelta(hours=72),
        retry_temporary=True,
        max_calls_per_run=500,
        breaker_failures=5,
    ) == load_receipts({})


def test_every_key_is_read() -> None:
    """Each key given is the value used."""
    settings = load_receipts(
        {
            "poll_every": "PT10M",
            "final_after": "P2DT12H",
            "retry_temporary": False,
            "max_calls_per_run": 50,
            "breaker_failures": 3,
            "analytics_screen": False,
        }
    )
    expected = ReceiptSettings(timedelta(minutes=10), timedelta(hours=60), False, 50, 3, False)
    assert expected == settings


def test_every_bad_key_is_listed_with_its_value_and_fix() -> None:
    """One pass reports them all, each at its path, quoting the value and saying what fits."""
    found = problems(
        {
            "poll_every": "PT30S",
            "final_after": "PT10S",
            "retry_temporary": "yes",
            "max_calls_per_run": 0,
            "breaker_failures": 1.5,
            "poll_evry": "PT5M",
            "analytics_screen": "no",
        }
    )
    by_path = dict(found)
    assert [
        "receipts.analytics_screen",
        "receipts.breaker_failures",
        "receipts.final_after",
        "receipts.max_calls_per_run",
        "receipts.poll_every",
        "receipts.poll_evry",
        "receipts.retry_temporary",
    ] == sorted(by_path)
    assert "'PT30S' must be from PT1M to PT1H" in by_path["receipts.poll_every"]
    assert "'PT10S' is shorter than PT30S" in by_path["receipts.final_after"]
    assert "must be true or false, got 'yes'" in by_path["receipts.retry_temporary"]
    assert "0 must be a whole number from 1 to 10000" in by_path["receipts.max_calls_per_run"]
    assert "1.5 must be a whole number from 1 to 100" in by_path["receipts.breaker_failures"]
    assert "did you mean 'poll_every'?" in by_path["receipts.poll_evry"]
    assert "must be true or false, got 'no'" in by_path["receipts.analytics_screen"]


def test_poll_every_is_whole_minutes() -> None:
    """PT90S cannot be a schedule rate in minutes."""
    ((path, message),) = problems({"poll_every": "PT90S"})
    assert ("receipts.poll_every", True) == (path, "whole minutes" in message)


def test_a_breaker_larger_than_the_budget_is_refused() -> None:
    """breaker_failures over max_calls_per_run could never trip."""
    ((path, message),) = problems({"max_calls_per_run": 10, "breaker_failures": 20})
    assert "receipts.breaker_failures" == path
    assert "more than max_calls_per_run (10)" in message


def test_a_block_that_is_not_a_mapping_is_refused() -> None:
    """receipts: true says what it must be."""
    assert [("receipts", "must be a mapping of keys, got True")] == problems(True)


def test_an_absurd_duration_is_refused_not_a_crash() -> None:
    """More days than a timedelta holds is a problem at its path."""
    ((path, message),) = problems({"final_after": "P99999999999D"})
    assert ("receipts.final_after", True) == (path, "longer than any duration" in message)


def test_a_number_for_a_duration_says_to_write_text() -> None:
    """final_after: 72 (hours?) is refused with the form to use."""
    ((path, message),) = problems({"final_after": 72})
    assert (
        "receipts.final_after",
        "72 must be an ISO 8601 duration written as text, e.g. PT5M",
    ) == (
        path,
        message,
    )


CONFIG = """\
genesys: {environment: mypurecloud.com}
sendgrid: {from: {email: reports@example.com}}
receipts:
  poll_every: PT15M
  final_after: PT48H
"""


def test_load_config_parses_the_block(tmp_path: Path) -> None:
    """Through load_config and receipts_of, as the handlers read it."""
    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    settings = receipts_of(load_config(path, blocks={"receipts": receipts_block()}))
    assert (timedelta(minutes=15), timedelta(hours=48)) == (
        settings.poll_every,
        settings.final_after,
    )


def test_load_config_lists_the_blocks_problems(tmp_path: Path) -> None:
    """A bad key fails the whole config, by path."""
    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG.replace("PT15M", "15 minutes"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, blocks={"receipts": receipts_block()})
    assert ["receipts.poll_every"] == [p.path for p in caught.value.problems]


def test_without_the_block_the_defaults_apply(tmp_path: Path) -> None:
    """A config with no receipts: block: ReceiptSettings()."""
    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG.partition("receipts:")[0] + "messaging: {}\n", encoding="utf-8")
    assert ReceiptSettings() == receipts_of(load_config(path))


def test_a_config_loaded_without_the_parser_is_a_bug_not_defaults(tmp_path: Path) -> None:
    """The raw block is never mistaken for settings."""
    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with pytest.raises(TypeError, match="without the receipts block's parser"):
        receipts_of(load_config(path))


def test_gcnotify_validate_checks_the_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate prints the block's schedule when it is good and its problems when not."""
    from gcnotify.cli.main import main

    path = tmp_path / "gcnotify.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    assert 0 == main(["validate", "--config", str(path)])
    assert "receipts: polled every 15 min, final after 48 h" in capsys.readouterr().out
    path.write_text(CONFIG.replace("PT48H", "PT5S"), encoding="utf-8")
    assert 2 == main(["validate", "--config", str(path)])
    assert "receipts.final_after" in capsys.readouterr().err
