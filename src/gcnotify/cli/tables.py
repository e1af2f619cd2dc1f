"""The DynamoDB tables the operator commands read, found the way the functions find them, and
the ``--limit`` those commands share.

``gcnotify suppress`` and ``gcnotify receipts`` run on an operator's machine: the table's name
comes from the variable the stack's functions read, and the client honours ``AWS_ENDPOINT_URL``
(a local stack). Both steps fail with a message that says what to set.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TypeVar

from gcnotify.aws.dynamodb import DynamoTable

__all__ = ["limit_argument", "open_table", "table_name"]

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


def limit_argument(maximum: int) -> Callable[[str], int]:
    """An argparse ``type`` for ``--limit``: a whole number from 1 to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"--limit must be between 1 and {maximum:,}")
        return value

    return parse
