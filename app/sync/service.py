"""Ingest: pages from a connector (or a push) into the store, resolved as they land.

A page's records, events, consents, rejects and the stream state after it are written in one
transaction by the caller's unit of work, so a cursor never moves past what is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from app.customer import service as customer_view
from app.db import among, bulk_insert, hold_identity_lock, utcnow
from app.errors import InvalidInput
from app.event.models import Event
from app.event.service import record_subject
from app.matching import Matcher
from app.privacy import service as privacy
from app.privacy.models import Consent
from app.resolution import service as resolution
from app.source import service as sources
from app.source.models import Source, SourceRecord
from app.source.schemas import PushedRecordSchema
from app.sync.models import RecordReject, StreamState, SyncRun
from connectors import EventIn, Page, RecordIn, Reject, State

_PUSHED = PushedRecordSchema()
# What ingesting a page writes to (resolution adds its own tables).
INGESTED_TABLES = (
    SourceRecord.__table__,
    Event.__table__,
    Consent.__table__,
    RecordReject.__table__,
)


@dataclass(slots=True)
class IngestReport:
    """Totals of an ingest, kept up to date page by page."""

    pages: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    events: int = 0
    identities_created: int = 0
    merges: int = 0
    splits: int = 0

    @property
    def records(self) -> int:
        """Records read, good or bad."""
        return self.created + self.updated + self.deleted + self.unchanged + len(self.rejects)

    def counts(self) -> dict[str, int]:
        """Counts for reports and API responses."""
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "rejected": len(self.rejects),
            "events": self.events,
            "identities_created": self.identities_created,
            "merges": self.merges,
            "splits": self.splits,
        }


def ingest_page(
    *,
    session: Session,
    source: Source,
    page: Page,
    matcher: Matcher | None,
    report: IngestReport,
    stream: str = "records",
    run_id: int | None = None,
) -> None:
    """Store one page and resolve what changed (unless ``matcher`` is None: resolve later).

    Adds the outcome to ``report``.
    """
    if matcher is not None or page.events:
        # Resolving and refreshing traits change what identities hold. The lock comes before
        # the page's first row lock: a merge waiting for a record this page changes would
        # otherwise wait for us while we wait for it.
        hold_identity_lock(session)
    upserted = sources.upsert_records(session=session, source=source, records=page.records)
    if upserted.created:
        _link_waiting_events(session, source, [r.external_id for r in upserted.created])
    consents = {r.external_id: r for r in page.records if r.consents}
    if consents:
        privacy.upsert_consents(
            session=session,
            choices=(
                (r.id, consents[r.external_id].consents, r.source_updated_at)
                for r in upserted.created + upserted.updated
                if r.external_id in consents
            ),
        )
    report.events += _upsert_events(session, source, page.events)
    _keep_rejects(session, source, page.rejects, stream, run_id)
    report.pages += 1
    report.created += len(upserted.created)
    report.updated += len(upserted.updated)
    report.deleted += len(upserted.deleted)
    report.unchanged += upserted.unchanged
    report.rejects.extend(page.rejects)
    if matcher is not None:
        resolved = resolution.resolve_records(
            session=session, matcher=matcher, record_ids=upserted.changed_ids
        )
        report.identities_created += resolved.created
        report.merges += resolved.merged
        report.splits += resolved.split
    if page.events:
        # The footprint changed: orders, tickets and e-mail engagement feed the traits.
        customer_view.refresh_after_events(
            session=session,
            subjects={
                record_subject(source.id, e.customer_external_id)
                for e in page.events
                if e.customer_external_id
            },
        )


def _event_key(event: EventIn) -> str:
    """The source's id of an event; a digest of its content when the source gives none."""
    if event.external_id:
        return event.external_id
    content = [
        event.type,
        event.occurred_at.isoformat(),
        event.customer_external_id,
        event.properties,
    ]
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode())
    return f"sha256:{digest.hexdigest()[:40]}"


