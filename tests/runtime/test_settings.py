"""Environment variables, read in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from gcnotify.core.config import parse_config
from gcnotify.runtime.resources import default_config_path
from gcnotify.runtime.settings import ENV_VARS, Settings

CONFIG = parse_config(
    {
        "genesys": {"environment": "mypurecloud.ie"},
        "sendgrid": {"from": {"email": "r@example.com"}, "data_residency": "eu"},
        "secret_id": "from/config",
        "reports": [
            {
                "id": "a",
                "title": "A",
                "timezone": "Europe/Dublin",
                "queues": ["Q"],
                "recipients": {"to": ["x@example.com"]},
            }
        ],
    }
)


def test_defaults_derive_hosts_from_environment() -> None:
    """With no overrides the hosts come from the region domain and residency."""
    settings = Settings.from_env({})
    endpoints = settings.endpoints(CONFIG)
    assert endpoints.genesys_login == "https://login.mypurecloud.ie"
    assert endpoints.genesys_api == "https://api.mypurecloud.ie"
    assert endpoints.sendgrid == "https://api.eu.sendgrid.com"
    assert default_config_path() == settings.config_path


def test_empty_values_count_as_unset() -> None:
    """SAM declares unused overrides as ''; they must not become empty URLs."""
    settings = Settings.from_env({"GCNOTIFY_GENESYS_API_URL": "", "AWS_ENDPOINT_URL": " "})
    assert settings.genesys_api_url is None
    assert settings.aws_endpoint_url is None


def test_overrides_win() -> None:
    """Env overrides point the seams at local servers."""
    settings = Settings.from_env(
        {
            "GCNOTIFY_CONFIG": "/x/c.yaml",
            "GCNOTIFY_GENESYS_LOGIN_URL": "http://127.0.0.1:1/",
            "GCNOTIFY_GENESYS_API_URL": "http://127.0.0.1:2",
            "GCNOTIFY_SENDGRID_API_URL": "http://127.0.0.1:3",
            "GCNOTIFY_SECRET_ID": "from/env",
        }
    )
    endpoints = settings.endpoints(CONFIG)
    assert Path("/x/c.yaml") == settings.config_path
    assert endpoints.genesys_login == "http://127.0.0.1:1"
    assert endpoints.sendgrid == "http://127.0.0.1:3"
    assert settings.resolve_secret_id(CONFIG) == "from/env"


def test_secret_id_from_config_then_default() -> None:
    """GCNOTIFY_SECRET_ID wins, then secret_id in the config."""
    assert Settings.from_env({}).resolve_secret_id(CONFIG) == "from/config"


def test_env_vars_are_the_documented_list() -> None:
    """The names the code reads are exactly the documented ones (docs/CONFIG.md; test_template.py
    checks that template.yaml declares each)."""
    assert (
        "GCNOTIFY_CONFIG",
        "GCNOTIFY_SECRET_ID",
        "GCNOTIFY_GENESYS_LOGIN_URL",
        "GCNOTIFY_GENESYS_API_URL",
        "GCNOTIFY_SENDGRID_API_URL",
        "GCNOTIFY_LEDGER_TABLE",
        "GCNOTIFY_ARTIFACT_BUCKET",
        "GCNOTIFY_DOWNLOAD_URL",
        "GCNOTIFY_MESSAGES_TABLE",
        "GCNOTIFY_SUPPRESSION_TABLE",
        "GCNOTIFY_OUTBOX_QUEUE_URL",
        "GCNOTIFY_OUTBOX_MAX_RECEIVES",
        "AWS_ENDPOINT_URL",
    ) == ENV_VARS
    values = {"GCNOTIFY_OUTBOX_MAX_RECEIVES": "7"}
    read = {
        name
        for name in ENV_VARS
        if Settings.from_env({name: values.get(name, "x")}) != Settings.from_env({})
    }
    assert set(ENV_VARS) == read


def test_the_outbox_receive_count_must_be_a_whole_number() -> None:
    assert Settings.from_env({"GCNOTIFY_OUTBOX_MAX_RECEIVES": "7"}).outbox_max_receives == 7
    with pytest.raises(ValueError, match="maxReceiveCount"):
        Settings.from_env({"GCNOTIFY_OUTBOX_MAX_RECEIVES": "five"})


def test_artifact_bucket_and_download_url_are_read() -> None:
    """The artifact bucket and the download function's URL come from the environment."""
    settings = Settings.from_env(
        {
            "GCNOTIFY_ARTIFACT_BUCKET": "gcnotify-artifacts",
            "GCNOTIFY_DOWNLOAD_URL": "https://abc.lambda-url.eu-west-1.on.aws/",
        }
    )
    assert ("gcnotify-artifacts", "https://abc.lambda-url.eu-west-1.on.aws/") == (
        settings.artifact_bucket,
        settings.download_url,
    )
