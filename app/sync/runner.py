"""Running a sync: read every stream of a source page by page, one transaction per page.

The state a stream yields with a page is saved in the page's own transaction, so a sync that
dies (even by SIGKILL) resumes after the last page it stored: nothing lost, nothing doubled.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.errors import Conflict
from app.matching import Matcher
from app.source import service as sources
from app.source.models import Source
from app.sync.models import SyncRun
from app.sync.service import IngestReport, ingest_page, load_state, queue_run, save_state
from connectors import Connector, Page, connector_class

log = logging.getLogger(__name__)
OnPage = Callable[[str, Page, IngestReport], None]


def build_connector(source: Source) -> Connector:
    """The connector of a source, configured with its settings."""
    return connector_class(source.kind)(source.settings)


def _lock_key(source_id: int) -> int:
    digest = hashlib.blake2b(f"huella.sync.{source_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _exclusive(database: Database, source: Source) -> Iterator[None]:
    """Hold the source's sync lock for the whole run (PostgreSQL: an advisory lock)."""
    if database.engine.dialect.name != "postgresql":
        yield  # SQLite serves one process; its writes are serialized anyway
        return
    # Autocommit: the lock belongs to the session, and no transaction stays open meanwhile.
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        key = _lock_key(source.id)
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
            raise Conflict(f"a sync of {source.name!r} is already running")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


def run_sync(
    *,
    database: Database,
    source_name: str,
    matcher_for: Callable[[Session], Matcher],
    full: bool = False,
    resolve: bool = True,
    run_id: int | None = None,
    on_page: OnPage | None = None,
) -> SyncRun:
    """Sync one source: every stream from its saved state (from the start when ``full``)."""
    with database.unit_of_work() as session:
        source = sources.get_by_name(session=session, name=source_name)
        matcher = matcher_for(session) if resolve else None
    with _exclusive(database, source):
        with database.unit_of_work() as session:
            run = _start(session, source, full, run_id)
        report = IngestReport()
        connector: Connector | None = None
        try:
            connector = build_connector(source)
            connector.check()
            for stream in connector.streams():
                with database.unit_of_work() as session:
                    state = (
                        None
                        if full
                        else load_state(session=session, source=source, stream=stream.name)
                    )
                for page in stream.read(state):
                    with database.unit_of_work() as session:
                        current = session.get_one(Source, source.id)
                        ingest_page(
                            session=session,
                            source=current,
                            page=page,
                            matcher=matcher,
                            report=report,
                            stream=stream.name,
                            run_id=run.id,
                        )
                        save_state(
                            session=session, source=current, stream=stream.name, state=page.state
                        )
                        session.get_one(SyncRun, run.id).counts = report.counts()
                    if on_page is not None:
                        on_page(stream.name, page, report)
        except Exception as error:  # the run records any failure; the caller decides what next
            log.exception("sync of %s failed", source.name)
            return _finish(database, run.id, report, "failed", f"{type(error).__name__}: {error}")
        finally:
            if connector is not None:
                connector.close()
        return _finish(database, run.id, report, "succeeded", None)


def _start(session: Session, source: Source, full: bool, run_id: int | None) -> SyncRun:
    # Holding the lock, any run of this source still marked running died without finishing.
    session.execute(
        update(SyncRun)
        .where(SyncRun.source_id == source.id, SyncRun.status == "running", SyncRun.id != run_id)
        .values(status="interrupted", finished_at=utcnow(), error="the sync stopped unfinished")
    )
    run = session.get(SyncRun, run_id) if run_id else None
    if run is None:
        run = queue_run(session=session, source=source, full=full)
    run.status = "running"
    run.started_at = utcnow()
    return run


def _finish(
    database: Database, run_id: int, report: IngestReport, status: str, error: str | None
) -> SyncRun:
    with database.unit_of_work() as session:
        run = session.get_one(SyncRun, run_id)
        run.status = status
        run.error = error
        run.finished_at = utcnow()
        run.counts = report.counts()
    return run
