"""Clustering one connected component of the identity graph, with guards against chaining.

The result is a deterministic function of the component alone (its records, its auto edges,
the constraints, exclusive values and the model's evidence on every pair inside it): edges
are taken strongest first, equal weights in the order of the records' content digests (never
their ids, which follow the order records arrived in), and nothing outside the component is
read. That is what lets real time re-cluster only the component around a new
record and still agree with batch.

Records are joined greedily along auto edges, strongest first (must-links first of all). Two
groups are not joined when that would

1. put together a cannot-link pair, or two different values of an exclusive attribute;
2. put together a conflicting pair: two records whose personal attributes disagree (different
   given names, different birth dates), wherever they sit in the groups;
3. join two groups of at least ``min_side`` records through one edge below ``weak_weight``
   (a weak bridge);
4. join groups whose records, taken across, agree too little on average (mean match
   probability of every pair across below ``linkage``): one coincidence between two
   namesakes' records does not make the rest of their records one person;
5. join a group that is about as strongly linked (within ``ambiguity_margin`` bits) to a
   third group that can never join the other: a record with only a family name and a
   couple's shared e-mail could be either partner, so it joins neither.

Every auto edge left between two final clusters is reported as a :class:`Conflict` for review
(one per pair of clusters, the strongest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

from app.matching.types import AttributeName, Conflict, ConflictKind, RecordId

Pair = tuple[RecordId, RecordId]


@dataclass(frozen=True, slots=True)
class Guards:
    """The clustering guards' knobs."""

    weak_weight: float = 12.0
    min_side: int = 2
    linkage: float = 0.0
    ambiguity_margin: float = 0.0


@dataclass(frozen=True, slots=True)
class PairEvidence:
    """What the model says about every pair of a component, linked or not.

    ``weights`` maps ``(low, high)`` to match weight; ``conflicting`` holds the pairs whose
    personal attributes conflict. Pairs left out are unknown and never block a merge.
    """

    weights: Mapping[Pair, float]
    conflicting: frozenset[Pair]


NO_EVIDENCE = PairEvidence({}, frozenset())


def components(records: Iterable[RecordId], links: Iterable[Pair]) -> list[tuple[RecordId, ...]]:
    """Connected components (each sorted), ordered by their smallest record."""
    graph: nx.Graph[RecordId] = nx.Graph()
    graph.add_nodes_from(records)
    graph.add_edges_from(links)
    return sorted((tuple(sorted(c)) for c in nx.connected_components(graph)), key=lambda c: c[0])


def cluster_component(
    records: tuple[RecordId, ...],
    edges: Mapping[Pair, float],
    *,
    must_link: Iterable[Pair],
    cannot_link: Iterable[Pair],
    exclusive: Mapping[RecordId, Mapping[AttributeName, str]],
    guards: Guards,
    evidence: PairEvidence = NO_EVIDENCE,
    digests: Mapping[RecordId, int] | None = None,
) -> tuple[list[tuple[RecordId, ...]], list[Conflict]]:
    """Split one component into clusters; ``edges`` maps ``(low, high)`` to match weight.

    ``digests`` (each record's content digest) breaks ties between equal weights; without it
    record ids do, which ties the result to the order records were stored in.
    """
    tie = _tie_breaker(digests)
    members = set(records)
    groups = _Groups(sorted(members), exclusive)
    for a, b in sorted(_pair(a, b) for a, b in cannot_link if a in members and b in members):
        groups.forbid(a, b, "cannot_link")
    for a, b in sorted(evidence.conflicting):
        if a in members and b in members:
            groups.forbid(a, b, "personal")
    conflicts: list[Conflict] = []
    for a, b in sorted({_pair(a, b) for a, b in must_link if a in members and b in members}):
        if (kind := groups.veto(a, b)) is not None:
            detail = f"must-links join records that {_REASONS[kind]}"
            conflicts.append(Conflict(kind, (a, b), detail))
        groups.union(a, b)
    ordered = sorted(edges, key=lambda pair: (-edges[pair], tie(pair)))
    links = _adjacency(edges)
    refused: dict[Pair, tuple[ConflictKind, float]] = {}
    merged = True
    while merged:
        merged = False
        for a, b in ordered:
            if groups.find(a) == groups.find(b):
                continue
            kind = (
                groups.veto(a, b)
                or _weak(groups, (a, b), edges, guards)
                or _unlinked(groups, (a, b), evidence, guards)
                or _ambiguous(groups, (a, b), links, guards)
            )
            if kind is None:
                groups.union(a, b)
                merged = True
            else:
                refused.setdefault((a, b), (kind, edges[(a, b)]))
    conflicts.extend(_refusals(groups, refused, tie))
    return groups.clusters(), conflicts


