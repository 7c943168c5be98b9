"""Batch resolution over a whole frame, columnar from end to end.

Candidate pairs are numpy arrays, scored in chunks; only edges at or above the review
threshold are kept, as arrays (:class:`EdgeTable` builds a :class:`ScoredEdge` when one is
read). Connected components come from a vectorised union-find; each component that could need
a guard goes through the very function real time uses, :func:`cluster_component`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from app.matching.blocking import blocked_pairs, group_pairs
from app.matching.calibrate import calibrate_frame
from app.matching.cluster import PairEvidence, cluster_component
from app.matching.frame import BlockedPairs, Frame, distinct
from app.matching.model import probability
from app.matching.scorer import ContributionColumn, Scorer
from app.matching.train import train_frame
from app.matching.types import (
    UNREPORTED,
    Clustering,
    Conflict,
    Constraints,
    RecordId,
    Resolution,
    ScoredEdge,
    Stages,
)

Ints = npt.NDArray[np.int64]
_CHUNK = 500_000


@dataclass(frozen=True, slots=True)
class EdgeTable(Sequence[ScoredEdge]):
    """Scored edges as columns; indexing builds one :class:`ScoredEdge` with its explanation."""

    scorer: Scorer
    frame: Frame
    left_rows: Ints
    right_rows: Ints
    weights: npt.NDArray[np.float64]
    probabilities: npt.NDArray[np.float64]
    levels: npt.NDArray[np.int8]
    crossed: npt.NDArray[np.bool_]

    @property
    def left_ids(self) -> Ints:
        """Record id on the left of every edge (always the smaller id)."""
        return self.frame.ids[self.left_rows]

    @property
    def right_ids(self) -> Ints:
        """Record id on the right of every edge."""
        return self.frame.ids[self.right_rows]

    def __len__(self) -> int:
        return len(self.left_rows)

    @overload
    def __getitem__(self, index: int) -> ScoredEdge: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[ScoredEdge]: ...
    def __getitem__(self, index: int | slice) -> ScoredEdge | Sequence[ScoredEdge]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        left = self.left_rows[index : index + 1]
        levels = self.levels[index : index + 1]
        _, shares = self.scorer.weights(
            levels,
            self.frame,
            left,
            self.crossed[index : index + 1],
            self.right_rows[index : index + 1],
        )
        contributions = self.scorer.contributions(
            levels[0],
            shares[0],
            (self.frame.values(int(left[0])), self.frame.values(int(self.right_rows[index]))),
            bool(self.crossed[index]),
            self.scorer.pipeline.swap,
        )
        return ScoredEdge(
            int(self.frame.ids[left[0]]),
            int(self.frame.ids[self.right_rows[index]]),
            float(self.weights[index]),
            float(self.probabilities[index]),
            contributions,
        )

    def __iter__(self) -> Iterator[ScoredEdge]:
        return (self[i] for i in range(len(self)))

    def explain(self, start: int, stop: int) -> tuple[ContributionColumn, ...]:
        """The explanations of edges ``start`` to ``stop``, a column per compared attribute:
        what indexing gives one edge at a time, for a store to write in bulk."""
        rows = self.left_rows[start:stop], self.right_rows[start:stop]
        levels, crossed = self.levels[start:stop], self.crossed[start:stop]
        _, shares = self.scorer.weights(levels, self.frame, rows[0], crossed, rows[1])
        return self.scorer.contribution_columns(levels, shares, crossed, self.frame, rows)


@dataclass(frozen=True, slots=True)
class ClusterList(Sequence[frozenset[RecordId]]):
    """Clusters as a label per record; a cluster's frozenset is built when it is read."""

    ids: Ints
    labels: Ints

    def _order(self) -> tuple[Ints, Ints, Ints]:
        by_label = np.lexsort((self.ids, self.labels))
        sorted_labels = self.labels[by_label]
        starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
        first_ids = self.ids[by_label[starts]]
        order = np.argsort(first_ids, kind="stable")
        return by_label, starts, order

    def __len__(self) -> int:
        return len(distinct(self.labels))

    @overload
    def __getitem__(self, index: int) -> frozenset[RecordId]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[frozenset[RecordId]]: ...
    def __getitem__(
        self, index: int | slice
    ) -> frozenset[RecordId] | Sequence[frozenset[RecordId]]:
        # Builds every cluster: callers that index repeatedly take list() of it once.
        clusters = list(self)
        return clusters[index]

    def __iter__(self) -> Iterator[frozenset[RecordId]]:
        if not len(self.ids):
            return
        by_label, starts, order = self._order()
        ends = np.r_[starts[1:], len(by_label)]
        for i in order:
            yield frozenset(int(x) for x in self.ids[by_label[starts[i] : ends[i]]])


