"""Event intake: the one place events are written. Events pushed over the API (naming a
customer by e-mail, phone, record or anonymous id), queued in batches and written by workers;
events a connector's page brings (naming its source's record); and the stitching of anonymous
visitors to an identifier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from marshmallow import ValidationError
from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from app.db import Reused, among, among_parameter, bulk_insert, chunks, delete_where, utcnow
from app.errors import InvalidInput, NotFound
from app.event.models import AnonymousLink, Event, EventBatch
from app.event.schemas import EventInSchema
from app.event.service import Subject, anonymous_key, check_own_record, subject_of
from app.security.values import too_long
from app.settings import Settings
from app.source.models import Source, SourceRecord
from connectors import EventIn

_EVENT = EventInSchema()


@dataclass(slots=True)
class EventReject:
    """An event that was refused, with its place in the batch and the reason."""

    position: str
    reason: str


@dataclass(slots=True)
class IntakeReport:
    """What an event batch changed, and the subjects whose identities need fresh traits."""

    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressed: int = 0
    """Events dropped because they name an erased person."""
    rejects: list[EventReject] = field(default_factory=list)
    subjects: set[Subject] = field(default_factory=set)

    def counts(self) -> dict[str, Any]:
        """Counts and rejects for the API response."""
        return {
            "accepted": self.accepted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "suppressed": self.suppressed,
            "rejected": len(self.rejects),
            "rejects": self.rejects,
        }


def _describe(error: ValidationError | InvalidInput) -> str:
    if isinstance(error, InvalidInput):
        messages: Any = error.extra.get("errors") or {"event": [error.detail]}
    else:
        messages = error.messages if isinstance(error.messages, dict) else {"event": error.messages}
    return "; ".join(
        f"{name}: {' '.join(map(str, texts if isinstance(texts, list) else [texts]))}"
        for name, texts in messages.items()
    )


def linked_subject(*, session: Session, anonymous_id: str) -> Subject | None:
    """The subject an anonymous visitor is stitched to now, if any."""
    return session.scalar(
        select(AnonymousLink.subject).where(AnonymousLink.anonymous_id == anonymous_id)
    )


def link_anonymous(
    *, session: Session, anonymous_id: str, subject: Subject, source_id: int | None
) -> Subject | None:
    """Stitch an anonymous id to a subject; returns the subject it was linked to before."""
    link = session.get(AnonymousLink, anonymous_id)
    if link is None:
        session.add(AnonymousLink(anonymous_id=anonymous_id, subject=subject, source_id=source_id))
        session.flush()
        return None
    before = link.subject
    link.subject, link.source_id, link.linked_at = subject, source_id, utcnow()
    session.flush()
    return before


# -- batches queued over the API --------------------------------------------------------


def queue_batch(
    *, session: Session, source: Source, items: Sequence[Mapping[str, Any]], only_own: bool
) -> EventBatch:
    """Queue a batch of events for the workers, as it came (nothing is parsed twice)."""
    batch = EventBatch(
        source_id=source.id,
        only_own=only_own,
        items=orjson.dumps(list(items)).decode(),
        queued=len(items),
        status="queued",
        outcome={},
    )
    session.add(batch)
    session.flush()
    return batch


def get_batch(*, session: Session, batch_id: int, source: Source | None = None) -> EventBatch:
    """One queued or written batch (of ``source`` only, when named), or NotFound."""
    batch = session.get(EventBatch, batch_id)
    if batch is None or (source is not None and batch.source_id != source.id):
        raise NotFound(f"no event batch {batch_id}")
    return batch


def take_batches(*, session: Session, events: int) -> list[EventBatch]:
    """The oldest queued batches, up to about ``events`` events, locked for this transaction;
    batches another transaction holds are skipped, so workers take different ones."""
    query = (
        select(EventBatch)
        .where(EventBatch.status == "queued")
        .order_by(EventBatch.id)
        .limit(max(1, events // 100))
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken: list[EventBatch] = []
    total = 0
    for batch in session.scalars(query):
        if taken and total + batch.queued > events:
            break
        taken.append(batch)
        total += batch.queued
    return taken


@dataclass(slots=True)
class LoadedEvents:
    """A batch's events read and checked, not yet stored: each with its place and subject,
    and what was refused or dropped on the way."""

    source: Source
    events: list[tuple[str, dict[str, Any], Subject]] = field(default_factory=list)
    report: IntakeReport = field(default_factory=IntakeReport)

    def lock_names(self) -> set[str]:
        """What storing them touches: their subjects (a customer's traits, an anonymous
        visitor's link) and the events a resent id updates."""
        names = {f"subject:{subject}" for _, _, subject in self.events}
        names.update(
            f"subject:anonymous:{anonymous_key(self.source.id, event['anonymous_id'])}"
            for _, event, _ in self.events
            if "anonymous_id" in event
        )
        names.update(
            f"subject:event:{self.source.id}:{event['id']}"
            for _, event, _ in self.events
            if event["id"] is not None
        )
        return names


def load_events(
    *,
    session: Session,
    settings: Settings,
    source: Source,
    items: Sequence[Mapping[str, Any]],
    only_records_of: Source | None = None,
    suppressed: Callable[[Collection[Subject]], set[Subject]] | None = None,
    source_ids: Mapping[str, int] | None = None,
) -> LoadedEvents:
    """Read a batch of events from one source; invalid ones are rejected with their reason,
    and so is one holding a value over the settings' ``max_value_length`` characters, or naming a
    record of another source than ``only_records_of`` (a connector's own). Events whose subject
    ``suppressed`` names (an erased person's) are dropped. Nothing is written."""
    loaded = LoadedEvents(source)
    report = loaded.report
    parsed: list[tuple[str, dict[str, Any], Subject]] = []
    if source_ids is None:
        source_ids = {row.name: row.id for row in session.execute(select(Source.name, Source.id))}
    for index, item in enumerate(items):
        if reason := too_long(item, settings.max_value_length):
            report.rejects.append(EventReject(str(index), reason))
            continue
        try:
            event = _EVENT.load(item)
            check_own_record(event, only_records_of)
            subject = subject_of(
                session=session,
                settings=settings,
                reference=event,
                anonymous_of=source.id,
                source_ids=source_ids,
            )
        except (ValidationError, InvalidInput) as error:
            report.rejects.append(EventReject(str(index), _describe(error)))
            continue
        parsed.append((str(index), event, subject))
    erased = suppressed([subject for _, _, subject in parsed]) if suppressed else set()
    report.suppressed = sum(subject in erased for _, _, subject in parsed)
    loaded.events = [entry for entry in parsed if entry[2] not in erased]
    return loaded


def store_events(*, session: Session, loaded: LoadedEvents) -> IntakeReport:
    """Store events read by ``load_events``: stitch the anonymous visitors they name with an
    identifier, insert new events, update resent ones; returns the report, whose subjects are
    those whose identities need fresh traits."""
    source, report = loaded.source, loaded.report
    for _position, event, subject in loaded.events:
        if "anonymous_id" in event and not subject.startswith("anonymous:"):
            before = link_anonymous(
                session=session,
                anonymous_id=anonymous_key(source.id, event["anonymous_id"]),
                subject=subject,
                source_id=source.id,
            )
            # Whoever the visitor was linked to before loses their events.
            report.subjects.update(s for s in (before,) if s is not None and s != subject)
    _store(session, source, loaded.events, report)
    return report


def finish_batch(batch: EventBatch, report: IntakeReport) -> None:
    """Keep what came of a batch; its events' text goes."""
    counts = report.counts()
    counts["rejects"] = [{"position": r.position, "reason": r.reason} for r in report.rejects]
    batch.outcome = counts
    batch.status = "done"
    batch.items = None
    batch.done_at = utcnow()


def batch_items(batch: EventBatch) -> list[dict[str, Any]]:
    """The events of a queued batch, as they came."""
    items: list[dict[str, Any]] = orjson.loads(batch.items or "[]")
    return items


def _store(
    session: Session,
    source: Source,
    loaded: Sequence[tuple[str, dict[str, Any], Subject]],
    report: IntakeReport,
) -> None:
    # The same source id twice in one batch: the later one is the newer (as for records).
    latest: dict[str, tuple[dict[str, Any], Subject]] = {}
    anonymous: list[tuple[dict[str, Any], Subject]] = []
    for _position, event, subject in loaded:
        if event["id"] is None:
            anonymous.append((event, subject))
        else:
            latest.pop(event["id"], None)
            latest[event["id"]] = (event, subject)
    existing = {
        e.external_id: e
        for chunk in chunks(list(latest))
        for e in session.scalars(
            select(Event).where(
                Event.source_id == source.id, among(session, Event.external_id, chunk)
            )
        )
    }
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    for event, subject in [*anonymous, *latest.values()]:
        report.subjects.add(subject)
        values = {
            "type": event["type"],
            "occurred_at": event["occurred_at"] or now,
            "properties": event["properties"],
            "subject": subject,
            "record_id": None,
        }
        current = existing.get(event["id"]) if event["id"] is not None else None
        if current is None:
            inserts.append(
                {"source_id": source.id, "external_id": event["id"], "received_at": now, **values}
            )
            report.accepted += 1
        elif any(getattr(current, name) != value for name, value in values.items()):
            if current.subject is not None:
                report.subjects.add(current.subject)
            for name, value in values.items():
                setattr(current, name, value)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    # Page views come by the thousand: written in bulk, not an object each.
    bulk_insert(session, Event.__table__, inserts)


# -- events a connector brings ----------------------------------------------------------


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


def upsert_source_events(session: Session, source: Source, events: Sequence[EventIn]) -> int:
    """Insert new events, update changed ones and delete the ones the source deleted, by
    (source, external id); returns changes."""
    latest = {_event_key(e): e for e in events}
    if not latest:
        return 0
    table: Table = Event.__table__  # type: ignore[assignment]
    gone = [key for key, event in latest.items() if event.deleted]
    removed = 0
    for chunk in chunks(gone):
        named = and_(table.c.source_id == source.id, among(session, table.c.external_id, chunk))
        removed += delete_where(session, table, named)
    latest = {key: event for key, event in latest.items() if not event.deleted}
    if not latest:
        return removed
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
    return len(inserts) + len(updates) + removed


def _link_waiting(dialect: str) -> Executable:
    record_id = (
        select(SourceRecord.id)
        .where(
            SourceRecord.source_id == Event.source_id,
            SourceRecord.external_id == Event.customer_external_id,
        )
        .scalar_subquery()
    )
    return (
        update(Event)
        .where(
            Event.source_id == bindparam("source"),
            Event.record_id.is_(None),
            among_parameter(dialect, Event.customer_external_id, "ids"),
        )
        .values(record_id=record_id)
        .execution_options(synchronize_session=False)
    )


# Every page that creates records runs it: built once.
_LINK_WAITING = Reused(_link_waiting)


def link_waiting_events(session: Session, source: Source, external_ids: list[str]) -> None:
    """Events that arrived before their customer's record now point at it."""
    for chunk in chunks(external_ids):
        session.execute(_LINK_WAITING(session), {"source": source.id, "ids": chunk})
