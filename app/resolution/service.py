"""Resolution on the store: real time for what changed, batch for everything.

Both run the same matching core; real time touches only the part of the identity graph around
the changed records, so both give the same partition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.customer import service as customers
from app.identity.models import Identity, RecordIdentifier
from app.matching import MatchConfig, Matcher, assign_identities
from app.matching.lookup import record_identifiers
from app.matching.types import (
    AttributeType,
    Clustering,
    Constraints,
    InputRecord,
    PreparedRecord,
    RecordId,
    ScoredEdge,
)
from app.resolution.models import BlockingKey, MatchEdge
from app.source.models import Source, SourceRecord

_IN_CHUNK = 500
T = TypeVar("T")


@dataclass(slots=True)
class ResolutionReport:
    """What a resolution did to identities."""

    records: int = 0
    created: int = 0
    merged: int = 0
    split: int = 0
    moved: int = 0
    identities: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        """Counts for reports."""
        return {
            "records": self.records,
            "identities_created": self.created,
            "merges": self.merged,
            "splits": self.split,
            "records_moved": self.moved,
        }


def attribute_types(*, session: Session) -> dict[str, AttributeType]:
    """The extra attributes every source declares, with their types."""
    declared: dict[str, AttributeType] = {}
    for types in session.scalars(select(Source.attribute_types)):
        declared.update(types)
    return declared


def _chunks(items: Sequence[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield list(items[start : start + _IN_CHUNK])


def _input_record(record: SourceRecord) -> InputRecord:
    return InputRecord(record.id, record.source.name, record.attributes)


def _load_records(session: Session, ids: Iterable[RecordId]) -> dict[RecordId, SourceRecord]:
    wanted = sorted(set(ids))
    loaded: dict[RecordId, SourceRecord] = {}
    for chunk in _chunks(wanted):
        loaded.update(
            (r.id, r)
            for r in session.scalars(select(SourceRecord).where(SourceRecord.id.in_(chunk)))
        )
    return loaded


def _forget_evidence(session: Session, ids: Sequence[RecordId]) -> None:
    for chunk in _chunks(ids):
        session.execute(delete(BlockingKey).where(BlockingKey.record_id.in_(chunk)))
        session.execute(delete(RecordIdentifier).where(RecordIdentifier.record_id.in_(chunk)))
        session.execute(
            delete(MatchEdge).where(
                or_(MatchEdge.left_id.in_(chunk), MatchEdge.right_id.in_(chunk))
            )
        )


def _store_lookup_and_keys(
    session: Session, matcher: Matcher, records: Iterable[SourceRecord]
) -> list[PreparedRecord]:
    """Prepare live records, storing their blocking keys and lookup identifiers."""
    prepared: list[PreparedRecord] = []
    key_rows: list[dict[str, object]] = []
    identifier_rows: list[dict[str, object]] = []
    region = matcher.config.default_region
    for record in records:
        ready = matcher.prepare(_input_record(record))
        prepared.append(ready)
        key_rows.extend({"record_id": record.id, "key": k} for k in set(ready.keys))
        identifier_rows.extend(
            {"record_id": record.id, "kind": kind, "value": value}
            for kind, value in record_identifiers(
                record.attributes, matcher.attribute_types, region
            )
        )
    if key_rows:
        session.execute(insert(BlockingKey), key_rows)
    if identifier_rows:
        session.execute(insert(RecordIdentifier), identifier_rows)
    return prepared


def _store_edges(session: Session, edges: Iterable[ScoredEdge]) -> None:
    rows = [
        {
            "left_id": e.left,
            "right_id": e.right,
            "weight": e.weight,
            "probability": e.probability,
            "contributions": [
                {
                    "attribute": c.attribute,
                    "level": c.level,
                    "weight": c.weight,
                    "left": c.left,
                    "right": c.right,
                }
                for c in e.contributions
            ],
        }
        for e in edges
    ]
    if rows:
        session.execute(insert(MatchEdge), rows)


def _edge_from_row(row: MatchEdge) -> ScoredEdge:
    return ScoredEdge(row.left_id, row.right_id, row.weight, row.probability)


def _candidates(
    session: Session, matcher: Matcher, prepared: Sequence[PreparedRecord]
) -> dict[RecordId, set[RecordId]]:
    """For each prepared record, the stored records sharing one of its non-generic keys."""
    keys = sorted({k for p in prepared for k in p.keys})
    holders: dict[str, set[RecordId]] = defaultdict(set)
    for chunk in _chunks(keys):
        for key, record_id in session.execute(
            select(BlockingKey.key, BlockingKey.record_id).where(BlockingKey.key.in_(chunk))
        ):
            holders[key].add(record_id)
    cap = matcher.config.generic_key_cap
    return {
        p.id: {r for k in p.keys if len(holders[k]) <= cap for r in holders[k]} - {p.id}
        for p in prepared
    }


def _component(
    session: Session, matcher: Matcher, seeds: set[RecordId]
) -> tuple[set[RecordId], list[ScoredEdge]]:
    """The records joined to the seeds by auto-match edges or shared identities."""
    members = set(seeds)
    frontier = set(seeds)
    edges: dict[tuple[RecordId, RecordId], ScoredEdge] = {}
    while frontier:
        reached: set[RecordId] = set()
        for chunk in _chunks(sorted(frontier)):
            for row in session.scalars(
                select(MatchEdge).where(
                    MatchEdge.probability >= matcher.config.auto_threshold,
                    or_(MatchEdge.left_id.in_(chunk), MatchEdge.right_id.in_(chunk)),
                )
            ):
                edges[(row.left_id, row.right_id)] = _edge_from_row(row)
                reached.update((row.left_id, row.right_id))
            identity_ids = select(SourceRecord.identity_id).where(SourceRecord.id.in_(chunk))
            reached.update(
                session.scalars(
                    select(SourceRecord.id).where(
                        SourceRecord.identity_id.in_(identity_ids),
                        SourceRecord.deleted_at.is_(None),
                    )
                )
            )
        frontier = reached - members
        members |= reached
    return members, list(edges.values())


def resolve_records(
    *,
    session: Session,
    matcher: Matcher,
    records: Sequence[SourceRecord],
    actor: str = audit.SYSTEM_ACTOR,
) -> ResolutionReport:
    """Real time: re-resolve the part of the graph that the changed records touch."""
    if not records:
        return ResolutionReport()
    changed_ids = [r.id for r in records]
    _forget_evidence(session, changed_ids)
    live = [r for r in records if r.deleted_at is None]
    prepared = _store_lookup_and_keys(session, matcher, live)
    candidates = _candidates(session, matcher, prepared)
    others = _load_records(
        session, {c for ids in candidates.values() for c in ids} - set(changed_ids)
    )
    prepared_by_id = {p.id: p for p in prepared}
    prepared_by_id.update((i, matcher.prepare(_input_record(r))) for i, r in others.items())
    scored: dict[tuple[RecordId, RecordId], ScoredEdge] = {}
    for ready in prepared:
        pool = [prepared_by_id[c] for c in sorted(candidates[ready.id])]
        for edge in matcher.score_candidates(ready, pool):
            scored[(edge.left, edge.right)] = edge
    _store_edges(session, scored.values())
    seeds = {r.id for r in live}
    for record in records:
        if record.deleted_at is not None and record.identity_id is not None:
            seeds.update(
                session.scalars(
                    select(SourceRecord.id).where(
                        SourceRecord.identity_id == record.identity_id,
                        SourceRecord.deleted_at.is_(None),
                    )
                )
            )
    members, edges = _component(session, matcher, seeds)
    clustering = matcher.cluster(sorted(members), edges, Constraints())
    # Identities whose records changed in place; _detach refreshes those that lose one.
    updated = {r.identity_id for r in records if r.identity_id and r.deleted_at is None}
    report = _apply(session, clustering, _load_records(session, members), actor, updated)
    for record in records:
        if record.deleted_at is not None and record.identity_id is not None:
            _detach(session, record, actor)
            report.moved += 1
    report.records = len(records)
    return report


def resolve_pending(
    *, session: Session, matcher: Matcher, actor: str = audit.SYSTEM_ACTOR
) -> ResolutionReport:
    """Resolve live records that have no identity yet and deleted records still linked to one."""
    pending = list(
        session.scalars(
            select(SourceRecord).where(
                or_(
                    (SourceRecord.identity_id.is_(None) & SourceRecord.deleted_at.is_(None)),
                    (SourceRecord.identity_id.is_not(None) & SourceRecord.deleted_at.is_not(None)),
                )
            )
        )
    )
    return resolve_records(session=session, matcher=matcher, records=pending, actor=actor)


def resolve_all(
    *, session: Session, matcher: Matcher, actor: str = audit.SYSTEM_ACTOR
) -> ResolutionReport:
    """Batch: re-resolve every live record from scratch, keeping identity ids stable."""
    live = {
        r.id: r
        for r in session.scalars(select(SourceRecord).where(SourceRecord.deleted_at.is_(None)))
    }
    resolution = matcher.resolve(_input_record(r) for r in live.values())
    session.execute(delete(MatchEdge))
    session.execute(delete(BlockingKey))
    session.execute(delete(RecordIdentifier))
    _store_lookup_and_keys(session, matcher, live.values())
    _store_edges(
        session, (e for e in resolution.edges if e.probability >= matcher.config.review_threshold)
    )
    report = _apply(session, resolution.clustering, live, actor)
    for record in session.scalars(
        select(SourceRecord).where(
            SourceRecord.deleted_at.is_not(None), SourceRecord.identity_id.is_not(None)
        )
    ):
        _detach(session, record, actor)
        report.moved += 1
    report.records = len(live)
    return report


def _reference(record: SourceRecord) -> str:
    return f"{record.source.name}:{record.external_id}"


def _detach(session: Session, record: SourceRecord, actor: str) -> None:
    identity = session.get(Identity, record.identity_id) if record.identity_id else None
    record.identity_id = None
    if identity is not None:
        customers.refresh_identities(session=session, identity_ids=[identity.id])
        audit.record(
            session=session,
            action="detach",
            identities=[identity.public_id],
            actor=actor,
            reason="record deleted at its source",
            before={"identity": identity.public_id, "record": _reference(record)},
            after={"identity": None, "record": _reference(record)},
        )


def _apply(
    session: Session,
    clustering: Clustering,
    records: Mapping[RecordId, SourceRecord],
    actor: str,
    updated: Iterable[int] = (),
) -> ResolutionReport:
    """Write a clustering to the store: stable ids, redirects and an audit entry per change.

    ``updated`` names identities whose records changed in place; they and every identity that
    gained or lost a record get their golden record and traits recomputed.
    """
    report = ResolutionReport()
    changed = set(updated)
    previous = {i: r.identity_id for i, r in records.items() if r.identity_id is not None}
    identities = _load_identities(session, set(previous.values()))
    assignment = assign_identities(clustering.clusters, previous, {i: i for i in identities})
    members_before: dict[int, set[RecordId]] = defaultdict(set)
    for record_id, identity_id in previous.items():
        members_before[identity_id].add(record_id)
    for cluster, kept in zip(clustering.clusters, assignment.kept, strict=True):
        identity = identities[kept] if kept is not None else _new_identity(session, identities)
        before_ids = sorted({identities[previous[r]].public_id for r in cluster if r in previous})
        moved = [records[r] for r in sorted(cluster) if records[r].identity_id != identity.id]
        if moved:
            changed.add(identity.id)
            changed.update(previous[r.id] for r in moved if r.id in previous)
        for record in moved:
            record.identity_id = identity.id
        report.moved += len(moved)
        merged = [
            identities[i] for i, into in assignment.merged_into.items() if into == identity.id
        ]
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
        report.identities.add(identity.id)
        audit.record(
            session=session,
            action=action,
            identities=[identity.public_id, *before_ids],
            actor=actor,
            before={"identities": before_ids},
            after={
                "identity": identity.public_id,
                "records": [_reference(records[r]) for r in sorted(cluster)],
            },
        )
    for old, survivor in assignment.merged_into.items():
        _redirect(session, identities[old], identities[survivor])
    for identity_id, members in members_before.items():
        homes = {index for index, c in enumerate(clustering.clusters) if c & members}
        if len(homes) > 1:
            report.split += 1
            parts = sorted(
                identities[k].public_id if k is not None else "new"
                for k in (assignment.kept[i] for i in homes)
            )
            audit.record(
                session=session,
                action="split",
                identities=[identities[identity_id].public_id],
                actor=actor,
                before={"identity": identities[identity_id].public_id},
                after={"parts": len(homes), "identities": parts},
            )
    session.flush()
    customers.refresh_identities(session=session, identity_ids=changed)
    return report


def _load_identities(session: Session, ids: set[int]) -> dict[int, Identity]:
    loaded: dict[int, Identity] = {}
    for chunk in _chunks(sorted(ids)):
        loaded.update(
            (i.id, i) for i in session.scalars(select(Identity).where(Identity.id.in_(chunk)))
        )
    return loaded


def _new_identity(session: Session, identities: dict[int, Identity]) -> Identity:
    identity = Identity()
    session.add(identity)
    session.flush()
    identities[identity.id] = identity
    return identity


def _redirect(session: Session, old: Identity, survivor: Identity) -> None:
    old.merged_into_id = survivor.id
    # Keep every redirect one hop long: whatever pointed at the old identity now points on.
    session.execute(
        update(Identity).where(Identity.merged_into_id == old.id).values(merged_into_id=survivor.id)
    )


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


def build_matcher(*, session: Session, config: MatchConfig) -> Matcher:
    """A matcher that knows every attribute the sources declare."""
    return Matcher(config, attribute_types=attribute_types(session=session))
