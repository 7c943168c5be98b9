"""Resolution on the store: real time for what changed, batch for everything.

Both run the same matching core. Real time scores a changed record against the records that
share one of its blocking keys (found in the stored keys), then re-clusters only the connected
part of the identity graph around it; batch resolves everything at once. Because clustering is
a function of one connected component, and scoring a function of the pair and the stored model,
both give the same partition whatever order records arrived in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, or_, select, text, tuple_, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.customer import service as customers
from app.db import (
    ArrayText,
    Reused,
    among,
    among_parameter,
    bulk_insert,
    bulk_insert_ids,
    bulk_update,
    chunks,
    hold_identity_lock,
    read_rows,
    refresh_statistics,
    utcnow,
)
from app.identity.models import Identity, RecordIdentifier, new_public_id
from app.matching import MatchConfig, Matcher, assign_identities
from app.matching.batch import EdgeTable
from app.matching.lookup import record_identifiers
from app.matching.model import MatchModel
from app.matching.types import (
    AttributeType,
    Clustering,
    Conflict,
    Constraints,
    InputRecord,
    PreparedRecord,
    RecordId,
    ScoredEdge,
)
from app.resolution.models import (
    BlockingKey,
    LinkConstraint,
    MatchEdge,
    MatchValues,
    ModelVersion,
    ReviewItem,
)
from app.source.models import Source, SourceRecord

_WRITE_CHUNK = 5000
_model_cache: dict[tuple[int, str], MatchModel] = {}
# Resolving this many pending records at once (or this share of the store) goes batch.
BATCH_AT_LEAST = 5000
BATCH_SHARE = 0.2
# What resolving writes to; bulk writers refresh their statistics afterwards.
RESOLVED_TABLES = (
    BlockingKey.__table__,
    MatchValues.__table__,
    MatchEdge.__table__,
    RecordIdentifier.__table__,
    Identity.__table__,
    SourceRecord.__table__,
    *customers.VIEW_TABLES,
)


@dataclass(slots=True)
class ResolutionReport:
    """What a resolution did to identities."""

    records: int = 0
    created: int = 0
    merged: int = 0
    split: int = 0
    moved: int = 0
    review_items: int = 0
    identities: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        """Counts for reports."""
        return {
            "records": self.records,
            "identities_created": self.created,
            "merges": self.merged,
            "splits": self.split,
            "records_moved": self.moved,
            "review_items": self.review_items,
        }

    def add(self, other: ResolutionReport) -> None:
        """Fold another report into this one."""
        self.records += other.records
        self.created += other.created
        self.merged += other.merged
        self.split += other.split
        self.moved += other.moved
        self.review_items += other.review_items
        self.identities |= other.identities


@dataclass(frozen=True, slots=True)
class RecordRow:
    """What applying a clustering needs of a record."""

    id: RecordId
    reference: str
    identity_id: int | None
    # The live record as the golden record needs it, when it was read anyway.
    loaded: customers.LoadedRecord | None = None


# -- the matcher of the store ----------------------------------------------------------------


def attribute_types(*, session: Session) -> dict[str, AttributeType]:
    """The extra attributes every source declares, with their types."""
    declared: dict[str, AttributeType] = {}
    for types in session.scalars(select(Source.attribute_types).order_by(Source.id)):
        declared.update(types)
    return declared


def active_model(*, session: Session) -> ModelVersion | None:
    """The newest active trained model, None before any training."""
    return session.scalar(
        select(ModelVersion).where(ModelVersion.active).order_by(ModelVersion.id.desc()).limit(1)
    )


def _parsed(version: ModelVersion) -> MatchModel:
    # Models never change once stored; parse each once per process.
    key = (version.id, version.created_at.isoformat())
    if key not in _model_cache:
        _model_cache.clear()
        _model_cache[key] = MatchModel.from_json(version.model)
    return _model_cache[key]


def build_matcher(*, session: Session, config: MatchConfig) -> Matcher:
    """A matcher with the store's declared attributes and its active trained model."""
    version = active_model(session=session)
    model = _parsed(version) if version is not None else None
    return Matcher(config, attribute_types=attribute_types(session=session), model=model)


def train(*, session: Session, config: MatchConfig, seed: int = 0) -> ModelVersion:
    """Fit the model on every live record (no labels needed) and make it the active one."""
    matcher = build_matcher(session=session, config=config)
    records = list(_input_records(session))
    model = matcher.train(records, seed=seed)
    session.execute(update(ModelVersion).values(active=False))
    version = ModelVersion(
        model=model.to_json(),
        active=True,
        summary={"records": len(records), "seed": seed},
    )
    session.add(version)
    session.flush()
    return version


# -- reading the store ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveRecord:
    """A live record as the matcher takes it, with what storing its evidence needs."""

    record: InputRecord
    source_id: int
    content_hash: str


_LIVE_COLUMNS = (
    SourceRecord.id,
    Source.name,
    SourceRecord.attributes,
    SourceRecord.source_id,
    SourceRecord.content_hash,
)


def _live(row: Row[Any]) -> LiveRecord:
    return LiveRecord(
        InputRecord(row.id, row.name, row.attributes), row.source_id, row.content_hash
    )


def _live_records(session: Session) -> Iterator[LiveRecord]:
    """Every live record, streamed."""
    query = (
        select(*_LIVE_COLUMNS)
        .join(Source, SourceRecord.source_id == Source.id)
        .where(SourceRecord.deleted_at.is_(None))
        .order_by(SourceRecord.id)
        .execution_options(yield_per=5000)
    )
    return (_live(row) for row in read_rows(session, query))


def _input_records(session: Session) -> Iterator[InputRecord]:
    """Every live record as the matcher takes them, streamed."""
    return (live.record for live in _live_records(session))


_RECORD_ROWS = Reused(
    lambda dialect: (
        select(SourceRecord.id, Source.name, SourceRecord.external_id, SourceRecord.identity_id)
        .join(Source, SourceRecord.source_id == Source.id)
        .where(among_parameter(dialect, SourceRecord.id, "ids"))
    )
)


def _record_rows(session: Session, ids: Iterable[RecordId]) -> dict[RecordId, RecordRow]:
    found: dict[RecordId, RecordRow] = {}
    for chunk in chunks(sorted(set(ids))):
        for row in read_rows(session, _RECORD_ROWS(session), {"ids": chunk}):
            found[row.id] = RecordRow(row.id, f"{row.name}:{row.external_id}", row.identity_id)
    return found


