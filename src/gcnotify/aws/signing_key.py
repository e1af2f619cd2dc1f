"""Read the download links' signing key from the credentials secret.

The download function needs this one value and none of the Genesys or SendGrid credentials
beside it, so it does not go through ``secrets.load_credentials`` (which requires those). The
value is registered with the redactor at once, and every error names the secret id and the key,
never a value.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import SecretError
from gcnotify.core.links import MIN_KEY_BYTES
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["SIGNING_KEY", "load_signing_key", "parse_signing_key"]

SIGNING_KEY = "download_signing_key"
_HOW = (
    f'add "{SIGNING_KEY}": a random value of at least {MIN_KEY_BYTES} characters, e.g. from '
    'python -c "import secrets; print(secrets.token_urlsafe(32))"'
)


def parse_signing_key(secret_id: str, secret_string: str | None) -> bytes:
    """The key's UTF-8 bytes, checked long enough to resist guessing."""
    try:
        data: Any = json.loads(secret_string or "")
    except ValueError:
        # Not `from exc`: the JSON error's message quotes part of the secret text.
        raise SecretError(f"secret {secret_id!r} is not a JSON object; {_HOW}") from None
    if not isinstance(data, dict):
        raise SecretError(f"secret {secret_id!r} is not a JSON object; {_HOW}")
    value = data.get(SIGNING_KEY)
    if not isinstance(value, str) or not value.strip():
        raise SecretError(f"secret {secret_id!r} has no {SIGNING_KEY}; {_HOW}")
    value = value.strip()
    REDACTOR.add(value)
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise SecretError(
            f"secret {secret_id!r} key {SIGNING_KEY} is shorter than {MIN_KEY_BYTES} bytes; "
            f"replace it: {_HOW}"
        )
    return key


def load_signing_key(client: SecretsManagerClient, secret_id: str) -> bytes:
    """Fetch the secret and return its signing key; AWS errors become ``SecretError``."""
    from gcnotify.aws.secrets import read_secret_string

    return parse_signing_key(secret_id, read_secret_string(client, secret_id))
