"""The matching pipeline behind one interface: prepare → block → compare → score → cluster.

Real time and batch run the same code: both put records into a columnar :class:`Frame`,
compare pairs with :func:`compare_frame`, score them with the same frozen :class:`MatchModel`
and cluster each connected component with :func:`cluster_component`. Only the way candidate
pairs are found differs (stored blocking keys versus grouping key codes), and both find exactly
the pairs that share a non-generic key.

>>> from app.matching import InputRecord, Matcher, load_match_config
>>> matcher = Matcher(load_match_config())
>>> ana = matcher.prepare(InputRecord(1, "crm", {"first_name": "Ana", "last_name": "Ruiz",
...     "email": "ana.ruiz@example.com", "birth_date": "1990-04-12"}))
>>> ana2 = matcher.prepare(InputRecord(2, "shop", {"full_name": "Ruiz, Ana",
...     "email": "ANA.RUIZ@example.com "}))
>>> matcher.is_auto(matcher.compare(ana, ana2))
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from app.matching.batch import resolve_frame
from app.matching.calibrate import calibrate_frame
from app.matching.cluster import PairEvidence, cluster_component, components
from app.matching.compare import Rows
from app.matching.config import MatchConfig
from app.matching.frame import Frame, record_digest
from app.matching.model import MatchModel, default_model, probability
from app.matching.pipeline import Pipeline
from app.matching.scorer import Scorer
from app.matching.train import ModelRefused, train_frame
from app.matching.types import (
    NO_CONSTRAINTS,
    UNREPORTED,
    AttributeName,
    AttributeType,
    BlockingKey,
    Clustering,
    Conflict,
    Constraints,
    InputRecord,
    PreparedRecord,
    RecordId,
    Resolution,
    ScoredEdge,
    Stages,
)


class Matcher:
    """Decides which records are the same person: a :class:`Pipeline` and a model to score by.

    ``attribute_types`` declares extra attributes (``{"soc_sec_id": "identifier"}``): they are
    normalized, blocked on (identifiers) and compared with their type's levels, with their own
    m and u. ``model`` is a fitted :class:`MatchModel`; without one, the defaults of config
    apply.
    """

    def __init__(
        self,
        config: MatchConfig,
        attribute_types: Mapping[AttributeName, AttributeType] | None = None,
        model: MatchModel | None = None,
        *,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.config = config
        self.pipeline = pipeline or Pipeline.build(config, attribute_types)
        self.model = model or default_model(self.pipeline)
        self.scorer = Scorer(self.model, self.pipeline)
        self.guards = self.pipeline.guards
        # The pipeline's parts, named as callers know them.
        self.attribute_types = self.pipeline.attribute_types
        self.types = self.pipeline.types
        self.normalizer = self.pipeline.normalizer
        self.comparisons = self.pipeline.comparisons
        self.rules = self.pipeline.rules
        self.caps = self.pipeline.caps
        self.swap = self.pipeline.swap
        self.normalize = self.pipeline.normalize
        self.prepare = self.pipeline.prepare
        self.problems = self.pipeline.problems
        self.restore = self.pipeline.restore
        self.levels = self.pipeline.levels
        self.frame_builder = self.pipeline.frame_builder
        self.build_frame = self.pipeline.build_frame
        self.key_cap = self.pipeline.key_cap
        self.is_generic = self.pipeline.is_generic

    def train(self, records: Iterable[InputRecord], *, seed: int = 0) -> MatchModel:
        """Fit a model on records (m by EM, u, prior and value tables measured on them)."""
        return train_frame(self.scorer, self.build_frame(records), seed=seed)

    def fit(
        self, records: Iterable[InputRecord], *, seed: int = 0, train: bool = True
    ) -> tuple[MatchModel, str | None]:
        """A model fitted to records: trained (:meth:`train`), or only calibrated when
        ``train`` is False or training refused its model; with the refusal's reason."""
        return self.fit_frame(self.build_frame(records), seed=seed, train=train)

    def fit_frame(
        self, frame: Frame, *, seed: int = 0, train: bool = True
    ) -> tuple[MatchModel, str | None]:
        """:meth:`fit` on records already in a frame (a batch reads them once)."""
        if not train:
            return calibrate_frame(self.scorer, frame, seed=seed), None
        try:
            return train_frame(self.scorer, frame, seed=seed), None
        except ModelRefused as refusal:
            return calibrate_frame(self.scorer, frame, seed=seed), str(refusal)

    def calibrate(self, records: Iterable[InputRecord], *, seed: int = 0) -> MatchModel:
        """This matcher's model, its m kept, with u, prior and value tables measured on
        records: what the store says without fitting anything to it."""
        return calibrate_frame(self.scorer, self.build_frame(records), seed=seed)

    def with_model(self, model: MatchModel) -> Matcher:
        """The same matcher scoring with another model (the pipeline is reused)."""
        return Matcher(self.config, model=model, pipeline=self.pipeline)

    # -- compare and score -----------------------------------------------------------------

    def compare(self, left: PreparedRecord, right: PreparedRecord) -> ScoredEdge:
        """Score any two records with the full explanation (every attribute's contribution)."""
        if left.id > right.id:
            left, right = right, left
        frame = self._frame([left, right])
        edges = self._edges(frame, np.array([0]), np.array([1]), minimum=None)
        return edges[0]

    def score_candidates(
        self, record: PreparedRecord, candidates: Sequence[PreparedRecord]
    ) -> list[ScoredEdge]:
        """Score a record against its candidates, keeping the edges worth storing (≥ review)."""
        others = sorted({c.id: c for c in candidates if c.id != record.id}.values(), key=_id)
        if not others:
            return []
        frame = self._frame([record, *others])
        rows = np.arange(1, len(others) + 1)
        lower = np.array([o.id < record.id for o in others])
        left = np.where(lower, rows, 0)
        right = np.where(lower, 0, rows)
        return self._edges(frame, left, right, minimum=self.config.review_threshold)

    def score_pairs(
        self,
        pairs: Sequence[tuple[PreparedRecord, PreparedRecord]],
        *,
        minimum: float | None = None,
    ) -> list[ScoredEdge]:
        """Score many pairs at once: one frame, one comparison pass per attribute.

        For a page of arrivals against their candidates, this costs a fraction of calling
        :meth:`compare` per pair and gives the same edges: one per pair, in input order, each
        with ``left < right`` and its contributions. ``minimum`` keeps only the edges at or
        above that probability (the others are neither returned nor explained).

        >>> from app.matching import InputRecord, load_match_config
        >>> matcher = Matcher(load_match_config())
        >>> ana, ana2, bob = (matcher.prepare(InputRecord(i, "crm", a)) for i, a in enumerate(
        ...     [{"email": "ana@x.org"}, {"email": "ANA@x.org"}, {"email": "bob@x.org"}]))
        >>> [(e.left, e.right) for e in matcher.score_pairs([(ana2, ana), (ana, bob)])]
        [(0, 1), (0, 2)]
        """
        if not pairs:
            return []
        records = {r.id: r for pair in pairs for r in pair}
        ordered = sorted(records.values(), key=_id)
        row = {record.id: index for index, record in enumerate(ordered)}
        ends = np.array([(row[a.id], row[b.id]) for a, b in pairs], dtype=np.int64)
        left, right = ends.min(axis=1), ends.max(axis=1)
        return self._edges(self._frame(ordered), left, right, minimum=minimum)

    def is_auto(self, edge: ScoredEdge) -> bool:
        """Whether an edge is strong enough to join its records without review."""
        return edge.probability >= self.config.auto_threshold

    def is_review(self, edge: ScoredEdge) -> bool:
        """Whether an edge is a possible match for a person to review."""
        return self.config.review_threshold <= edge.probability < self.config.auto_threshold

    def _frame(self, records: Sequence[PreparedRecord]) -> Frame:
        return self.pipeline.frame(records)

    def _edges(
        self, frame: Frame, left: Rows, right: Rows, minimum: float | None
    ) -> list[ScoredEdge]:
        levels, crossed = self.levels(frame, left, right)
        weights, shares = self.scorer.weights(levels, frame, left, crossed, right)
        probabilities = probability(weights)
        keep = range(len(left)) if minimum is None else np.flatnonzero(probabilities >= minimum)
        values: dict[int, dict[AttributeName, str]] = {}

        def row_values(row: int) -> dict[AttributeName, str]:
            if row not in values:
                values[row] = frame.values(row)
            return values[row]

        ids = frame.ids.tolist()
        return [
            ScoredEdge(
                ids[left[i]],
                ids[right[i]],
                float(weights[i]),
                float(probabilities[i]),
                self.scorer.contributions(
                    levels[i],
                    shares[i],
                    (row_values(int(left[i])), row_values(int(right[i]))),
                    bool(crossed[i]),
                    self.swap,
                ),
            )
            for i in keep
        ]

    # -- blocking helpers for real time ----------------------------------------------------

    def shares_specific_key(
        self,
        left: PreparedRecord,
        right: PreparedRecord,
        counts: Mapping[BlockingKey, int],
    ) -> bool:
        """Whether two records share a key that is not generic (so batch compares them).

        ``counts`` gives the current number of records holding each key. When a key becomes
        generic, a stored edge between two of its records survives only if this holds.
        """
        shared = set(left.keys) & set(right.keys)
        return any(not self.is_generic(k, counts.get(k, 0)) for k in shared)

    # -- cluster ---------------------------------------------------------------------------

    def cluster(
        self,
        records: Iterable[RecordId | PreparedRecord],
        edges: Iterable[ScoredEdge],
        constraints: Constraints = NO_CONSTRAINTS,
    ) -> Clustering:
        """Cluster records joined by auto edges and must-links, with the guards of config.

        Each connected component (auto edges + must-links) is clustered on its own, from its
        records, edges and constraints only; so calling this on one component, or on several,
        or on everything, gives the same clusters for that component. Pass PreparedRecords:
        the guards read their values (personal attributes that conflict, exclusive
        attributes); bare ids are clustered on their edges and constraints alone, which can
        join records that batch keeps apart.
        """
        ids: list[RecordId] = []
        prepared: dict[RecordId, PreparedRecord] = {}
        for item in records:
            if isinstance(item, PreparedRecord):
                ids.append(item.id)
                prepared[item.id] = item
            else:
                ids.append(item)
        exclusive = {
            record.id: values
            for record in prepared.values()
            if (values := {k: v for k, v in record.values.items() if k in self.config.exclusive})
        }
        weights = {
            (e.left, e.right) if e.left < e.right else (e.right, e.left): e.weight
            for e in edges
            if self.is_auto(e)
        }
        present = set(ids)
        musts = [(a, b) for a, b in constraints.must_link if a in present and b in present]
        links = [*weights, *musts]
        clusters: list[frozenset[RecordId]] = []
        conflicts: list[Conflict] = []
        parts = components(ids, links)
        evidence = self._evidence([[prepared[r] for r in part if r in prepared] for part in parts])
        by_component = _split_by_component(parts, weights)
        digests = {record.id: record_digest(record.values) for record in prepared.values()}
        for (component, component_edges), known in zip(by_component, evidence, strict=True):
            parts, found = cluster_component(
                component,
                component_edges,
                must_link=constraints.must_link,
                cannot_link=constraints.cannot_link,
                exclusive=exclusive,
                guards=self.guards,
                evidence=known,
                digests=digests,
            )
            clusters.extend(frozenset(p) for p in parts)
            conflicts.extend(found)
        return Clustering(tuple(sorted(clusters, key=min)), tuple(conflicts))

    def _evidence(self, groups: Sequence[Sequence[PreparedRecord]]) -> list[PairEvidence]:
        """Match weight and conflict of every pair inside each group of records (one
        component each), scored together in one frame."""
        scored = [sorted(group, key=_id) for group in groups if len(group) > 1]
        if not scored:
            return [PairEvidence({}, frozenset()) for _ in groups]
        frame = self._frame([record for group in scored for record in group])
        starts = np.cumsum([0, *(len(group) for group in scored)])
        lefts, rights = [], []
        for start, group in zip(starts.tolist(), scored, strict=False):
            upper, lower = np.triu_indices(len(group), 1)
            lefts.append(upper + start)
            rights.append(lower + start)
        left = np.concatenate(lefts).astype(np.int64)
        right = np.concatenate(rights).astype(np.int64)
        levels, crossed = self.levels(frame, left, right)
        weights, conflicts = self.scorer.judge(levels, frame, left, crossed, right)
        pairs = list(zip(frame.ids[left].tolist(), frame.ids[right].tolist(), strict=True))
        found = iter(
            PairEvidence(
                dict(zip(pairs[span], weights[span].tolist(), strict=True)),
                frozenset(pairs[i] for i in np.flatnonzero(conflicts[span]) + span.start),
            )
            for span in _spans([len(group) for group in scored])
        )
        empty = PairEvidence({}, frozenset())
        return [next(found) if len(group) > 1 else empty for group in groups]

    # -- batch -----------------------------------------------------------------------------

    def resolve(
        self,
        records: Iterable[InputRecord],
        constraints: Constraints = NO_CONSTRAINTS,
        *,
        train: bool = False,
        calibrate: bool = False,
    ) -> Resolution:
        """Batch: resolve every record from scratch (streamed; raw records are not kept).

        With ``train=True`` a model is first fitted on these records (``calibrate=True``: its
        u, prior and value tables only, m kept) and used for scoring; it is returned in
        ``Resolution.model`` so the service stores it and scores real-time arrivals with it
        (same model, same partition).
        """
        frame = self.build_frame(records)
        return resolve_frame(self.scorer, frame, constraints, train=train, calibrate=calibrate)

    def resolve_frame(
        self,
        frame: Frame,
        constraints: Constraints = NO_CONSTRAINTS,
        *,
        stages: Stages = UNREPORTED,
    ) -> Resolution:
        """Batch on records already in a frame: block, score and cluster every one of them,
        each stage reported to ``stages`` with its count."""
        return resolve_frame(self.scorer, frame, constraints, stages=stages)


