"""Fixtures shared across test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from gcnotify.cli.demo import DemoStack


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials and region, so boto3 never looks for (or uses) real ones."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoStack]:
    """The demo's stack: Genesys and SendGrid stand-ins and a moto server, on 127.0.0.1."""
    from gcnotify.cli.demo import start_stack
    from gcnotify.handlers import report as handler

    with start_stack(tmp_path, queue_count=6) as running:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(key, running.environ[key])
        handler.reset_cold_start()
        yield running
        handler.reset_cold_start()