_STORED_VALUES = Reused(
    lambda dialect: (
        select(MatchValues.record_id, MatchValues.values, Source.name)
        .join(Source, Source.id == MatchValues.source_id)
        .where(among_parameter(dialect, MatchValues.record_id, "ids"))
    )
)


def _stored_prepared(
    session: Session, matcher: Matcher, ids: Iterable[RecordId], *, with_keys: bool = False
) -> dict[RecordId, PreparedRecord]:
    """Prepared records rebuilt from their stored values (no normalizing again).

    Scoring and clustering never read a record's blocking keys, so they are left empty unless
    ``with_keys``: reading them cost as much as reading the values.
    """
    wanted = sorted(set(ids))
    keys = _keys_of(session, wanted) if with_keys else {}
    prepared: dict[RecordId, PreparedRecord] = {}
    for chunk in chunks(wanted):
        rows = read_rows(session, _STORED_VALUES(session), {"ids": chunk})
        for record_id, values, source in rows:
            prepared[record_id] = matcher.restore(
                record_id, source, values, keys.get(record_id, ())
            )
    return prepared


def _key_holders(session: Session, keys: Iterable[str]) -> dict[str, list[RecordId]]:
    holders: dict[str, list[RecordId]] = defaultdict(list)
    for chunk in chunks(sorted(set(keys))):
        for key, record_id in read_rows(
            session,
            select(BlockingKey.key, BlockingKey.record_id).where(
                among(session, BlockingKey.key, chunk)
            ),
        ):
            holders[key].append(record_id)
    return holders


@dataclass(frozen=True, slots=True)
class _KeyCensus:
    """How many records hold each key (counted no further than asked), and who holds the
    keys that few enough records hold to find candidates."""

    counts: dict[str, int]
    holders: dict[str, list[RecordId]]

    def with_records(
        self, records: Iterable[PreparedRecord], key_cap: Callable[[str], int]
    ) -> _KeyCensus:
        """The census once these records, not stored yet, hold their keys too (``key_cap``:
        the generic cap of a key)."""
        counts = dict(self.counts)
        holders = dict(self.holders)
        added: dict[str, list[RecordId]] = defaultdict(list)
        for record in records:
            for key in set(record.keys):
                added[key].append(record.id)
        for key, ids in added.items():
            counts[key] = counts.get(key, 0) + len(ids)
            if counts[key] <= key_cap(key):
                holders[key] = [*holders.get(key, ()), *ids]
            else:
                holders.pop(key, None)
        return _KeyCensus(counts, holders)


# Per key, one row: its holders counted to its limit, and listed when there are few enough.
# Each key reads an index range no longer than its limit, however many hold it.
_CENSUS = text(
    "SELECT k.key, held.n, held.ids FROM unnest(CAST(:keys AS VARCHAR[]),"
    " CAST(:count_to AS INTEGER[]), CAST(:list_to AS INTEGER[])) AS k(key, count_to, list_to)"
    " CROSS JOIN LATERAL (SELECT count(*) AS n, CASE WHEN count(*) <= k.list_to"
    " THEN array_agg(h.record_id) END AS ids FROM (SELECT b.record_id FROM blocking_key AS b"
    " WHERE b.key = k.key LIMIT k.count_to) AS h) AS held"
).bindparams(*(bindparam(name, type_=ArrayText()) for name in ("keys", "count_to", "list_to")))


@dataclass(frozen=True, slots=True)
class _Limit:
    """How far to count a key's holders, and up to how many to list them."""

    count_to: int
    list_to: int


def _key_census(session: Session, limits: Mapping[str, _Limit]) -> _KeyCensus:
    """Count each key's holders up to its ``count_to``; list them where at most ``list_to``.

    Only whether a key passes the generic cap matters for a generic key, and one can have
    hundreds of thousands of holders in a large store: counting or reading them all took most
    of real time's time at a million records. (SQLite, the small embedded store, reads every
    holder.)
    """
    counts: dict[str, int] = {}
    holders: dict[str, list[RecordId]] = {}
    if session.get_bind().dialect.name == "postgresql":
        for chunk in chunks(sorted(limits)):
            parameters = {
                "keys": chunk,
                "count_to": [limits[k].count_to for k in chunk],
                "list_to": [limits[k].list_to for k in chunk],
            }
            for key, count, ids in read_rows(session, _CENSUS, parameters):
                if count:
                    counts[key] = count
                if ids is not None:
                    holders[key] = ids
        return _KeyCensus(counts, holders)
    for key, held in _key_holders(session, limits).items():
        counts[key] = min(len(held), limits[key].count_to)
        if len(held) <= limits[key].list_to:
            holders[key] = held
    return _KeyCensus(counts, holders)


_CONSTRAINTS = Reused(
    lambda dialect: select(
        LinkConstraint.left_id, LinkConstraint.right_id, LinkConstraint.kind
    ).where(
        or_(
            among_parameter(dialect, LinkConstraint.left_id, "lefts"),
            among_parameter(dialect, LinkConstraint.right_id, "rights"),
        )
    )
)


def _constraints_touching(
    session: Session, ids: Sequence[RecordId]
) -> list[tuple[RecordId, RecordId, str]]:
    """Every must- and cannot-link with an end among ``ids``."""
    found: list[tuple[RecordId, RecordId, str]] = []
    for chunk in chunks(ids):
        rows = read_rows(session, _CONSTRAINTS(session), {"lefts": chunk, "rights": chunk})
        found.extend((left, right, kind) for left, right, kind in rows)
    return found


def _constraints_within(
    links: Iterable[tuple[RecordId, RecordId, str]], ids: set[RecordId]
) -> Constraints:
    """The constraints between two of ``ids``."""
    must: set[tuple[RecordId, RecordId]] = set()
    cannot: set[tuple[RecordId, RecordId]] = set()
    for left, right, kind in links:
        if left in ids and right in ids:
            (must if kind == "must" else cannot).add((left, right))
    return Constraints(frozenset(must), frozenset(cannot))


