"""Stable identity ids: map freshly computed clusters onto the identities that existed before.

Rules: a merge keeps the oldest identity and redirects the others to it; a split keeps the id
on the part holding most of the identity's records; a cluster with no previous identity gets a
new one. Re-running on an unchanged partition changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.matching.types import RecordId

IdentityKey = TypeVar("IdentityKey", bound=Hashable)


@dataclass(frozen=True, slots=True)
class IdentityAssignment(Generic[IdentityKey]):
    """Which existing identity each cluster keeps (None: a new identity), and which merge away."""

    kept: tuple[IdentityKey | None, ...]
    merged_into: Mapping[IdentityKey, IdentityKey]
    emptied: frozenset[IdentityKey]


def assign_identities(
    clusters: Sequence[frozenset[RecordId]],
    previous: Mapping[RecordId, IdentityKey],
    seniority: Mapping[IdentityKey, int],
) -> IdentityAssignment[IdentityKey]:
    """Choose, for each cluster, the identity it keeps.

    ``previous`` maps records to their identity before this resolution; ``seniority`` orders
    identities, lower meaning older. Every identity's "home" is the cluster holding most of its
    records (ties: the cluster with the smallest record id). A cluster keeps the oldest identity
    whose home it is; the other identities at home there are merged into it.

    >>> a = assign_identities([frozenset({1, 2, 3})], {1: "A", 3: "B"}, {"A": 2, "B": 1})
    >>> a.kept, dict(a.merged_into)
    (('B',), {'A': 'B'})
    """
    clusters = list(clusters)  # indexed below: a lazy sequence would rebuild on every access
    records_of: dict[IdentityKey, Counter[int]] = {}
    for index, cluster in enumerate(clusters):
        for record in cluster:
            identity = previous.get(record)
            if identity is not None:
                records_of.setdefault(identity, Counter())[index] += 1
    homes: dict[int, list[IdentityKey]] = {}
    for identity, counts in records_of.items():
        home = max(counts, key=lambda i: (counts[i], -min(clusters[i])))
        homes.setdefault(home, []).append(identity)
    kept: list[IdentityKey | None] = []
    merged_into: dict[IdentityKey, IdentityKey] = {}
    for index in range(len(clusters)):
        residents = sorted(homes.get(index, []), key=lambda i: (seniority[i], str(i)))
        kept.append(residents[0] if residents else None)
        merged_into.update((other, residents[0]) for other in residents[1:])
    emptied = frozenset(set(previous.values()) - set(records_of))
    return IdentityAssignment(tuple(kept), merged_into, emptied)
