"""Response Management responses: fetched through the seam (HTTP answered by `responses`) and
checked against the variables a WhatsApp send gives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from gcnotify.core.errors import GenesysPermissionError, GenesysRequestError
from gcnotify.genesys.client import GenesysClient
from gcnotify.genesys.responses import (
    ResponseTemplate,
    Substitution,
    fetch_response,
    substitution_problems,
)
from tests.support import FakeClock

LOGIN = "https://login.mypurecloud.test"
API = "https://api.mypurecloud.test"
RESPONSE_ID = "4e2f6a8c-0b1d-4e3f-9a5b-7c9d1e3f5a7b"
RESPONSE_URL = f"{API}/api/v2/responsemanagement/responses/{RESPONSE_ID}"

# A Response as the SDK model describes it (messagingTemplate.whatsApp, substitutions).
ANSWER: dict[str, Any] = {
    "id": RESPONSE_ID,
    "name": "Order shipped (WhatsApp)",
    "version": 3,
    "libraries": [{"id": "lib-1", "name": "WhatsApp", "selfUri": "/api/v2/x"}],
    "texts": [{"content": "Order {{order_id}} via {{carrier}}", "contentType": "text/plain"}],
    "substitutions": [
        {"id": "order_id", "description": "Order number"},
        {"id": "carrier", "description": "Carrier", "defaultValue": "our courier"},
    ],
    "substitutionsSchema": {"type": "object", "properties": {}},
    "responseType": "MessagingTemplate",
    "messagingTemplate": {"whatsApp": {"name": "order_shipped", "language": "en_US"}},
    "selfUri": f"/api/v2/responsemanagement/responses/{RESPONSE_ID}",
}
TEMPLATE = ResponseTemplate(
    id=RESPONSE_ID,
    name="Order shipped (WhatsApp)",
    response_type="MessagingTemplate",
    substitutions=(Substitution("order_id", None), Substitution("carrier", "our courier")),
    whatsapp_name="order_shipped",
    language="en_US",
)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        mock.post(
            f"{LOGIN}/oauth/token",
            json={"access_token": "tok-1a2b3c", "token_type": "bearer", "expires_in": 86400},
        )
        yield mock


@pytest.fixture
def client() -> GenesysClient:
    clock = FakeClock()
    return GenesysClient(
        login_url=LOGIN,
        api_url=API,
        client_id="cid",
        client_secret="secret-value-123",
        session=requests.Session(),
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.5,
    )


def error_body(status: int, message: str, code: str) -> dict[str, Any]:
    return {"message": message, "code": code, "status": status, "contextId": "ctx-9"}


def test_a_response_is_read_with_its_substitutions(
    rsps: responses.RequestsMock, client: GenesysClient
) -> None:
    """The response, asked for with its substitutions schema, becomes a ResponseTemplate."""
    rsps.get(
        RESPONSE_URL,
        match=[matchers.query_param_matcher({"expand": "substitutionsSchema"})],
        json=ANSWER,
    )
    assert TEMPLATE == fetch_response(client, RESPONSE_ID)


def test_a_missing_response_says_it_is_not_in_this_org(
    rsps: responses.RequestsMock, client: GenesysClient
) -> None:
    """A 404 names the response id and says it does not exist in this org."""
    rsps.get(RESPONSE_URL, status=404, json=error_body(404, "Not found", "not.found"))
    with pytest.raises(GenesysRequestError) as info:
        fetch_response(client, RESPONSE_ID)
    assert 404 == info.value.status
    assert f"{RESPONSE_ID!r} does not exist in this Genesys Cloud org" in str(info.value)


def test_403_names_the_view_permission(rsps: responses.RequestsMock, client: GenesysClient) -> None:
    """A 403 names responses:response:view."""
    rsps.get(RESPONSE_URL, status=403, json=error_body(403, "no", "missing.any.permissions"))
    with pytest.raises(GenesysPermissionError, match="responses:response:view"):
        fetch_response(client, RESPONSE_ID)


def test_other_4xx_is_passed_on(rsps: responses.RequestsMock, client: GenesysClient) -> None:
    """A 400 is not reworded as a missing response."""
    rsps.get(RESPONSE_URL, status=400, json=error_body(400, "bad id", "bad.request"))
    with pytest.raises(GenesysRequestError) as info:
        fetch_response(client, RESPONSE_ID)
    assert 400 == info.value.status
    assert "does not exist" not in str(info.value)


def test_the_id_is_quoted_into_one_path_segment(
    rsps: responses.RequestsMock, client: GenesysClient
) -> None:
    """An id holding '/' or '?' cannot reach another endpoint."""
    rsps.get(
        f"{API}/api/v2/responsemanagement/responses/a%2F..%2Fb%3Fc",
        json=ANSWER | {"id": "a/../b?c"},
    )
    assert "a/../b?c" == fetch_response(client, "a/../b?c").id


def test_an_empty_id_is_refused_before_any_call(client: GenesysClient) -> None:
    """No request goes out for an empty id."""
    with pytest.raises(ValueError, match="empty"):
        fetch_response(client, " ")
    assert 0 == client.calls


def test_a_plain_response_reads_without_whatsapp(
    rsps: responses.RequestsMock, client: GenesysClient
) -> None:
    """A response without a messaging template or substitutions reads as such."""
    rsps.get(
        RESPONSE_URL,
        json={"id": RESPONSE_ID, "name": "Footer", "responseType": "Footer", "libraries": []},
    )
    template = fetch_response(client, RESPONSE_ID)
    assert ("Footer", (), None, None) == (
        template.response_type,
        template.substitutions,
        template.whatsapp_name,
        template.language,
    )


def test_an_answer_without_id_is_an_error(
    rsps: responses.RequestsMock, client: GenesysClient
) -> None:
    """An answer that is not a Response is refused rather than read as an empty template."""
    rsps.get(RESPONSE_URL, json={"entities": []})
    with pytest.raises(GenesysRequestError, match="without a response id"):
        fetch_response(client, RESPONSE_ID)


# ------------------------------------------------------------ substitution_problems


def test_values_for_every_substitution_fit() -> None:
    """Every substitution given: no problem."""
    assert [] == substitution_problems(TEMPLATE, {"order_id", "carrier"})


def test_a_default_covers_a_missing_value() -> None:
    """A substitution with a default may be left out."""
    assert [] == substitution_problems(TEMPLATE, ["order_id"])


def test_a_substitution_without_value_or_default_is_a_problem() -> None:
    """Leaving out a substitution that has no default is named."""
    [problem] = substitution_problems(TEMPLATE, [])
    assert "substitution 'order_id'" in problem
    assert "no value and no default" in problem


def test_an_empty_default_still_counts_as_a_default() -> None:
    """Genesys sends an empty default as given; only a missing default is a problem."""
    template = ResponseTemplate(
        RESPONSE_ID, "n", "MessagingTemplate", (Substitution("x", ""),), "wa", "en_US"
    )
    assert [] == substitution_problems(template, [])


def test_an_unknown_variable_is_a_problem() -> None:
    """A variable the response has no substitution for would be dropped: it is named."""
    [problem] = substitution_problems(TEMPLATE, ["order_id", "tracking"])
    assert "variable 'tracking' is not a substitution" in problem
    assert "'order_id', 'carrier'" in problem


def test_a_response_that_is_not_a_whatsapp_template_is_a_problem() -> None:
    """A footer or campaign template cannot be sent as a WhatsApp template."""
    template = ResponseTemplate(RESPONSE_ID, "n", "CampaignSmsTemplate", (), None, None)
    [problem] = substitution_problems(template, [])
    assert "is CampaignSmsTemplate, not a MessagingTemplate" in problem


def test_a_messaging_template_without_whatsapp_is_a_problem() -> None:
    """A MessagingTemplate with no WhatsApp definition is refused too."""
    template = ResponseTemplate(RESPONSE_ID, "n", "MessagingTemplate", (), None, None)
    assert 1 == len(substitution_problems(template, []))


def test_every_problem_is_listed_at_once() -> None:
    """The kind, a missing value and an unknown variable come back together."""
    template = ResponseTemplate(
        RESPONSE_ID, "n", None, (Substitution("a", None), Substitution("b", None)), None, None
    )
    assert 4 == len(substitution_problems(template, ["zz"]))
