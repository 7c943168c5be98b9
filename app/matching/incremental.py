"""Real-time resolution, in memory: the reference procedure the service follows with its tables.

The service keeps, per record, its prepared values and blocking keys; per key, the records
holding it; the stored edges (probability >= review); and the current clusters. On every
arrival, change or deletion it does what :class:`IncrementalResolver` does here, and ends with
the partition batch would compute on the same records with the same model:

1. **remove** the old version of a changed or deleted record: drop its keys and its edges. A key
   whose holder count falls back to the cap stops being generic: score every pair of its
   holders that has no stored edge (:meth:`Matcher.score_candidates`) and store the edges.
2. **add** the new version's keys. A key whose count rises above the cap becomes generic:
   every stored edge between two of its holders is dropped unless
   :meth:`Matcher.shares_specific_key` says the pair still shares a non-generic key. (This is
   what keeps real time equal to batch when a key crosses the cap.)
3. **score** the record against the holders of its non-generic keys and store the edges.
4. **re-cluster** the connected components (auto edges + must-links) around every record
   touched in 1-3 and around their previous cluster-mates, with :meth:`Matcher.cluster`; map
   the clusters to identities with :func:`assign_identities`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from app.matching.matcher import Matcher
from app.matching.types import (
    NO_CONSTRAINTS,
    BlockingKey,
    Clustering,
    Constraints,
    InputRecord,
    PreparedRecord,
    RecordId,
    ScoredEdge,
)

Pair = tuple[RecordId, RecordId]


class IncrementalResolver:
    """Resolves records one at a time, touching only the affected part of the graph."""

    def __init__(self, matcher: Matcher, constraints: Constraints = NO_CONSTRAINTS) -> None:
        self.matcher = matcher
        self.constraints = constraints
        self.records: dict[RecordId, PreparedRecord] = {}
        self.holders: dict[BlockingKey, set[RecordId]] = defaultdict(set)
        self.edges: dict[Pair, ScoredEdge] = {}
        self.neighbours: dict[RecordId, set[RecordId]] = defaultdict(set)
        self.cluster_of: dict[RecordId, frozenset[RecordId]] = {}

    def upsert(self, record: InputRecord) -> Clustering:
        """Add or change a record; returns the new clustering of the affected components."""
        touched = self._remove(record.id) if record.id in self.records else set()
        prepared = self.matcher.prepare(record)
        self.records[record.id] = prepared
        for key in prepared.keys:
            holders = self.holders[key]
            holders.add(record.id)
            if len(holders) == self.matcher.key_cap(key) + 1:
                touched |= self._retire(key)
        candidates = {
            other
            for key in prepared.keys
            if not self.matcher.is_generic(key, len(self.holders[key]))
            for other in self.holders[key]
        }
        found = self.matcher.score_candidates(prepared, [self.records[c] for c in candidates])
        touched |= self._store(found) | {record.id}
        return self._recluster(touched)

    def delete(self, record_id: RecordId) -> Clustering:
        """Remove a record (deleted at its source); its identity may split."""
        touched = self._remove(record_id)
        self.cluster_of.pop(record_id, None)
        return self._recluster(touched - {record_id})

    def partition(self) -> set[frozenset[RecordId]]:
        """The current clusters."""
        return set(self.cluster_of.values())

    def _counts(self) -> dict[BlockingKey, int]:
        return {key: len(holders) for key, holders in self.holders.items()}

    def _store(self, edges: Iterable[ScoredEdge]) -> set[RecordId]:
        touched = set()
        for edge in edges:
            self.edges[(edge.left, edge.right)] = edge
            self.neighbours[edge.left].add(edge.right)
            self.neighbours[edge.right].add(edge.left)
            touched |= {edge.left, edge.right}
        return touched

    def _drop(self, a: RecordId, b: RecordId) -> None:
        self.edges.pop((min(a, b), max(a, b)), None)
        self.neighbours[a].discard(b)
        self.neighbours[b].discard(a)

    def _retire(self, key: BlockingKey) -> set[RecordId]:
        """A key just became generic: drop edges that only it justified."""
        counts = self._counts()
        holders = self.holders[key]
        touched = set()
        for a in holders:
            for b in list(self.neighbours[a] & holders):
                if a < b and not self.matcher.shares_specific_key(
                    self.records[a], self.records[b], counts
                ):
                    self._drop(a, b)
                    touched |= {a, b}
        return touched

    def _remove(self, record_id: RecordId) -> set[RecordId]:
        """Drop a record's edges and keys; keys back under the cap generate pairs again."""
        old = self.records.pop(record_id)
        touched = set(self.neighbours[record_id]) | set(self.cluster_of.get(record_id, ()))
        for other in list(self.neighbours[record_id]):
            self._drop(record_id, other)
        for key in old.keys:
            holders = self.holders[key]
            holders.discard(record_id)
            if len(holders) == self.matcher.key_cap(key):
                touched |= self._revive(holders)
            if not holders:
                del self.holders[key]
        return touched

    def _revive(self, holders: set[RecordId]) -> set[RecordId]:
        members = sorted(holders)
        touched: set[RecordId] = set()
        for index, a in enumerate(members):
            missing = [self.records[b] for b in members[index + 1 :] if b not in self.neighbours[a]]
            touched |= self._store(self.matcher.score_candidates(self.records[a], missing))
        return touched

    def _recluster(self, touched: set[RecordId]) -> Clustering:
        seeds = {r for r in touched if r in self.records}
        for record in list(seeds):
            seeds |= {r for r in self.cluster_of.get(record, ()) if r in self.records}
        component = self._reach(seeds)
        edges = [
            self.edges[(a, b)]
            for a in component
            for b in self.neighbours[a]
            if a < b and b in component
        ]
        clustering = self.matcher.cluster(
            [self.records[r] for r in sorted(component)], edges, self.constraints
        )
        for cluster in clustering.clusters:
            for record in cluster:
                self.cluster_of[record] = cluster
        return clustering

    def _reach(self, seeds: set[RecordId]) -> set[RecordId]:
        """Every record connected to the seeds by auto edges or must-links."""
        musts: dict[RecordId, set[RecordId]] = defaultdict(set)
        for a, b in self.constraints.must_link:
            if a in self.records and b in self.records:
                musts[a].add(b)
                musts[b].add(a)
        seen = set(seeds)
        stack = list(seeds)
        while stack:
            record = stack.pop()
            for other in self.neighbours[record] | musts[record]:
                if other in seen:
                    continue
                pair = (min(record, other), max(record, other))
                edge = self.edges.get(pair)
                if other in musts[record] or (edge is not None and self.matcher.is_auto(edge)):
                    seen.add(other)
                    stack.append(other)
        return seen