def resolve_frame(
    scorer: Scorer,
    frame: Frame,
    constraints: Constraints,
    *,
    train: bool = False,
    calibrate: bool = False,
    stages: Stages = UNREPORTED,
) -> Resolution:
    """Block, score and cluster every record of a frame, after fitting the model to it when
    asked (``train``: m, u and prior; ``calibrate``: u and prior only); each stage reports its
    count to ``stages``."""
    model = None
    if train or calibrate:
        model = train_frame(scorer, frame) if train else calibrate_frame(scorer, frame)
        scorer = scorer.with_model(model)
    pipeline = scorer.pipeline
    with stages.phase("blocking", unit="pairs") as meter:
        blocked = blocked_pairs(frame, pipeline.rules, pipeline.caps)
        meter.advance(len(blocked.left))
    with stages.phase("scoring pairs", total=len(blocked.left), unit="pairs") as meter:
        edges = _score(scorer, frame, blocked, meter.advance)
    generic = blocked.generic
    # The pairs are scored: what is kept of them is in the edges.
    frame.blocked = None
    del blocked
    with stages.phase("clustering", total=len(frame)) as meter:
        labels, conflicts = _cluster(scorer, frame, edges, constraints)
        meter.advance(len(frame))
    clustering = Clustering(ClusterList(frame.ids, labels), tuple(conflicts))
    return Resolution(clustering, edges, generic, model)


def _score(
    scorer: Scorer, frame: Frame, blocked: BlockedPairs, scored: Callable[[int], None]
) -> EdgeTable:
    review = scorer.pipeline.config.review_threshold
    left, right = blocked.left, blocked.right
    kept: list[
        tuple[Ints, Ints, npt.NDArray[np.float64], npt.NDArray[np.int8], npt.NDArray[np.bool_]]
    ] = []
    for start in range(0, len(left), _CHUNK):
        chunk = slice(start, start + _CHUNK)
        a, b = left[chunk], right[chunk]
        if blocked.levels is not None and blocked.crossed is not None:
            levels, crossed = blocked.levels[chunk], blocked.crossed[chunk]
        else:
            levels, crossed = scorer.pipeline.levels(frame, a, b)
        weights, _ = scorer.weights(levels, frame, a, crossed, b)
        keep = probability(weights) >= review
        kept.append((a[keep], b[keep], weights[keep], levels[keep], crossed[keep]))
        scored(len(a))
    width = len(scorer.comparisons)
    if kept:
        a, b, w, lv, cr = (np.concatenate(parts) for parts in zip(*kept, strict=True))
    else:
        a = b = np.empty(0, dtype=np.int64)
        w = np.empty(0, dtype=np.float64)
        lv = np.empty((0, width), dtype=np.int8)
        cr = np.empty(0, dtype=np.bool_)
    return EdgeTable(scorer, frame, a, b, w, probability(w), lv.reshape(-1, width), cr)


def _rows_of(frame: Frame, pairs: frozenset[tuple[RecordId, RecordId]]) -> tuple[Ints, Ints]:
    """Row indices of constraint pairs whose both records are in the frame."""
    if not pairs or not len(frame.ids):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    order = np.argsort(frame.ids, kind="stable")
    sorted_ids = frame.ids[order]
    ids = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    positions = np.searchsorted(sorted_ids, ids).clip(0, len(sorted_ids) - 1)
    found = (sorted_ids[positions] == ids).all(axis=1)
    rows = order[positions[found]]
    return rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)


def connected_labels(n: int, left: Ints, right: Ints) -> Ints:
    """Component label per row (the smallest row of its component), by min-label hooking."""
    parent = np.arange(n, dtype=np.int64)
    while len(left):
        pa, pb = parent[left], parent[right]
        if (pa == pb).all():
            break
        low = np.minimum(pa, pb)
        np.minimum.at(parent, pa, low)
        np.minimum.at(parent, pb, low)
        while True:
            jumped = parent[parent]
            if (jumped == parent).all():
                break
            parent = jumped
    return parent


