"""What the scheduler is configured with: how often it looks, how far failing sources back
off, when a run counts as lost, and the periodic tasks (``[scheduler]``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """The ``[scheduler]`` table, read once."""

    interval_seconds: float = 1.0
    backoff_seconds: float = 60.0
    backoff_max_seconds: float = 3600.0
    stale_after_seconds: float = 900.0
    tasks: Mapping[str, str] = field(default_factory=dict)
    """Periodic tasks: a schedule (interval or cron expression) by task name."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SchedulerSettings:
        """The settings of a configuration mapping's ``SCHEDULER`` table."""
        table = dict(config.get("SCHEDULER") or {})
        tasks = table.pop("tasks", {}) or {}
        names = ("interval_seconds", "backoff_seconds", "backoff_max_seconds")
        numbers = {name: _seconds(table, name, cls) for name in (*names, "stale_after_seconds")}
        unknown = set(table) - set(numbers)
        if unknown:
            raise ConfigError(f"scheduler: unknown settings {', '.join(sorted(unknown))}")
        if not isinstance(tasks, Mapping) or not all(isinstance(v, str) for v in tasks.values()):
            raise ConfigError("scheduler.tasks: a schedule (text) by task name")
        return cls(**numbers, tasks=dict(tasks))


def _seconds(table: Mapping[str, Any], name: str, cls: type[SchedulerSettings]) -> float:
    value = table.get(name, getattr(cls, name))
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"scheduler.{name} must be a number of seconds above 0, not {value!r}")
    return float(value)
