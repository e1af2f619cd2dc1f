"""Local stand-ins for Genesys Cloud and SendGrid, for ``gcnotify demo``, end-to-end tests and
benchmarks. Real HTTP servers on 127.0.0.1 answering in the real shapes; never imported by the
Lambda handler (they need the ``demo`` extra: jsonschema).
"""

from __future__ import annotations

from gcnotify.devserver.genesys_server import GenesysStandIn
from gcnotify.devserver.http_base import RecordedRequest
from gcnotify.devserver.sendgrid_server import SendGridStandIn, StoredMessage
from gcnotify.devserver.traffic import Conversation, TrafficModel, generate

__all__ = [
    "Conversation",
    "GenesysStandIn",
    "RecordedRequest",
    "SendGridStandIn",
    "StoredMessage",
    "TrafficModel",
    "generate",
]
