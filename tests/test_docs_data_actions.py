"""The Genesys data actions shipped in docs/data-actions/: they parse, have the export format's
parts, and their contracts and templates match what the data action endpoint takes and answers.

The request and success templates are rendered with a small subset of Velocity (the constructs
the two files use), so a template that would send broken JSON or a field the endpoint does not
know fails here rather than in a customer's flow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from gcnotify.handlers.data_action import _OPT_OUT_FIELDS, SECRET_HEADER
from gcnotify.messaging.intake import IntakeOutcome
from gcnotify.messaging.request import REQUEST_FIELDS, parse_request_json

DOCS = Path(__file__).resolve().parents[1] / "docs"
ACTIONS = DOCS / "data-actions"
CREDENTIALS = {"dataActionUrl": "https://abc.lambda-url.us-east-1.on.aws/", "sharedSecret": "s3"}

_IF = re.compile(r'#if\("\$!\{input\.(\w+)\}" != ""\)(.*?)#end', re.DOTALL)
_ESCAPED = re.compile(r"\$esc\.jsonString\(\$\{input\.(\w+)\}\)")
_QUIET = re.compile(r"\$!\{input\.(\w+)\}")
_FORMAL = re.compile(r"\$\{(credentials|input)\.(\w+)\}")
_OUTPUT = re.compile(r"\$\{(\w+)\}")


def render(template: str, inputs: dict[str, str], credentials: dict[str, str]) -> str:
    """Velocity as the two actions use it: #if on an empty quiet reference, esc.jsonString,
    quiet and formal references (a formal one to nothing stays as written, as in Velocity)."""
    text = _IF.sub(lambda m: m.group(2) if inputs.get(m.group(1)) else "", template)
    text = _ESCAPED.sub(lambda m: json.dumps(inputs[m.group(1)])[1:-1], text)
    text = _QUIET.sub(lambda m: inputs.get(m.group(1), ""), text)
    values = {"credentials": credentials, "input": inputs}
    return _FORMAL.sub(lambda m: values[m.group(1)].get(m.group(2), m.group(0)), text)


def respond(action: dict[str, Any], answer: dict[str, Any]) -> Any:
    """The action's output for an endpoint answer: translation map, defaults, success template."""
    response = action["config"]["response"]
    found: dict[str, str] = {}
    for name, path in response["translationMap"].items():
        key = path.removeprefix("$.")
        if key in answer:
            found[name] = json.dumps(answer[key])
        else:
            found[name] = response.get("translationMapDefaults", {})[name]
    return json.loads(_OUTPUT.sub(lambda m: found[m.group(1)], response["successTemplate"]))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ACTIONS / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", ["opt-out", "notify"])
def test_the_file_has_the_export_formats_parts(name: str) -> None:
    """Top-level keys, a POST to the function URL's path, the secret header from credentials."""
    action = load(name)
    request = action["config"]["request"]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert (
        {"name", "integrationType", "actionType", "config", "contract", "secure"},
        "custom-rest-actions",
        "custom",
        True,
        "POST",
        f"${{credentials.dataActionUrl}}{name}",
        "${credentials.sharedSecret}",
        {"input", "output"},
    ) == (
        set(action),
        action["integrationType"],
        action["actionType"],
        action["secure"],
        request["requestType"],
        request["requestUrlTemplate"],
        headers[SECRET_HEADER],
        set(action["contract"]),
    )
    Draft4Validator.check_schema(action["contract"]["input"]["inputSchema"])
    Draft4Validator.check_schema(action["contract"]["output"]["successSchema"])


def test_the_opt_out_contract_is_the_endpoints_fields() -> None:
    """Inputs: exactly address, keyword and channel, all required."""
    schema = load("opt-out")["contract"]["input"]["inputSchema"]
    assert (set(_OPT_OUT_FIELDS), set(_OPT_OUT_FIELDS)) == (
        set(schema["properties"]),
        set(schema["required"]),
    )


def test_the_notify_contract_offers_every_request_field() -> None:
    """Inputs: the request's fields, key and template required."""
    schema = load("notify")["contract"]["input"]["inputSchema"]
    assert (set(REQUEST_FIELDS), {"key", "template"}) == (
        set(schema["properties"]),
        set(schema["required"]),
    )


def test_the_opt_out_body_is_json_with_the_three_fields_escaped() -> None:
    """A quote, a backslash and a line break in an input still make one valid JSON body."""
    action = load("opt-out")
    inputs = {"address": '+1 317 "555" \\ 0100\n', "keyword": "STOP", "channel": "sms"}
    body = json.loads(render(action["config"]["request"]["requestTemplate"], inputs, CREDENTIALS))
    assert inputs == body


def test_the_notify_body_leaves_out_empty_inputs_and_is_a_valid_request() -> None:
    """Only what the flow set is sent; variables go in as an object; the intake's own parser
    accepts the body."""
    action = load("notify")
    inputs = {
        "key": "ORD-998877-shipped",
        "template": "order-shipped",
        "to": "+13175550100",
        "timezone": "",
        "variables": '{"order_id": "ORD-998877", "tracking_link": "https://t.example.com/1"}',
    }
    text = render(action["config"]["request"]["requestTemplate"], inputs, CREDENTIALS)
    body = json.loads(text)
    request = parse_request_json(text, templates={"order-shipped": "sms"})
    assert (
        ["key", "template", "to", "variables"],
        "ORD-998877",
        "+13175550100",
    ) == (list(body), body["variables"]["order_id"], request.to)


def test_the_request_url_is_the_function_urls_path() -> None:
    """The URL from the credentials field, which ends in /, plus the path."""
    action = load("opt-out")
    url = render(action["config"]["request"]["requestUrlTemplate"], {}, CREDENTIALS)
    assert "https://abc.lambda-url.us-east-1.on.aws/opt-out" == url


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("opt-out", {"status": "suppressed", "problems": []}),
        ("opt-out", {"status": "unsuppressed"}),
        ("notify", IntakeOutcome("accepted", "ORD-1").answer()),
        ("notify", {"status": "duplicate", "key": "ORD-1", "problems": []}),
    ],
)
def test_an_answer_becomes_output_valid_against_the_success_schema(
    name: str, answer: dict[str, Any]
) -> None:
    """The endpoint's answer through the translation map fits the output contract, whose fields
    are the answer's."""
    action = load(name)
    schema = action["contract"]["output"]["successSchema"]
    output = respond(action, answer)
    assert [] == [e.message for e in Draft4Validator(schema).iter_errors(output)]
    assert set(schema["properties"]) == set(output)
    assert answer["status"] == output["status"]


def test_the_intake_answers_only_what_the_notify_output_names() -> None:
    """Every field of the intake's answer has its place in the output contract."""
    schema = load("notify")["contract"]["output"]["successSchema"]
    assert set(IntakeOutcome("accepted", "k").answer()) == set(schema["properties"])


def test_stop_md_shows_the_shipped_files_unchanged() -> None:
    """The JSON blocks of docs/STOP.md are the two files, so the doc never drifts from them."""
    text = (DOCS / "STOP.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)]
    actions = [b for b in blocks if isinstance(b, dict) and "integrationType" in b]
    assert [load("opt-out"), load("notify")] == actions
