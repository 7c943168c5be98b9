"""Progress of long work (imports, syncs, batch resolution, training, refreshes), shown on a
terminal and silent everywhere else.

Work that can take minutes takes a :class:`Progress` as the keyword argument ``progress`` and
reports each of its phases through it; the command that started the work decides where it
goes (``Progress.on_terminal()``), and everything else passes nothing (``QUIET``)::

    with progress.phase("scoring pairs", total=len(pairs)) as bar:
        for chunk in chunks(pairs):
            score(chunk)
            bar.advance(len(chunk))

The bars are tqdm's: it counts, measures the rate and estimates the time left, redraws at most
a few times a second (an advance costs next to nothing), and draws nothing when disabled. No
service imports it directly: they see only this module, so the library can change here alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")

# Redraw at most twice a second: a bar must never cost the work it measures.
_REDRAW_SECONDS = 0.5


class Bar:
    """One phase's bar: how much is done of how much (when known)."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more units done."""
        if count:
            self._bar.update(count)

    def expect(self, total: int) -> None:
        """Set (or correct) how many units the phase has in all, once it is known."""
        self._bar.total = total
        self._bar.refresh()

    def note(self, text: str) -> None:
        """Show a short text after the counts (what is being worked on)."""
        self._bar.set_postfix_str(text, refresh=False)

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, counting each one done as it is taken."""
        for item in items:
            yield item
            self._bar.update(1)


@dataclass(frozen=True)
class Progress:
    """Where long work reports its phases: bars on ``stream``, or nowhere when it is None."""

    stream: TextIO | None = None

    @classmethod
    def on_terminal(cls, stream: TextIO | None = None) -> Progress:
        """Bars on standard error (or ``stream``) when it is a terminal; quiet when output goes
        to a file, a pipe or a log, so nothing but results lands there."""
        stream = stream if stream is not None else sys.stderr
        return cls(stream if _is_terminal(stream) else None)

    @property
    def shown(self) -> bool:
        """Whether bars are drawn at all."""
        return self.stream is not None

    @contextmanager
    def phase(
        self, label: str, *, total: int | None = None, unit: str = "records"
    ) -> Iterator[Bar]:
        """A bar for one phase of the work, closed (left on screen, complete) when it ends.

        Without a ``total`` it shows the count and the rate; with one, also the share done and
        the time left.
        """
        bar = self._bar(label, total=total, unit=f" {unit}")
        try:
            yield Bar(bar)
        finally:
            bar.close()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """One step of the work that cannot count its way (a computation in one piece): its
        label while it runs, then how long it took."""
        bar = self._bar(label, total=1, bar_format="{desc}: {elapsed}")
        try:
            yield
            bar.update(1)
        finally:
            bar.close()

    def _bar(self, label: str, **options: Any) -> Any:
        sized = self._width() > 0
        return tqdm(
            desc=label,
            file=self.stream,
            disable=self.stream is None,
            mininterval=_REDRAW_SECONDS,
            # Follow the terminal's size as it changes; one that reports none (a bare
            # pseudo-terminal) would hide every bar, so it is taken as 80 by 24.
            dynamic_ncols=sized,
            ncols=None if sized else 80,
            nrows=None if sized else 24,
            leave=True,
            **options,
        )

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns if self.stream else 0
        except (AttributeError, OSError, ValueError):  # not a real file: a stand-in stream
            return 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False


QUIET = Progress()
"""Progress that goes nowhere: the default of every function that reports progress."""
