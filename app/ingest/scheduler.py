"""The scheduler: queues the syncs of sources whose schedule is due, and the periodic tasks
of ``[scheduler.tasks]`` (``huella scheduler`` runs it).

Schedules live with their sources in the database, so the scheduler keeps no state worth
losing. Several schedulers may run: one claims the lead (``app.db.claim``, released by the
database if its process dies) and the others stand by until it is free. Due sources are also
taken under a row lock that other transactions skip, so no sync is queued twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask

from app.db import claim, get_db, utcnow
from app.errors import ConfigError, InvalidInput
from app.ingest.tasks import TASKS
from app.ingest.worker import enqueue
from app.settings import get_settings
from app.source.schedule import Schedule
from app.sync import service as runs

log = logging.getLogger(__name__)

LEAD = "scheduler"


def queue_due_syncs(app: Flask, now: datetime) -> list[int]:
    """Queue a sync of every source whose schedule is due; returns the runs queued.

    A source whose last run is still queued or running is skipped this time (two syncs of one
    source never run at once), unless that run looks lost.
    """
    stale = timedelta(seconds=get_settings(app).scheduler.stale_after_seconds)
    queued: list[int] = []
    with get_db(app).unit_of_work() as session:
        for source in runs.due_sources(session=session, now=now):
            source.next_sync_at = Schedule.parse(source.schedule or "").next_after(now)
            active = runs.active_run(session=session, source=source)
            if active is not None and not runs.is_lost(active, now=now, stale_after=stale):
                continue
            queued.append(runs.queue_run(session=session, source=source, full=False).id)
    # Queued once committed: a worker must find the run its task names.
    for run_id in queued:
        enqueue(app, "huella.sync", run_id=run_id)
    return queued


@dataclass
class Periodic:
    """The periodic tasks and when each is next due."""

    schedules: dict[str, Schedule]
    due: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def configured(cls, app: Flask, now: datetime) -> Periodic:
        """The tasks of ``[scheduler.tasks]``, first due at their next time after ``now``;
        ConfigError naming a task that does not exist or a schedule that does not read."""
        schedules = {}
        for name, text in get_settings(app).scheduler.tasks.items():
            if name not in TASKS:
                raise ConfigError(f"scheduler.tasks: no task named {name!r} ({', '.join(TASKS)})")
            try:
                schedules[name] = Schedule.parse(text)
            except InvalidInput as error:
                raise ConfigError(f"scheduler.tasks.{name}: {error.detail}") from None
        return cls(schedules, {name: s.next_after(now) for name, s in schedules.items()})

    def queue_due(self, app: Flask, now: datetime) -> list[str]:
        """Queue the tasks that are due; returns their names."""
        due = [name for name, at in self.due.items() if at <= now]
        for name in due:
            enqueue(app, name)
            self.due[name] = self.schedules[name].next_after(now)
        return due


def run_scheduler(app: Flask, *, stop: threading.Event) -> None:
    """Schedule until ``stop`` is set: lead when no other scheduler does, else stand by."""
    interval = get_settings(app).scheduler.interval_seconds
    waiting_said = False
    while not stop.is_set():
        try:
            with claim(get_db(app).engine, LEAD) as lead:
                if not lead:
                    if not waiting_said:
                        log.info("another scheduler leads; standing by")
                        waiting_said = True
                    stop.wait(max(interval, 5.0))
                    continue
                log.info("scheduling (every %.1fs)", interval)
                waiting_said = False
                periodic = Periodic.configured(app, utcnow())
                while not stop.is_set():
                    lead.confirm()
                    now = utcnow()
                    queue_due_syncs(app, now)
                    periodic.queue_due(app, now)
                    stop.wait(interval)
        except ConfigError:
            raise
        except Exception:  # the database or broker went away: try again shortly
            log.exception("the scheduler stumbled; it carries on in %.0fs", interval * 5)
            stop.wait(interval * 5)
