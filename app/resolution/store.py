"""The evidence store: what resolution keeps of each record between runs (normalized values,
blocking keys, lookup identifiers), the key census that tells generic keys apart, and the
scored edges. Reads and writes only; real time and batch decide what to do with them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam, delete, or_, select, text
from sqlalchemy.orm import Session

from app.db import (
    ArrayText,
    Reused,
    among,
    among_parameter,
    bulk_insert,
    chunks,
    delete_where,
    read_rows,
)
from app.identity.clustering import RecordRow
from app.identity.models import RecordIdentifier
from app.matching import Matcher
from app.matching.lookup import record_identifiers
from app.matching.types import InputRecord, PreparedRecord, RecordId, ScoredEdge
from app.resolution.models import BlockingKey, MatchEdge, MatchValues
from app.source.models import Source, SourceRecord


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


def live_record(row: Row[Any]) -> LiveRecord:
    """A live record from a row holding its id, source name, attributes, source id and hash."""
    return LiveRecord(
        InputRecord(row.id, row.name, row.attributes), row.source_id, row.content_hash
    )


def live_records(session: Session) -> Iterator[LiveRecord]:
    """Every live record, streamed."""
    query = (
        select(*_LIVE_COLUMNS)
        .join(Source, SourceRecord.source_id == Source.id)
        .where(SourceRecord.deleted_at.is_(None))
        .order_by(SourceRecord.id)
        .execution_options(yield_per=5000)
    )
    return (live_record(row) for row in read_rows(session, query))


def input_records(session: Session) -> Iterator[InputRecord]:
    """Every live record as the matcher takes them, streamed."""
    return (live.record for live in live_records(session))


_RECORD_ROWS = Reused(
    lambda dialect: (
        select(SourceRecord.id, Source.name, SourceRecord.external_id, SourceRecord.identity_id)
        .join(Source, SourceRecord.source_id == Source.id)
        .where(among_parameter(dialect, SourceRecord.id, "ids"))
    )
)


def record_rows(session: Session, ids: Iterable[RecordId]) -> dict[RecordId, RecordRow]:
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


def stored_prepared(
    session: Session, matcher: Matcher, ids: Iterable[RecordId], *, with_keys: bool = False
) -> dict[RecordId, PreparedRecord]:
    """Prepared records rebuilt from their stored values (no normalizing again).

    Scoring and clustering never read a record's blocking keys, so they are left empty unless
    ``with_keys``: reading them cost as much as reading the values.
    """
    wanted = sorted(set(ids))
    keys = keys_of(session, wanted) if with_keys else {}
    prepared: dict[RecordId, PreparedRecord] = {}
    for chunk in chunks(wanted):
        rows = read_rows(session, _STORED_VALUES(session), {"ids": chunk})
        for record_id, values, source in rows:
            prepared[record_id] = matcher.restore(
                record_id, source, values, keys.get(record_id, ())
            )
    return prepared


def key_holders(session: Session, keys: Iterable[str]) -> dict[str, list[RecordId]]:
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
class KeyCensus:
    """How many records hold each key (counted no further than asked), and who holds the
    keys that few enough records hold to find candidates."""

    counts: dict[str, int]
    holders: dict[str, list[RecordId]]

    def with_records(
        self, records: Iterable[PreparedRecord], key_cap: Callable[[str], int]
    ) -> KeyCensus:
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
        return KeyCensus(counts, holders)


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
class Limit:
    """How far to count a key's holders, and up to how many to list them."""

    count_to: int
    list_to: int


def key_census(session: Session, limits: Mapping[str, Limit]) -> KeyCensus:
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
        return KeyCensus(counts, holders)
    for key, held in key_holders(session, limits).items():
        counts[key] = min(len(held), limits[key].count_to)
        if len(held) <= limits[key].list_to:
            holders[key] = held
    return KeyCensus(counts, holders)


_KEYS = Reused(
    lambda dialect: select(BlockingKey.record_id, BlockingKey.key).where(
        among_parameter(dialect, BlockingKey.record_id, "ids")
    )
)


def keys_of(session: Session, ids: Sequence[RecordId]) -> dict[RecordId, set[str]]:
    keys: dict[RecordId, set[str]] = defaultdict(set)
    for chunk in chunks(ids):
        for record_id, key in read_rows(session, _KEYS(session), {"ids": chunk}):
            keys[record_id].add(key)
    return keys


