"""Events: the subjects they name, and reading an identity's footprint (intake, where events are
written, is :mod:`app.event.intake`).

See ``app.event.models`` for how events follow identities: an identity's events are found at
read time through its records, the identifiers they hold, and the anonymous ids linked to those.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, column, or_, select, text
from sqlalchemy.orm import Session

from app.db import IN_CHUNK, Reused, among, among_parameter, chunks, delete_where, read_rows
from app.errors import InvalidInput
from app.event.models import AnonymousLink, Event
from app.event.schemas import EventInSchema
from app.identity.identifiers import normalize_identifier
from app.identity.models import RecordIdentifier
from app.settings import Settings
from app.source.models import Source, SourceRecord

_EVENT = EventInSchema()
Subject = str
"""``email:<normalized>``, ``phone:<E.164>``, ``record:<source id>:<external id>``,
``anonymous:<source id>:<id>``: how an event or a link names a customer. An anonymous id is its
source's own: two sources' visitors of the same id are two visitors."""


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event as a timeline shows it; ``properties`` is the stored JSON text, sent as is."""

    id: int
    type: str
    occurred_at: datetime
    source: str | None
    external_id: str | None
    via: str
    properties: str

    def as_json(self) -> str:
        """The event as the API sends it (TimelineEventSchema describes it)."""
        head = json.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "occurred_at": self.occurred_at.isoformat(),
                "source": self.source,
                "external_id": self.external_id,
                "via": self.via,
            }
        )
        return f'{head[:-1]}, "properties": {self.properties or "{}"}}}'


@dataclass(slots=True)
class Footprint:
    """Where an identity's events are: its live records and the subjects that name it."""

    records: set[int] = field(default_factory=set)
    subjects: set[Subject] = field(default_factory=set)


def record_subject(source_id: int, external_id: str) -> Subject:
    """The subject naming one department's record."""
    return f"record:{source_id}:{external_id}"


def anonymous_key(source_id: int, anonymous_id: str) -> str:
    """How a source's anonymous visitor is stored: within its source."""
    return f"{source_id}:{anonymous_id}"


def check_own_record(reference: Mapping[str, str], own: Source | None) -> None:
    """InvalidInput when a reference names another source's record than ``own``'s (None: any
    source's): a connector speaks only of its own source's records."""
    if own is None or "record" not in reference:
        return
    named = reference["record"].partition(":")[0]
    if named != own.name:
        message = f"names a record of {named!r}; this token names only {own.name!r} records"
        raise InvalidInput("not this source's record", {"record": [message]})


def subject_of(
    *,
    session: Session,
    settings: Settings,
    reference: Mapping[str, str],
    anonymous_of: int | None = None,
    source_ids: Mapping[str, int] | None = None,
) -> Subject:
    """The subject an email, phone or record (SOURCE:EXTERNAL_ID) reference names.

    With ``anonymous_of`` (a source id) and no identifier, the subject of that source's
    anonymous visitor. ``source_ids`` (name to id) spares a query per record reference in a
    batch. Raises InvalidInput when the identifier cannot be read or the source does not exist.
    """
    for kind in ("email", "phone"):
        if kind in reference:
            value = normalize_identifier(kind, reference[kind], settings.match)
            if value is None:
                raise InvalidInput(f"not a valid {kind}", {kind: [f"not a valid {kind}"]})
            return f"{kind}:{value}"
    if "record" in reference:
        source_name, _, external_id = reference["record"].partition(":")
        source_id = (
            source_ids.get(source_name)
            if source_ids is not None
            else session.scalar(select(Source.id).where(Source.name == source_name))
        )
        if source_id is None:
            raise InvalidInput("unknown source", {"record": [f"no source named {source_name!r}"]})
        return record_subject(source_id, external_id)
    if anonymous_of is not None and "anonymous_id" in reference:
        return f"anonymous:{anonymous_key(anonymous_of, reference['anonymous_id'])}"
    raise InvalidInput("no customer named", {"_schema": ["name the customer"]})


