"""Push: the department sends batches to Huella's API; there is nothing to pull."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import Connector, Stream, register


@register
class PushConnector(Connector):
    """A source whose records arrive through POST /api/v1/sources/{name}/records."""

    kind = "push"

    def check(self) -> None:
        """Nothing to reach: pushes come to us."""

    def streams(self) -> Sequence[Stream]:
        """No streams: records are pushed, never pulled."""
        return ()