def all_constraints(*, session: Session) -> Constraints:
    """Every decision people made, for a batch run."""
    must: set[tuple[RecordId, RecordId]] = set()
    cannot: set[tuple[RecordId, RecordId]] = set()
    for left, right, kind in session.execute(
        select(LinkConstraint.left_id, LinkConstraint.right_id, LinkConstraint.kind)
    ):
        (must if kind == "must" else cannot).add((left, right))
    return Constraints(frozenset(must), frozenset(cannot))


# -- writing evidence ------------------------------------------------------------------------


def _forget_evidence(session: Session, ids: Sequence[RecordId]) -> None:
    for chunk in chunks(ids):
        for model, condition in (
            (BlockingKey, among(session, BlockingKey.record_id, chunk)),
            (MatchValues, among(session, MatchValues.record_id, chunk)),
            (RecordIdentifier, among(session, RecordIdentifier.record_id, chunk)),
            (
                MatchEdge,
                or_(
                    among(session, MatchEdge.left_id, chunk),
                    among(session, MatchEdge.right_id, chunk),
                ),
            ),
        ):
            # The session holds none of these rows: nothing to read back of what went.
            session.execute(
                delete(model).where(condition).execution_options(synchronize_session=False)
            )


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    bulk_insert(session, model.__table__, rows)


@dataclass(slots=True)
class _Evidence:
    """Prepared records and the rows that store them: values, blocking keys and lookup
    identifiers, with the content hash they were prepared from (a record whose hash moved on
    is pending)."""

    prepared: list[PreparedRecord] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)


def _prepare(matcher: Matcher, records: Iterable[LiveRecord]) -> _Evidence:
    evidence = _Evidence()
    for live in records:
        record = live.record
        ready = matcher.prepare(record)
        evidence.prepared.append(ready)
        evidence.keys.extend({"record_id": record.id, "key": k} for k in set(ready.keys))
        evidence.values.append(
            {
                "record_id": record.id,
                "source_id": live.source_id,
                "values": dict(ready.values),
                "content_hash": live.content_hash,
            }
        )
        evidence.identifiers.extend(
            {"record_id": record.id, "kind": kind, "value": value}
            for kind, value in record_identifiers(ready.values, matcher.types)
        )
    return evidence


def _store_evidence(session: Session, evidence: _Evidence) -> None:
    _insert(session, BlockingKey, evidence.keys)
    _insert(session, MatchValues, evidence.values)
    _insert(session, RecordIdentifier, evidence.identifiers)


def _edge_row(edge: ScoredEdge) -> dict[str, Any]:
    return {
        "left_id": edge.left,
        "right_id": edge.right,
        "weight": edge.weight,
        "probability": edge.probability,
        "contributions": [
            {
                "attribute": c.attribute,
                "level": c.level,
                "weight": c.weight,
                "left": c.left,
                "right": c.right,
            }
            for c in edge.contributions
        ],
    }


def _store_edges(session: Session, edges: Iterable[ScoredEdge]) -> None:
    _insert(session, MatchEdge, [_edge_row(e) for e in edges])


# -- real time -------------------------------------------------------------------------------


def resolve_records(
    *,
    session: Session,
    matcher: Matcher,
    record_ids: Sequence[RecordId],
    actor: str = audit.SYSTEM_ACTOR,
) -> ResolutionReport:
    """Real time: re-resolve the part of the graph that the changed records touch.

    ``record_ids`` are records that were created, changed or deleted (tombstoned) since they
    were last resolved. Runs inside the caller's transaction.
    """
    changed = sorted(set(record_ids))
    if not changed:
        return ResolutionReport()
    hold_identity_lock(session)
    rows, known, live = _changed_records(session, changed)
    # New records hold no evidence yet: only records resolved before have any to forget.
    old_keys = _keys_of(session, known)
    _forget_evidence(session, known)
    evidence = _prepare(matcher, live)
    prepared = {p.id: p for p in evidence.prepared}
    # A page moves a key's count by at most the number of its records that hold or held it:
    # reading to past the cap by that much still tells whether the key crossed it, and how
    # many hold it then.
    moves = Counter(k for keys in old_keys.values() for k in keys)
    moves.update(k for p in prepared.values() for k in set(p.keys))
    stored = _key_census(
        session,
        {
            key: _Limit(matcher.key_cap(key) + moved + 1, matcher.key_cap(key))
            for key, moved in moves.items()
        },
    )
    census = stored.with_records(prepared.values(), matcher.key_cap)
    pairs = _candidate_pairs(prepared, census.holders)
    pool = _stored_prepared(session, matcher, {r for pair in pairs for r in pair} - prepared.keys())
    pool.update(prepared)
    # Nothing read so far needed the page's own evidence: stored now, it is written while the
    # candidates are scored (bulk_insert writes behind), before anything reads again.
    _store_evidence(session, evidence)
    edges = matcher.score_pairs(
        [(pool[a], pool[b]) for a, b in pairs], minimum=matcher.config.review_threshold
    )
    # Before the page's own edges are stored: only earlier edges can have lost their key.
    affected = _follow_cap_crossings(session, matcher, old_keys, prepared, census.counts)
    _store_edges(session, edges)
    seeds = set(prepared) | affected | _identity_members(session, rows.values())
    # Identities whose records changed in place need their golden record recomputed too.
    updated = {r.identity_id for r in rows.values() if r.identity_id and r.id in prepared}
    report = _recluster(session, matcher, seeds, actor, updated, known=pool, rows=rows)
    gone = [row for row in rows.values() if row.id not in prepared and row.identity_id is not None]
    for row in gone:
        _detach(session, row, actor)
    report.moved += len(gone)
    report.records = len(changed)
    return report


_CHANGED = Reused(
    lambda dialect: (
        select(
            *customers.LOADED_COLUMNS,
            SourceRecord.source_id,
            SourceRecord.content_hash,
            SourceRecord.deleted_at,
            MatchValues.record_id.label("evidence"),
        )
        .join(Source, SourceRecord.source_id == Source.id)
        .outerjoin(MatchValues, MatchValues.record_id == SourceRecord.id)
        .where(among_parameter(dialect, SourceRecord.id, "ids"))
        .order_by(SourceRecord.id)
    )
)


