"""Speed patches of moto: faster, same answers (fidelity gaps live in ``slsops.local.gaps``).

Each module here changes how moto computes an answer, never the answer, and has a differential
test against plain moto (``tests/test_speed_*.py``). ``install`` applies them all once; the
embedded AWS calls it before serving.
"""

from __future__ import annotations

from slsops.local.speed import (
    dynamodb_direct,
    dynamodb_index,
    dynamodb_json,
    dynamodb_results,
    moto_actions,
    moto_backends,
    moto_request_parse,
    moto_routing,
    shared_parse,
    sort_keys,
)

PATCHES = (
    sort_keys,  # index query candidates sorted with native keys instead of DynamoType
    dynamodb_index,  # Query from sorted partitions kept by every write: O(log n + k)
    dynamodb_results,  # results turned into plain dicts by exact type, not by asking each value
    dynamodb_json,  # item responses written by json.dumps, not by walking the output shape
    moto_actions,  # an action's handler method found by name, not by listing the class
    moto_backends,  # a known account's backend looked up without the global lock
    moto_request_parse,  # string and number attribute values parsed without their shape
    moto_routing,  # requests routed to moto's service apps without a global lock
    shared_parse,  # moto runs the authorisation layer's parse of a request, not a second one
    dynamodb_direct,  # a parsed DynamoDB call answered without Flask's routing and objects
)


def install() -> None:
    """Apply every speed patch (idempotent)."""
    for patch in PATCHES:
        patch.install()
