"""Clients for the AWS seams' failure tests: a DynamoDB endpoint nobody listens on."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config as BotoConfig

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def closed_port() -> str:
    """A local URL whose port was free a moment ago: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def dynamodb_client(
    url: str, attempts: int = 3, *, connect_timeout: float = 1, read_timeout: float = 2
) -> DynamoDBClient:
    """A DynamoDB client for ``url`` that gives up quickly (``attempts`` tries, short timeouts)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=BotoConfig(
            retries={"mode": "standard", "max_attempts": attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        ),
    )


def unreachable() -> DynamoDBClient:
    """A client of an endpoint nobody listens on, one try each call."""
    return dynamodb_client(closed_port(), attempts=1)
