"""Accuracy of a clustering against ground truth: pairwise and B-cubed precision, recall, F1.

Pairwise counts record pairs put in one cluster; B-cubed averages, over records, the share of
a record's cluster that is truly its person (precision) and the share of its person that is in
its cluster (recall). Both are computed from two label arrays, without listing pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Labels = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision, recall and F1 of one measure."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def _contingency(predicted: Labels, truth: Labels) -> tuple[Labels, Labels, Labels]:
    """Sizes of (predicted, true) intersections, predicted clusters and true clusters."""
    _, predicted = np.unique(predicted, return_inverse=True)
    _, truth = np.unique(truth, return_inverse=True)
    joint = predicted.astype(np.int64) * (int(truth.max(initial=0)) + 1) + truth
    _, cells = np.unique(joint, return_counts=True)
    return cells, np.bincount(predicted), np.bincount(truth)


def pairwise(predicted: Labels, truth: Labels) -> Scores:
    """Precision and recall over record pairs."""
    cells, by_predicted, by_truth = _contingency(predicted, truth)

    def pairs(x: Labels) -> float:
        return float((x * (x - 1) // 2).sum())

    together = pairs(cells)
    predicted_pairs, true_pairs = pairs(by_predicted), pairs(by_truth)
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / true_pairs if true_pairs else 1.0
    return Scores(precision, recall)


def bcubed(predicted: Labels, truth: Labels) -> Scores:
    """B-cubed precision and recall averaged over records."""
    _, p = np.unique(predicted, return_inverse=True)
    _, t = np.unique(truth, return_inverse=True)
    joint = p.astype(np.int64) * (int(t.max(initial=0)) + 1) + t
    _, cell_of, cell_sizes = np.unique(joint, return_inverse=True, return_counts=True)
    overlap = cell_sizes[cell_of].astype(np.float64)
    precision = float((overlap / np.bincount(p)[p]).mean())
    recall = float((overlap / np.bincount(t)[t]).mean())
    return Scores(precision, recall)
