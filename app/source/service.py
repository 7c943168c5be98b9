"""Sources and their records: create, look up, and upsert by (source, external id)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from app.db import (
    Reused,
    among,
    among_parameter,
    bulk_insert_ids,
    chunks,
    delete_among,
    json_bytes,
    read_rows,
    utcnow,
)
from app.errors import Conflict, InvalidInput, NotFound
from app.settings.sources import SourcePolicy
from app.source.models import Source, SourceRecord
from app.source.schedule import OFF, Schedule
from connectors import (
    CANONICAL_ATTRIBUTES,
    ConfigurationError,
    RecordIn,
    connector_class,
)
from connectors.base import EXTRA_ATTRIBUTE_TYPES


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record an upsert wrote, as much of it as ingest needs next."""

    id: int
    external_id: str
    source_updated_at: datetime | None


@dataclass(slots=True)
class UpsertResult:
    """What an upsert changed: the records that need resolving, and the counts."""

    created: list[StoredRecord] = field(default_factory=list)
    updated: list[StoredRecord] = field(default_factory=list)
    deleted: list[StoredRecord] = field(default_factory=list)
    unchanged: int = 0
    problems: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Values stored as written but not comparable, by (attribute, why)."""

    @property
    def changed_ids(self) -> list[int]:
        """Every record whose content or liveness changed."""
        return [r.id for r in self.created + self.updated + self.deleted]

    def counts(self) -> dict[str, int]:
        """Counts for reports and API responses."""
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "unchanged": self.unchanged,
        }


# A live record with what its source says of it: what golden records are computed from (the
# customer view's ``app.customer.records.loaded_record`` reads a row of these), and what real
# time reads of a changed record, so that a new identity's golden record needs no second read.
LOADED_COLUMNS = (
    SourceRecord.id,
    SourceRecord.identity_id,
    SourceRecord.external_id,
    SourceRecord.attributes,
    SourceRecord.problems,
    SourceRecord.first_seen_at,
    SourceRecord.updated_at,
    SourceRecord.source_updated_at,
    Source.name,
    Source.priority,
    Source.attribute_types,
)


_BY_NAME = Reused(lambda _dialect: select(Source).where(Source.name == bindparam("name")))


def get_by_name(*, session: Session, name: str) -> Source:
    """The source with this name, or NotFound."""
    source: Source | None = session.scalar(_BY_NAME(session), {"name": name})
    if source is None:
        raise NotFound(f"no source named {name!r}")
    return source


def list_sources(
    *, session: Session, after: str | None = None, limit: int | None = None
) -> list[Source]:
    """Sources by name: every one, or ``limit`` of them named after ``after``."""
    query = select(Source).order_by(Source.name).limit(limit)
    if after is not None:
        query = query.where(Source.name > after)
    return list(session.scalars(query))


def validate_attribute_types(attribute_types: Mapping[str, str]) -> None:
    """Refuse extra attributes that shadow canonical ones or have an unknown type."""
    errors = {}
    for name, kind in attribute_types.items():
        if name in CANONICAL_ATTRIBUTES:
            errors[name] = [f"{name!r} is a canonical attribute; it needs no declaration"]
        elif kind not in EXTRA_ATTRIBUTE_TYPES:
            errors[name] = [f"unknown type {kind!r}; one of {', '.join(EXTRA_ATTRIBUTE_TYPES)}"]
    if errors:
        raise InvalidInput("invalid attribute declarations", errors)


def create(
    *,
    session: Session,
    name: str,
    kind: str,
    policy: SourcePolicy,
    settings: Mapping[str, Any] | None = None,
    attribute_types: Mapping[str, str] | None = None,
    priority: int = 100,
    any_file: bool = False,
) -> Source:
    """Create a source of a registered connector kind, its settings checked against the kind's
    schema and the ``policy`` (``any_file``: the operator's command line may name any file).

    Every kind but ``push`` also takes the setting ``schedule`` (see ``set_schedule``).
    """
    try:
        connector_class(kind)
    except ConfigurationError as error:
        raise InvalidInput(str(error), {"kind": [str(error)]}) from None
    connector_settings = dict(settings or {})
    schedule = connector_settings.pop("schedule", None)
    policy.check(kind, connector_settings, any_file=any_file)
    validate_attribute_types(attribute_types or {})
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise Conflict(f"a source named {name!r} already exists")
    source = Source(
        name=name,
        kind=kind,
        settings=connector_settings,
        attribute_types=dict(attribute_types or {}),
        priority=priority,
    )
    set_schedule(source=source, schedule=None if schedule is None else str(schedule))
    session.add(source)
    session.flush()
    return source


def set_schedule(*, source: Source, schedule: str | None, now: datetime | None = None) -> None:
    """Sync the source on a schedule (``15m``, a cron expression; see ``Schedule``), from
    ``now``; None or ``off`` syncs it only when asked. A push source has nothing to pull."""
    if schedule is None or schedule.strip().lower() in OFF:
        source.schedule, source.next_sync_at = None, None
        return
    parsed = Schedule.parse(schedule)
    if source.kind == "push":
        raise InvalidInput(
            "a push source is not synced", {"schedule": ["its department pushes its records"]}
        )
    source.schedule = parsed.text
    source.next_sync_at = parsed.next_after(now or utcnow())
    source.consecutive_failures = 0


def update(
    *,
    session: Session,
    source: Source,
    policy: SourcePolicy,
    settings: Mapping[str, Any] | None = None,
    priority: int | None = None,
    any_file: bool = False,
) -> Source:
    """Change a source's settings (those given replace the stored ones; a setting given as
    None is removed) and its survivorship priority; the result is checked as ``create``
    checks a new source's, and refused whole when it does not hold."""
    merged = dict(source.settings)
    for name, value in (settings or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    schedule = merged.pop("schedule", None)
    policy.check(source.kind, merged, any_file=any_file)
    source.settings = merged
    if settings is not None and "schedule" in settings:
        set_schedule(source=source, schedule=None if schedule is None else str(schedule))
    if priority is not None:
        source.priority = priority
    session.flush()
    return source


def set_paused(*, source: Source, paused: bool) -> Source:
    """Pause a source (no sync, by hand or on schedule, and no push) or resume it."""
    source.paused = paused
    return source


def check_running(source: Source) -> None:
    """Refuse work on a paused source with a Conflict that says how to go on."""
    if source.paused:
        raise Conflict(
            f"source {source.name!r} is paused: resume it first (huella source resume "
            f"{source.name}, or POST /api/v1/sources/{source.name}/resume)"
        )


def live_record_ids(*, session: Session, source: Source) -> list[int]:
    """The ids of the source's live records."""
    return list(
        session.scalars(
            select(SourceRecord.id).where(
                SourceRecord.source_id == source.id, SourceRecord.deleted_at.is_(None)
            )
        )
    )


def mark_deleted(*, session: Session, record_ids: Sequence[int]) -> None:
    """Tombstone these records, as when their source deleted them."""
    now = utcnow()
    for chunk in chunks(sorted(record_ids)):
        session.execute(
            sql_update(SourceRecord)
            .where(SourceRecord.id.in_(chunk), SourceRecord.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def delete(*, session: Session, source: Source) -> None:
    """Delete a source and everything it holds (its records, events, runs, cursors, rejects
    and tokens go with it); call it once its records' identities are re-resolved."""
    session.delete(source)
    session.flush()


def declare_attributes(
    *, session: Session, source: Source, attribute_types: Mapping[str, str]
) -> None:
    """Add extra attribute declarations to a source; redeclaring with another type is refused."""
    validate_attribute_types(attribute_types)
    clashes = {
        name: [f"declared as {source.attribute_types[name]!r}, not {kind!r}"]
        for name, kind in attribute_types.items()
        if source.attribute_types.get(name, kind) != kind
    }
    if clashes:
        raise InvalidInput(f"source {source.name!r} declares these attributes otherwise", clashes)
    source.attribute_types = {**source.attribute_types, **attribute_types}


def clean_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Trimmed text values; empty ones are dropped so 'missing' has one spelling."""
    cleaned = {}
    for name, value in attributes.items():
        text = "" if value is None else str(value).strip()
        if text:
            cleaned[name] = text
    return cleaned


def content_hash(attributes: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    """A digest of what the source says about a record; equal digests mean nothing changed."""
    return hashlib.sha256(json_bytes([attributes, raw], sort_keys=True)).hexdigest()


def _last_per_external_id(records: Iterable[RecordIn]) -> dict[str, RecordIn]:
    # A page may repeat a record (sources do); the later occurrence is the newer one.
    latest: dict[str, RecordIn] = {}
    for record in records:
        latest.pop(record.external_id, None)
        latest[record.external_id] = record
    return latest


_STORED = Reused(
    lambda dialect: select(
        SourceRecord.id,
        SourceRecord.external_id,
        SourceRecord.content_hash,
        SourceRecord.deleted_at,
    ).where(
        SourceRecord.source_id == bindparam("source_id"),
        among_parameter(dialect, SourceRecord.external_id, "external_ids"),
    )
)


def upsert_records(
    *,
    session: Session,
    source: Source,
    records: Sequence[RecordIn],
    check: Callable[[Mapping[str, str]], dict[str, str]] | None = None,
) -> UpsertResult:
    """Insert new records, update changed ones, tombstone deleted ones; unchanged cost nothing.

    ``check`` names a record's values that cannot be compared (``{"birth_date": "not a
    date"}``): they are stored as written, and the record keeps the list.

    Written with bulk statements (one query to read what exists, one per kind of write), since
    this is the ingest path every page of every sync takes.
    """
    incoming = _last_per_external_id(records)
    if not incoming:
        return UpsertResult()
    table: Table = SourceRecord.__table__  # type: ignore[assignment]
    parameters = {"source_id": source.id, "external_ids": list(incoming)}
    existing = {row.external_id: row for row in read_rows(session, _STORED(session), parameters)}
    result = UpsertResult()
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for external_id, record in incoming.items():
        current = existing.get(external_id)
        if record.deleted:
            if current is not None and current.deleted_at is None:
                result.deleted.append(StoredRecord(current.id, external_id, record.updated_at))
            else:
                result.unchanged += 1
            continue
        attributes = clean_attributes(record.attributes)
        digest = content_hash(attributes, record.raw)
        values = {
            "raw": dict(record.raw),
            "attributes": attributes,
            "content_hash": digest,
            "updated_at": now,
            "source_updated_at": record.updated_at,
        }
        if current is not None and current.content_hash == digest and current.deleted_at is None:
            result.unchanged += 1
            continue
        problems = check(attributes) if check is not None else {}
        result.problems.update(problems.items())
        values["problems"] = problems
        if current is None:
            inserts.append(
                {"source_id": source.id, "external_id": external_id, "first_seen_at": now, **values}
            )
        else:
            updates.append({"record_id": current.id, "deleted_at": None, **values})
            result.updated.append(StoredRecord(current.id, external_id, record.updated_at))
    if inserts:
        ids = bulk_insert_ids(session, table, inserts)
        result.created = [
            StoredRecord(record_id, values["external_id"], values["source_updated_at"])
            for record_id, values in zip(ids, inserts, strict=True)
        ]
    if updates:
        session.execute(
            sql_update(table)
            .where(table.c.id == bindparam("record_id"))
            .values({name: bindparam(name) for name in updates[0] if name != "record_id"}),
            updates,
        )
    if result.deleted:
        session.execute(
            sql_update(table)
            .where(table.c.id.in_([r.id for r in result.deleted]))
            .values(deleted_at=now, updated_at=now)
        )
    return result


def identities_of(
    *, session: Session, source: Source, external_ids: Iterable[str]
) -> dict[str, int | None]:
    """The identity of each of a source's records that exists, by external id."""
    found: dict[str, int | None] = {}
    for chunk in chunks(sorted(set(external_ids))):
        rows = read_rows(session, _IDENTITIES_OF(session), {"source": source.id, "ids": chunk})
        found.update((row.external_id, row.identity_id) for row in rows)
    return found


_IDENTITIES_OF = Reused(
    lambda dialect: select(SourceRecord.external_id, SourceRecord.identity_id).where(
        SourceRecord.source_id == bindparam("source"),
        among_parameter(dialect, SourceRecord.external_id, "ids"),
    )
)


def get_record(*, session: Session, source_name: str, external_id: str) -> SourceRecord:
    """A record by its source's name and the source's id for it, or NotFound."""
    record = session.scalar(
        select(SourceRecord)
        .join(Source)
        .where(Source.name == source_name, SourceRecord.external_id == external_id)
    )
    if record is None:
        raise NotFound(f"source {source_name!r} holds no record {external_id!r}")
    return record


def iter_live_records(
    *, session: Session, source: Source | None = None, batch_size: int = 2000
) -> Iterator[SourceRecord]:
    """Every live record (of one source, when given), streamed in id order."""
    query = select(SourceRecord).where(SourceRecord.deleted_at.is_(None))
    if source is not None:
        query = query.where(SourceRecord.source_id == source.id)
    query = query.order_by(SourceRecord.id).execution_options(yield_per=batch_size)
    yield from session.scalars(query)


# -- erasure ---------------------------------------------------------------------------------


def records_of_identities(*, session: Session, identity_ids: Sequence[int]) -> list[SourceRecord]:
    """The records these identities hold (deleted ones leave their identity)."""
    found: list[SourceRecord] = []
    for chunk in chunks(sorted(set(identity_ids))):
        found.extend(
            session.scalars(
                select(SourceRecord)
                .where(among(session, SourceRecord.identity_id, chunk))
                .order_by(SourceRecord.id)
            )
        )
    return found


def iter_tombstones(*, session: Session, batch_size: int = 2000) -> Iterator[SourceRecord]:
    """Every record deleted at its source (kept as a tombstone), streamed in id order."""
    query = (
        select(SourceRecord)
        .where(SourceRecord.deleted_at.is_not(None))
        .order_by(SourceRecord.id)
        .execution_options(yield_per=batch_size)
    )
    yield from session.scalars(query)


def erase_records(*, session: Session, record_ids: Sequence[int], dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) these records, attributes and raw payloads with them."""
    return delete_among(session, SourceRecord, SourceRecord.id, record_ids, dry_run=dry_run)