# Identities holding a record with one of these identifiers; built once, as lookups are hot.
_HOLDERS = Reused(
    lambda _dialect: (
        select(SourceRecord.identity_id)
        .join(RecordIdentifier, RecordIdentifier.record_id == SourceRecord.id)
        .where(
            RecordIdentifier.kind == bindparam("kind"),
            RecordIdentifier.value.in_(bindparam("values", expanding=True)),
            SourceRecord.deleted_at.is_(None),
        )
    )
)


def identities_of_subjects(*, session: Session, subjects: Iterable[Subject]) -> set[int]:
    """The identities the subjects name now (an anonymous id through its link)."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for subject in subjects:
        kind, _, value = subject.partition(":")
        by_kind[kind].add(value)
    if by_kind.get("anonymous"):
        for chunk in chunks(sorted(by_kind["anonymous"])):
            for linked in session.scalars(
                select(AnonymousLink.subject).where(
                    among(session, AnonymousLink.anonymous_id, chunk)
                )
            ):
                kind, _, value = linked.partition(":")
                by_kind[kind].add(value)
    found: set[int | None] = set()
    live = SourceRecord.deleted_at.is_(None)
    for kind in ("email", "phone"):
        for chunk in chunks(sorted(by_kind.get(kind, ()))):
            found.update(session.scalars(_HOLDERS(session), {"kind": kind, "values": chunk}))
    by_source: dict[int, list[str]] = defaultdict(list)
    for value in by_kind.get("record", ()):
        source_text, _, external_id = value.partition(":")
        by_source[int(source_text)].append(external_id)
    for source_id, external_ids in by_source.items():
        for chunk in chunks(sorted(external_ids)):
            found.update(
                session.scalars(
                    select(SourceRecord.identity_id).where(
                        SourceRecord.source_id == source_id,
                        among(session, SourceRecord.external_id, chunk),
                        live,
                    )
                )
            )
    return {i for i in found if i is not None}


_HELD_IDENTIFIERS = Reused(
    lambda dialect: (
        select(
            SourceRecord.id,
            SourceRecord.identity_id,
            SourceRecord.source_id,
            SourceRecord.external_id,
            RecordIdentifier.kind,
            RecordIdentifier.value,
        )
        .outerjoin(RecordIdentifier, RecordIdentifier.record_id == SourceRecord.id)
        .where(
            among_parameter(dialect, SourceRecord.identity_id, "ids"),
            SourceRecord.deleted_at.is_(None),
        )
    )
)
_LINKS = Reused(
    lambda dialect: select(AnonymousLink.anonymous_id, AnonymousLink.subject).where(
        among_parameter(dialect, AnonymousLink.subject, "subjects")
    )
)


_ANY = Reused(lambda _dialect: select(Event.id).limit(1))


def any_events(*, session: Session) -> bool:
    """Whether the store holds any event at all (a store after its first load holds none)."""
    return session.scalar(_ANY(session)) is not None


def footprints(*, session: Session, identity_ids: Iterable[int]) -> dict[int, Footprint]:
    """Where each identity's events are: its live records, and every subject naming it."""
    wanted = sorted(set(identity_ids))
    prints = {i: Footprint() for i in wanted}
    subject_owners: dict[Subject, set[int]] = defaultdict(set)
    for chunk in chunks(wanted):
        rows = read_rows(session, _HELD_IDENTIFIERS(session), {"ids": chunk})
        for record_id, identity_id, source_id, external_id, kind, value in rows:
            if identity_id is None:
                continue
            prints[identity_id].records.add(record_id)
            subject_owners[record_subject(source_id, external_id)].add(identity_id)
            if kind is not None:
                subject_owners[f"{kind}:{value}"].add(identity_id)
    for subjects in chunks(sorted(subject_owners)):
        for anonymous_id, linked in read_rows(session, _LINKS(session), {"subjects": subjects}):
            subject_owners[f"anonymous:{anonymous_id}"] |= subject_owners[linked]
    for subject, owners in subject_owners.items():
        for owner in owners:
            prints[owner].subjects.add(subject)
    return prints


_TIMELINE_COLUMNS = (
    Event.id,
    Event.type,
    Event.occurred_at,
    Event.source_id,
    Event.external_id,
    Event.properties,
    Event.record_id,
    Event.subject,
)
# Properties come back as JSON text: the timeline sends them on without decoding them.
_BRANCH_COLUMNS = (
    "id, type, occurred_at, source_id, external_id, CAST(properties AS TEXT) AS properties,"
    " record_id, subject"
)