def _changed_records(
    session: Session, ids: Sequence[RecordId]
) -> tuple[dict[RecordId, RecordRow], list[RecordId], list[LiveRecord]]:
    """In one read: the changed records' rows, those holding evidence of an earlier
    resolution, and the live ones."""
    rows: dict[RecordId, RecordRow] = {}
    evidence: list[RecordId] = []
    live: list[LiveRecord] = []
    for chunk in chunks(ids):
        for row in read_rows(session, _CHANGED(session), {"ids": chunk}):
            reference = f"{row.name}:{row.external_id}"
            if row.evidence is not None:
                evidence.append(row.id)
            loaded = None
            if row.deleted_at is None:
                live.append(_live(row))
                loaded = customers.loaded_record(row)
            rows[row.id] = RecordRow(row.id, reference, row.identity_id, loaded)
    return rows, evidence, live


_KEYS = Reused(
    lambda dialect: select(BlockingKey.record_id, BlockingKey.key).where(
        among_parameter(dialect, BlockingKey.record_id, "ids")
    )
)


def _keys_of(session: Session, ids: Sequence[RecordId]) -> dict[RecordId, set[str]]:
    keys: dict[RecordId, set[str]] = defaultdict(set)
    for chunk in chunks(ids):
        for record_id, key in read_rows(session, _KEYS(session), {"ids": chunk}):
            keys[record_id].add(key)
    return keys


def _follow_cap_crossings(
    session: Session,
    matcher: Matcher,
    old_keys: Mapping[RecordId, set[str]],
    prepared: Mapping[RecordId, PreparedRecord],
    counts: Mapping[str, int],
) -> set[RecordId]:
    """Keep stored edges equal to what batch would score when keys cross the generic cap.

    A key that just became generic stops justifying the edges between its holders; a key that
    fell back under the cap makes its holders candidates again. Returns the records whose
    edges changed.
    """
    delta: dict[str, int] = defaultdict(int)
    for keys in old_keys.values():
        for key in keys:
            delta[key] -= 1
    for record in prepared.values():
        for key in record.keys:
            delta[key] += 1
    rising, falling = set(), set()
    for key, change in delta.items():
        now, before = counts.get(key, 0), counts.get(key, 0) - change
        if matcher.is_generic(key, now) and not matcher.is_generic(key, before):
            rising.add(key)
        elif matcher.is_generic(key, before) and not matcher.is_generic(key, now):
            falling.add(key)
    if not rising and not falling:
        return set()
    track_generic_values(session=session, generic={k: counts[k] for k in rising}, released=falling)
    holders = _key_holders(session, rising | falling)
    affected: set[RecordId] = set()
    if rising:
        affected |= _drop_unjustified_edges(session, matcher, holders, rising)
    if falling:
        affected |= _score_released_pairs(session, matcher, holders, falling, set(prepared))
    return affected


def _drop_unjustified_edges(
    session: Session, matcher: Matcher, holders: Mapping[str, Sequence[RecordId]], rising: set[str]
) -> set[RecordId]:
    members = {r for key in rising for r in holders[key]}
    records = _stored_prepared(session, matcher, members, with_keys=True)
    keys = {k for p in records.values() for k in p.keys}
    counts = _key_census(session, {k: _Limit(matcher.key_cap(k) + 1, 0) for k in keys}).counts
    unjustified: list[tuple[RecordId, RecordId]] = []
    for chunk in chunks(sorted(members)):
        query = select(MatchEdge.left_id, MatchEdge.right_id).where(
            among(session, MatchEdge.left_id, chunk)
        )
        unjustified.extend(
            (left, right)
            for left, right in read_rows(session, query)
            if right in members
            and not matcher.shares_specific_key(records[left], records[right], counts)
        )
    for pairs in chunks(unjustified):
        session.execute(
            delete(MatchEdge)
            .where(tuple_(MatchEdge.left_id, MatchEdge.right_id).in_(pairs))
            .execution_options(synchronize_session=False)
        )
    return {r for pair in unjustified for r in pair}


def _score_released_pairs(
    session: Session,
    matcher: Matcher,
    holders: Mapping[str, Sequence[RecordId]],
    falling: set[str],
    changed: set[RecordId],
) -> set[RecordId]:
    # Pairs with a changed record are scored with the changed records' candidates.
    members = {r for key in falling for r in holders[key]} - changed
    records = _stored_prepared(session, matcher, members)
    existing = _stored_pairs(session, members)
    pairs = {
        (a, b)
        for key in falling
        for a, b in combinations(sorted(set(holders[key]) - changed), 2)
        if (a, b) not in existing
    }
    edges = matcher.score_pairs(
        [(records[a], records[b]) for a, b in sorted(pairs)],
        minimum=matcher.config.review_threshold,
    )
    _store_edges(session, edges)
    return {r for e in edges for r in (e.left, e.right)}


def _stored_pairs(session: Session, ids: set[RecordId]) -> set[tuple[RecordId, RecordId]]:
    pairs: set[tuple[RecordId, RecordId]] = set()
    for chunk in chunks(sorted(ids)):
        pairs.update(
            (left, right)
            for left, right in session.execute(
                select(MatchEdge.left_id, MatchEdge.right_id).where(
                    among(session, MatchEdge.left_id, chunk)
                )
            )
        )
    return pairs


def _candidate_pairs(
    prepared: Mapping[RecordId, PreparedRecord], holders: Mapping[str, Sequence[RecordId]]
) -> list[tuple[RecordId, RecordId]]:
    """Every pair of a changed record and a record sharing a non-generic key with it, each
    once, smaller id first, even when both records changed in this page.

    ``holders`` lists the holders of every non-generic key, and of no other."""
    return sorted(
        {
            (record.id, other) if record.id < other else (other, record.id)
            for record in prepared.values()
            for key in record.keys
            for other in holders.get(key, ())
            if other != record.id
        }
    )


_MEMBERS = Reused(
    lambda dialect: select(SourceRecord.id).where(
        among_parameter(dialect, SourceRecord.identity_id, "ids"),
        SourceRecord.deleted_at.is_(None),
    )
)


def _identity_members(session: Session, rows: Iterable[RecordRow]) -> set[RecordId]:
    """Live records sharing an identity with any of these records (an identity may split)."""
    identity_ids = sorted({r.identity_id for r in rows if r.identity_id is not None})
    members: set[RecordId] = set()
    for chunk in chunks(identity_ids):
        members.update(read_rows(session, _MEMBERS(session), {"ids": chunk}).scalars())
    return members


