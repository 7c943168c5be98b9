"""The work Huella hands to workers: what each task does, run inside an application context.

Each task is a plain function of JSON-able keyword arguments that opens its own units of work,
so it runs the same on a Celery worker (``app.ingest.worker``) and in the process that asked
for it when no broker is configured. A task may be delivered twice (a worker killed mid-task
leaves its message to be taken again), so each one is safe to run again: a sync resumes from
the cursor its last page committed, and a finished run is not run twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customer import service as customers
from app.db import (
    Database,
    get_db,
    hold_identity_lock,
    refresh_stale_statistics,
    retry_contended,
)
from app.errors import Conflict, HuellaError
from app.event.models import Event, EventBatch
from app.ingest import erasure, event_flows, flows
from app.ingest import sync as runner
from app.ingest.retention import apply_retention
from app.privacy.schemas import ErasureSchema
from app.progress import QUIET, Progress
from app.resolution import service as resolution
from app.resolution.runtime import current_matcher
from app.settings import Settings, get_settings
from app.source import service as sources
from app.source.models import Source
from app.sync import service as sync
from app.sync.models import SyncRun

log = logging.getLogger(__name__)

ACTIVE_RUN = ("queued", "running")
REFRESH_BATCH = 1000
# Events written a transaction: large enough that a busy site's page views cost few commits
# and trait refreshes, small enough that the first of them is on the timeline within moments.
EVENTS_PER_ROUND = 5000
EVENTS_SECONDS = 20.0
AGAIN = "again"
"""A task whose outcome holds this (true) is queued once more: it stopped with work left."""


class Busy(Exception):
    """What a task works on is being worked on elsewhere right now: run it again later."""


def sync_source(*, run_id: int) -> dict[str, Any]:
    """Run a queued sync (or resume one whose worker died: it goes on from the committed
    cursor). A run that already finished is left as it is."""
    database = get_db()
    with database.unit_of_work() as session:
        found = session.execute(
            select(SyncRun.status, SyncRun.full, Source.name)
            .join(Source, Source.id == SyncRun.source_id)
            .where(SyncRun.id == run_id)
        ).one_or_none()
    if found is None or found.status not in ACTIVE_RUN:
        return {"run": run_id, "status": found.status if found else "gone"}
    try:
        run = runner.run_sync(
            database=database,
            settings=get_settings(),
            source_name=found.name,
            matcher_for=current_matcher,
            full=found.full,
            run_id=run_id,
        )
    except Conflict as error:  # another run of the source holds it: this one waits its turn
        raise Busy(error.detail) from None
    log.info("sync of %s finished: %s %s", found.name, run.status, run.error or "")
    return {"run": run_id, "status": run.status, **run.counts}


def resolve(*, full: bool = False) -> dict[str, Any]:
    """Resolve what is pending, or everything (``full``), fitting the model first when the
    store has outgrown it (as ``huella resolve`` does)."""
    with get_db().unit_of_work() as session:
        settings = get_settings()
        matcher = current_matcher(session)
        refit = flows.fit_when_due(session=session, settings=settings, matcher=matcher)
        if refit is not None:
            report = refit[1]
        else:
            run = flows.resolve_all if full else flows.resolve_pending
            report = run(session=session, settings=settings, matcher=matcher)
    return report.counts()


def fit() -> dict[str, Any]:
    """Fit the model when the store has outgrown it, and re-resolve everything with it; nothing
    when it has not (a push asked, and another worker fitted it meanwhile)."""
    with get_db().unit_of_work() as session:
        matcher = current_matcher(session)
        if not resolution.fit_due(session=session, matcher=matcher):
            return {"fitted": False}
        hold_identity_lock(session)  # then ask again: one fit, however many asked
        refit = flows.fit_when_due(session=session, settings=get_settings(), matcher=matcher)
    return {"fitted": refit is not None, **(refit[1].counts() if refit else {})}


def train(*, seed: int = 0) -> dict[str, Any]:
    """Fit the match model to the store and re-resolve everything with it (as ``huella
    train``); a refused model leaves the current one, and says why."""
    with get_db().unit_of_work() as session:
        matcher = current_matcher(session)
        fitted = resolution.fit(session=session, matcher=matcher, seed=seed)
        if fitted.refused:
            log.warning("the trained model was refused, the current one stands: %s", fitted.refused)
            return {"refused": fitted.refused}
        version = resolution.keep_model(session=session, fitted=fitted, seed=seed)
        trained = matcher.with_model(fitted.model)
        report = flows.resolve_all(session=session, settings=get_settings(), matcher=trained)
    return {"model_version": version.id, **report.counts()}


def refresh_customers(*, batch: int = REFRESH_BATCH, progress: Progress = QUIET) -> dict[str, Any]:
    """Recompute every golden record, search key and trait, ``batch`` identities a
    transaction."""
    database, settings = get_db(), get_settings()
    total, after = 0, 0
    with database.unit_of_work() as session:
        expected = resolution.count_identities(session=session)
    with progress.phase("refreshing customers", total=expected, unit="customers") as bar:
        while True:
            with database.unit_of_work() as session:
                # A batch runs alone with resolution, or a merge committed while it computed
                # could leave the merged identity's golden record written twice.
                hold_identity_lock(session)
                count, last = customers.refresh_all(
                    session=session, settings=settings, after=after, batch=batch
                )
            total += count
            bar.advance(count)
            if last is None:
                return {"refreshed": total}
            after = last


def retention() -> dict[str, Any]:
    """Delete the events, rejects, reads and finished jobs older than their retention
    (config/privacy.toml)."""
    with get_db().unit_of_work() as session:
        report = apply_retention(session=session, settings=get_settings())
    return {
        "events": report.events,
        "rejects": report.rejects,
        "reads": report.reads,
        "jobs": report.jobs,
        "customers": report.customers,
    }


def write_events(*, events: int = EVENTS_PER_ROUND) -> dict[str, Any]:
    """Write queued event batches to the timeline, about ``events`` events a transaction, until
    none is queued or the round has run for ``EVENTS_SECONDS``; then it asks to run ``again``
    (a worker is not held by one task for long, and other tasks get their turn)."""
    with _WRITING_EVENTS:
        return _write_events(get_db(), get_settings(), events, time.monotonic())


_EVENT_TABLES = (Event.__table__, EventBatch.__table__)

# One writer of events at a time in a process: without a broker, every batch posted starts a
# thread, and on SQLite two would read the same queued batches (only PostgreSQL's row locks let
# writers skip each other's); worker processes run one task at a time anyway.
_WRITING_EVENTS = threading.Lock()


def _write_events(
    database: Database, settings: Settings, events: int, started: float
) -> dict[str, Any]:
    written = 0
    while time.monotonic() - started < EVENTS_SECONDS:
        # Events arrive without end, never as a bulk load that would refresh the planner's
        # statistics when it ends: a table grown from nothing would be scanned whole for
        # every lookup of a batch's ids (PostgreSQL's autovacuum may be off, or late).
        refresh_stale_statistics(database.engine, _EVENT_TABLES)
        with database.session() as session:
            taken = retry_contended(
                session,
                lambda: event_flows.record_queued_events(
                    session=session, settings=settings, events=events
                ),
            )
            session.commit()
        if not taken:
            return {"events": written}
        written += taken
    return {"events": written, AGAIN: True}


def erase_person(
    *, reference: str, reason: str, actor: str, job: int | None = None
) -> dict[str, Any]:
    """Erase the person a reference names (as ``huella erase`` does), for ``actor``; as the
    ``job`` an API request queued, when it names one (see ``_as_job``)."""

    def work(session: Session) -> dict[str, Any]:
        report = erasure.erase(
            session=session,
            settings=get_settings(),
            matcher=current_matcher(session),
            reference=reference,
            actor=actor,
            reason=reason,
        )
        # The answer DELETE /customers/<id> gave when it erased in the request: no reference.
        return dict(ErasureSchema().dump(report))

    if job is not None:
        return _as_job(job, work)
    with get_db().unit_of_work() as session:
        outcome = work(session)
    return {"status": outcome["status"], "identity": outcome["identity"]}


def remove_source(*, job: int, source: str, actor: str) -> dict[str, Any]:
    """Remove a department and all it held (as ``huella source remove`` does), as the ``job``
    an API request queued."""

    def work(session: Session) -> dict[str, Any]:
        removal = flows.remove_source(
            session=session,
            settings=get_settings(),
            matcher=current_matcher(session),
            source=sources.get_by_name(session=session, name=source),
            actor=actor,
        )
        return {**removal.counts(), "source": source}

    return _as_job(job, work)


def _as_job(job_id: int, work: Callable[[Session], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` as a job an API request queued: marked running, then its outcome kept in
    the transaction of the work itself (the job says succeeded exactly when the work
    committed). A domain error (the customer or source gone meanwhile, a refused reason) ends
    the job failed, with the problem the request would have answered. A job that already
    ended (its task delivered again) is left as it is."""
    database = get_db()
    with database.unit_of_work() as session:
        if not sync.start_job(session=session, job=sync.get_job(session=session, job_id=job_id)):
            return {"job": job_id, "ran": "before"}
    try:
        with database.unit_of_work() as session:
            result = work(session)
            job = sync.finish_job(
                session=session, job=sync.get_job(session=session, job_id=job_id), result=result
            )
            return {"job": job_id, "status": job.status}
    except HuellaError as error:
        problem = {"status": error.status, "title": error.title, "detail": error.detail}
        _end_failed(database, job_id, problem)
        log.warning("job %s failed: %s", job_id, error.detail)
        return {"job": job_id, "status": "failed"}
    except Busy:
        raise  # run again later: the job stays running until then
    except Exception:
        # Anything else (a bug, the store gone): the job ends failed rather than running for
        # ever (retention keeps running jobs), and the task fails as it would have.
        _end_failed(database, job_id, _UNEXPECTED)
        log.exception("job %s failed", job_id)
        raise


_UNEXPECTED = {
    "status": 500,
    "title": "Internal Server Error",
    "detail": "the work failed unexpectedly; the workers' log says why",
}


def _end_failed(database: Database, job_id: int, problem: Mapping[str, Any]) -> None:
    with database.unit_of_work() as session:
        sync.finish_job(
            session=session, job=sync.get_job(session=session, job_id=job_id), error=problem
        )


Task = Callable[..., Mapping[str, Any]]
TASKS: dict[str, Task] = {
    "huella.sync": sync_source,
    "huella.resolve": resolve,
    "huella.train": train,
    "huella.fit": fit,
    "huella.refresh_customers": refresh_customers,
    "huella.retention": retention,
    "huella.events": write_events,
    "huella.erase": erase_person,
    "huella.remove_source": remove_source,
}
"""Every task by the name it is queued under."""
