"""The live records of identities as the customer view reads them: a record with its source's
name, priority and declared attributes, and its times (see :class:`LoadedRecord`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, select
from sqlalchemy.orm import Session

from app.customer.survivorship import SourcedRecord
from app.db import Repeated, Reused, among_parameter, as_stored, read_rows
from app.source.models import Source, SourceRecord
from app.source.service import LOADED_COLUMNS


@dataclass(frozen=True, slots=True)
class LoadedRecord:
    """A live record as the golden record and the profile need it."""

    sourced: SourcedRecord
    updated_at: datetime
    source_updated_at: datetime | None
    identity_id: int | None = None
    problems: Mapping[str, str] = field(default_factory=dict)
    """Values kept as written that cannot be compared, with why (shown flagged)."""


def loaded_record(row: Row[Any]) -> LoadedRecord:
    """A record as the golden record needs it, from a row holding ``LOADED_COLUMNS``."""
    return LoadedRecord(
        SourcedRecord(
            record_id=row.id,
            source=row.name,
            priority=row.priority,
            external_id=row.external_id,
            attributes=row.attributes,
            attribute_types=row.attribute_types,
            observed_at=row.source_updated_at or row.updated_at,
            first_seen_at=row.first_seen_at,
        ),
        row.updated_at,
        row.source_updated_at,
        row.identity_id,
        row.problems or {},
    )


def _loaded_where(condition: ColumnElement[bool]) -> Select[Any]:
    """The query ``loaded_where`` runs: ``LOADED_COLUMNS`` of the live records matching a
    condition, in id order."""
    return (
        select(*LOADED_COLUMNS)
        .join(Source, Source.id == SourceRecord.source_id)
        .where(condition, SourceRecord.deleted_at.is_(None))
        .order_by(SourceRecord.id)
    )


def live_records_where(session: Session, condition: ColumnElement[bool]) -> list[LoadedRecord]:
    """Live records matching a condition, with their sources, in id order."""
    return [loaded_record(row) for row in read_rows(session, _loaded_where(condition))]


# The live records of many identities: times read as stored, converted once per distinct
# value, and each source's columns read once, not once per record (see ``_load_records``).
_TIMES = (SourceRecord.first_seen_at, SourceRecord.updated_at, SourceRecord.source_updated_at)
_LOADED_OF_IDENTITIES = Reused(
    lambda dialect: (
        select(
            SourceRecord.id,
            SourceRecord.identity_id,
            SourceRecord.source_id,
            SourceRecord.external_id,
            SourceRecord.attributes,
            SourceRecord.problems,
            *map(as_stored, _TIMES),
        )
        .where(
            among_parameter(dialect, SourceRecord.identity_id, "ids"),
            SourceRecord.deleted_at.is_(None),
        )
        .order_by(SourceRecord.id)
    )
)


def load_records(session: Session, identity_ids: Sequence[int]) -> dict[int, list[LoadedRecord]]:
    """The live records of these identities, as ``live_records_where`` reads them, for a
    refresh of thousands of identities at once."""
    loaded: dict[int, list[LoadedRecord]] = defaultdict(list)
    if not identity_ids:
        return loaded
    rows = read_rows(session, _LOADED_OF_IDENTITIES(session), {"ids": list(identity_ids)})
    first_seen, updated, source_updated = (Repeated(session, column) for column in _TIMES)
    # Every source in one read (a handful of rows), not one query per source per chunk.
    sources = {
        row.id: row
        for row in session.execute(
            select(Source.id, Source.name, Source.priority, Source.attribute_types)
        )
    }
    for record_id, identity_id, source_id, external_id, attributes, problems, *times in rows:
        source = sources[source_id]
        updated_at, source_updated_at = updated(times[1]), source_updated(times[2])
        loaded[identity_id].append(
            LoadedRecord(
                SourcedRecord(
                    record_id=record_id,
                    source=source.name,
                    priority=source.priority,
                    external_id=external_id,
                    attributes=attributes,
                    attribute_types=source.attribute_types,
                    observed_at=source_updated_at or updated_at,
                    first_seen_at=first_seen(times[0]),
                ),
                updated_at,
                source_updated_at,
                identity_id,
                problems or {},
            )
        )
    return loaded
