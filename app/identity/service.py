"""Identities: the one owner of ids and redirects. Finding identities (by public id, following
merges), reading their members, and the writes every change to identities goes through: new
identities, redirects, detaching a record. Looking customers up by an e-mail, a phone or a
department's id is the customer view's (:func:`app.customer.profiles.lookup`).

Applying a whole clustering (creates, merges, splits, attaches) is :mod:`app.identity.clustering`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.audit.service import AuditSpec
from app.db import (
    Reused,
    among,
    among_parameter,
    bulk_insert_ids,
    chunks,
    delete_among,
    read_rows,
    utcnow,
)
from app.errors import NotFound
from app.identity.models import Identity, new_public_id
from app.matching.types import RecordId
from app.source.models import Source, SourceRecord


def get_by_public_id(*, session: Session, public_id: str) -> Identity:
    """The identity with this public id (possibly merged away), or NotFound."""
    identity = session.scalar(
        select(Identity)
        .where(Identity.public_id == public_id)
        .options(selectinload(Identity.records).joinedload(SourceRecord.source))
    )
    if identity is None:
        raise NotFound(f"no identity {public_id!r}")
    return identity


def survivor_of(session: Session, identity_id: int) -> tuple[int, str]:
    """The identity an identity now lives on as, following its redirects (itself when not
    merged): its id and public id. The one redirect follower."""
    seen: set[int] = set()
    while True:
        public_id, merged_into = session.execute(
            select(Identity.public_id, Identity.merged_into_id).where(Identity.id == identity_id)
        ).one()
        if merged_into is None or merged_into in seen:  # a loop would be a bug: stop, not spin
            return identity_id, str(public_id)
        seen.add(identity_id)
        identity_id = merged_into


def survivor(*, session: Session, identity: Identity) -> Identity:
    """The identity a merged-away identity now lives on as (itself when not merged)."""
    if identity.merged_into_id is None:
        return identity
    return session.get_one(Identity, survivor_of(session, identity.id)[0])


def live_records(identity: Identity) -> list[SourceRecord]:
    """The identity's records the sources still hold, by source then external id."""
    return sorted(
        (r for r in identity.records if r.deleted_at is None),
        key=lambda r: (r.source.name, r.external_id),
    )


def iter_links(*, session: Session) -> Iterator[tuple[str, str, str]]:
    """(source, external id, identity public id) for every live record, in a stable order."""
    query = (
        select(Source.name, SourceRecord.external_id, Identity.public_id)
        .join(Source, SourceRecord.source_id == Source.id)
        .join(Identity, SourceRecord.identity_id == Identity.id)
        .where(SourceRecord.deleted_at.is_(None))
        .order_by(Source.name, SourceRecord.external_id)
        .execution_options(yield_per=5000)
    )
    yield from (
        (name, external_id, public_id) for name, external_id, public_id in session.execute(query)
    )


def records_by_source(records: Sequence[SourceRecord]) -> dict[str, list[SourceRecord]]:
    """Records grouped under their source's name."""
    grouped: dict[str, list[SourceRecord]] = {}
    for record in records:
        grouped.setdefault(record.source.name, []).append(record)
    return grouped


def merged_into(*, session: Session, identity: Identity) -> list[str]:
    """Public ids of the identities merged into this one (they redirect to it)."""
    return list(
        session.scalars(
            select(Identity.public_id)
            .where(Identity.merged_into_id == identity.id)
            .order_by(Identity.id)
        )
    )


Members = dict[str, list[str]]
"""Identity public id -> references (``SOURCE:EXTERNAL_ID``) of its live records."""


@dataclass(frozen=True, slots=True)
class RecordState:
    """A record as a decision sees it."""

    id: RecordId
    reference: str
    identity_id: int | None
    live: bool
    attributes: Mapping[str, Any] | None = field(default=None, compare=False)
    """The record's attributes, when asked for (``record_states(..., attributes=True)``)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Identities' live members, and the identities redirecting into them."""

    members: Members
    redirects: dict[str, str]


