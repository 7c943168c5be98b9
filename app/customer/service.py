"""The single customer view kept current: golden records, search keys and traits (reading it,
profiles, lookup, search and the timeline, is :mod:`app.customer.profiles`; the records it
reads, :mod:`app.customer.records`).

``refresh_identities`` is the one hook every change to identities calls (resolution after
merges, splits, attaches and detaches; the review workflow after manual ones): it recomputes
the golden record, search keys and traits of the identities given, in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Row,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session

from app.customer import search as keys
from app.customer.models import CustomerTraits, GoldenRecord, SearchToken
from app.customer.records import LoadedRecord, live_records_where, load_records, loaded_record
from app.customer.survivorship import (
    choose_golden,
    identifier_keys,
    plain_golden,
)
from app.customer.traits import EventFact, compute_traits
from app.db import (
    Reused,
    among,
    among_parameter,
    chunks,
    delete_among,
    insert_rows,
    json_text,
    read_rows,
    stored_value,
    utcnow,
)
from app.event import service as events
from app.identity.models import RecordIdentifier
from app.privacy import service as consent_store
from app.privacy.consent import Choice, in_force
from app.progress import QUIET, Progress
from app.settings import Settings
from app.settings.customer import CustomerConfig
from app.source.models import SourceRecord

# What refreshing identities rewrites; bulk writers refresh their statistics afterwards.
VIEW_TABLES = (GoldenRecord.__table__, CustomerTraits.__table__, SearchToken.__table__)
EMPTY_SUMMARY = '{"golden": {}, "records": {}}'
EMPTY_DETAIL = '{"golden": {}, "values": {}, "records": {}}'


# --- keeping golden records, search keys and traits current ------------------------------


def refresh_identities(
    *,
    session: Session,
    settings: Settings,
    identity_ids: Iterable[int],
    now: datetime | None = None,
    fresh: Collection[int] = frozenset(),
    known: Mapping[int, list[Row[Any]]] | None = None,
    progress: Progress = QUIET,
) -> None:
    """Recompute the golden record, search keys and traits of these identities.

    Call it in the same transaction as any change to the identities' records (merge, split,
    attach, detach, record update, undo). An identity left without live records (merged away,
    emptied) loses its golden record and traits. ``fresh`` identities were created in this
    transaction: they have nothing computed yet to replace. ``known`` gives the live records
    of some identities (rows of ``LOADED_COLUMNS``), read in this transaction after their last
    change: they are not read again.
    """
    wanted = sorted(set(identity_ids))
    if not wanted:
        return
    moment = now or utcnow()
    session.flush()
    known = known or {}
    quiet = not events.any_events(session=session)
    with progress.phase("refreshing customers", total=len(wanted), unit="customers") as bar:
        for chunk in chunks(wanted):
            records = load_records(session, [i for i in chunk if i not in known])
            records.update((i, [loaded_record(r) for r in known[i]]) for i in chunk if i in known)
            # Reads before writes: a read after a COPY waits for it (bulk_insert writes behind).
            facts = None if quiet else _event_facts(session, records)
            profiling = _profiling(session, records, settings)
            _forget_computed(session, [i for i in chunk if i not in fresh])
            _write_golden(session, chunk, records, settings, moment)
            _write_traits(session, records, facts, profiling, settings.customer, moment)
            bar.advance(len(chunk))


def refresh_traits(
    *,
    session: Session,
    settings: Settings,
    identity_ids: Iterable[int],
    now: datetime | None = None,
) -> None:
    """Recompute only the traits of these identities (their events changed, not their records)."""
    wanted = sorted(set(identity_ids))
    if not wanted:
        return
    session.flush()
    for chunk in chunks(wanted):
        records = load_records(session, chunk)
        facts = _event_facts(session, records)
        profiling = _profiling(session, records, settings)
        _forget_computed(session, chunk, (CustomerTraits,))
        _write_traits(session, records, facts, profiling, settings.customer, now or utcnow())


def refresh_after_events(
    *,
    session: Session,
    settings: Settings,
    record_ids: Iterable[int] = (),
    subjects: Iterable[str] = (),
    now: datetime | None = None,
) -> set[int]:
    """Refresh the traits of the identities that events of these records or subjects name.

    Whoever writes events (the API intake, a connector sync) calls it in the same transaction.
    Returns the identities refreshed.
    """
    session.flush()
    wanted = events.identities_of_subjects(session=session, subjects=subjects)
    record_list = sorted(set(record_ids))
    for chunk in chunks(record_list):
        wanted.update(
            i
            for i in session.scalars(
                select(SourceRecord.identity_id).where(among(session, SourceRecord.id, chunk))
            )
            if i is not None
        )
    refresh_traits(session=session, settings=settings, identity_ids=wanted, now=now)
    return wanted


def refresh_all(
    *, session: Session, settings: Settings, after: int = 0, batch: int = 1000
) -> tuple[int, int | None]:
    """Refresh a batch of identities holding live records, from id ``after`` on.

    Returns how many were refreshed and the last id (None when none was left), so a command
    can commit batch by batch.
    """
    ids = list(
        session.scalars(
            select(SourceRecord.identity_id)
            .where(SourceRecord.identity_id > after, SourceRecord.deleted_at.is_(None))
            .group_by(SourceRecord.identity_id)
            .order_by(SourceRecord.identity_id)
            .limit(batch)
        )
    )
    refresh_identities(
        session=session, settings=settings, identity_ids=[i for i in ids if i is not None]
    )
    return len(ids), (ids[-1] if ids else None)


def _iso(moment: datetime) -> str:
    return _iso_in(moment, moment.tzinfo)


# The records of a load share a few times: each one's text is made once, not once a record
# (by zone too: equal instants in two zones are equal datetimes, written apart).
@lru_cache(maxsize=4096)
def _iso_in(moment: datetime, _zone: tzinfo | None) -> str:
    return moment.isoformat()


def _records_json(records: Sequence[LoadedRecord], verbose: bool) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for record in sorted(records, key=lambda r: (r.sourced.source, r.sourced.external_id)):
        entry: dict[str, Any] = {
            "external_id": record.sourced.external_id,
            "first_seen_at": _iso(record.sourced.first_seen_at),
            "updated_at": _iso(record.updated_at),
        }
        if record.problems:
            entry["problems"] = dict(sorted(record.problems.items()))
        if verbose:
            entry["source_updated_at"] = (
                record.source_updated_at.isoformat() if record.source_updated_at else None
            )
            entry["attributes"] = dict(sorted(record.sourced.attributes.items()))
        grouped.setdefault(record.sourced.source, []).append(entry)
    return grouped


def shared_identifiers(
    session: Session, settings: Settings, records: Sequence[LoadedRecord]
) -> set[tuple[str, str]]:
    """The e-mails and phones of these records that many customers hold (at least their
    attribute's ``shared_by``), as (type, normalized value)."""
    survivorship = settings.customer.survivorship
    wanted = identifier_keys([r.sourced for r in records], survivorship, settings.match)
    least: dict[str, int] = {s.type: s.shared_by for s in survivorship.multi if s.shared_by}
    if not wanted:
        return set()
    # One statement for every kind: the values of all of them, held by at least the fewest
    # customers any kind asks for; each kind's own bar is applied here.
    kinds = sorted({kind for kind, _ in wanted})
    fewest = min(least[kind] for kind in kinds)
    shared: set[tuple[str, str]] = set()
    for chunk in chunks(sorted({value for _, value in wanted})):
        parameters = {"kinds": kinds, "values": chunk, "least": fewest}
        shared.update(
            (kind, value)
            for kind, value, holders in read_rows(session, _SHARED(session), parameters)
            if (kind, value) in wanted and holders >= least[kind]
        )
    return shared


_SHARED = Reused(
    lambda dialect: (
        select(
            RecordIdentifier.kind,
            RecordIdentifier.value,
            func.count(func.distinct(SourceRecord.identity_id)),
        )
        .join(SourceRecord, SourceRecord.id == RecordIdentifier.record_id)
        .where(
            RecordIdentifier.kind.in_(bindparam("kinds", expanding=True)),
            among_parameter(dialect, RecordIdentifier.value, "values"),
            SourceRecord.deleted_at.is_(None),
        )
        .group_by(RecordIdentifier.kind, RecordIdentifier.value)
        .having(func.count(func.distinct(SourceRecord.identity_id)) >= bindparam("least"))
    )
)


def golden_document(
    records: Sequence[LoadedRecord],
    settings: Settings,
    *,
    verbose: bool,
    shared: set[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The golden record of an identity holding these live records with its records per
    department; verbose: every value with its provenance, every record's attributes.
    ``shared``: e-mails and phones many customers hold (:func:`shared_identifiers`)."""
    sourced = [r.sourced for r in records]
    config = settings.customer.survivorship
    if not verbose:
        golden_values = plain_golden(sourced, config, settings.match, shared)
        return {"golden": golden_values, "records": _records_json(records, verbose=False)}
    golden = choose_golden(sourced, config, settings.match, shared)
    return {
        "golden": golden.detailed(),
        "values": golden.all_values(),
        "records": _records_json(records, verbose=True),
    }


def preview_golden(
    *, session: Session, settings: Settings, record_ids: Iterable[int]
) -> dict[str, Any]:
    """The verbose golden record these live records would have as one identity (nothing is
    written): what a merge would give, for a reviewer to see before deciding."""
    wanted = sorted(set(record_ids))
    records: list[LoadedRecord] = []
    for chunk in chunks(wanted):
        records.extend(live_records_where(session, among(session, SourceRecord.id, chunk)))
    shared = shared_identifiers(session, settings, records)
    return golden_document(records, settings, verbose=True, shared=shared)


def _forget_computed(
    session: Session,
    identity_ids: Sequence[int],
    tables: Sequence[type[GoldenRecord | SearchToken | CustomerTraits]] = (
        GoldenRecord,
        SearchToken,
        CustomerTraits,
    ),
) -> None:
    """Delete what was computed of these identities: golden records, search keys, traits
    (or only the ``tables`` given)."""
    if not identity_ids:
        return
    for table in tables:
        session.execute(_FORGET[table](session), {"ids": list(identity_ids)})


def _forget_statement(table: type[GoldenRecord | SearchToken | CustomerTraits]) -> Reused:
    return Reused(
        lambda dialect: (
            delete(table)
            .where(among_parameter(dialect, table.identity_id, "ids"))
            .execution_options(synchronize_session=False)
        )
    )


_FORGET = {table: _forget_statement(table) for table in (GoldenRecord, SearchToken, CustomerTraits)}


def erase_view(
    *, session: Session, identity_ids: Sequence[int], dry_run: bool = False
) -> dict[str, int]:
    """Remove (or, in a dry run, count) what the customer view holds of these identities:
    golden records, search keys, traits; rows per table."""
    removed: dict[str, int] = {}
    for table in (GoldenRecord, SearchToken, CustomerTraits):
        removed[table.__tablename__] = delete_among(
            session, table, table.identity_id, identity_ids, dry_run=dry_run
        )
    return removed


_GOLDEN = ("identity_id", "summary", "search_names", "computed_at")
_TOKENS = ("token", "identity_id")
_TRAITS = ("identity_id", "traits", "computed_at")


def _write_golden(
    session: Session,
    identity_ids: Sequence[int],
    records: Mapping[int, list[LoadedRecord]],
    settings: Settings,
    now: datetime,
) -> None:
    golden_rows: list[tuple[Any, ...]] = []
    token_rows: list[tuple[Any, ...]] = []
    computed_at = stored_value(session, GoldenRecord.__table__.c.computed_at, now)
    shared = shared_identifiers(session, settings, [r for held in records.values() for r in held])
    for identity_id in identity_ids:
        held = records.get(identity_id)
        if not held:
            continue
        summary = golden_document(held, settings, verbose=False, shared=shared)
        names: set[str] = set()
        tokens: set[str] = set()
        for record in held:
            spoken = keys.record_names(record.sourced.attributes)
            names |= spoken
            tokens |= keys.record_keys(record.sourced.attributes, spoken)
        golden_rows.append((identity_id, json_text(summary), "\n".join(sorted(names)), computed_at))
        token_rows.extend((t, identity_id) for t in sorted(tokens))
    insert_rows(session, GoldenRecord.__table__, _GOLDEN, golden_rows)
    insert_rows(session, SearchToken.__table__, _TOKENS, token_rows)


def _event_facts(
    session: Session, records: Mapping[int, list[LoadedRecord]]
) -> dict[int, list[EventFact]]:
    """The events of the identities with live ``records``, by identity."""
    facts: dict[int, list[EventFact]] = defaultdict(list)
    living = [identity_id for identity_id, held in records.items() if held]
    if not living:
        return facts
    prints = events.footprints(session=session, identity_ids=living)
    for event in events.events_of(session=session, prints=prints):
        fact = EventFact(
            event.type, event.occurred_at, event.source, event.external_id, event.properties
        )
        for owner in event.owners:
            facts[owner].append(fact)
    return facts


def _profiling(
    session: Session, records: Mapping[int, list[LoadedRecord]], settings: Settings
) -> set[int]:
    """The identities whose consents allow computing affinities (see [consent] in
    config/privacy.toml): that purpose in force, as the profile shows it."""
    privacy = settings.privacy
    living = {i: held for i, held in records.items() if held}
    if privacy.affinities_purpose is None:
        return set(living)
    purpose = privacy.affinities_purpose
    recorded = consent_store.choices_of(
        session=session,
        record_ids=[r.sourced.record_id for held in living.values() for r in held],
        purposes=[purpose],
    )
    allowed: set[int] = set()
    for identity_id, held in living.items():
        choices = (
            Choice(purpose, granted, observed_at, r.sourced.source, r.sourced.external_id)
            for r in held
            for _, granted, observed_at in recorded.get(r.sourced.record_id, ())
        )
        if in_force(choices, {purpose: privacy.purposes[purpose]})[purpose]["granted"]:
            allowed.add(identity_id)
    return allowed


def _write_traits(
    session: Session,
    records: Mapping[int, list[LoadedRecord]],
    facts: Mapping[int, list[EventFact]] | None,
    profiling: set[int],
    config: CustomerConfig,
    now: datetime,
) -> None:
    """Traits of the identities with live ``records``, from their events' ``facts`` (None when
    the store holds no event at all: a first load); affinities only for those whose consents
    allow ``profiling``. Without events, traits come from the records' times alone, computed
    once for every identity whose records share them."""
    computed_at = stored_value(session, CustomerTraits.__table__.c.computed_at, now)
    without_events: dict[tuple[Any, ...], str] = {}
    rows: list[tuple[Any, ...]] = []
    for identity_id, held in sorted(records.items()):
        if not held:
            continue
        times = tuple((r.sourced.first_seen_at, r.source_updated_at) for r in held)
        allowed = identity_id in profiling
        if facts is not None:
            traits = compute_traits(
                facts.get(identity_id, []), times, config.traits, now, profiling=allowed
            )
            text = json_text(traits)
        elif (times, allowed) in without_events:
            text = without_events[times, allowed]
        else:
            traits = compute_traits([], times, config.traits, now, profiling=allowed)
            text = without_events[times, allowed] = json_text(traits)
        rows.append((identity_id, text, computed_at))
    insert_rows(session, CustomerTraits.__table__, _TRAITS, rows)


def stored_traits(*, session: Session, identity_id: int) -> dict[str, Any] | None:
    """The traits last computed of an identity (None when none are)."""
    row = session.get(CustomerTraits, identity_id)
    return dict(row.traits) if row is not None else None
