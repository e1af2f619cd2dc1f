"""The chat poster: status mapping, bounded retries, and a webhook URL that never leaks."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from gcnotify.chat.client import ChatClient, default_secret_key, mask_url
from gcnotify.chat.messages import ChatMessage, encode_payload, slack_payload, teams_payload
from gcnotify.core.errors import ChatError, SecretError
from gcnotify.core.retry import RetryPolicy
from gcnotify.runtime.redact import MASK, REDACTOR
from tests.support import FakeClock

SLACK_TOKEN = "T0000CAFE/B0000BEEF/xoxwebhooksecret0123456789"
SLACK_URL = f"https://hooks.slack.com/services/{SLACK_TOKEN}"
TEAMS_SIG = "sIgNaTuRe0123456789abcdefABCDEF-_xyz"
TEAMS_URL = (
    "https://prod-12.westeurope.logic.azure.com/workflows/0a1b2c3d/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SIG}"
)
MESSAGE = ChatMessage(
    title="Report failed: support-daily",
    lines=("Genesys answered 503.",),
    facts=(("Report", "support-daily"),),
    severity="error",
)


@pytest.fixture(autouse=True)
def fresh_redactor() -> Iterator[None]:
    """Each test starts and ends with no registered secret (the redactor is process-wide)."""
    REDACTOR.clear()
    yield
    REDACTOR.clear()


def make_client(clock: FakeClock | None = None, policy: RetryPolicy | None = None) -> ChatClient:
    fake = clock or FakeClock()
    return ChatClient(
        policy=policy or RetryPolicy(max_attempts=4, max_total_seconds=30.0),
        sleep=fake.sleep,
        clock=fake,
        wall_clock=fake.wall,
    )


def connection_refused() -> requests.exceptions.ConnectionError:
    """What requests raises when nothing listens; its message holds the URL's path."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(
        MaxRetryError(None, f"/services/{SLACK_TOKEN}", reason)  # type: ignore[arg-type]
    )


def everything_said(err: BaseException) -> str:
    """Every text an error could put in a log: message, repr, args, traceback and chain."""
    text = "".join(traceback.format_exception(err))
    chain: BaseException | None = err
    while chain is not None:
        text += str(chain) + repr(chain) + repr(chain.args)
        chain = chain.__cause__ or chain.__context__
    return text


def assert_url_absent(err: BaseException) -> None:
    text = everything_said(err)
    assert (False, False, False) == (
        "B0000BEEF" in text,
        "xoxwebhooksecret" in text,
        TEAMS_SIG in text,
    )


# --- success ------------------------------------------------------------------------------------


@responses.activate
def test_slack_post_sends_the_slack_payload() -> None:
    """The body is the Slack payload's exact bytes, as JSON, without following redirects."""
    responses.post(SLACK_URL, status=200, body="ok")
    make_client().post("slack", SLACK_URL, MESSAGE)
    request = responses.calls[0].request
    assert (encode_payload(slack_payload(MESSAGE)), "application/json; charset=utf-8") == (
        request.body,
        request.headers["Content-Type"],
    )


@responses.activate
def test_teams_post_accepted_with_202_is_success() -> None:
    """Teams Workflows answer 202 Accepted; that is a delivered post."""
    responses.post(TEAMS_URL, status=202)
    make_client().post("teams", TEAMS_URL, MESSAGE)
    assert teams_payload(MESSAGE) == json.loads(responses.calls[0].request.body)


@responses.activate
def test_post_counts_its_attempts() -> None:
    """calls counts every HTTP attempt, as the other clients do."""
    responses.post(SLACK_URL, status=200, body="ok")
    client = make_client()
    client.post("slack", SLACK_URL, MESSAGE)
    assert "ChatClient(calls=1)" == repr(client)


# --- retries ------------------------------------------------------------------------------------


@responses.activate
def test_slack_429_waits_its_retry_after_then_posts() -> None:
    """Slack's Retry-After is honoured before the second try, which succeeds."""
    responses.post(SLACK_URL, status=429, body="rate_limited", headers={"Retry-After": "7"})
    responses.post(SLACK_URL, status=200, body="ok")
    clock = FakeClock()
    make_client(clock).post("slack", SLACK_URL, MESSAGE)
    assert (2, True) == (len(responses.calls), 7.0 <= clock.sleeps[0] <= 8.0)


@responses.activate
def test_5xx_that_outlasts_the_attempts_is_a_chat_error() -> None:
    """A service down for every attempt fails with the status and the number of attempts."""
    responses.post(TEAMS_URL, status=503)
    with pytest.raises(ChatError) as caught:
        make_client().post("teams", TEAMS_URL, MESSAGE)
    assert (503, 4, True) == (
        caught.value.status,
        len(responses.calls),
        "after 4 attempt(s)" in str(caught.value),
    )


