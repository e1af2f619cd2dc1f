"""Secrets never leave, whatever a provider echoes: end to end over real sockets, every exit
(results, the raised summary, ledger records, alert mails, logs) checked for every form."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from gcnotify.aws.ledger import Ledger
from gcnotify.cli.demo import DemoStack
from gcnotify.core.errors import RunFailedError, SecretError
from gcnotify.runtime.redact import REDACTOR
from tests.test_e2e import AGGREGATES, MAIL, alerts, invoke, only_daily, secret_values

pytestmark = pytest.mark.e2e

TOKEN = "/oauth/token"


def everything_seen(
    stack: DemoStack, event: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> str:
    """Every text a person could see after one invocation, joined."""
    seen: list[str] = []
    try:
        seen.append(json.dumps(invoke(stack, event)))
    except Exception as exc:
        seen.extend([str(exc), repr(exc), repr(exc.args)])
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url)
    table = stack.environ["GCNOTIFY_LEDGER_TABLE"]
    seen.extend(json.dumps(item) for item in client.scan(TableName=table)["Items"])
    for message in stack.sendgrid.messages:
        seen.extend([message.subject, message.text, message.html or ""])
    seen.append(caplog.text)
    return "\n".join(seen)


def forms(value: str) -> list[str]:
    return [value, repr(value)[1:-1], json.dumps(value)[1:-1]]


@pytest.fixture(autouse=True)
def fresh_redactor() -> None:
    REDACTOR.clear()


def test_a_sendgrid_error_quoting_the_key_is_masked_everywhere(
    stack: DemoStack, caplog: pytest.LogCaptureFixture
) -> None:
    """A 400 whose text holds the API key: the error, ledger, alert and logs show no key."""
    caplog.set_level(logging.DEBUG)
    key = secret_values(stack)[1]
    stack.sendgrid.fail_next(
        MAIL, 400, body={"errors": [{"message": f"bad header 'Bearer {key}'", "field": None}]}
    )
    seen = everything_seen(stack, only_daily(stack), caplog)
    assert "SendGridRequestError" in seen  # the failure itself is reported
    assert "[redacted]" in seen
    for value in forms(key):
        assert value not in seen


def test_a_genesys_error_echoing_the_client_secret_and_token_is_masked(
    stack: DemoStack, caplog: pytest.LogCaptureFixture
) -> None:
    """A 400 on the query that echoes the client secret and the bearer token: masked."""
    caplog.set_level(logging.DEBUG)
    client_secret = secret_values(stack)[0]

    def echo() -> dict[str, Any]:
        token = stack.genesys.issued_tokens[-1]
        return {"message": f"secret={client_secret!r} token={token}", "code": "bad.request"}

    invoke(stack, {**only_daily(stack), "dry_run": True})  # issues a token
    stack.genesys.fail_next(AGGREGATES, 400, body=echo())
    seen = everything_seen(stack, {**only_daily(stack), "force": True}, caplog)
    assert "GenesysRequestError" in seen
    for value in [*forms(client_secret), *stack.genesys.issued_tokens]:
        assert value not in seen


def test_a_token_with_control_characters_is_refused_without_echo(
    stack: DemoStack, caplog: pytest.LogCaptureFixture
) -> None:
    """A token holding CR/LF never becomes a header, and its text reaches no one."""
    caplog.set_level(logging.DEBUG)
    evil = "abcdefgh1234\r\nX-Injected: yes"
    stack.genesys.fail_next(
        TOKEN, 200, body={"access_token": evil, "token_type": "bearer", "expires_in": 86399}
    )
    seen = everything_seen(stack, only_daily(stack), caplog)
    assert "GenesysAuthError" in seen
    assert "control characters" in seen
    for value in [*forms(evil), "X-Injected"]:
        assert value not in seen
    assert 1 == len(alerts(stack))


def test_a_key_shaped_text_in_an_error_never_stops_the_alert(
    stack: DemoStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone else's SendGrid key in Genesys' error text: masked, the alert still goes out."""
    foreign = "SG.abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
    stack.genesys.fail_next(AGGREGATES, 400, body={"message": f"quota for {foreign}"})
    with pytest.raises(RunFailedError) as info:
        invoke(stack, only_daily(stack))
    assert '"alerts_sent": 1' in str(info.value)
    [alert] = alerts(stack)
    assert foreign not in alert.text + str(info.value) + caplog.text


def test_a_secret_value_with_a_control_character_is_refused_by_key_name(
    stack: DemoStack,
) -> None:
    """A pasted line break in the secret: an error naming the key, never the value."""
    from tests.test_e2e import put_secret

    broken = secret_values(stack)[0] + "\n"
    put_secret(stack, genesys_client_secret="x" + broken + "y")
    with pytest.raises(SecretError) as info:
        invoke(stack, only_daily(stack))
    text = str(info.value)
    assert "genesys_client_secret" in text
    assert "control characters" in text
    assert broken.strip() not in text


def test_the_ledger_never_stores_a_secret(stack: DemoStack) -> None:
    """A recorded failure whose error quoted the key holds the mask, not the key."""
    key = secret_values(stack)[1]
    stack.sendgrid.fail_next(MAIL, 400, body={"errors": [{"message": f"key {key}"}]})
    with pytest.raises(RunFailedError):
        invoke(stack, only_daily(stack))
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url)
    record = Ledger(client, stack.environ["GCNOTIFY_LEDGER_TABLE"]).lookup(
        "support-daily#2026-11-20"
    )
    assert record is not None
    assert ("failed", True) == (record.status, key not in (record.error or ""))