_EDGES = Reused(
    lambda dialect: select(
        MatchEdge.left_id, MatchEdge.right_id, MatchEdge.weight, MatchEdge.probability
    ).where(
        or_(
            among_parameter(dialect, MatchEdge.left_id, "lefts"),
            among_parameter(dialect, MatchEdge.right_id, "rights"),
        ),
        MatchEdge.probability >= bindparam("floor"),
    )
)


def _edges_touching(session: Session, ids: Sequence[RecordId], floor: float) -> list[ScoredEdge]:
    """Stored edges at or above ``floor`` with either end among ``ids`` (no explanations)."""
    found: list[ScoredEdge] = []
    for chunk in chunks(ids):
        parameters = {"lefts": chunk, "rights": chunk, "floor": floor}
        found.extend(ScoredEdge(*row) for row in read_rows(session, _EDGES(session), parameters))
    return found


@dataclass(slots=True)
class _Component:
    """Records joined by auto-match edges, must-links or shared identities, with the edges
    that join them, the possible-match edges that touch them, the constraints people set on
    them and the rows read on the way."""

    members: set[RecordId]
    auto: list[ScoredEdge]
    possible: list[ScoredEdge]
    constraints: list[tuple[RecordId, RecordId, str]]
    rows: dict[RecordId, RecordRow]


def _component(
    session: Session,
    matcher: Matcher,
    seeds: set[RecordId],
    rows: Mapping[RecordId, RecordRow] | None = None,
) -> _Component:
    members = set(seeds)
    frontier = set(seeds)
    auto: dict[tuple[RecordId, RecordId], ScoredEdge] = {}
    possible: dict[tuple[RecordId, RecordId], ScoredEdge] = {}
    constraints: set[tuple[RecordId, RecordId, str]] = set()
    known_rows = dict(rows or {})
    while frontier:
        reached: set[RecordId] = set()
        ids = sorted(frontier)
        for edge in _edges_touching(session, ids, matcher.config.review_threshold):
            if matcher.is_auto(edge):
                auto[(edge.left, edge.right)] = edge
                reached.update((edge.left, edge.right))
            else:
                possible[(edge.left, edge.right)] = edge
        for left, right, kind in _constraints_touching(session, ids):
            constraints.add((left, right, kind))
            if kind == "must":
                reached.update((left, right))
        new_rows = _record_rows(session, reached - members - known_rows.keys())
        known_rows.update(new_rows)
        reached |= _identity_members(
            session, [known_rows[i] for i in reached - members if i in known_rows]
        )
        frontier = reached - members
        members |= reached
    return _Component(
        members,
        list(auto.values()),
        [possible[p] for p in sorted(possible)],
        sorted(constraints),
        known_rows,
    )


def _recluster(
    session: Session,
    matcher: Matcher,
    seeds: set[RecordId],
    actor: str,
    updated: Iterable[int] = (),
    changes: list[audit.AuditSpec] | None = None,
    known: Mapping[RecordId, PreparedRecord] | None = None,
    rows: Mapping[RecordId, RecordRow] | None = None,
) -> ResolutionReport:
    """Re-cluster the component around ``seeds``. ``known`` are live records already prepared
    in this transaction and ``rows`` records already read: neither is read back."""
    component = _component(session, matcher, seeds, rows)
    known = known or {}
    live = {i: known[i] for i in component.members if i in known}
    live.update(_stored_prepared(session, matcher, component.members - live.keys()))
    constraints = _constraints_within(component.constraints, set(live))
    clustering = matcher.cluster([live[i] for i in sorted(live)], component.auto, constraints)
    live_rows = {i: component.rows[i] for i in live if i in component.rows}
    live_rows.update(_record_rows(session, live.keys() - live_rows.keys()))
    report = _apply(session, clustering, live_rows, actor, updated, changes)
    report.review_items += _update_review(
        session, component.possible, clustering, constraints.must_link
    )
    return report


# -- batch -----------------------------------------------------------------------------------


def resolve_all(
    *, session: Session, matcher: Matcher, actor: str = audit.SYSTEM_ACTOR
) -> ResolutionReport:
    """Batch: re-resolve every live record from scratch, keeping identity ids stable."""
    hold_identity_lock(session)
    constraints = all_constraints(session=session)
    resolution = matcher.resolve(_input_records(session), constraints)
    for model in (MatchEdge, BlockingKey, MatchValues, RecordIdentifier):
        session.execute(delete(model))
    _store_evidence(session, _prepare(matcher, _live_records(session)))
    _store_edges(session, resolution.edges)
    rows = _record_rows(
        session, session.scalars(select(SourceRecord.id).where(SourceRecord.deleted_at.is_(None)))
    )
    report = _apply(session, resolution.clustering, rows, actor)
    possible = [e for e in _edge_list(resolution.edges) if not matcher.is_auto(e)]
    report.review_items += _update_review(
        session, possible, resolution.clustering, constraints.must_link
    )
    report.review_items += track_generic_values(session=session, generic=resolution.generic_keys)
    stale = session.execute(
        select(SourceRecord.id, Source.name, SourceRecord.external_id, SourceRecord.identity_id)
        .join(Source, SourceRecord.source_id == Source.id)
        .where(SourceRecord.deleted_at.is_not(None), SourceRecord.identity_id.is_not(None))
    ).all()
    for row in stale:
        _detach(session, RecordRow(row.id, f"{row.name}:{row.external_id}", row.identity_id), actor)
    report.moved += len(stale)
    report.records = len(rows)
    refresh_statistics(session, RESOLVED_TABLES)  # all rewritten
    return report


def _edge_list(edges: Sequence[ScoredEdge]) -> list[ScoredEdge]:
    """Edges without explanations; a batch's columnar edge table yields them cheaply."""
    if isinstance(edges, EdgeTable):
        return [
            ScoredEdge(int(left), int(right), float(weight), float(probability))
            for left, right, weight, probability in zip(
                edges.left_ids, edges.right_ids, edges.weights, edges.probabilities, strict=True
            )
        ]
    return list(edges)


