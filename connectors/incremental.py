"""Keyset reading of a listing ordered by modification time.

APIs that filter by "modified since" and page by offset lose rows when a row changes during a
sync (it jumps to the end, the rows behind it shift down a place and one is skipped at a page
boundary). Reading instead from the latest modification time seen, at offset 0, and skipping
what was already read at exactly that time, loses nothing: a row changed mid-sync reappears
later with its new values. When more rows share one time than fit a page, the offset pages
through that tie.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import State


@dataclass(frozen=True, slots=True)
class Watermark:
    """The latest modification time read (in the listing's unit), the ids read at exactly that
    time, and how many rows of that time the next request skips."""

    since: int | None = None
    seen: tuple[str, ...] = ()
    skip: int = 0

    def is_new(self, item_id: str, modified: int) -> bool:
        """Whether a row was not yet read at this position."""
        if self.since is None or modified > self.since:
            return True
        return modified == self.since and item_id not in self.seen

    def after(self, rows: Sequence[tuple[str, int]]) -> Watermark:
        """The position after a page of (id, modification time) rows, in listing order."""
        if not rows:
            return self
        top = max(modified for _, modified in rows)
        at_top = tuple(item_id for item_id, modified in rows if modified == top)
        if self.since is None or top > self.since:
            return Watermark(top, at_top, 0)
        # The whole page sits on the current time: step over it by offset.
        seen = tuple(dict.fromkeys((*self.seen, *at_top)))
        return Watermark(self.since, seen, self.skip + len(rows))

    def rewound(self, by: int) -> Watermark:
        """Start again ``by`` units earlier (to catch late writes); re-reading is harmless."""
        if self.since is None or by <= 0:
            return self
        return Watermark(self.since - by)

    def to_state(self) -> State:
        """The JSON form kept in a stream's state."""
        return {"since": self.since, "seen": list(self.seen), "skip": self.skip}

    @classmethod
    def from_state(cls, state: Any) -> Watermark:
        """Read the JSON form back; anything unreadable is the beginning."""
        if not isinstance(state, dict):
            return cls()
        since = state.get("since")
        return cls(
            int(since) if since is not None else None,
            tuple(str(item) for item in state.get("seen") or ()),
            int(state.get("skip") or 0),
        )
