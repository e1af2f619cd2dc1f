"""The local Slack and Teams webhook stand-in, over real sockets, and ChatClient against it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from gcnotify.chat.client import ChatClient
from gcnotify.chat.messages import ChatKind, ChatMessage, slack_payload, teams_payload
from gcnotify.core.errors import ChatError
from gcnotify.core.retry import RetryPolicy
from gcnotify.devserver.chat_server import ChatStandIn
from gcnotify.runtime.redact import REDACTOR
from tests.support import FakeClock

TIMEOUT = 5
MESSAGE = ChatMessage(
    title="Report failed: <support-daily>",
    lines=("Genesys answered 503 after 5 attempts.",),
    facts=(("Report", "support-daily"), ("Business date", "2026-11-20")),
    severity="error",
)
SLACK_TEXT = {"text": "hello"}


@pytest.fixture
def chat() -> Iterator[ChatStandIn]:
    with ChatStandIn() as server:
        yield server
    REDACTOR.clear()  # ChatClient registered the stand-in's URLs


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def post(session: requests.Session, url: str, body: Any) -> requests.Response:
    return session.post(url, json=body, timeout=TIMEOUT)


# --- Slack ----------------------------------------------------------------------------------------


def test_slack_post_is_answered_ok_and_kept(chat: ChatStandIn, session: requests.Session) -> None:
    """A valid Slack body is answered 200 ok and recorded with its kind."""
    url = chat.webhook_url("slack")
    response = post(session, url, slack_payload(MESSAGE))
    assert (200, "ok", ["slack"]) == (
        response.status_code,
        response.text,
        [p.kind for p in chat.posts],
    )


def test_slack_post_keeps_the_payload(chat: ChatStandIn, session: requests.Session) -> None:
    """The recorded payload is the body as sent."""
    post(session, chat.webhook_url("slack"), slack_payload(MESSAGE))
    assert slack_payload(MESSAGE) == chat.posts[0].payload


def test_slack_text_only_post_is_accepted(chat: ChatStandIn, session: requests.Session) -> None:
    """Blocks are optional: a plain text body is a valid Slack post."""
    assert 200 == post(session, chat.webhook_url("slack"), SLACK_TEXT).status_code


def test_slack_unknown_token_is_no_service(chat: ChatStandIn, session: requests.Session) -> None:
    """A token the stand-in never issued is answered as Slack answers a removed webhook."""
    response = post(session, f"{chat.url}/slack/never-issued", SLACK_TEXT)
    assert (404, "no_service") == (response.status_code, response.text)


def test_deleted_slack_webhook_answers_404(chat: ChatStandIn, session: requests.Session) -> None:
    """delete_webhook makes a working URL answer 404 from then on."""
    url = chat.webhook_url("slack")
    chat.delete_webhook(url)
    assert 404 == post(session, url, SLACK_TEXT).status_code


def test_slack_body_without_text_is_no_text(chat: ChatStandIn, session: requests.Session) -> None:
    """Neither text nor blocks: Slack's no_text."""
    response = post(session, chat.webhook_url("slack"), {"username": "x"})
    assert (400, "no_text") == (response.status_code, response.text)


def test_slack_header_over_150_is_invalid_blocks(
    chat: ChatStandIn, session: requests.Session
) -> None:
    """A header longer than Slack allows is refused, and nothing is recorded."""
    body = {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]}
    response = post(session, chat.webhook_url("slack"), body)
    assert (400, "invalid_blocks", []) == (response.status_code, response.text, chat.posts)


def test_slack_section_with_eleven_fields_is_invalid(
    chat: ChatStandIn, session: requests.Session
) -> None:
    """A section holds at most ten fields."""
    fields = [{"type": "mrkdwn", "text": "f"}] * 11
    response = post(
        session, chat.webhook_url("slack"), {"blocks": [{"type": "section", "fields": fields}]}
    )
    assert 400 == response.status_code


def test_slack_non_json_body_is_invalid_payload(
    chat: ChatStandIn, session: requests.Session
) -> None:
    """A body that is not a JSON object is Slack's invalid_payload."""
    response = session.post(chat.webhook_url("slack"), data=b"text=hi", timeout=TIMEOUT)
    assert (400, "invalid_payload") == (response.status_code, response.text)


def test_slack_fail_next_429_carries_retry_after(
    chat: ChatStandIn, session: requests.Session
) -> None:
    """An injected 429 looks like Slack's: rate_limited with a Retry-After."""
    url = chat.webhook_url("slack")
    chat.fail_next("/slack", 429)
    response = post(session, url, SLACK_TEXT)
    assert (429, "rate_limited", "1") == (
        response.status_code,
        response.text,
        response.headers.get("Retry-After"),
    )


def test_fail_next_answers_once(chat: ChatStandIn, session: requests.Session) -> None:
    """After the injected failure the webhook works again."""
    url = chat.webhook_url("slack")
    chat.fail_next("/slack", 500)
    statuses = [post(session, url, SLACK_TEXT).status_code for _ in range(2)]
    assert ([500, 200], 1) == (statuses, len(chat.posts))


# --- Teams ----------------------------------------------------------------------------------------


def test_teams_card_is_accepted_with_202(chat: ChatStandIn, session: requests.Session) -> None:
    """A Workflows webhook answers 202 with no body."""
    response = post(session, chat.webhook_url("teams"), teams_payload(MESSAGE))
    assert (202, b"", ["teams"]) == (
        response.status_code,
        response.content,
        [p.kind for p in chat.posts],
    )