def _tie_breaker(digests: Mapping[RecordId, int] | None) -> Callable[[Pair], tuple[int, ...]]:
    """Orders pairs of equal weight by their records' content, ids last."""
    if digests is None:
        return lambda pair: pair

    def key(pair: Pair) -> tuple[int, ...]:
        low, high = sorted((digests.get(pair[0], 0), digests.get(pair[1], 0)))
        return (low, high, *pair)

    return key


_REASONS: dict[ConflictKind, str] = {
    "cannot_link": "a person said are different people",
    "exclusive": "hold different values of an exclusive attribute",
    "personal": "disagree on who the person is",
    "ambiguous": "could as well belong to another person",
    "weak_bridge": "are joined by too little: one weak edge, or records that mostly disagree",
}


def _pair(a: RecordId, b: RecordId) -> Pair:
    return (a, b) if a < b else (b, a)


@dataclass(slots=True)
class _Groups:
    """Union-find over a component's records, with what each group holds and must avoid."""

    records: list[RecordId]
    exclusive: Mapping[RecordId, Mapping[AttributeName, str]]
    parent: dict[RecordId, RecordId] = field(init=False)
    members: dict[RecordId, list[RecordId]] = field(init=False)
    values: dict[RecordId, dict[AttributeName, str]] = field(init=False)
    forbidden: dict[RecordId, dict[RecordId, ConflictKind]] = field(init=False)

    def __post_init__(self) -> None:
        self.parent = {r: r for r in self.records}
        self.members = {r: [r] for r in self.records}
        self.values = {r: dict(self.exclusive.get(r, {})) for r in self.records}
        self.forbidden = {}

    def find(self, record: RecordId) -> RecordId:
        """The representative of a record's group (with path compression)."""
        root = record
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[record] != root:
            self.parent[record], record = root, self.parent[record]
        return root

    def forbid(self, a: RecordId, b: RecordId, kind: ConflictKind) -> None:
        """Records that must never end up in one group (the first reason given is kept)."""
        self.forbidden.setdefault(a, {}).setdefault(b, kind)
        self.forbidden.setdefault(b, {}).setdefault(a, kind)

    def veto(self, a: RecordId, b: RecordId) -> ConflictKind | None:
        """Why the groups of ``a`` and ``b`` must not be joined, if they must not."""
        left, right = self.find(a), self.find(b)
        small, large = sorted((left, right), key=lambda root: len(self.members[root]))
        found: ConflictKind | None = None
        for record in self.members[small]:
            for other, kind in self.forbidden.get(record, {}).items():
                if self.find(other) == large:
                    if kind == "cannot_link":
                        return kind
                    found = kind
        mine, theirs = self.values[left], self.values[right]
        if any(theirs.get(name, value) != value for name, value in mine.items()):
            return "exclusive"
        return found

    def union(self, a: RecordId, b: RecordId) -> None:
        """Join the groups of two records."""
        left, right = self.find(a), self.find(b)
        if left == right:
            return
        keep, gone = (left, right) if left < right else (right, left)
        self.parent[gone] = keep
        self.members[keep].extend(self.members.pop(gone))
        for name, value in self.values.pop(gone).items():
            self.values[keep].setdefault(name, value)

    def clusters(self) -> list[tuple[RecordId, ...]]:
        """The groups, each sorted, ordered by their smallest record."""
        return sorted((tuple(sorted(m)) for m in self.members.values()), key=lambda c: c[0])