def pending_records(*, session: Session) -> list[RecordId]:
    """Records resolution has not seen as they are now: live records never prepared or
    changed since, and deleted records still holding evidence or an identity."""
    stale = or_(
        MatchValues.record_id.is_(None), MatchValues.content_hash != SourceRecord.content_hash
    )
    live = SourceRecord.deleted_at.is_(None) & stale
    gone = SourceRecord.deleted_at.is_not(None) & (
        MatchValues.record_id.is_not(None) | SourceRecord.identity_id.is_not(None)
    )
    query = (
        select(SourceRecord.id)
        .outerjoin(MatchValues, MatchValues.record_id == SourceRecord.id)
        .where(or_(live, gone))
        .order_by(SourceRecord.id)
    )
    return list(session.scalars(query))


def resolve_pending(
    *, session: Session, matcher: Matcher, actor: str = audit.SYSTEM_ACTOR
) -> ResolutionReport:
    """Resolve what changed since it was last resolved (after syncs with --no-resolve, or
    imports). When that is a large share of the store, one batch run over everything is much
    faster than record by record, and gives the same partition."""
    pending = pending_records(session=session)
    live = session.scalar(
        select(func.count()).select_from(SourceRecord).where(SourceRecord.deleted_at.is_(None))
    )
    if len(pending) > max(BATCH_AT_LEAST, BATCH_SHARE * (live or 0)):
        return resolve_all(session=session, matcher=matcher, actor=actor)
    report = ResolutionReport()
    # Pages keep each round's working set small; the outcome does not depend on the order.
    for chunk in chunks(pending, 1000):
        report.add(resolve_records(session=session, matcher=matcher, record_ids=chunk, actor=actor))
    return report


# -- applying a clustering -------------------------------------------------------------------


def _detach(session: Session, row: RecordRow, actor: str) -> None:
    public_id = session.scalar(select(Identity.public_id).where(Identity.id == row.identity_id))
    session.execute(update(SourceRecord).where(SourceRecord.id == row.id).values(identity_id=None))
    if row.identity_id is not None:
        customers.refresh_identities(session=session, identity_ids=[row.identity_id])
    if public_id is not None:
        audit.record(
            session=session,
            action="detach",
            identities=[public_id],
            actor=actor,
            reason="record deleted at its source",
            before={"identity": public_id, "record": row.reference},
            after={"identity": None, "record": row.reference},
        )


_PUBLIC_IDS = Reused(
    lambda dialect: select(Identity.id, Identity.public_id).where(
        among_parameter(dialect, Identity.id, "ids")
    )
)


