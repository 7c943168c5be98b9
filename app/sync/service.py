"""Syncs: where each stream got to (its state), the runs, and what could not be ingested.

A page's records, events, consents, rejects and the stream state after it are written in one
transaction (see ``app.ingest``), so a cursor never moves past what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db import chunks, delete_among, delete_where, utcnow
from app.errors import Conflict, NotFound
from app.source.models import Source
from app.sync.models import ACTIVE_STATUSES, Job, RecordReject, StreamState, SyncRun
from connectors import Reject, State

CANCELLED = "cancelled by request"


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def keep_rejects(
    session: Session, source: Source, rejects: Sequence[Reject], stream: str, run_id: int | None
) -> None:
    """Keep what a page could not ingest, with where and why; a reject already kept (the
    same position, reason and input, as when a file is imported again) is not kept twice."""
    if not rejects:
        return
    kept: set[tuple[str, str, str]] = set()
    for chunk in chunks(sorted({r.position for r in rejects})):
        query = select(RecordReject.position, RecordReject.reason, RecordReject.raw).where(
            RecordReject.source_id == source.id,
            RecordReject.stream == stream,
            RecordReject.position.in_(chunk),
        )
        kept.update((p, why, _same(raw)) for p, why, raw in session.execute(query))
    session.add_all(
        RecordReject(
            source_id=source.id,
            run_id=run_id,
            stream=stream,
            position=r.position,
            reason=r.reason,
            raw=_json_safe(r.raw),
        )
        for r in rejects
        if (r.position, r.reason, _same(_json_safe(r.raw))) not in kept
    )


def _same(raw: Any) -> str:
    """A reject's input in a form two equal inputs share."""
    return json.dumps(raw, sort_keys=True, default=str)


def load_state(*, session: Session, source: Source, stream: str) -> State | None:
    """The state after the last stored page of a stream, None when it never ran."""
    row = session.get(StreamState, (source.id, stream))
    return dict(row.state) if row is not None else None


