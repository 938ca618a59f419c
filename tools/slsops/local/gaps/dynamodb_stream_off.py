"""Gap: a table whose stream was turned off fails every later write with HTTP 500.

moto 5.2.5's ``Table.set_stream_specification`` answers ``StreamEnabled: false`` by replacing
the specification with ``{"StreamEnabled": False}`` but keeps the table's stream shard, and
each later write then looks the (now missing) ``StreamViewType`` up to record itself in that
shard: ``KeyError``, HTTP 500 to every PutItem, UpdateItem and DeleteItem, for good. On AWS
turning a stream off stops the records and writes go on. The fix: when the stream is off,
the table has no shard (as it has none before a stream was ever on); ``wrap`` installs the
patch once and returns the app unchanged.
"""

from __future__ import annotations

from typing import Any

from slsops.local.moto_patch import MethodPatch


def set_stream_specification(self: Any, streams: dict[str, Any] | None) -> None:
    """moto's own, then no stream shard when the stream ended up off."""
    PATCH.original("set_stream_specification")(self, streams)
    if not (self.stream_specification or {}).get("StreamEnabled"):
        self.stream_shard = None


PATCH = MethodPatch(
    "moto.dynamodb.models.table:Table", {"set_stream_specification": set_stream_specification}
)
install = PATCH.install


def wrap(app: Any) -> Any:
    install()
    return app