def test_teams_post_texts_are_readable(chat: ChatStandIn, session: requests.Session) -> None:
    """texts() lists the card's TextBlocks and facts in order, as escaped on the wire."""
    post(session, chat.webhook_url("teams"), teams_payload(MESSAGE))
    assert [
        "Report failed: \\<support-daily\\>",
        "Genesys answered 503 after 5 attempts.",
        "Report",
        "support-daily",
        "Business date",
        "2026-11-20",
    ] == chat.posts_for("teams")[0].texts()


def test_teams_unknown_token_is_a_json_404(chat: ChatStandIn, session: requests.Session) -> None:
    """An unknown workflow answers 404 with a JSON error."""
    response = post(session, f"{chat.url}/teams/never-issued", teams_payload(MESSAGE))
    assert (404, "NotFound") == (response.status_code, response.json()["error"]["code"])


def test_teams_card_with_wrong_content_type_is_refused(
    chat: ChatStandIn, session: requests.Session
) -> None:
    """An attachment that is not an Adaptive Card is refused with the reason."""
    body = teams_payload(MESSAGE)
    body["attachments"][0]["contentType"] = "application/vnd.microsoft.teams.card.o365connector"
    response = post(session, chat.webhook_url("teams"), body)
    assert (400, True) == (
        response.status_code,
        "contentType" in response.json()["error"]["message"],
    )


def test_teams_bare_card_without_message_wrapper_is_refused(
    chat: ChatStandIn, session: requests.Session
) -> None:
    """Posting the AdaptiveCard itself (no type=message, no attachments) is refused."""
    card = teams_payload(MESSAGE)["attachments"][0]["content"]
    assert 400 == post(session, chat.webhook_url("teams"), card).status_code


def test_teams_fact_without_value_is_refused(chat: ChatStandIn, session: requests.Session) -> None:
    """A FactSet fact needs a string title and value."""
    body = teams_payload(MESSAGE)
    body["attachments"][0]["content"]["body"][-1]["facts"][0].pop("value")
    assert 400 == post(session, chat.webhook_url("teams"), body).status_code


def test_teams_fail_next_503_is_a_json_error(chat: ChatStandIn, session: requests.Session) -> None:
    """An injected Teams failure has the service's JSON error shape."""
    url = chat.webhook_url("teams")
    chat.fail_next("/teams", 503)
    response = post(session, url, teams_payload(MESSAGE))
    assert (503, "ServiceUnavailable") == (response.status_code, response.json()["error"]["code"])


# --- secrets --------------------------------------------------------------------------------------


def test_repr_of_stand_in_and_post_hold_no_token(
    chat: ChatStandIn, session: requests.Session
) -> None:
    """A failing assert prints neither the stand-in's nor a post's token."""
    post(session, chat.webhook_url("slack", token="tok-SECRET-123"), SLACK_TEXT)
    assert "tok-SECRET-123" not in repr(chat) + repr(chat.posts)


def test_webhook_url_refuses_a_token_with_a_slash(chat: ChatStandIn) -> None:
    """A token is one path segment, as in the real URLs."""
    with pytest.raises(ValueError, match="no '/'"):
        chat.webhook_url("teams", token="a/b")


# --- end to end: ChatClient over real sockets -----------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_chat_client_posts_through_a_429(kind: ChatKind, chat: ChatStandIn) -> None:
    """ChatClient waits out a 429, posts once it is accepted, and the stand-in keeps one post."""
    clock = FakeClock()
    url = chat.webhook_url(kind)
    chat.fail_next(f"/{kind}", 429)
    with requests.Session() as session:
        client = ChatClient(session, sleep=clock.sleep, clock=clock, wall_clock=clock.wall)
        client.post(kind, url, MESSAGE)
    assert (2, 1, True) == (client.calls, len(chat.posts_for(kind)), 1.0 <= clock.sleeps[0])


@pytest.mark.e2e
def test_chat_client_reports_a_deleted_webhook(chat: ChatStandIn) -> None:
    """After the webhook is deleted the client's error says so, without the token."""
    url = chat.webhook_url("slack", token="tok-SECRET-456")
    chat.delete_webhook(url)
    client = ChatClient(policy=RetryPolicy(max_attempts=2))
    with pytest.raises(ChatError) as caught:
        client.post("slack", url, MESSAGE)
    assert (404, False) == (caught.value.status, "tok-SECRET-456" in repr(caught.value.args))


def test_teams_body_over_28_kb_is_413(chat: ChatStandIn, session: requests.Session) -> None:
    """Teams refuses a message over 28 KB."""
    body = teams_payload(MESSAGE)
    body["attachments"][0]["content"]["body"][1]["text"] = "z" * 28_000
    assert 413 == post(session, chat.webhook_url("teams"), body).status_code


def test_get_on_a_webhook_is_405(chat: ChatStandIn, session: requests.Session) -> None:
    """A webhook only takes POST."""
    assert 405 == session.get(chat.webhook_url("slack"), timeout=TIMEOUT).status_code


def test_path_outside_the_webhooks_is_404(chat: ChatStandIn, session: requests.Session) -> None:
    """Only /slack/<token> and /teams/<token> exist."""
    assert 404 == post(session, f"{chat.url}/discord/abc", SLACK_TEXT).status_code
