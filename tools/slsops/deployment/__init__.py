"""Reaching a deployment: the stack file, preflight, signed API calls, the checks' shared
context of clients and cached lookups, and DynamoDB paging."""
