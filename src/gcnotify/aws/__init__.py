"""The AWS seams: the Secrets Manager secret, and the DynamoDB ledger behind the
exactly-once guard."""