def _via(record_id: int | None, subject: str | None) -> str:
    if record_id is not None or subject is None:
        return "record"
    return subject.partition(":")[0]


def _source_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(Source.id, Source.name).where(Source.id.in_(wanted))).all())


def timeline(
    *,
    session: Session,
    footprint: Footprint,
    limit: int,
    types: Sequence[str] = (),
    source_ids: Sequence[int] = (),
    before: tuple[datetime, int] | None = None,
) -> list[TimelineEvent]:
    """An identity's events, newest first, after the keyset ``before`` (occurred_at, id).

    One keyset-limited index probe per record and per subject, merged by the database: the
    cost does not grow with the number of events the customer has.
    """
    owners: list[tuple[str, int | str]] = [("record_id", r) for r in sorted(footprint.records)]
    owners += [("subject", s) for s in sorted(footprint.subjects)]
    if not owners:
        return []
    conditions = ""
    if types:
        conditions += " AND type IN :types"
    if source_ids:
        conditions += " AND source_id IN :sources"
    if before is not None:
        conditions += (
            " AND occurred_at <= :before_at AND (occurred_at < :before_at OR id < :before_id)"
        )
    branches = " UNION ALL ".join(
        f"SELECT * FROM (SELECT {_BRANCH_COLUMNS} FROM event WHERE {column} = :owner_{index}"
        f"{conditions} ORDER BY occurred_at DESC, id DESC LIMIT :limit) AS branch_{index}"
        for index, (column, _) in enumerate(owners)
    )
    statement = text(
        f"SELECT merged.*, source.name AS source_name FROM ({branches}) AS merged"
        " LEFT JOIN source ON source.id = merged.source_id"
        " ORDER BY merged.occurred_at DESC, merged.id DESC LIMIT :limit"
    ).columns(
        Event.id,
        Event.type,
        Event.occurred_at,
        Event.source_id,
        Event.external_id,
        column("properties", String()),
        Event.record_id,
        Event.subject,
        column("source_name", String()),
    )
    parameters: dict[str, Any] = {f"owner_{i}": owner for i, (_, owner) in enumerate(owners)}
    parameters["limit"] = limit
    if types:
        statement = statement.bindparams(bindparam("types", expanding=True))
        parameters["types"] = list(types)
    if source_ids:
        statement = statement.bindparams(bindparam("sources", expanding=True))
        parameters["sources"] = list(source_ids)
    if before is not None:
        statement = statement.bindparams(bindparam("before_at", type_=Event.occurred_at.type))
        parameters["before_at"], parameters["before_id"] = before
    return [
        TimelineEvent(
            row.id,
            row.type,
            row.occurred_at,
            row.source_name,
            row.external_id,
            _via(row.record_id, row.subject),
            row.properties,
        )
        for row in session.execute(statement, parameters)
    ]


@dataclass(frozen=True, slots=True)
class OwnedEvent:
    """An event with the identities it belongs to."""

    owners: frozenset[int]
    type: str
    occurred_at: datetime
    source: str | None
    external_id: str | None
    properties: Mapping[str, Any]


_EVENTS_OF = Reused(
    lambda dialect: select(*_TIMELINE_COLUMNS).where(
        or_(
            among_parameter(dialect, Event.record_id, "records"),
            among_parameter(dialect, Event.subject, "subjects"),
        )
    )
)