def _weak(
    groups: _Groups, edge: Pair, edges: Mapping[Pair, float], guards: Guards
) -> ConflictKind | None:
    """A weak bridge: one edge below the weak weight between two groups of ``min_side``."""
    weight = edges[edge]
    left, right = (groups.find(record) for record in edge)
    sizes = (len(groups.members[left]), len(groups.members[right]))
    if weight >= guards.weak_weight or min(sizes) < guards.min_side:
        return None
    cross = 0
    for x in groups.members[left]:
        for y in groups.members[right]:
            if _pair(x, y) in edges:
                cross += 1
                if cross > 1:
                    return None
    return "weak_bridge"


def _adjacency(edges: Mapping[Pair, float]) -> dict[RecordId, list[tuple[RecordId, float]]]:
    links: dict[RecordId, list[tuple[RecordId, float]]] = {}
    for (a, b), weight in sorted(edges.items()):
        links.setdefault(a, []).append((b, weight))
        links.setdefault(b, []).append((a, weight))
    return links


def _ambiguous(
    groups: _Groups,
    edge: Pair,
    links: Mapping[RecordId, list[tuple[RecordId, float]]],
    guards: Guards,
) -> ConflictKind | None:
    """One side matches the other about as well as it matches a third group that can never
    join the other side: a record without a given name on a couple's shared e-mail could be
    either of them, so it joins neither."""
    if guards.ambiguity_margin <= 0.0:
        return None
    a, b = edge
    weight = dict(links[a])[b]
    roots = (groups.find(a), groups.find(b))
    for side, other in (roots, roots[::-1]):
        anchor = groups.members[other][0]
        for record in groups.members[side]:
            for neighbour, strength in links.get(record, ()):
                if (
                    strength > weight - guards.ambiguity_margin
                    and groups.find(neighbour) not in roots
                    and groups.veto(neighbour, anchor) is not None
                ):
                    return "ambiguous"
    return None


def _unlinked(
    groups: _Groups, edge: Pair, evidence: PairEvidence, guards: Guards
) -> ConflictKind | None:
    """Groups whose records, taken across, are on average less likely one person than
    ``linkage`` (average linkage of calibrated match probabilities)."""
    if guards.linkage <= 0.0:
        return None
    left, right = (groups.members[groups.find(record)] for record in edge)
    if len(left) == 1 and len(right) == 1:
        return None
    total, count = 0.0, 0
    for x in left:
        for y in right:
            weight = evidence.weights.get(_pair(x, y))
            if weight is not None:
                total += 1.0 / (1.0 + 2.0**-weight)
                count += 1
    return "weak_bridge" if count and total < guards.linkage * count else None


def _refusals(
    groups: _Groups,
    refused: Mapping[Pair, tuple[ConflictKind, float]],
    tie: Callable[[Pair], tuple[int, ...]],
) -> list[Conflict]:
    """One conflict per pair of final clusters that an auto edge was refused between."""
    seen: set[Pair] = set()
    out = []
    ordered = sorted(refused.items(), key=lambda item: (-item[1][1], tie(item[0])))
    for (a, b), (kind, weight) in ordered:
        sides = _pair(groups.find(a), groups.find(b))
        if sides[0] == sides[1] or sides in seen:
            continue
        seen.add(sides)
        detail = f"auto edge {a}-{b} (weight {weight:.1f}) refused: the records {_REASONS[kind]}"
        out.append(Conflict(kind, (a, b), detail))
    return out