def record_states(
    session: Session, ids: Iterable[RecordId], *, attributes: bool = False
) -> dict[RecordId, RecordState]:
    """Records by id: reference, identity, whether the source still holds them (and, with
    ``attributes``, what their department wrote)."""
    found: dict[RecordId, RecordState] = {}
    columns = [
        SourceRecord.id,
        Source.name,
        SourceRecord.external_id,
        SourceRecord.identity_id,
        SourceRecord.deleted_at,
    ]
    if attributes:
        columns.append(SourceRecord.attributes)
    for chunk in chunks(sorted(set(ids))):
        query = (
            select(*columns)
            .join(Source, SourceRecord.source_id == Source.id)
            .where(SourceRecord.id.in_(chunk))
        )
        for row in session.execute(query):
            found[row.id] = RecordState(
                row.id,
                f"{row.name}:{row.external_id}",
                row.identity_id,
                row.deleted_at is None,
                (row.attributes or {}) if attributes else None,
            )
    return found


def records_by_reference(session: Session, references: Iterable[str]) -> dict[str, RecordState]:
    """Records by their ``SOURCE:EXTERNAL_ID`` reference (unknown references are left out)."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for reference in sorted(set(references)):
        source, _, external_id = reference.partition(":")
        by_source[source].append(external_id)
    ids: list[RecordId] = []
    for source, external_ids in by_source.items():
        for chunk in chunks(external_ids):
            ids.extend(
                session.scalars(
                    select(SourceRecord.id)
                    .join(Source, SourceRecord.source_id == Source.id)
                    .where(Source.name == source, SourceRecord.external_id.in_(chunk))
                )
            )
    return {state.reference: state for state in record_states(session, ids).values()}


def live_members(session: Session, identity_ids: Iterable[int]) -> list[RecordId]:
    """The live records these identities hold, by id."""
    found: list[RecordId] = []
    for chunk in chunks(sorted(set(identity_ids))):
        found.extend(
            session.scalars(
                select(SourceRecord.id).where(
                    SourceRecord.identity_id.in_(chunk), SourceRecord.deleted_at.is_(None)
                )
            )
        )
    return sorted(found)


_PUBLIC_IDS = Reused(
    lambda dialect: select(Identity.id, Identity.public_id).where(
        among_parameter(dialect, Identity.id, "ids")
    )
)


def public_ids_of(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Identity id -> public id."""
    found: dict[int, str] = {}
    for chunk in chunks(sorted(set(ids))):
        rows = read_rows(session, _PUBLIC_IDS(session), {"ids": chunk})
        found.update((identity_id, public_id) for identity_id, public_id in rows)
    return found


