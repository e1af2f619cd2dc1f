"""The DynamoDB tables the operator commands read, found the way the functions find them.

``gcnotify suppress`` and ``gcnotify receipts`` run on an operator's machine: the table's name
comes from the variable the stack's functions read, and the client honours ``AWS_ENDPOINT_URL``
(a local stack). Both steps fail with a message that says what to set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from gcnotify.aws.dynamodb import DynamoTable

__all__ = ["open_table", "table_name"]

T = TypeVar("T", bound=DynamoTable)


def table_name(
    kind: type[DynamoTable], env: Mapping[str, str], resource: str, bad_input: type[Exception]
) -> str:
    """The table's name from ``kind.env_var``; ``bad_input`` naming the stack resource if unset."""
    name = env.get(kind.env_var, "").strip()
    if not name:
        raise bad_input(
            f"{kind.env_var} is not set; set it to the name of the stack's {resource} "
            "(CloudFormation console > the stack > Resources)"
        )
    return name


def open_table(kind: type[T], name: str, env: Mapping[str, str]) -> T:
    """The table, its boto3 client honouring ``AWS_ENDPOINT_URL``; ``kind.error_class`` if the
    client cannot be made (no region or credentials)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    endpoint = env.get("AWS_ENDPOINT_URL", "").strip() or None
    try:
        client = boto3.client("dynamodb", endpoint_url=endpoint)
    except BotoCoreError as exc:
        raise kind.error_class(
            f"cannot create the AWS DynamoDB client ({type(exc).__name__}); set "
            "AWS_DEFAULT_REGION and AWS credentials (aws configure, or AWS_PROFILE)"
        ) from None
    return kind(client, name)
