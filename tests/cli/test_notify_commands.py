"""``gcnotify send``, ``gcnotify validate`` of a messaging block and ``gcnotify demo notify``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gcnotify.cli.demo_notify import NotifyStack, notify_block, notify_stack
from gcnotify.cli.main import main
from gcnotify.handlers import notify_state


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyStack]:
    notify_state.reset()
    with notify_stack(tmp_path) as running:
        for key, value in running.environ.items():
            monkeypatch.setenv(key, value)
        yield running
    notify_state.reset()


def test_send_takes_a_request_from_options(
    stack: NotifyStack, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["send", "--template", "order-shipped", "--to", "+13175550140", "--key", "cli-1"]
    argv += ["--var", "order_id=ORD-7", "--var", "tracking_link=https://t.example.com/7"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "accepted"
    record = notify_state.state(stack.environ).store.get("cli-1")
    assert record is not None
    assert record.fields["source"] == "cli"
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "duplicate"


def test_send_from_a_file_lists_every_problem_and_exits_2(
    stack: NotifyStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"template": "order-shiped", "to": "555", "key": "f-1"}))
    assert main(["send", str(request)]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "rejected"
    assert {line.split(":")[0] for line in answer["problems"]} >= {"template"}


def test_send_rejects_a_malformed_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "--key", "k", "--var", "no-equals"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_validate_checks_the_messaging_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    block = notify_block()
    config = {
        "genesys": {"environment": "mypurecloud.com"},
        "sendgrid": {"from": {"email": "n@example.com"}},
        "messaging": block,
    }
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["validate", "--config", str(path)]) == 0
    assert "4 template(s)" in capsys.readouterr().out
    block["rate_per_minute"]["sms"] = -1
    block["templates"][0]["text"] = "{{ unclosed"
    path.write_text(yaml.safe_dump(config))
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "messaging.rate_per_minute.sms" in err
    assert "messaging.templates[0]" in err


def test_demo_notify_prints_each_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "notify", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "HTTP 401" in out
    for key, status in (
        ("demo-sms-1", "sent"),
        ("demo-email-1", "sent"),
        ("demo-web-1", "sent"),
        ("demo-wa-1", "sent"),
        ("demo-sms-stop", "suppressed"),
        ("demo-sms-night", "deferred"),
        ("demo-sms-bad", "rejected"),
    ):
        assert f"  {key} (" in out
        line = next(line for line in out.splitlines() if line.startswith(f"  {key} ("))
        assert f"): {status}" in line, line
    assert "HTTP 200 duplicate" in out
    assert "Genesys agentless sends received: 3; SendGrid emails received: 1" in out
