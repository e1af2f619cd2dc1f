"""Fixtures of the AWS seam tests."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from gcnotify.aws.ledger import Ledger, create_ledger_table


@pytest.fixture
def ledger(aws_env: None) -> Iterator[Ledger]:
    """A ledger on a fresh moto table."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "ledger")
        yield Ledger(client, "ledger")