def events_of(*, session: Session, prints: Mapping[int, Footprint]) -> list[OwnedEvent]:
    """Every event of these identities (for traits), each with the identities it belongs to."""
    by_record: dict[int, set[int]] = defaultdict(set)
    by_subject: dict[Subject, set[int]] = defaultdict(set)
    for identity_id, footprint in prints.items():
        for record_id in footprint.records:
            by_record[record_id].add(identity_id)
        for subject in footprint.subjects:
            by_subject[subject].add(identity_id)
    owned: list[OwnedEvent] = []
    rows: list[Any] = []
    # An event names its customer by record or by subject, never both: one query finds both.
    records, subjects = sorted(by_record), sorted(by_subject)
    for start in range(0, max(len(records), len(subjects)), IN_CHUNK):
        end = start + IN_CHUNK
        parameters = {"records": records[start:end], "subjects": subjects[start:end]}
        rows.extend(read_rows(session, _EVENTS_OF(session), parameters))
    names = _source_names(session, {row.source_id for row in rows})
    for row in rows:
        owners = by_record[row.record_id] if row.record_id is not None else set()
        if row.subject is not None:
            owners = owners | by_subject[row.subject]
        owned.append(
            OwnedEvent(
                frozenset(owners),
                row.type,
                row.occurred_at,
                names.get(row.source_id),
                row.external_id,
                row.properties,
            )
        )
    return owned


# -- erasure and subject access --------------------------------------------------------------


def visitor_links(*, session: Session, subjects: Iterable[Subject]) -> list[AnonymousLink]:
    """The links of anonymous visitors to any of these subjects, oldest first."""
    found: list[AnonymousLink] = []
    for chunk in chunks(sorted(set(subjects))):
        found.extend(
            session.scalars(
                select(AnonymousLink).where(among(session, AnonymousLink.subject, chunk))
            )
        )
    return sorted(found, key=lambda link: (link.linked_at, link.anonymous_id))


def linked_visitors(*, session: Session, subjects: Iterable[Subject]) -> set[Subject]:
    """The anonymous visitors (as subjects) an identify call linked to any of these subjects."""
    found: set[Subject] = set()
    for chunk in chunks(sorted(set(subjects))):
        found.update(
            f"anonymous:{anonymous_id}"
            for anonymous_id in session.scalars(
                select(AnonymousLink.anonymous_id).where(
                    among(session, AnonymousLink.subject, chunk)
                )
            )
        )
    return found


def erase_events(
    *,
    session: Session,
    record_ids: Sequence[int],
    subjects: Iterable[Subject],
    customers: Mapping[int, Sequence[str]],
    dry_run: bool = False,
) -> dict[str, int]:
    """Remove (or, in a dry run, count) the events of these records, of these subjects
    (identifiers and anonymous visitors), and those waiting for these ``customers`` (source id
    -> the source's ids of them), with the anonymous links to the subjects; rows per table."""
    table, links = Event.__table__, AnonymousLink.__table__
    wanted = sorted(set(subjects))
    visitors = [s.removeprefix("anonymous:") for s in wanted if s.startswith("anonymous:")]
    conditions = [among(session, Event.record_id, chunk) for chunk in chunks(sorted(record_ids))]
    conditions += [among(session, Event.subject, chunk) for chunk in chunks(wanted)]
    conditions += [
        and_(Event.source_id == source_id, among(session, Event.customer_external_id, chunk))
        for source_id, external_ids in sorted(customers.items())
        for chunk in chunks(sorted(external_ids))
    ]
    link_conditions = [among(session, AnonymousLink.subject, c) for c in chunks(wanted)]
    link_conditions += [among(session, AnonymousLink.anonymous_id, c) for c in chunks(visitors)]
    return {
        "event": delete_where(session, table, or_(*conditions), dry_run=dry_run)
        if conditions
        else 0,
        "anonymous_link": delete_where(session, links, or_(*link_conditions), dry_run=dry_run)
        if link_conditions
        else 0,
    }


# -- retention ---------------------------------------------------------------------------------


def named_before(*, session: Session, cutoff: datetime) -> tuple[set[int], set[Subject]]:
    """The records and subjects that events which happened before ``cutoff`` name (whose
    traits change when those events go)."""
    records: set[int] = set()
    subjects: set[Subject] = set()
    query = select(Event.record_id, Event.subject).where(Event.occurred_at < cutoff).distinct()
    for record_id, subject in session.execute(query):
        if record_id is not None:
            records.add(record_id)
        if subject is not None:
            subjects.add(subject)
    return records, subjects


def delete_before(*, session: Session, cutoff: datetime, dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) the events that happened before ``cutoff``."""
    return delete_where(session, Event, Event.occurred_at < cutoff, dry_run=dry_run)