def save_state(*, session: Session, source: Source, stream: str, state: State) -> None:
    """Remember where a stream got to (one UPDATE a page; an INSERT the first time)."""
    saved = session.execute(
        update(StreamState)
        .where(StreamState.source_id == source.id, StreamState.stream == stream)
        .values(state=dict(state), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if saved.rowcount == 0:  # type: ignore[attr-defined]
        session.add(StreamState(source_id=source.id, stream=stream, state=dict(state)))


def forget_states(*, session: Session, source: Source) -> None:
    """Forget where every stream of a source got to: the next sync reads from the start."""
    session.execute(delete(StreamState).where(StreamState.source_id == source.id))


def queue_run(*, session: Session, source: Source, full: bool) -> SyncRun:
    """Record a sync that is about to run."""
    run = SyncRun(source_id=source.id, full=full, status="queued", counts={})
    session.add(run)
    session.flush()
    return run


def get_run(*, session: Session, source: Source, run_id: int) -> SyncRun:
    """One run of a source, or NotFound."""
    run = session.get(SyncRun, run_id)
    if run is None or run.source_id != source.id:
        raise NotFound(f"source {source.name!r} has no run {run_id}")
    return run


def cancel_run(*, session: Session, run: SyncRun) -> SyncRun:
    """Stop a run: a queued one never starts; a running one stops after the page it is storing
    (what it stored stays, with the cursor after it). A finished run is a Conflict."""
    if run.status not in ACTIVE_STATUSES:
        raise Conflict(f"run {run.id} already ended: {run.status}")
    now = utcnow()
    run.cancel_requested_at = run.cancel_requested_at or now
    if run.status == "queued":
        run.status, run.finished_at, run.error = "cancelled", now, CANCELLED
    session.flush()
    return run


def cancel_requested(*, session: Session, run_id: int) -> bool:
    """Whether someone asked the run to stop."""
    requested = session.scalar(select(SyncRun.cancel_requested_at).where(SyncRun.id == run_id))
    return requested is not None


def active_run(*, session: Session, source: Source) -> SyncRun | None:
    """The source's newest run that is queued or running, if any."""
    return session.scalar(
        select(SyncRun)
        .where(SyncRun.source_id == source.id, SyncRun.status.in_(ACTIVE_STATUSES))
        .order_by(SyncRun.id.desc())
        .limit(1)
    )


def is_lost(run: SyncRun, *, now: datetime, stale_after: timedelta) -> bool:
    """Whether an active run looks lost: queued and never started, or running and storing no
    page, for longer than ``stale_after`` (its process died with no broker to hand it back)."""
    last_sign = run.progress_at or run.started_at
    return now - last_sign > stale_after


def due_sources(*, session: Session, now: datetime, limit: int = 100) -> list[Source]:
    """Sources whose scheduled sync is due, locked for this transaction; sources another
    scheduler has locked are skipped, so two schedulers never queue one sync twice."""
    query = (
        select(Source)
        .where(Source.schedule.is_not(None), Source.next_sync_at <= now, ~Source.paused)
        .order_by(Source.next_sync_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def record_outcome(
    *, session: Session, source_id: int, status: str, backoff: Callable[[int], timedelta]
) -> None:
    """After a run ended: count the failures in a row, and keep a scheduled source that fails
    from being tried again before ``backoff(failures)`` has passed."""
    source = session.get_one(Source, source_id)
    if status == "succeeded":
        source.consecutive_failures = 0
    elif status == "failed":
        source.consecutive_failures += 1
        if source.next_sync_at is not None:
            earliest = utcnow() + backoff(source.consecutive_failures)
            source.next_sync_at = max(source.next_sync_at, earliest)


_Kept = TypeVar("_Kept", SyncRun, RecordReject)


def _newest_first(
    model: type[_Kept], *, session: Session, source: Source, limit: int, before: int | None
) -> list[_Kept]:
    """What the store keeps of a source in ``model``, newest first, keyset-paged by id."""
    query = select(model).where(model.source_id == source.id)
    if before is not None:
        query = query.where(model.id < before)
    return list(session.scalars(query.order_by(model.id.desc()).limit(limit)))


def list_runs(*, session: Session, source: Source, limit: int, before: int | None) -> list[SyncRun]:
    """A source's runs, newest first, keyset-paged by run id."""
    return _newest_first(SyncRun, session=session, source=source, limit=limit, before=before)


def list_rejects(
    *, session: Session, source: Source, limit: int, before: int | None
) -> list[RecordReject]:
    """What a source sent that could not be ingested, newest first, keyset-paged by id."""
    return _newest_first(RecordReject, session=session, source=source, limit=limit, before=before)


# -- erasure ---------------------------------------------------------------------------------


def iter_rejects(*, session: Session) -> Iterator[tuple[int, int, Any]]:
    """Every kept reject with content, as (id, source id, content), in id order."""
    query = (
        select(RecordReject.id, RecordReject.source_id, RecordReject.raw)
        .where(RecordReject.raw.is_not(None))
        .order_by(RecordReject.id)
        .execution_options(yield_per=2000)
    )
    for reject_id, source_id, raw in session.execute(query):
        yield int(reject_id), int(source_id), raw


def erase_rejects(*, session: Session, ids: Sequence[int], dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) these rejects."""
    return delete_among(session, RecordReject, RecordReject.id, ids, dry_run=dry_run)


def without_ids(state: Any, values: Collection[str]) -> Any:
    """A stream state without these record ids (an erased person's), which cursors keep of the
    last records read: dropped from lists, None where a key held one. The stream then reads a
    little again from where it was, which is harmless: pages are upserted by id, and the
    suppression check drops the erased person again."""
    if isinstance(state, dict):
        return {k: None if _named(v, values) else without_ids(v, values) for k, v in state.items()}
    if isinstance(state, list):
        return [without_ids(v, values) for v in state if not _named(v, values)]
    return state


def _named(value: Any, values: Collection[str]) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) in values


def scrub_states(
    *, session: Session, external_ids: Mapping[int, Collection[str]], dry_run: bool = False
) -> int:
    """Take these records' ids (source id -> the source's ids) out of their streams' states
    (see ``without_ids``); returns the states changed."""
    changed = 0
    for source_id, values in sorted(external_ids.items()):
        for row in session.scalars(select(StreamState).where(StreamState.source_id == source_id)):
            scrubbed = without_ids(row.state, set(values))
            if scrubbed != row.state:
                changed += 1
                if not dry_run:
                    row.state = scrubbed
    return changed


def delete_rejects_before(*, session: Session, cutoff: datetime, dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) the rejects kept before ``cutoff``."""
    return delete_where(session, RecordReject, RecordReject.created_at < cutoff, dry_run=dry_run)


# -- jobs: work handed to the workers by a request ------------------------------------------


def delete_jobs_before(*, session: Session, cutoff: datetime, dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) the jobs that finished before ``cutoff``; queued and
    running ones stay, whatever their age."""
    return delete_where(session, Job, Job.finished_at < cutoff, dry_run=dry_run)


def queue_job(*, session: Session, kind: str, subject: str, actor: str) -> Job:
    """Record work about to be handed to the workers."""
    job = Job(kind=kind, subject=subject, actor=actor, status="queued")
    session.add(job)
    session.flush()
    return job


def get_job(*, session: Session, job_id: int) -> Job:
    """One job, or NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def start_job(*, session: Session, job: Job) -> bool:
    """Mark a job running; False when it already ended (a task delivered again after it ran)."""
    if job.status not in ("queued", "running"):
        return False
    job.status, job.started_at = "running", utcnow()
    return True


def finish_job(
    *,
    session: Session,
    job: Job,
    result: Mapping[str, Any] | None = None,
    error: Mapping[str, Any] | None = None,
) -> Job:
    """Mark a job ended: succeeded with its ``result``, or failed with its ``error``."""
    job.status = "failed" if error is not None else "succeeded"
    job.finished_at = utcnow()
    job.result = dict(result) if result is not None else None
    job.error = dict(error) if error is not None else None
    return job
