"""Applying a clustering to identities: which identity each cluster is, which ids merge away
(redirecting to the survivor) and which records move, with an audit entry per change.

Resolution (real time and batch) and people's decisions both write identities through here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.audit.service import AuditSpec
from app.db import bulk_update
from app.identity.service import create_identities, public_ids_of, redirect, redirects_into
from app.matching import assign_identities
from app.matching.types import Clustering, RecordId
from app.source.models import SourceRecord


@dataclass(frozen=True, slots=True)
class RecordRow:
    """What applying a clustering needs of a record."""

    id: RecordId
    reference: str
    identity_id: int | None
    # The live record as the golden record needs it (a row of the customer view's columns),
    # when it was read anyway.
    loaded: Any = None


@dataclass(slots=True)
class IdentityChanges:
    """What a change to identities did: counts, the identities whose golden record, search keys
    and traits must be recomputed, and the audit entries to record."""

    created: int = 0
    merged: int = 0
    split: int = 0
    moved: int = 0
    # Identities created, merged into or attached to.
    identities: set[int] = field(default_factory=set)
    refresh: set[int] = field(default_factory=set)
    # Identities created in this transaction: nothing computed of them yet to replace.
    fresh: set[int] = field(default_factory=set)
    # The live records of some new identities, read in this transaction: not read again.
    known: dict[int, list[Any]] = field(default_factory=dict)
    audit: list[AuditSpec] = field(default_factory=list)
    # Records deleted at their source that left their identity (audited with that reason).
    detached: list[AuditSpec] = field(default_factory=list)

    def add(self, other: IdentityChanges) -> None:
        """Fold another change into this one."""
        self.created += other.created
        self.merged += other.merged
        self.split += other.split
        self.moved += other.moved
        self.identities |= other.identities
        self.refresh |= other.refresh
        self.fresh |= other.fresh
        self.known.update(other.known)
        self.audit.extend(other.audit)
        self.detached.extend(other.detached)


def apply_clustering(
    session: Session,
    clustering: Clustering,
    records: Mapping[RecordId, RecordRow],
    updated: Iterable[int] = (),
) -> IdentityChanges:
    """Write a clustering to the store: stable ids (a merge keeps the oldest, a split keeps the
    id on the largest part) and redirects. Returns what changed: the identities whose golden
    record must be recomputed (``updated`` ones too), and an audit entry per change.

    Entries name the members before and after (and the redirects a merge re-points), so any
    merge or split can be undone.
    """
    report = IdentityChanges()
    changed = set(updated)
    previous = {i: r.identity_id for i, r in records.items() if r.identity_id is not None}
    public = public_ids_of(session, previous.values())
    assignment = assign_identities(clustering.clusters, previous, {i: i for i in public})
    created = create_identities(session, sum(k is None for k in assignment.kept))
    fresh = iter(created)
    pointing = redirects_into(session, assignment.merged_into, public)
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
        redirect(session, old, survivor)
    entries.extend(_split_entries(clustering, previous, cluster_ids, public, records, report))
    report.refresh |= changed
    report.fresh |= {i for i, _ in created}
    report.known.update(_records_of_new(clustering.clusters, cluster_ids, created, records))
    report.audit.extend(entries)
    return report


def _records_of_new(
    clusters: Sequence[frozenset[RecordId]],
    cluster_ids: Sequence[int],
    created: Sequence[tuple[int, str]],
    records: Mapping[RecordId, RecordRow],
) -> dict[int, list[Any]]:
    """The records of each new identity, where all of them were read in this transaction: its
    golden record is computed from them without reading them back."""
    new = {identity_id for identity_id, _ in created}
    known: dict[int, list[Any]] = {}
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


def _split_entries(
    clustering: Clustering,
    previous: Mapping[RecordId, int],
    cluster_ids: Sequence[int],
    public: Mapping[int, str],
    records: Mapping[RecordId, RecordRow],
    report: IdentityChanges,
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