@responses.activate
def test_retry_after_beyond_the_time_left_is_not_waited() -> None:
    """A wait the invocation cannot afford is not started: one try, then the error."""
    responses.post(SLACK_URL, status=429, body="rate_limited", headers={"Retry-After": "20"})
    client = make_client()
    client.time_left = lambda: 5.0
    with pytest.raises(ChatError, match="answered 429"):
        client.post("slack", SLACK_URL, MESSAGE)
    assert 1 == len(responses.calls)


# --- 4xx ----------------------------------------------------------------------------------------


@responses.activate
def test_404_says_the_webhook_was_deleted() -> None:
    """A deleted webhook names the kind and secret key and says how to fix it."""
    responses.post(SLACK_URL, status=404, body="no_service")
    with pytest.raises(ChatError) as caught:
        make_client().post("slack", SLACK_URL, MESSAGE)
    assert (
        "the webhook for slack (secret key slack_webhook_url) answered 404: it was deleted or "
        "the URL is wrong; create a new incoming webhook and update the secret "
        "(slack said: no_service)",
        404,
    ) == (str(caught.value), caught.value.status)


@responses.activate
def test_4xx_is_not_retried() -> None:
    """A refusal other than 429 is final: one request only."""
    responses.post(SLACK_URL, status=404, body="no_service")
    with pytest.raises(ChatError):
        make_client().post("slack", SLACK_URL, MESSAGE)
    assert 1 == len(responses.calls)


@responses.activate
def test_error_names_the_secret_key_given() -> None:
    """A caller that keeps the URL under another key sees that key in the error."""
    responses.post(TEAMS_URL, status=404, json={"error": {"code": "WorkflowNotFound"}})
    with pytest.raises(ChatError, match=r"teams \(secret key ops_teams_url\) answered 404"):
        make_client().post("teams", TEAMS_URL, MESSAGE, secret_key="ops_teams_url")


@responses.activate
def test_410_says_the_channel_was_archived() -> None:
    """Slack answers 410 channel_is_archived for an archived channel."""
    responses.post(SLACK_URL, status=410, body="channel_is_archived")
    with pytest.raises(ChatError, match="its channel was archived"):
        make_client().post("slack", SLACK_URL, MESSAGE)


@responses.activate
def test_403_says_a_policy_forbids_the_post() -> None:
    """Slack's action_prohibited (403) points at the workspace policy."""
    responses.post(SLACK_URL, status=403, body="action_prohibited")
    with pytest.raises(ChatError, match=r"may not post there.*action_prohibited"):
        make_client().post("slack", SLACK_URL, MESSAGE)


@responses.activate
def test_400_quotes_the_service_error_code() -> None:
    """Slack's invalid_blocks code is quoted so the cause is visible."""
    responses.post(SLACK_URL, status=400, body="invalid_blocks")
    with pytest.raises(ChatError, match=r"answered 400: .*\(slack said: invalid_blocks\)$"):
        make_client().post("slack", SLACK_URL, MESSAGE)


@responses.activate
def test_free_text_error_body_is_not_quoted() -> None:
    """A body that could echo the URL is left out of the error."""
    responses.post(TEAMS_URL, status=400, body=f"bad request for {TEAMS_URL}")
    with pytest.raises(ChatError) as caught:
        make_client().post("teams", TEAMS_URL, MESSAGE)
    assert_url_absent(caught.value)


@responses.activate
def test_redirect_is_not_followed() -> None:
    """A 302 is a wrong URL, not something to chase with the message."""
    responses.post(SLACK_URL, status=302, headers={"Location": "https://elsewhere.example/"})
    with pytest.raises(ChatError, match="answered 302, a redirect"):
        make_client().post("slack", SLACK_URL, MESSAGE)


# --- the URL is a secret ------------------------------------------------------------------------


@responses.activate
def test_http_error_never_holds_the_url() -> None:
    """The 404 error's message, args, repr and traceback hold no part of the URL's secret."""
    responses.post(SLACK_URL, status=404, body="no_service")
    with pytest.raises(ChatError) as caught:
        make_client().post("slack", SLACK_URL, MESSAGE)
    assert_url_absent(caught.value)


@responses.activate
def test_connection_refused_is_a_chat_error_without_the_url() -> None:
    """requests' own exception (which holds the URL's path) is neither shown nor chained."""
    responses.post(SLACK_URL, body=connection_refused())
    with pytest.raises(ChatError, match="could not reach the webhook for slack") as caught:
        make_client().post("slack", SLACK_URL, MESSAGE)
    assert_url_absent(caught.value)


@responses.activate
def test_connection_refused_is_retried() -> None:
    """A request that never left is safe to repeat: every attempt is used."""
    responses.post(SLACK_URL, body=connection_refused())
    with pytest.raises(ChatError):
        make_client().post("slack", SLACK_URL, MESSAGE)
    assert 4 == len(responses.calls)


@responses.activate
def test_read_timeout_may_have_posted_and_is_not_repeated() -> None:
    """After a lost answer the message may be in the channel: one try, maybe_sent set."""
    responses.post(SLACK_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ChatError) as caught:
        make_client().post("slack", SLACK_URL, MESSAGE)
    assert (1, True) == (len(responses.calls), caught.value.maybe_sent)