_MEMBERS = Reused(
    lambda dialect: select(SourceRecord.id).where(
        among_parameter(dialect, SourceRecord.identity_id, "ids"),
        SourceRecord.deleted_at.is_(None),
    )
)


def identity_members(session: Session, rows: Iterable[RecordRow]) -> set[RecordId]:
    """Live records sharing an identity with any of these records (an identity may split)."""
    identity_ids = sorted({r.identity_id for r in rows if r.identity_id is not None})
    members: set[RecordId] = set()
    for chunk in chunks(identity_ids):
        members.update(read_rows(session, _MEMBERS(session), {"ids": chunk}).scalars())
    return members


def edges_touching(dialect: str) -> ColumnElement[bool]:
    """The stored edges at or above the parameter ``floor`` with either end among the
    parameters ``lefts`` and ``rights`` (the same list), in a statement for ``dialect``."""
    return and_(
        or_(
            among_parameter(dialect, MatchEdge.left_id, "lefts"),
            among_parameter(dialect, MatchEdge.right_id, "rights"),
        ),
        MatchEdge.probability >= bindparam("floor"),
    )


def stored_pairs(session: Session, ids: set[RecordId]) -> set[tuple[RecordId, RecordId]]:
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


# -- writing evidence ------------------------------------------------------------------------


def _evidence_of(session: Session, chunk: Sequence[RecordId]) -> Iterator[tuple[Any, Any]]:
    """Each table of evidence with the condition selecting these records' rows."""
    yield BlockingKey, among(session, BlockingKey.record_id, chunk)
    yield MatchValues, among(session, MatchValues.record_id, chunk)
    yield RecordIdentifier, among(session, RecordIdentifier.record_id, chunk)
    yield (
        MatchEdge,
        or_(among(session, MatchEdge.left_id, chunk), among(session, MatchEdge.right_id, chunk)),
    )


def forget_evidence(session: Session, ids: Sequence[RecordId]) -> None:
    for chunk in chunks(ids):
        for model, condition in _evidence_of(session, chunk):
            # The session holds none of these rows: nothing to read back of what went.
            session.execute(
                delete(model).where(condition).execution_options(synchronize_session=False)
            )


def erase_evidence(
    session: Session, ids: Sequence[RecordId], *, dry_run: bool = False
) -> dict[str, int]:
    """Remove (or, in a dry run, count) everything resolution keeps of these records: values,
    blocking keys, lookup identifiers and edges; rows per table."""
    removed: dict[str, int] = {}
    for chunk in chunks(sorted(set(ids))):
        for model, condition in _evidence_of(session, chunk):
            name = model.__tablename__
            count = delete_where(session, model.__table__, condition, dry_run=dry_run)
            removed[name] = removed.get(name, 0) + count
    return removed


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    bulk_insert(session, model.__table__, rows)


@dataclass(slots=True)
class Evidence:
    """Prepared records and the rows that store them: values, blocking keys and lookup
    identifiers, with the content hash they were prepared from (a record whose hash moved on
    is pending)."""

    prepared: list[PreparedRecord] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)


def prepare(matcher: Matcher, records: Iterable[LiveRecord]) -> Evidence:
    evidence = Evidence()
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


def store_evidence(session: Session, evidence: Evidence) -> None:
    _insert(session, BlockingKey, evidence.keys)
    _insert(session, MatchValues, evidence.values)
    _insert(session, RecordIdentifier, evidence.identifiers)


def contribution_rows(edge: ScoredEdge) -> list[dict[str, Any]]:
    """An edge's per-attribute contributions as an edge row stores them."""
    return [
        {
            "attribute": c.attribute,
            "level": c.level,
            "weight": c.weight,
            "left": c.left,
            "right": c.right,
        }
        for c in edge.contributions
    ]


def edge_row(edge: ScoredEdge) -> dict[str, Any]:
    return {
        "left_id": edge.left,
        "right_id": edge.right,
        "weight": edge.weight,
        "probability": edge.probability,
        "contributions": contribution_rows(edge),
    }


def store_edges(session: Session, edges: Iterable[ScoredEdge]) -> None:
    _insert(session, MatchEdge, [edge_row(e) for e in edges])
