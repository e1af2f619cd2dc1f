"""The Genesys Cloud seam: OAuth client credentials, routing queues, analytics aggregates.
It knows the API, not the pipelines that use it."""
