"""The chat seam: short messages posted to Slack and Microsoft Teams incoming webhooks.

``messages`` turns a ``ChatMessage`` into each service's JSON payload (pure, escaping user text so
a queue name cannot ping a channel or inject a link); ``client`` posts it with bounded retries and
maps every failure to a ``ChatError`` that names the channel kind and the secret key, never the
webhook URL, which is itself the credential. It knows the webhooks, not the pipelines that use it.
"""