def _public_ids(session: Session, ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in chunks(sorted(set(ids))):
        rows = read_rows(session, _PUBLIC_IDS(session), {"ids": chunk})
        found.update((identity_id, public_id) for identity_id, public_id in rows)
    return found


_IDENTITY_IDS = Reused(
    lambda dialect: select(SourceRecord.id, SourceRecord.identity_id).where(
        among_parameter(dialect, SourceRecord.id, "ids")
    )
)


def _identity_ids(session: Session, records: Iterable[RecordId]) -> dict[RecordId, int | None]:
    found: dict[RecordId, int | None] = {}
    for chunk in chunks(sorted(set(records))):
        rows = read_rows(session, _IDENTITY_IDS(session), {"ids": chunk})
        found.update((record_id, identity_id) for record_id, identity_id in rows)
    return found


def _new_identities(session: Session, count: int) -> list[tuple[int, str]]:
    now = utcnow()
    public_ids = [new_public_id() for _ in range(count)]
    ids = bulk_insert_ids(
        session,
        Identity.__table__,
        [{"public_id": p, "created_at": now, "updated_at": now} for p in public_ids],
    )
    return list(zip(ids, public_ids, strict=True))


def _apply(
    session: Session,
    clustering: Clustering,
    records: Mapping[RecordId, RecordRow],
    actor: str,
    updated: Iterable[int] = (),
    changes: list[audit.AuditSpec] | None = None,
) -> ResolutionReport:
    """Write a clustering to the store: stable ids, redirects and an audit entry per change;
    then recompute the golden record of every identity whose records changed.

    Entries name the members before and after (and the redirects a merge re-points), so any
    merge or split can be undone; with ``changes`` they are handed back instead of written.
    """
    report = ResolutionReport()
    changed = set(updated)
    previous = {i: r.identity_id for i, r in records.items() if r.identity_id is not None}
    public = _public_ids(session, previous.values())
    assignment = assign_identities(clustering.clusters, previous, {i: i for i in public})
    created = _new_identities(session, sum(k is None for k in assignment.kept))
    fresh = iter(created)
    pointing = _redirects_into(session, assignment.merged_into, public)
    merged_by_survivor: dict[int, list[int]] = defaultdict(list)
    for old, survivor in assignment.merged_into.items():
        merged_by_survivor[survivor].append(old)
    moves: dict[RecordId, int] = {}
    entries: list[tuple[str, list[str], dict[str, Any], dict[str, Any]]] = []
    cluster_ids: list[int] = []
    for cluster, kept in zip(clustering.clusters, assignment.kept, strict=True):
        if kept is None:
            identity_id, public_id = next(fresh)
            public[identity_id] = public_id
        else:
            identity_id, public_id = kept, public[kept]
        cluster_ids.append(identity_id)
        moved = [r for r in sorted(cluster) if records[r].identity_id != identity_id]
        moves.update((r, identity_id) for r in moved)
        report.moved += len(moved)
        if moved:
            changed.add(identity_id)
            changed.update(previous[r] for r in moved if r in previous)
        merged = sorted(merged_by_survivor.get(identity_id, ()))
        if kept is None:
            report.created += 1
            action = "create"
        elif merged:
            report.merged += len(merged)
            action = "merge"
        elif moved:
            action = "attach"
        else:
            continue
        report.identities.add(identity_id)
        before_ids = sorted({public[previous[r]] for r in cluster if r in previous})
        after = {"identity": public_id, "records": [records[r].reference for r in sorted(cluster)]}
        before = {
            "identities": before_ids,
            "members": _members(cluster, previous, public, records),
            **({"redirects": pointing.get(identity_id, {})} if merged else {}),
        }
        entries.append((action, [public_id, *before_ids], before, after))
    bulk_update(session, SourceRecord.__table__, "identity_id", moves)
    for old, survivor in assignment.merged_into.items():
        _redirect(session, old, survivor)
    entries.extend(_split_entries(clustering, previous, cluster_ids, public, records, report))
    customers.refresh_identities(
        session=session,
        identity_ids=changed,
        fresh={i for i, _ in created},
        known=_records_of_new(clustering.clusters, cluster_ids, created, records),
    )
    # Written last, behind what comes next (refreshing reads first, and would wait for it).
    if changes is None:
        audit.record_many(session=session, actor=actor, entries=entries)
    else:
        changes.extend(entries)
    return report


def _records_of_new(
    clusters: Sequence[frozenset[RecordId]],
    cluster_ids: Sequence[int],
    created: Sequence[tuple[int, str]],
    records: Mapping[RecordId, RecordRow],
) -> dict[int, list[customers.LoadedRecord]]:
    """The records of each new identity, where all of them were read in this transaction: its
    golden record is computed from them without reading them back."""
    new = {identity_id for identity_id, _ in created}
    known: dict[int, list[customers.LoadedRecord]] = {}
    for cluster, identity_id in zip(clusters, cluster_ids, strict=True):
        if identity_id in new:
            held = [records[r].loaded for r in sorted(cluster)]
            if all(held):
                known[identity_id] = [r for r in held if r is not None]
    return known


def _members(
    cluster: Iterable[RecordId],
    identity_of: Mapping[RecordId, int],
    public: Mapping[int, str],
    records: Mapping[RecordId, RecordRow],
) -> dict[str, list[str]]:
    """The references of these records, under the public id of the identity each had."""
    members: dict[str, list[str]] = defaultdict(list)
    for record_id in sorted(cluster):
        if record_id in identity_of:
            members[public[identity_of[record_id]]].append(records[record_id].reference)
    return dict(members)


def _redirects_into(
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


def _split_entries(
    clustering: Clustering,
    previous: Mapping[RecordId, int],
    cluster_ids: Sequence[int],
    public: Mapping[int, str],
    records: Mapping[RecordId, RecordRow],
    report: ResolutionReport,
) -> list[tuple[str, list[str], dict[str, Any], dict[str, Any]]]:
    home: dict[RecordId, int] = {r: index for index, c in enumerate(clustering.clusters) for r in c}
    parts: dict[int, set[int]] = defaultdict(set)
    for record_id, identity_id in previous.items():
        if record_id in home:
            parts[identity_id].add(home[record_id])
    entries = []
    for identity_id, homes in sorted(parts.items()):
        if len(homes) < 2:
            continue
        report.split += 1
        held = [r for r, i in previous.items() if i == identity_id and r in home]
        after = {r: cluster_ids[home[r]] for r in held}
        entries.append(
            (
                "split",
                [public[identity_id]],
                {
                    "identity": public[identity_id],
                    "members": _members(held, previous, public, records),
                },
                {
                    "parts": len(homes),
                    "identities": sorted(public[cluster_ids[index]] for index in homes),
                    "members": _members(held, after, public, records),
                },
            )
        )
    return entries


def _redirect(session: Session, old: int, survivor: int) -> None:
    session.execute(update(Identity).where(Identity.id == old).values(merged_into_id=survivor))
    # Keep every redirect one hop long: whatever pointed at the old identity now points on.
    session.execute(
        update(Identity).where(Identity.merged_into_id == old).values(merged_into_id=survivor)
    )


# -- review items ----------------------------------------------------------------------------


def _update_review(
    session: Session,
    review_edges: Sequence[ScoredEdge],
    clustering: Clustering,
    decided: frozenset[tuple[RecordId, RecordId]] = frozenset(),
) -> int:
    """Open review items for possible matches left apart and conflicts the guards split;
    close the possible matches the clustering has since joined. Returns items opened.

    A conflict between records a person joined (``decided`` must-links) is their decision,
    not a question: it is not queued."""
    identity_of = _identity_ids(session, {r for e in review_edges for r in (e.left, e.right)})
    existing = _open_or_decided_pairs(session, review_edges)
    now = utcnow()
    new_items: list[dict[str, Any]] = []
    for edge in review_edges:
        pair = (edge.left, edge.right)
        apart = identity_of.get(edge.left) != identity_of.get(edge.right)
        status = existing.get(pair)
        if apart and status is None:
            new_items.append(
                {
                    "kind": "possible_match",
                    "status": "open",
                    "left_record_id": edge.left,
                    "right_record_id": edge.right,
                    "probability": edge.probability,
                    "detail": {"weight": edge.weight},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif not apart and status == "open":
            session.execute(
                update(ReviewItem)
                .where(
                    ReviewItem.kind == "possible_match",
                    ReviewItem.status == "open",
                    ReviewItem.left_record_id == edge.left,
                    ReviewItem.right_record_id == edge.right,
                )
                .values(status="obsolete", updated_at=now)
            )
    new_items += _new_conflicts(
        session,
        [c for c in clustering.conflicts if tuple(sorted(c.records)) not in decided],
        now,
    )
    bulk_insert(session, ReviewItem.__table__, new_items)
    return len(new_items)


_PAIR_STATUS = Reused(
    lambda dialect: select(
        ReviewItem.left_record_id, ReviewItem.right_record_id, ReviewItem.status
    ).where(
        ReviewItem.kind == "possible_match",
        ReviewItem.status != "obsolete",
        among_parameter(dialect, ReviewItem.left_record_id, "lefts"),
    )
)


def _open_or_decided_pairs(
    session: Session, edges: Sequence[ScoredEdge]
) -> dict[tuple[RecordId, RecordId], str]:
    lefts = sorted({e.left for e in edges})
    status: dict[tuple[RecordId, RecordId], str] = {}
    for chunk in chunks(lefts):
        for left, right, state in read_rows(session, _PAIR_STATUS(session), {"lefts": chunk}):
            if left is not None and right is not None:
                status[(left, right)] = state
    return status


_CONFLICTS_ASKED = Reused(
    lambda dialect: select(ReviewItem.detail).where(
        ReviewItem.kind == "conflict",
        ReviewItem.status != "obsolete",
        among_parameter(dialect, ReviewItem.left_record_id, "lefts"),
    )
)


def _new_conflicts(
    session: Session, conflicts: Sequence[Conflict], now: datetime
) -> list[dict[str, Any]]:
    """Review items for the conflicts not asked about yet (a decided one is not asked again),
    each once."""
    asked: set[tuple[str, tuple[RecordId, ...]]] = set()
    for chunk in chunks(sorted({min(c.records) for c in conflicts})):
        for (detail,) in read_rows(session, _CONFLICTS_ASKED(session), {"lefts": chunk}):
            asked.add((detail.get("conflict"), tuple(detail.get("records") or ())))
    items: list[dict[str, Any]] = []
    for conflict in conflicts:
        records = sorted(conflict.records)
        if (conflict.kind, tuple(records)) in asked:
            continue
        asked.add((conflict.kind, tuple(records)))
        items.append(
            {
                "kind": "conflict",
                "status": "open",
                "left_record_id": records[0],
                "right_record_id": records[-1],
                "probability": None,
                "detail": {"conflict": conflict.kind, "records": records, "why": conflict.detail},
                "created_at": now,
                "updated_at": now,
            }
        )
    return items


# -- reading results -------------------------------------------------------------------------


def count_identities(*, session: Session) -> int:
    """Identities that hold at least one live record."""
    return (
        session.scalar(
            select(func.count(func.distinct(SourceRecord.identity_id))).where(
                SourceRecord.deleted_at.is_(None)
            )
        )
        or 0
    )


def generic_values(*, session: Session, matcher: Matcher) -> list[tuple[str, int]]:
    """Blocking values shared by more records than their rule's cap, most shared first."""
    lowest = min(matcher.caps.values(), default=matcher.config.generic_key_cap)
    query = (
        select(BlockingKey.key, func.count().label("records"))
        .group_by(BlockingKey.key)
        .having(func.count() > lowest)
        .order_by(func.count().desc(), BlockingKey.key)
    )
    return [(key, count) for key, count in session.execute(query) if matcher.is_generic(key, count)]


def explain_pair(
    *, session: Session, matcher: Matcher, left: SourceRecord, right: SourceRecord
) -> ScoredEdge:
    """How the matcher scores two records now, attribute by attribute (linked or not)."""
    first, second = (
        matcher.prepare(InputRecord(r.id, r.source.name, r.attributes)) for r in (left, right)
    )
    return matcher.compare(first, second)


def explain_identity(
    *, session: Session, matcher: Matcher, public_id: str, records: Sequence[SourceRecord]
) -> dict[str, Any]:
    """An identity's records and the stored edges between them, with their explanations."""
    references = {r.id: f"{r.source.name}:{r.external_id}" for r in records}
    edges = identity_edges(session=session, record_ids=list(references))
    return {
        "identity": public_id,
        "records": [{"reference": references[r.id], "attributes": r.attributes} for r in records],
        "edges": [
            {
                "left": references[e.left_id],
                "right": references[e.right_id],
                "weight": e.weight,
                "probability": e.probability,
                "joins": e.probability >= matcher.config.auto_threshold,
                "contributions": e.contributions,
            }
            for e in edges
        ],
    }


def identity_edges(*, session: Session, record_ids: Sequence[RecordId]) -> list[MatchEdge]:
    """The stored edges between records of one identity: the evidence that holds it together."""
    members = set(record_ids)
    edges = [
        edge
        for chunk in chunks(sorted(members))
        for edge in session.scalars(
            select(MatchEdge).where(among(session, MatchEdge.left_id, chunk))
        )
        if edge.right_id in members
    ]
    return sorted(edges, key=lambda e: (-e.probability, e.left_id, e.right_id))


def add_constraint(
    *,
    session: Session,
    matcher: Matcher,
    left: RecordId,
    right: RecordId,
    kind: str,
    actor: str,
    reason: str = "",
) -> ResolutionReport:
    """Record that two records must (or must never) share an identity, and re-resolve them.

    A newer decision about the same pair replaces the older one.
    """
    if kind not in ("must", "cannot"):
        raise ValueError(f"unknown constraint kind {kind!r}")
    hold_identity_lock(session)
    low, high = sorted((left, right))
    session.execute(
        delete(LinkConstraint).where(LinkConstraint.left_id == low, LinkConstraint.right_id == high)
    )
    session.add(LinkConstraint(left_id=low, right_id=high, kind=kind, actor=actor, reason=reason))
    session.flush()
    seeds = {low, high} | _identity_members(session, _record_rows(session, {low, high}).values())
    return _recluster(session, matcher, seeds, actor)


def track_generic_values(
    *, session: Session, generic: Mapping[str, int], released: Iterable[str] | None = None
) -> int:
    """Open a generic-value review item for each key that became generic (unless one is open or
    decided) and retire open items of keys no longer generic: ``released``, or, after a full
    run (None), every key not in ``generic``. Returns items opened."""
    query = select(ReviewItem).where(
        ReviewItem.kind == "generic_value", ReviewItem.status != "obsolete"
    )
    if released is not None:  # real time: only the items of the keys that crossed the cap
        released = set(released)
        crossed = sorted(set(generic) | released)
        query = query.where(ReviewItem.detail["key"].as_string().in_(crossed))
    known = {str(item.detail.get("key")): item for item in session.scalars(query)}
    opened = 0
    for key, count in sorted(generic.items()):
        item = known.get(key)
        if item is None:
            session.add(ReviewItem(kind="generic_value", detail={"key": key, "records": count}))
            opened += 1
        elif item.status == "open" and item.detail.get("records") != count:
            item.detail = {**item.detail, "records": count}
            item.priority = None
    retired = set(known) - set(generic) if released is None else set(released)
    for key in sorted(retired & set(known)):
        if known[key].status == "open":
            known[key].status = "obsolete"
            known[key].updated_at = utcnow()
    return opened


def recluster(
    *,
    session: Session,
    matcher: Matcher,
    record_ids: Iterable[RecordId],
    actor: str,
) -> tuple[ResolutionReport, list[audit.AuditSpec]]:
    """Re-cluster the part of the graph around these records and their identities, after people
    changed constraints or memberships. The identity changes come back as audit specs instead
    of being written, so the caller records one entry for the whole decision."""
    hold_identity_lock(session)
    wanted = set(record_ids)
    seeds = wanted | _identity_members(session, _record_rows(session, wanted).values())
    changes: list[audit.AuditSpec] = []
    report = _recluster(session, matcher, seeds, actor, changes=changes)
    return report, changes
