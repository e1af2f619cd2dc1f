"""A Genesys client over `responses` for the standup seams' unit tests."""

from __future__ import annotations

import json
from typing import Any

import requests
import responses

from gcnotify.core.retry import RetryPolicy
from gcnotify.genesys.client import GenesysClient
from tests.support import FakeClock

LOGIN = "https://login.mypurecloud.test"
API = "https://api.mypurecloud.test"


def client(clock: FakeClock, rsps: responses.RequestsMock) -> GenesysClient:
    rsps.post(
        f"{LOGIN}/oauth/token",
        json={"access_token": "tok-standup", "token_type": "bearer", "expires_in": 86400},
    )
    return GenesysClient(
        login_url=LOGIN,
        api_url=API,
        client_id="client-id",
        client_secret="client-secret-value",
        session=requests.Session(),
        policy=RetryPolicy(),
        sleep=clock.sleep,
        clock=clock,
        rand=lambda: 0.5,
    )


def forbidden(permission: str) -> dict[str, Any]:
    return {
        "message": f"You are missing the following permission(s): [{permission}]",
        "code": "missing.any.permissions",
        "status": 403,
        "contextId": "ctx-1",
        "details": [],
        "errors": [],
    }


def bodies(rsps: responses.RequestsMock, url_part: str) -> list[Any]:
    """The JSON bodies sent to URLs containing ``url_part``, in order."""
    return [
        json.loads(call.request.body)
        for call in rsps.calls
        if url_part in str(call.request.url) and call.request.body
    ]