def test_http_url_is_refused_without_echoing_it() -> None:
    """A webhook must be https; the error names the secret key, not the URL."""
    with pytest.raises(SecretError) as caught:
        make_client().post("slack", SLACK_URL.replace("https", "http"), MESSAGE)
    assert (True, False) == (
        "slack_webhook_url" in str(caught.value),
        "xoxwebhooksecret" in everything_said(caught.value),
    )


@pytest.mark.parametrize(
    "url",
    ["", "hooks.slack.com/services/x", f" {SLACK_URL}", f"{SLACK_URL}\n", "https:///x"],
)
def test_malformed_url_is_a_secret_error(url: str) -> None:
    """Empty, schemeless, padded or hostless URLs fail before any request."""
    with pytest.raises(SecretError, match="secret key slack_webhook_url"):
        make_client().post("slack", url, MESSAGE)


@responses.activate
def test_http_to_127_0_0_1_is_allowed_for_the_stand_in() -> None:
    """Plain http is accepted for the local stand-in only."""
    responses.post("http://127.0.0.1:8765/slack/abc", status=200, body="ok")
    make_client().post("slack", "http://127.0.0.1:8765/slack/abc", MESSAGE)
    assert 1 == len(responses.calls)


def test_http_to_another_host_is_refused() -> None:
    """localhost names or LAN addresses do not get the stand-in's exception."""
    with pytest.raises(SecretError, match="https://"):
        make_client().post("slack", "http://10.0.0.5/slack/abc", MESSAGE)


def test_unknown_kind_is_refused() -> None:
    """Only slack and teams can be posted to."""
    with pytest.raises(ValueError, match="slack, teams"):
        make_client().post("discord", SLACK_URL, MESSAGE)  # type: ignore[arg-type]


def test_secret_key_that_is_not_a_key_name_is_refused() -> None:
    """A URL passed as the key name by mistake is not echoed into an error."""
    with pytest.raises(ValueError, match="secret key name") as caught:
        make_client().post("slack", SLACK_URL, MESSAGE, secret_key=SLACK_URL)
    assert_url_absent(caught.value)


def test_default_secret_key_is_kind_webhook_url() -> None:
    """Without a key name the error speaks of <kind>_webhook_url."""
    assert ("slack_webhook_url", "teams_webhook_url") == (
        default_secret_key("slack"),
        default_secret_key("teams"),
    )


def test_mask_url_keeps_only_scheme_and_host() -> None:
    """A log line may say where a webhook points, never its path or signature."""
    assert "https://prod-12.westeurope.logic.azure.com/…" == mask_url(TEAMS_URL)


@responses.activate
def test_post_registers_the_url_secrets_with_the_redactor() -> None:
    """Text quoting the URL's path or Teams' sig elsewhere (a log line) is masked at the exits."""
    responses.post(TEAMS_URL, status=202)
    make_client().post("teams", TEAMS_URL, MESSAGE)
    assert f"sig={MASK} from {MASK}" == REDACTOR.mask(f"sig={TEAMS_SIG} from {TEAMS_URL}")


@responses.activate
def test_post_registers_the_url_path_as_requests_quotes_it() -> None:
    """requests' "Max retries exceeded with url: /services/…" is masked once the URL was used."""
    responses.post(SLACK_URL, status=200, body="ok")
    make_client().post("slack", SLACK_URL, MESSAGE)
    assert f"with url: {MASK}" == REDACTOR.mask(f"with url: /services/{SLACK_TOKEN}")


@responses.activate
def test_redactor_leaves_short_url_words_alone() -> None:
    """Only token-length parts are registered: a word like "workflows" stays readable."""
    responses.post(TEAMS_URL, status=202)
    make_client().post("teams", TEAMS_URL, MESSAGE)
    assert "workflows triggers manual invoke" == REDACTOR.mask("workflows triggers manual invoke")


@responses.activate
def test_413_says_the_message_is_too_large() -> None:
    """A refusal for size says what to change."""
    responses.post(TEAMS_URL, status=413)
    with pytest.raises(ChatError, match="too large; send fewer or shorter lines"):
        make_client().post("teams", TEAMS_URL, MESSAGE)


@responses.activate
def test_invalid_url_from_requests_is_a_chat_error_without_the_url() -> None:
    """requests' InvalidURL (its message holds the URL) becomes an error naming the key."""
    responses.post(SLACK_URL, body=requests.exceptions.InvalidURL(f"bad {SLACK_URL}"))
    with pytest.raises(ChatError, match="not a usable URL") as caught:
        make_client().post("slack", SLACK_URL, MESSAGE)
    assert_url_absent(caught.value)


def test_mask_url_of_something_else_names_no_part_of_it() -> None:
    """A value that is not a URL is not echoed either."""
    assert "<webhook URL>" == mask_url("xoxwebhooksecret")
