"""Running a sync: read every stream of a source page by page, one transaction per page.

The state a stream yields with a page is saved in the page's own transaction, so a sync that
dies (even by SIGKILL) resumes after the last page it stored: nothing lost, nothing doubled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from queue import Full, Queue
from typing import cast

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from app.db import (
    Database,
    GrowthWatch,
    claim,
    commit_without_waiting_for_disk,
    refresh_statistics,
    retry_contended,
    utcnow,
)
from app.errors import Conflict
from app.ingest.flows import (
    INGESTED_TABLES,
    RESOLVED_TABLES,
    IngestReport,
    fit_after,
    ingest_page,
)
from app.matching import Matcher
from app.matching.pipeline import Pipeline
from app.security.values import screen_page
from app.settings import Settings
from app.settings.sources import SourcePolicy
from app.source import service as sources
from app.source.models import Source
from app.source.schedule import backoff
from app.sync.models import SyncRun
from app.sync.service import (
    CANCELLED,
    cancel_requested,
    forget_states,
    load_state,
    queue_run,
    record_outcome,
    save_state,
)
from connectors import Connector, Page, Stream, connector_class

log = logging.getLogger(__name__)
OnPage = Callable[[str, Page, IngestReport], None]


def build_connector(source: Source, policy: SourcePolicy) -> Connector:
    """The connector of a source, configured with its settings once the policy allows them."""
    return connector_class(source.kind)(policy.connector_settings(source.kind, source.settings))


@contextmanager
def _exclusive(database: Database, source: Source) -> Iterator[None]:
    """Hold the source's sync claim for the whole run: two syncs of one source never run at
    once, and a sync whose process died (even by SIGKILL) leaves no claim behind."""
    with claim(database.engine, f"sync.{source.id}") as claimed:
        if not claimed:
            raise Conflict(f"a sync of {source.name!r} is already running")
        yield


_END = object()


@contextmanager
def _read_ahead(pages: Iterator[Page], depth: int = 2) -> Iterator[Iterator[Page]]:
    """Fetch the next pages in a thread while the caller stores the current one: the source's
    response time and the database's write time overlap instead of adding up. A page read
    ahead but never stored is read again on the next sync, since its state was not saved."""
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not offer(page):
                    return
            offer(_END)
        except BaseException as error:  # handed to the consumer, who raises it
            offer(error)

    def consume() -> Iterator[Page]:
        while (item := queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield cast(Page, item)

    reader = threading.Thread(target=produce, name="sync-read-ahead", daemon=True)
    reader.start()
    try:
        yield consume()
    finally:
        stop.set()
        reader.join()


def run_sync(
    *,
    database: Database,
    settings: Settings,
    source_name: str,
    matcher_for: Callable[[Session], Matcher],
    full: bool = False,
    resolve: bool = True,
    fit: bool = True,
    run_id: int | None = None,
    on_page: OnPage | None = None,
) -> SyncRun:
    """Sync one source: every stream from its saved state (from the start when ``full``).

    Records are resolved as they arrive unless ``resolve`` is False; at the end, when the load
    made the store outgrow its model, the model is fitted again and everything re-resolved
    (unless ``fit`` is False). The source's settings are checked against ``settings.sources``
    first, and a record or event holding a value over ``settings.max_value_length`` characters
    is rejected.
    """
    with database.unit_of_work() as session:
        source = sources.get_by_name(session=session, name=source_name)
        sources.check_running(source)
        # Built even when not resolving: its pipeline flags values that cannot be compared.
        store_matcher = matcher_for(session)
        matcher = store_matcher if resolve else None
    with _exclusive(database, source):
        with database.unit_of_work() as session:
            run = _start(session, source, full, run_id)
            earlier = dict(run.counts)  # what a resumed run had done before it died
        report = IngestReport()
        written = INGESTED_TABLES + (RESOLVED_TABLES if resolve else ())
        connector: Connector | None = None
        try:
            connector = build_connector(source, settings.sources)
            connector.check()
            for stream in connector.streams():
                _sync_stream(
                    database,
                    source,
                    stream,
                    _Target(
                        run.id, report, earlier, settings, matcher, store_matcher.pipeline, written
                    ),
                    on_page,
                )
            if matcher is not None and fit:
                with database.unit_of_work() as session:
                    fit_after(session=session, settings=settings, matcher=matcher, report=report)
        except _Cancelled:
            outcome: tuple[str, str | None] = ("cancelled", CANCELLED)
        except Exception as error:  # the run records any failure; the caller decides what next
            log.exception("sync of %s failed", source.name)
            outcome = ("failed", f"{type(error).__name__}: {error}")
        else:
            outcome = ("succeeded", None)
        finally:
            if connector is not None:
                connector.close()
        return _finish(database, settings, run, _total(earlier, report), *outcome)


class _Cancelled(Exception):
    """Someone asked the run to stop."""


@dataclass(slots=True)
class _Target:
    """Where a run's pages go: its run row, its totals, the settings and matcher it resolves
    with and the tables it fills."""

    run_id: int
    report: IngestReport
    earlier: dict[str, int]
    """Counts of the run before it was resumed (none for a run that began afresh)."""
    settings: Settings
    matcher: Matcher | None
    pipeline: Pipeline
    tables: tuple[FromClause, ...]


def _sync_stream(
    database: Database,
    source: Source,
    stream: Stream,
    target: _Target,
    on_page: OnPage | None,
) -> None:
    """Store a stream's pages from its saved state, each with the state after it."""
    report = target.report
    with database.unit_of_work() as session:
        state = load_state(session=session, source=source, stream=stream.name)
    # Each stream fills its own tables: their statistics follow its growth.
    growth = GrowthWatch(counted_from=report.records + report.events)
    with _read_ahead(stream.read(state)) as pages:
        for read in pages:
            page = _store_page(
                database,
                source,
                stream.name,
                screen_page(read, target.settings.max_value_length),
                target,
            )
            if growth.due(report.records + report.events):
                with database.unit_of_work() as session:
                    refresh_statistics(session, target.tables)
            if on_page is not None:
                on_page(stream.name, page, report)


