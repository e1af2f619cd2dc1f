"""The notifications pipeline: one message to one customer by SMS, WhatsApp, web messaging, email.

What lives here so far is the pure part, decided from its inputs alone: SMS length, encoding and
segments with smart encoding (``segments``), sandboxed message templates (``templates``), and the
send window, expiry and recipient time zone (``policy``). Intake, queues and the sender come later.
"""
