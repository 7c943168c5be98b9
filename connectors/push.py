"""Push sources (kind ``push``): departments POST batches of records to Huella's API with a
connector token; there is nothing to pull, so the connector has no streams."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import Connector, Stream, register


@register
class PushConnector(Connector):
    """A source whose records arrive by POST; idempotency by external id is the service's."""

    kind = "push"

    def check(self) -> None:
        """Nothing to reach: a push source is always ready."""

    def streams(self) -> Sequence[Stream]:
        """No streams: records are pushed, not pulled."""
        return []