def _store_page(
    database: Database, source: Source, stream: str, page: Page, target: _Target
) -> Page:
    """Store a page with the state after it, in one transaction, and add what it did to the
    run's report. A page that met a related change it must not wait for is stored again from
    its start (``retry_contended``): what it counts is counted once."""

    def attempt() -> tuple[Page, IngestReport]:
        if cancel_requested(session=session, run_id=target.run_id):
            raise _Cancelled  # this page is not stored, and read again next time
        # A page lost to a database crash is lost with the state after it, so the next sync
        # reads it again: its commit need not wait for the disk. The run's last commit (its
        # status) waits for the disk, and with it every page before.
        commit_without_waiting_for_disk(session)
        # The source as loaded when the run began (no query a page): a run's settings and
        # declared attributes do not change under it.
        current = session.merge(source, load=False)
        part = IngestReport()
        stored = ingest_page(
            session=session,
            settings=target.settings,
            source=current,
            page=page,
            matcher=target.matcher,
            pipeline=target.pipeline,
            report=part,
            stream=stream,
            run_id=target.run_id,
        )
        save_state(session=session, source=current, stream=stream, state=stored.state)
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == target.run_id)
            .values(counts=_total(target.earlier, target.report, part), progress_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return stored, part

    with database.session() as session:
        stored, part = retry_contended(session, attempt)
        session.commit()
    target.report.add(part)
    return stored


def _start(session: Session, source: Source, full: bool, run_id: int | None) -> SyncRun:
    """Mark the run running. A run found running already died without finishing (its claim,
    taken before this, was free): it is resumed where its last page left it. A full run that
    begins forgets the source's cursors, so that it reads from the start and, should it die
    in turn, resumes from its own progress."""
    # Holding the claim, any other run of this source still marked running died unfinished.
    session.execute(
        update(SyncRun)
        .where(SyncRun.source_id == source.id, SyncRun.status == "running", SyncRun.id != run_id)
        .values(status="interrupted", finished_at=utcnow(), error="the sync stopped unfinished")
    )
    run = session.get(SyncRun, run_id) if run_id else None
    if run is None:
        run = queue_run(session=session, source=source, full=full)
    if run.status != "running":
        if full:
            forget_states(session=session, source=source)
        run.counts = {}
        run.started_at = utcnow()
    run.status = "running"
    return run


def _total(earlier: dict[str, int], *reports: IngestReport) -> dict[str, int]:
    """A run's counts: what it did before it was resumed, and since."""
    total = dict(earlier)
    for report in reports:
        for key, count in report.counts().items():
            total[key] = total.get(key, 0) + count
    return total


def _finish(
    database: Database,
    settings: Settings,
    started: SyncRun,
    counts: dict[str, int],
    status: str,
    error: str | None,
) -> SyncRun:
    """Record how the run ended; a failing source backs off before its schedule resumes."""
    policy = settings.scheduler
    with database.unit_of_work() as session:
        run = session.get_one(SyncRun, started.id)
        run.status = status
        run.error = error
        run.finished_at = utcnow()
        run.counts = counts
        record_outcome(
            session=session,
            source_id=run.source_id,
            status=status,
            backoff=lambda failures: backoff(
                failures, base=policy.backoff_seconds, most=policy.backoff_max_seconds
            ),
        )
    return run
