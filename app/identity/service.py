"""Finding identities: by public id (following merges), and by a department's identifiers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import InvalidInput, NotFound
from app.identity.models import Identity, RecordIdentifier
from app.matching.lookup import normalize_identifier
from app.matching.normalize import Normalizer
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


def survivor(*, session: Session, identity: Identity) -> Identity:
    """The identity a merged-away identity now lives on as (itself when not merged)."""
    seen = {identity.id}
    while identity.merged_into_id is not None:
        identity = session.get_one(Identity, identity.merged_into_id)
        if identity.id in seen:  # a loop would be a bug; stop rather than spin
            break
        seen.add(identity.id)
    return identity


def live_records(identity: Identity) -> list[SourceRecord]:
    """The identity's records the sources still hold, by source then external id."""
    return sorted(
        (r for r in identity.records if r.deleted_at is None),
        key=lambda r: (r.source.name, r.external_id),
    )


def _identities_of(session: Session, records_query: object) -> list[Identity]:
    query = (
        select(Identity)
        .where(Identity.id.in_(records_query))  # type: ignore[arg-type]
        .options(selectinload(Identity.records).joinedload(SourceRecord.source))
        .order_by(Identity.id)
    )
    return list(session.scalars(query))


def lookup(
    *,
    session: Session,
    normalizer: Normalizer,
    email: str | None = None,
    phone: str | None = None,
    source: str | None = None,
    external_id: str | None = None,
) -> list[Identity]:
    """Identities holding a record with this e-mail, phone, or source id (exactly one criterion)."""
    if sum(x is not None for x in (email, phone, source or external_id)) != 1 or (
        (source is None) != (external_id is None)
    ):
        raise InvalidInput(
            "look up by exactly one of: email, phone, or source with external_id",
            {"_schema": ["give email, phone, or source and external_id"]},
        )
    live = SourceRecord.deleted_at.is_(None)
    if source is not None:
        records = (
            select(SourceRecord.identity_id)
            .join(Source)
            .where(Source.name == source, SourceRecord.external_id == external_id, live)
        )
        return _identities_of(session, records)
    kind, text = ("email", email) if email is not None else ("phone", phone or "")
    value = normalize_identifier(normalizer, kind, text)
    if value is None:
        return []
    records = (
        select(SourceRecord.identity_id)
        .join(RecordIdentifier, RecordIdentifier.record_id == SourceRecord.id)
        .where(RecordIdentifier.kind == kind, RecordIdentifier.value == value, live)
    )
    return _identities_of(session, records)


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
