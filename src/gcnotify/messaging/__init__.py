"""The notifications pipeline: one message to one customer by SMS, WhatsApp, web messaging, email.

Pure parts: SMS length, encoding and segments with smart encoding (``segments``), sandboxed
message templates (``templates``), the send window, expiry, recipient zone and US state windows
(``policy``, ``state_rules``), the request (``request``) and the config block (``settings``).
With the seams: the intake (``intake``: validate, record once by key, queue), the sender
(``sender``: the policy gate right before each send, the global pace, the exactly-once send),
the providers (``transport``), template pre-flight (``preflight``) and the DNC list sync
(``dnc_sync``).

Other pipelines (campaigns) hand requests in through what this package exports.
"""

from gcnotify.messaging.intake import IntakeOutcome, take
from gcnotify.messaging.request import NotificationRequest, parse_request
from gcnotify.messaging.settings import MessagingSettings, messaging_block, messaging_of

__all__ = [
    "IntakeOutcome",
    "MessagingSettings",
    "NotificationRequest",
    "messaging_block",
    "messaging_of",
    "parse_request",
    "take",
]
