"""How often a source is synced: an interval (``30s``, ``15m``, ``6h``, ``1d``) or a cron
expression (``*/15 * * * *``, read in UTC), and how far a failing source backs off.

    >>> Schedule.parse("15m").next_after(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    datetime.datetime(2026, 1, 1, 9, 15, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from celery.schedules import crontab

from app.errors import InvalidInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
OFF = ("", "off", "none")


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a source's syncs are due: every ``every``, or at the times of ``cron``."""

    text: str
    every: timedelta | None = None
    cron: crontab | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """The schedule written as ``text``; InvalidInput saying what is wrong with it."""
        if interval := _INTERVAL.match(text):
            seconds = int(interval.group(1)) * _UNITS[interval.group(2)]
            if seconds < 1:
                raise _invalid(text, "an interval is at least 1s")
            return cls(text.strip(), every=timedelta(seconds=seconds))
        if len(text.split()) != 5:
            raise _invalid(
                text, "write an interval (30s, 15m, 6h, 1d) or a cron expression of five fields"
            )
        try:
            return cls(text.strip(), cron=crontab.from_string(text.strip()))
        except ValueError as error:
            raise _invalid(text, f"not a cron expression: {error}") from None

    def next_after(self, moment: datetime) -> datetime:
        """The first time the schedule is due after ``moment``."""
        if self.every is not None:
            return moment + self.every
        assert self.cron is not None
        last, forward, _ = self.cron.remaining_delta(moment.astimezone(UTC), tz=UTC)
        due: datetime = last + forward
        return due


def backoff(failures: int, *, base: float, most: float) -> timedelta:
    """How long a source waits after ``failures`` syncs failed in a row: ``base`` seconds,
    doubled after each further failure, never more than ``most``."""
    if failures <= 0:
        return timedelta(0)
    return timedelta(seconds=min(base * 2 ** (failures - 1), most))


def _invalid(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"not a schedule: {text!r}", {"schedule": [why]})