def ids_of(session: Session, public_ids: Iterable[str]) -> dict[str, int]:
    """Public id -> identity id (unknown public ids are left out)."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(public_ids))):
        found.update(
            (row.public_id, row.id)
            for row in session.execute(
                select(Identity.id, Identity.public_id).where(Identity.public_id.in_(chunk))
            )
        )
    return found


def take_snapshot(session: Session, identity_ids: Iterable[int]) -> Snapshot:
    """The live members of these identities and what redirects into them, right now."""
    wanted = sorted(set(identity_ids))
    public = public_ids_of(session, wanted)
    members: Members = {public[i]: [] for i in wanted}
    states = record_states(session, live_members(session, wanted))
    for state in sorted(states.values(), key=lambda s: s.reference):
        if state.identity_id is not None:
            members[public[state.identity_id]].append(state.reference)
    redirects: dict[str, str] = {}
    for chunk in chunks(wanted):
        query = select(Identity.public_id, Identity.merged_into_id).where(
            Identity.merged_into_id.in_(chunk)
        )
        for public_id, target in session.execute(query):
            if target is not None:
                redirects[public_id] = public[target]
    return Snapshot(members, redirects)


def survivor_ids(session: Session, public_ids: Sequence[str]) -> list[int]:
    """The live identity each public id stands for (following redirects), without repeats."""
    found = ids_of(session, public_ids)
    missing = [p for p in public_ids if p not in found]
    if missing:
        raise NotFound(f"no identity {', '.join(repr(p) for p in missing)}")
    survivors: list[int] = []
    for public_id in public_ids:
        identity_id, _ = survivor_of(session, found[public_id])
        if identity_id not in survivors:
            survivors.append(identity_id)
    return survivors


_IDENTITY_IDS = Reused(
    lambda dialect: select(SourceRecord.id, SourceRecord.identity_id).where(
        among_parameter(dialect, SourceRecord.id, "ids")
    )
)


def identity_ids_of(session: Session, records: Iterable[RecordId]) -> dict[RecordId, int | None]:
    """Record id -> the identity holding it (None: none)."""
    found: dict[RecordId, int | None] = {}
    for chunk in chunks(sorted(set(records))):
        rows = read_rows(session, _IDENTITY_IDS(session), {"ids": chunk})
        found.update((record_id, identity_id) for record_id, identity_id in rows)
    return found


# -- writes ------------------------------------------------------------------------------------


def create_identities(session: Session, count: int) -> list[tuple[int, str]]:
    """``count`` new identities: their ids and public ids, in order."""
    now = utcnow()
    public_ids = [new_public_id() for _ in range(count)]
    ids = bulk_insert_ids(
        session,
        Identity.__table__,
        [{"public_id": p, "created_at": now, "updated_at": now} for p in public_ids],
    )
    return list(zip(ids, public_ids, strict=True))


def redirect(session: Session, old: int, survivor: int) -> None:
    """Merge ``old`` away: it, and whatever pointed at it, redirect to ``survivor``."""
    session.execute(update(Identity).where(Identity.id == old).values(merged_into_id=survivor))
    # Keep every redirect one hop long: whatever pointed at the old identity now points on.
    session.execute(
        update(Identity).where(Identity.merged_into_id == old).values(merged_into_id=survivor)
    )


def redirects_into(
    session: Session, merged_into: Mapping[int, int], public: Mapping[int, str]
) -> dict[int, dict[str, str]]:
    """Per surviving identity, the identities redirecting to one about to merge into it (the
    merge re-points them; an undo points them back)."""
    pointing: dict[int, dict[str, str]] = defaultdict(dict)
    for chunk in chunks(sorted(merged_into)):
        query = select(Identity.public_id, Identity.merged_into_id).where(
            among(session, Identity.merged_into_id, chunk)
        )
        for public_id, target in session.execute(query):
            if target is not None:
                pointing[merged_into[target]][public_id] = public[target]
    return pointing


def detach(
    session: Session, record: RecordId, reference: str, identity_id: int | None
) -> AuditSpec | None:
    """A record deleted at its source leaves its identity; returns the audit entry of it (None
    when it had no identity)."""
    public_id = session.scalar(select(Identity.public_id).where(Identity.id == identity_id))
    session.execute(update(SourceRecord).where(SourceRecord.id == record).values(identity_id=None))
    if public_id is None:
        return None
    return (
        "detach",
        [public_id],
        {"identity": public_id, "record": reference},
        {"identity": None, "record": reference},
    )


# -- erasure ---------------------------------------------------------------------------------


def with_merged(session: Session, identity_id: int) -> dict[int, str]:
    """An identity and every identity merged into it, directly or through others: id ->
    public id (the ids that redirect to it)."""
    found = {
        identity_id: session.execute(
            select(Identity.public_id).where(Identity.id == identity_id)
        ).scalar_one()
    }
    frontier = [identity_id]
    while frontier:
        rows = session.execute(
            select(Identity.id, Identity.public_id).where(Identity.merged_into_id.in_(frontier))
        ).all()
        frontier = [row.id for row in rows if row.id not in found]
        found.update((row.id, row.public_id) for row in rows)
    return found


def erase_identities(
    *, session: Session, identity_ids: Sequence[int], dry_run: bool = False
) -> int:
    """Remove (or, in a dry run, count) these identities; their public ids live on only in the
    audit trail, which says they were erased."""
    return delete_among(session, Identity, Identity.id, identity_ids, dry_run=dry_run)
