"""Chat alerts end to end over real sockets: Slack and Teams incoming webhooks (a local
stand-in) beside the mail alert, once per failure, escaped, and never in the way of the mail."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gcnotify.cli.demo import DemoStack
from gcnotify.core.errors import RunFailedError
from gcnotify.devserver.chat_server import ChatStandIn
from tests.test_e2e import AGGREGATES, alerts, invoke, only_daily, put_secret

pytestmark = pytest.mark.e2e


@pytest.fixture
def chat() -> Iterator[ChatStandIn]:
    with ChatStandIn() as server:
        yield server


def with_chat(stack: DemoStack, chat: ChatStandIn, tmp_path: Path) -> dict[str, str]:
    """The demo config with both chat channels, their URLs in the secret; the env to use."""
    config = yaml.safe_load(Path(stack.environ["GCNOTIFY_CONFIG"]).read_text())
    config["alerts"]["chat"] = [
        {"kind": "slack", "secret_key": "slack_ops_webhook"},
        {"kind": "teams", "secret_key": "teams_ops_webhook"},
    ]
    path = tmp_path / "chat.yaml"
    path.write_text(yaml.safe_dump(config))
    put_secret(
        stack,
        slack_ops_webhook=chat.webhook_url("slack"),
        teams_ops_webhook=chat.webhook_url("teams"),
    )
    return {"GCNOTIFY_CONFIG": str(path)}


def fail(stack: DemoStack, env: dict[str, str]) -> dict[str, Any]:
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack), **env)
    text = str(info.value)
    return json.loads(text[text.index("{") :])


def test_a_failure_is_posted_to_slack_and_teams_once(
    stack: DemoStack, chat: ChatStandIn, tmp_path: Path
) -> None:
    """One mail and one post per channel; Lambda's retry posts nothing again."""
    env = with_chat(stack, chat, tmp_path)
    stack.genesys.fail_next(AGGREGATES, 500, times=40)
    assert 3 == fail(stack, env)["alerts_sent"]
    assert 0 == fail(stack, env)["alerts_sent"]
    assert (1, 1, 1) == (
        len(alerts(stack)),
        len(chat.posts_for("slack")),
        len(chat.posts_for("teams")),
    )
    [slack] = chat.posts_for("slack")
    assert "support-daily" in " ".join(slack.texts())


def test_provider_text_is_escaped_in_posts(
    stack: DemoStack, chat: ChatStandIn, tmp_path: Path
) -> None:
    """Genesys' error text with Slack control syntax cannot ping a channel or make a link."""
    env = with_chat(stack, chat, tmp_path)
    stack.genesys.fail_next(AGGREGATES, 400, body={"message": "<!channel> <https://x.test|y>"})
    fail(stack, env)
    [slack] = chat.posts_for("slack")
    payload = json.dumps(slack.payload)
    assert "<!channel>" not in payload
    assert "&lt;!channel&gt;" in payload


def test_a_dead_webhook_is_logged_and_the_mail_still_goes(
    stack: DemoStack, chat: ChatStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deleted Slack webhook (404): logged without its URL; the mail and Teams post go out."""
    caplog.set_level(logging.INFO)
    env = with_chat(stack, chat, tmp_path)
    slack_url = chat.webhook_url("slack", "deleted-token-abcdef")
    put_secret(stack, slack_ops_webhook=slack_url)
    chat.delete_webhook(slack_url)
    stack.genesys.fail_next(AGGREGATES, 500, times=40)
    summary = fail(stack, env)
    assert 2 == summary["alerts_sent"]
    assert (1, 0, 1) == (
        len(alerts(stack)),
        len(chat.posts_for("slack")),
        len(chat.posts_for("teams")),
    )
    assert "slack post" in caplog.text
    assert "deleted-token-abcdef" not in caplog.text + json.dumps(summary)


def test_a_missing_webhook_key_in_the_secret_is_named(
    stack: DemoStack, chat: ChatStandIn, tmp_path: Path
) -> None:
    """The config names a chat key the secret lacks: a secret error naming that key."""
    env = with_chat(stack, chat, tmp_path)
    put_secret(stack, teams_ops_webhook=None)
    with pytest.raises(Exception, match="teams_ops_webhook"):
        invoke(stack, only_daily(stack), **env)
