"""Read the one credentials secret from AWS Secrets Manager, once per cold start.

The secret values live only inside ``Credentials`` and the HTTP seams' headers: ``Credentials``
redacts itself in ``repr``/``str``, and every error here names the secret id and the keys,
never a value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gcnotify.core.errors import SecretError
from gcnotify.runtime.redact import REDACTOR

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["REQUIRED_KEYS", "Credentials", "load_credentials", "parse_secret"]

REQUIRED_KEYS = ("genesys_client_id", "genesys_client_secret", "sendgrid_api_key")


@dataclass(frozen=True)
class Credentials:
    """The three values gcnotify needs. ``repr`` never shows them."""

    genesys_client_id: str = field(repr=False)
    genesys_client_secret: str = field(repr=False)
    sendgrid_api_key: str = field(repr=False)
    # Further keys the config names (chat webhook URLs, signing keys), by key name.
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return "Credentials(<redacted>)"

    def values(self) -> tuple[str, str, str]:
        """All secret values, for redaction checks."""
        return (self.genesys_client_id, self.genesys_client_secret, self.sendgrid_api_key)


def parse_secret(
    secret_id: str,
    secret_string: str | None,
    extra_keys: Sequence[str] = (),
    optional_keys: Sequence[str] = (),
) -> Credentials:
    """Check the secret's JSON and keys; errors name keys, never values."""
    example = '{"genesys_client_id": "…", "genesys_client_secret": "…", "sendgrid_api_key": "SG.…"}'
    if not secret_string:
        raise SecretError(
            f"secret {secret_id!r} has no SecretString; store a JSON object like {example}"
        )
    try:
        data: Any = json.loads(secret_string)
    except ValueError:
        # Not `from exc`: the JSON error's message quotes part of the secret text.
        raise SecretError(
            f"secret {secret_id!r} is not valid JSON; store a JSON object like {example}"
        ) from None
    if not isinstance(data, dict):
        raise SecretError(f"secret {secret_id!r} must be a JSON object like {example}")
    # Every value may be echoed by some provider one day: mask them all, whatever happens next.
    REDACTOR.add(*(v for v in data.values() if isinstance(v, str)))
    REDACTOR.add(*(v.strip() for v in data.values() if isinstance(v, str)))
    wanted = (*REQUIRED_KEYS, *(k for k in extra_keys if k not in REQUIRED_KEYS))
    missing = [k for k in wanted if not isinstance(data.get(k), str) or not data[k].strip()]
    if missing:
        named = (
            f" (the config names {', '.join(wanted[len(REQUIRED_KEYS) :])})"
            if len(wanted) > len(REQUIRED_KEYS)
            else ""
        )
        raise SecretError(
            f"secret {secret_id!r} is missing or has empty key(s): {', '.join(missing)}; "
            f"it must hold {', '.join(wanted)}{named}"
        )
    # A control character would end up in an HTTP header, and the HTTP library's error about it
    # would quote the value: refuse it here, naming the key only.
    unprintable = [k for k in wanted if not data[k].strip().isprintable()]
    if unprintable:
        raise SecretError(
            f"secret {secret_id!r} key(s) {', '.join(unprintable)} hold control characters "
            "(a pasted line break or tab?); store each value on one line, exactly as issued"
        )
    REDACTOR.add_basic_auth(
        data["genesys_client_id"].strip(), data["genesys_client_secret"].strip()
    )
    return Credentials(
        genesys_client_id=data["genesys_client_id"].strip(),
        genesys_client_secret=data["genesys_client_secret"].strip(),
        sendgrid_api_key=data["sendgrid_api_key"].strip(),
        extra={
            **{
                k: data[k].strip()
                for k in optional_keys
                if isinstance(data.get(k), str) and data[k].strip().isprintable()
            },
            **{k: data[k].strip() for k in extra_keys},
        },
    )


def read_secret_string(client: SecretsManagerClient, secret_id: str) -> str | None:
    """The secret's SecretString; every AWS failure becomes ``SecretError`` with the fix."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        response = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        fixes = {
            "ResourceNotFoundException": "create it (see README 'The secret') or set "
            "GCNOTIFY_SECRET_ID / secret_id to its name",
            "AccessDeniedException": "grant the function secretsmanager:GetSecretValue on it "
            "(template.yaml does this for the SecretName parameter)",
            "DecryptionFailure": "allow the function kms:Decrypt on the secret's KMS key",
        }
        fix = fixes.get(code, "check the secret id and the function's IAM permissions")
        raise SecretError(f"cannot read secret {secret_id!r} ({code}); {fix}") from None
    except NoCredentialsError:
        raise SecretError(
            f"no AWS credentials to read secret {secret_id!r}: configure them (aws configure, "
            "AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); Lambda provides its "
            "role's. To try it with no account, run `gcnotify demo --serve` in another shell and "
            "export the variables it prints"
        ) from None
    except BotoCoreError as exc:
        raise SecretError(
            f"cannot reach Secrets Manager for secret {secret_id!r} ({type(exc).__name__}); "
            "check the network and AWS_ENDPOINT_URL"
        ) from None
    return response.get("SecretString")


def load_credentials(
    client: SecretsManagerClient,
    secret_id: str,
    extra_keys: Sequence[str] = (),
    optional_keys: Sequence[str] = (),
) -> Credentials:
    """Fetch and parse the secret; AWS errors become ``SecretError`` with the fix."""
    return parse_secret(secret_id, read_secret_string(client, secret_id), extra_keys, optional_keys)
