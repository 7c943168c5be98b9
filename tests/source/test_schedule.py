"""Schedules as people write them: intervals and cron expressions (UTC), and how far a failing
source backs off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import InvalidInput
from app.source.schedule import Schedule, backoff

MONDAY_0952 = datetime(2026, 12, 7, 9, 52, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "after", "due"),
    [
        ("1s", MONDAY_0952, MONDAY_0952 + timedelta(seconds=1)),
        ("30s", MONDAY_0952, MONDAY_0952 + timedelta(seconds=30)),
        ("15m", MONDAY_0952, MONDAY_0952 + timedelta(minutes=15)),
        (" 6h ", MONDAY_0952, MONDAY_0952 + timedelta(hours=6)),
        ("1d", MONDAY_0952, MONDAY_0952 + timedelta(days=1)),
        ("*/15 * * * *", MONDAY_0952, datetime(2026, 12, 7, 10, 0, tzinfo=UTC)),
        (
            "*/15 * * * *",
            datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
            datetime(2026, 12, 7, 10, 15, tzinfo=UTC),
        ),
        ("0 3 * * *", MONDAY_0952, datetime(2026, 12, 8, 3, 0, tzinfo=UTC)),
        ("30 2 1 * *", MONDAY_0952, datetime(2027, 1, 1, 2, 30, tzinfo=UTC)),
        (
            "0 9 * * mon-fri",
            datetime(2026, 12, 11, 10, 0, tzinfo=UTC),
            datetime(2026, 12, 14, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_a_schedule_is_next_due(written: str, after: datetime, due: datetime) -> None:
    assert Schedule.parse(written).next_after(after) == due


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("0s", "at least 1s"),
        ("15 minutes", "an interval (30s, 15m, 6h, 1d) or a cron expression"),
        ("often", "an interval (30s, 15m, 6h, 1d) or a cron expression"),
        ("61 * * * *", "not a cron expression"),
        ("* * * 13 *", "not a cron expression"),
    ],
)
def test_a_schedule_that_does_not_read_says_why(written: str, why: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Schedule.parse(written)
    assert why in " ".join(refused.value.extra["errors"]["schedule"])


@pytest.mark.parametrize(
    ("failures", "wait"), [(0, 0), (1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (30, 3600)]
)
def test_a_failing_source_waits_twice_as_long_after_each_failure(failures: int, wait: int) -> None:
    assert backoff(failures, base=60, most=3600) == timedelta(seconds=wait)