def _spans(sizes: Sequence[int]) -> Iterator[slice]:
    """Slices of consecutive pair blocks, one block of n(n-1)/2 pairs per group of n."""
    start = 0
    for size in sizes:
        stop = start + size * (size - 1) // 2
        yield slice(start, stop)
        start = stop


def _id(record: PreparedRecord) -> RecordId:
    return record.id


def _orient(frame: Frame, left: Rows, right: Rows) -> tuple[Rows, Rows]:
    """Put the record with the smaller id on the left, as real time does."""
    swap = frame.ids[left] > frame.ids[right]
    return np.where(swap, right, left), np.where(swap, left, right)


def _split_by_component(
    parts: list[tuple[RecordId, ...]], weights: Mapping[tuple[RecordId, RecordId], float]
) -> Iterator[tuple[tuple[RecordId, ...], dict[tuple[RecordId, RecordId], float]]]:
    where = {record: index for index, part in enumerate(parts) for record in part}
    grouped: dict[int, dict[tuple[RecordId, RecordId], float]] = defaultdict(dict)
    for pair, weight in weights.items():
        grouped[where[pair[0]]][pair] = weight
    for index, part in enumerate(parts):
        yield part, grouped.get(index, {})


def train(
    records: Iterable[InputRecord],
    config: MatchConfig,
    attribute_types: Mapping[AttributeName, AttributeType] | None = None,
    *,
    seed: int = 0,
) -> MatchModel:
    """Fit a model on records: m by EM on blocked pairs, u from random pairs, TF tables.

    >>> from app.matching import load_match_config
    >>> train([], load_match_config()).trained_on
    0
    """
    return Matcher(config, attribute_types).train(records, seed=seed)
