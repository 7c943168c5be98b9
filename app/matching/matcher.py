"""The matching pipeline behind one interface: prepare → block → compare → cluster.

This first resolver links records that share a normalized e-mail or phone. The probabilistic
matcher replaces the inside of these methods, not their signatures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

import networkx as nx
import phonenumbers

from app.matching.config import MatchConfig
from app.matching.types import (
    AttributeType,
    BlockingKey,
    Clustering,
    Constraints,
    Contribution,
    InputRecord,
    PreparedRecord,
    RecordId,
    Resolution,
    ScoredEdge,
)

_SHARED_IDENTIFIER_WEIGHT = 20.0
NO_CONSTRAINTS = Constraints()


def normalize_email(value: str) -> str | None:
    """Lower-case and trim an e-mail; anything without one ``@`` is missing."""
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    return email if at and local and "." in domain and "@" not in domain else None


def normalize_phone(value: str, region: str) -> str | None:
    """Parse a phone into E.164, reading numbers without country code in ``region``."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Matcher:
    """Decides which records are the same person."""

    def __init__(
        self,
        config: MatchConfig,
        attribute_types: Mapping[str, AttributeType] | None = None,
    ) -> None:
        self.config = config
        self.attribute_types = dict(attribute_types or {})

    def prepare(self, record: InputRecord) -> PreparedRecord:
        """Normalize a record's values and derive its blocking keys."""
        values: dict[str, str] = {}
        if email := normalize_email(record.attributes.get("email", "")):
            values["email"] = email
        phone_text = record.attributes.get("phone", "")
        if phone_text and (phone := normalize_phone(phone_text, self.config.default_region)):
            values["phone"] = phone
        keys = tuple(f"{name}:{value}" for name, value in sorted(values.items()))
        return PreparedRecord(record.id, record.source, values, keys)

    def compare(self, left: PreparedRecord, right: PreparedRecord) -> ScoredEdge:
        """Score a pair of records, with each attribute's contribution."""
        if left.id > right.id:
            left, right = right, left
        contributions = []
        for attribute in ("email", "phone"):
            a, b = left.values.get(attribute), right.values.get(attribute)
            if a is None or b is None:
                contributions.append(Contribution(attribute, "missing", 0.0, a, b))
            elif a == b:
                contributions.append(
                    Contribution(attribute, "exact", _SHARED_IDENTIFIER_WEIGHT, a, b)
                )
            else:
                contributions.append(Contribution(attribute, "different", 0.0, a, b))
        weight = sum(c.weight for c in contributions)
        probability = 1.0 if weight > 0 else 0.0
        return ScoredEdge(left.id, right.id, weight, probability, tuple(contributions))

    def score_candidates(
        self, record: PreparedRecord, candidates: Sequence[PreparedRecord]
    ) -> list[ScoredEdge]:
        """Score a record against its candidates, keeping the edges worth storing."""
        scored = (self.compare(record, other) for other in candidates if other.id != record.id)
        return [e for e in scored if e.probability >= self.config.review_threshold]

    def is_auto(self, edge: ScoredEdge) -> bool:
        """Whether an edge is strong enough to join its records without review."""
        return edge.probability >= self.config.auto_threshold

    def is_review(self, edge: ScoredEdge) -> bool:
        """Whether an edge is a possible match for a person to review."""
        return self.config.review_threshold <= edge.probability < self.config.auto_threshold

    def cluster(
        self,
        records: Iterable[RecordId],
        edges: Iterable[ScoredEdge],
        constraints: Constraints = NO_CONSTRAINTS,
    ) -> Clustering:
        """Group records joined by auto-match edges and must-links into clusters."""
        graph: nx.Graph[RecordId] = nx.Graph()
        graph.add_nodes_from(records)
        graph.add_edges_from((e.left, e.right) for e in edges if self.is_auto(e))
        graph.add_edges_from(constraints.must_link)
        clusters = tuple(
            frozenset(component) for component in sorted(nx.connected_components(graph), key=min)
        )
        return Clustering(clusters)

    def resolve(
        self, records: Iterable[InputRecord], constraints: Constraints = NO_CONSTRAINTS
    ) -> Resolution:
        """Batch: resolve every record from scratch."""
        prepared = {r.id: p for r in records if (p := self.prepare(r))}
        edges, generic = self.score_blocked_pairs(prepared.values())
        return Resolution(self.cluster(prepared, edges, constraints), tuple(edges), generic)

    def score_blocked_pairs(
        self, prepared: Iterable[PreparedRecord]
    ) -> tuple[list[ScoredEdge], dict[BlockingKey, int]]:
        """Score every pair that shares a non-generic blocking key."""
        by_key: dict[BlockingKey, list[PreparedRecord]] = defaultdict(list)
        for record in prepared:
            for key in record.keys:
                by_key[key].append(record)
        generic = {k: len(v) for k, v in by_key.items() if len(v) > self.config.generic_key_cap}
        seen: set[tuple[RecordId, RecordId]] = set()
        edges = []
        for key, members in by_key.items():
            if key in generic:
                continue
            for a, b in combinations(members, 2):
                pair = (min(a.id, b.id), max(a.id, b.id))
                if pair not in seen:
                    seen.add(pair)
                    edges.append(self.compare(a, b))
        return edges, generic