def _upsert_events(session: Session, source: Source, events: Sequence[EventIn]) -> int:
    """Insert new events and update changed ones, by (source, external id); returns changes."""
    latest = {_event_key(e): e for e in events}
    if not latest:
        return 0
    table: Table = Event.__table__  # type: ignore[assignment]
    compared = ("type", "occurred_at", "properties", "customer_external_id", "record_id")
    existing = {
        row.external_id: row
        for row in session.execute(
            select(table.c.id, table.c.external_id, *(table.c[name] for name in compared)).where(
                table.c.source_id == source.id, among(session, table.c.external_id, list(latest))
            )
        )
    }
    customers = {e.customer_external_id for e in latest.values() if e.customer_external_id}
    record_ids: dict[str, int] = {}
    if customers:
        query = select(SourceRecord.external_id, SourceRecord.id).where(
            SourceRecord.source_id == source.id,
            among(session, SourceRecord.external_id, list(customers)),
        )
        record_ids = dict(session.execute(query).all())
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    now = utcnow()
    for key, event in latest.items():
        values = {
            "type": event.type,
            "occurred_at": event.occurred_at,
            "properties": dict(event.properties),
            "customer_external_id": event.customer_external_id,
            "record_id": record_ids.get(event.customer_external_id or ""),
        }
        current = existing.get(key)
        if current is None:
            inserts.append(
                {"source_id": source.id, "external_id": key, "received_at": now, **values}
            )
        elif any(getattr(current, name) != values[name] for name in compared):
            updates.append({"event_id": current.id, **values})
    bulk_insert(session, table, inserts)
    if updates:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("event_id"))
            .values({name: bindparam(name) for name in compared}),
            updates,
        )
    return len(inserts) + len(updates)


def _link_waiting_events(session: Session, source: Source, external_ids: list[str]) -> None:
    """Events that arrived before their customer's record now point at it."""
    record_id = (
        select(SourceRecord.id)
        .where(
            SourceRecord.source_id == Event.source_id,
            SourceRecord.external_id == Event.customer_external_id,
        )
        .scalar_subquery()
    )
    session.execute(
        update(Event)
        .where(
            Event.source_id == source.id,
            Event.record_id.is_(None),
            among(session, Event.customer_external_id, external_ids),
        )
        .values(record_id=record_id)
        .execution_options(synchronize_session=False)
    )


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _keep_rejects(
    session: Session, source: Source, rejects: Sequence[Reject], stream: str, run_id: int | None
) -> None:
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
    )


def _describe(error: ValidationError) -> str:
    messages = error.messages if isinstance(error.messages, dict) else {"record": error.messages}
    return "; ".join(f"{field}: {' '.join(map(str, texts))}" for field, texts in messages.items())


def push_records(
    *,
    session: Session,
    source: Source,
    items: Sequence[Mapping[str, Any]],
    matcher: Matcher,
    batch_max: int,
) -> IngestReport:
    """Ingest records a department pushed; invalid ones are rejected, the rest are kept."""
    if len(items) > batch_max:
        raise InvalidInput(
            f"a push holds at most {batch_max} records", {"records": [f"got {len(items)}"]}
        )
    good, rejects = [], []
    for index, item in enumerate(items):
        try:
            loaded = _PUSHED.load(item)
        except ValidationError as error:
            rejects.append(Reject(str(index), f"invalid record: {_describe(error)}", item))
            continue
        if unknown := sources.unknown_attributes(source, loaded["attributes"]):
            reason = (
                f"unknown attributes {', '.join(unknown)}: map to canonical ones or declare them"
            )
            rejects.append(Reject(str(index), reason, item))
            continue
        good.append(
            RecordIn(
                external_id=loaded["external_id"],
                attributes={k: v for k, v in loaded["attributes"].items() if v is not None},
                raw=loaded["raw"] if loaded["raw"] is not None else item,
                updated_at=loaded["updated_at"],
                deleted=loaded["deleted"],
            )
        )
    if not good:
        raise InvalidInput(
            "no record in the push is valid",
            {"records": {r.position: [r.reason] for r in rejects}},
        )
    report = IngestReport()
    page = Page(state={}, records=good, rejects=rejects)
    ingest_page(session=session, source=source, page=page, matcher=matcher, report=report)
    return report


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


def queue_run(*, session: Session, source: Source, full: bool) -> SyncRun:
    """Record a sync that is about to run."""
    run = SyncRun(source_id=source.id, full=full, status="queued", counts={})
    session.add(run)
    session.flush()
    return run


def list_runs(*, session: Session, source: Source, limit: int, before: int | None) -> list[SyncRun]:
    """A source's runs, newest first, keyset-paged by run id."""
    query = select(SyncRun).where(SyncRun.source_id == source.id)
    if before is not None:
        query = query.where(SyncRun.id < before)
    return list(session.scalars(query.order_by(SyncRun.id.desc()).limit(limit)))


def list_rejects(
    *, session: Session, source: Source, limit: int, before: int | None
) -> list[RecordReject]:
    """What a source sent that could not be ingested, newest first, keyset-paged by id."""
    query = select(RecordReject).where(RecordReject.source_id == source.id)
    if before is not None:
        query = query.where(RecordReject.id < before)
    return list(session.scalars(query.order_by(RecordReject.id.desc()).limit(limit)))
