"""Agentless sends through the Genesys seam: the body builders, ``post_once`` and ``patch_json``
over a real requests Session, with HTTP answered by `responses`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from gcnotify.core.errors import GenesysPermissionError
from gcnotify.genesys.client import GenesysClient
from tests.support import FakeClock

LOGIN = "https://login.mypurecloud.test"
API = "https://api.mypurecloud.test"
TOKEN_URL = f"{LOGIN}/oauth/token"
CLIENT_ID = "7d3c2b1a-client-id-4e5f"
SECRET = "Sup3r-S3cret-client-VALUE-x9"
TOKEN = "tok-FIRST-bearer-9f8e7d6c5b4a"
TOKEN2 = "tok-SECOND-bearer-1a2b3c4d5e6f"
DNC_PATH = "/api/v2/outbound/dnclists/9a1e0c3d/phonenumbers"
DNC_URL = API + DNC_PATH


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


def make_client(clock: FakeClock, **kwargs: Any) -> GenesysClient:
    return GenesysClient(
        login_url=LOGIN,
        api_url=API,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        session=requests.Session(),
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.5,
        **kwargs,
    )


def add_token(rsps: responses.RequestsMock, token: str = TOKEN) -> None:
    rsps.post(TOKEN_URL, json={"access_token": token, "token_type": "bearer", "expires_in": 86400})


def error_body(status: int, message: str, code: str) -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "status": status,
        "contextId": "ctx-1234-abcd",
        "details": [],
        "errors": [],
    }


# ---------------------------------------------------------------- patch_json


def test_patch_without_answer_body_is_none(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 204 (or 200 with an empty body) to a PATCH is None, and the body went out as JSON."""
    add_token(rsps)
    rsps.patch(DNC_URL, status=204)
    body = {"action": "Add", "phoneNumbers": ["+15550100100"]}
    assert None is make_client(clock).patch_json(DNC_PATH, body)
    sent = rsps.calls[1].request
    assert (body, "application/json") == (json.loads(sent.body), sent.headers["Content-Type"])


def test_patch_with_answer_body_returns_it(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A PATCH answered with a JSON object returns that object."""
    add_token(rsps)
    rsps.patch(DNC_URL, json={"id": "9a1e0c3d", "version": 4})
    assert {"id": "9a1e0c3d", "version": 4} == make_client(clock).patch_json(DNC_PATH, {})


def test_patch_is_retried_on_503(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A PATCH is repeatable, so a 503 is retried like a GET."""
    add_token(rsps)
    rsps.patch(DNC_URL, status=503, json=error_body(503, "busy", "service.unavailable"))
    rsps.patch(DNC_URL, status=204)
    client = make_client(clock)
    assert (None, 3) == (client.patch_json(DNC_PATH, {}), client.calls)


def test_patch_403_names_the_permission(rsps: responses.RequestsMock, clock: FakeClock) -> None:
    """A 403 to a PATCH names the permission the caller passed."""
    add_token(rsps)
    rsps.patch(DNC_URL, status=403, json=error_body(403, "no", "missing.any.permissions"))
    with pytest.raises(GenesysPermissionError) as info:
        make_client(clock).patch_json(DNC_PATH, {}, permission="outbound:dncList:edit")
    assert "outbound:dncList:edit" in str(info.value)