def _cluster(
    scorer: Scorer, frame: Frame, edges: EdgeTable, constraints: Constraints
) -> tuple[Ints, list[Conflict]]:
    config = scorer.pipeline.config
    guards = scorer.pipeline.guards
    auto = edges.probabilities >= config.auto_threshold
    auto_left, auto_right = edges.left_rows[auto], edges.right_rows[auto]
    must_left, must_right = _rows_of(frame, constraints.must_link)
    link_left = np.concatenate([auto_left, must_left])
    link_right = np.concatenate([auto_right, must_right])
    labels = connected_labels(len(frame), link_left, link_right)
    sizes = np.bincount(labels, minlength=len(frame))
    pairs = _component_pairs(scorer, frame, labels, sizes)
    guarded = sizes >= min(3, 2 * guards.min_side)
    guarded[labels[pairs.left[pairs.conflicts]]] = True
    cannot_left, cannot_right = _rows_of(frame, constraints.cannot_link)
    same = labels[cannot_left] == labels[cannot_right]
    guarded[labels[cannot_left[same]]] = True
    exclusive = sorted(config.exclusive & set(frame.columns))
    for name in exclusive:
        guarded[_clashing(labels, frame.columns[name].codes, sizes)] = True
    guarded_labels = np.flatnonzero(guarded & (sizes > 1))
    conflicts: list[Conflict] = []
    if not len(guarded_labels):
        return labels, conflicts
    ids = frame.ids
    row_digests = frame.digests()
    auto_rows = _by_label(labels, np.flatnonzero(auto), edges.left_rows, guarded_labels)
    pair_rows = _by_label(labels, np.arange(len(pairs.left)), pairs.left, guarded_labels)
    row_order = _by_label(labels, np.arange(len(frame)), np.arange(len(frame)), guarded_labels)
    for label in guarded_labels.tolist():
        rows = row_order(label)
        component = tuple(sorted(int(ids[r]) for r in rows))
        component_edges = {
            (int(ids[edges.left_rows[i]]), int(ids[edges.right_rows[i]])): float(edges.weights[i])
            for i in auto_rows(label)
        }
        evidence = pairs.evidence(ids, pair_rows(label))
        values = {
            int(ids[r]): {
                name: v
                for name in exclusive
                if (v := frame.columns[name].value(int(r))) is not None
            }
            for r in rows
        }
        parts, found = cluster_component(
            component,
            component_edges,
            must_link=constraints.must_link,
            cannot_link=constraints.cannot_link,
            exclusive={k: v for k, v in values.items() if v},
            guards=guards,
            evidence=evidence,
            digests={int(ids[r]): int(row_digests[r]) for r in rows},
        )
        conflicts.extend(found)
        if len(parts) > 1:
            row_of = {int(ids[r]): int(r) for r in rows}
            for part in parts:
                part_rows = np.array([row_of[i] for i in part], dtype=np.int64)
                labels[part_rows] = part_rows.min()
    return labels, conflicts


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Every row pair inside a component: its rows, match weight and personal conflict."""

    left: Ints
    right: Ints
    weights: npt.NDArray[np.float64]
    conflicts: npt.NDArray[np.bool_]

    def evidence(self, ids: Ints, picks: Ints) -> PairEvidence:
        """The pairs at ``picks`` as record-id evidence for :func:`cluster_component`."""
        pairs = list(
            zip(ids[self.left[picks]].tolist(), ids[self.right[picks]].tolist(), strict=True)
        )
        hits = self.conflicts[picks].tolist()
        return PairEvidence(
            dict(zip(pairs, self.weights[picks].tolist(), strict=True)),
            frozenset(pair for pair, hit in zip(pairs, hits, strict=True) if hit),
        )


def _component_pairs(scorer: Scorer, frame: Frame, labels: Ints, sizes: Ints) -> _Pairs:
    """Score every row pair inside each component of two or more records, whether blocking
    paired them or not: clustering weighs them all."""
    codes = np.where(sizes[labels] > 1, labels, -1).astype(np.int32)
    parts: list[tuple[Ints, Ints, npt.NDArray[np.float64], npt.NDArray[np.bool_]]] = []
    for first, second in group_pairs(codes, int(sizes.max(initial=0))):
        swap = frame.ids[first] > frame.ids[second]
        a, b = np.where(swap, second, first), np.where(swap, first, second)
        for start in range(0, len(a), _CHUNK):
            left, right = a[start : start + _CHUNK], b[start : start + _CHUNK]
            levels, crossed = scorer.pipeline.levels(frame, left, right)
            parts.append((left, right, *scorer.judge(levels, frame, left, crossed, right)))
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return _Pairs(empty, empty, np.empty(0), np.empty(0, dtype=np.bool_))
    left, right, weights, conflicts = (np.concatenate(p) for p in zip(*parts, strict=True))
    return _Pairs(left, right, weights, conflicts)


def _by_label(labels: Ints, items: Ints, rows: Ints, wanted: Ints) -> Callable[[int], Ints]:
    """Look up, per component label, the items whose row (``rows[item]``) is in it."""
    keep = items[np.isin(labels[rows[items]], wanted)]
    keep = keep[np.argsort(labels[rows[keep]], kind="stable")]
    keys = labels[rows[keep]]

    def lookup(label: int) -> Ints:
        return keep[np.searchsorted(keys, label) : np.searchsorted(keys, label, "right")]

    return lookup


def _clashing(labels: Ints, codes: npt.NDArray[np.int32], sizes: Ints) -> Ints:
    """Labels of components holding two different values of an attribute."""
    rows = np.flatnonzero((codes >= 0) & (sizes[labels] > 1))
    if not len(rows):
        return np.empty(0, dtype=np.int64)
    pairs = np.unique(np.stack([labels[rows], codes[rows].astype(np.int64)], axis=1), axis=0)
    component, counts = np.unique(pairs[:, 0], return_counts=True)
    return component[counts > 1]
