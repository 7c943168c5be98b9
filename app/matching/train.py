"""Unsupervised training of the Fellegi-Sunter model: no labels needed.

- u-probabilities from random record pairs (almost all of which are different people); the
  exact level's u is computed exactly from value counts, which sampling would miss for rare
  values;
- m-probabilities by expectation-maximisation on blocked pairs (a two-class mixture over the
  comparison patterns, started from the config defaults);
- the prior from the share of blocked pairs EM calls matches;
- term-frequency tables of the configured attributes, frozen into the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from app.matching.blocking import candidate_pairs, group_pairs
from app.matching.compare import Comparison, Levels
from app.matching.config import MatchConfig
from app.matching.frame import Frame
from app.matching.model import LevelParameters, MatchModel, TermFrequencies, value_digest
from app.matching.types import AttributeName

if TYPE_CHECKING:
    from app.matching.matcher import Matcher

Floats = npt.NDArray[np.float64]
_SMOOTHING = 0.5
_TF_MAX_ENTRIES = 20_000
_CHUNK = 500_000


def train_frame(matcher: Matcher, frame: Frame, *, seed: int = 0) -> MatchModel:
    """Fit a model on a frame already built by ``matcher``."""
    config = matcher.config
    base = matcher.model
    n = len(frame)
    if n < 2:
        return base
    rng = np.random.default_rng(seed)
    u = _estimate_u(matcher, frame, rng)
    (left, right), _ = candidate_pairs(frame, matcher.rules, matcher.caps)
    blocked = len(left)
    if blocked > config.model.em_max_pairs:
        pick = np.sort(rng.choice(blocked, size=config.model.em_max_pairs, replace=False))
        left, right = left[pick], right[pick]
    m, share = _expectation_maximisation(matcher, frame, left, right)
    m = [
        _bound(row, c.labels, config.model.max_m.get(c.kind, {}))
        for row, c in zip(m, matcher.comparisons, strict=True)
    ]
    total_pairs = n * (n - 1) / 2
    prior = share * blocked / total_pairs / config.model.blocking_recall
    prior = float(min(max(prior, 1e-12), 0.5))
    # Random pairs include a few true matches; for near-unique values (an e-mail) they are
    # most of the agreements seen, so take their expected share out of u.
    u = [
        [max(raw - prior * m_level, raw * 0.05) for raw, m_level in zip(u_row, m_row, strict=True)]
        for u_row, m_row in zip(u, m, strict=True)
    ]
    parameters = tuple(
        LevelParameters(c.attribute, c.kind, c.labels[:-1], tuple(m[i]), tuple(u[i]))
        for i, c in enumerate(matcher.comparisons)
    )
    model = MatchModel(
        prior=prior,
        parameters=parameters,
        term_frequencies={
            **_term_frequencies(matcher.comparisons, frame, config),
            **_shared_values(matcher, frame),
        },
        tf_max_down=config.model.tf_max_down,
        tf_max_up=config.model.tf_max_up,
        trained_on=n,
    )
    return replace(model, generic_values=_generic_values(matcher.config, frame))


def _shared_values(matcher: Matcher, frame: Frame) -> dict[AttributeName, TermFrequencies]:
    """Values of the ``shared_values`` attributes that records of different people hold (a
    family e-mail, a household's landline), each with its frequency.

    A value is shared when two of its records give different given names and no birth date or
    identifier of theirs agrees. Only such values get a term frequency: agreeing on one is as
    common as the value, while a personal address seen on many records is one person's and
    keeps its full weight.
    """
    out: dict[AttributeName, TermFrequencies] = {}
    cap = matcher.config.generic_key_cap
    for name in matcher.config.shared_values:
        column = frame.columns.get(name)
        if column is None:
            continue
        shared: set[int] = set()
        for left, right in group_pairs(column.codes, cap):
            for start in range(0, len(left), _CHUNK):
                a, b = left[start : start + _CHUNK], right[start : start + _CHUNK]
                levels, _ = matcher.levels(frame, a, b)
                shared.update(column.codes[a[matcher.scorer.named_apart(levels)]].tolist())
        present = column.codes[column.codes >= 0]
        if not shared or not len(present):
            continue
        counts = np.bincount(present)
        values = column.vocabulary.values
        out[name] = TermFrequencies(
            {value_digest(values[c]): float(counts[c] / len(present)) for c in sorted(shared)},
            shared=True,
        )
    return out


def _generic_values(config: MatchConfig, frame: Frame) -> dict[AttributeName, frozenset[str]]:
    """Values of the configured attributes held by more records than the generic cap."""
    out: dict[AttributeName, frozenset[str]] = {}
    for name in config.model.generic_values:
        column = frame.columns.get(name)
        if column is None:
            continue
        present = column.codes[column.codes >= 0]
        counts = np.bincount(present) if len(present) else np.empty(0, dtype=np.int64)
        values = column.vocabulary.values
        out[name] = frozenset(values[c] for c in np.flatnonzero(counts > config.generic_key_cap))
    return out


def _estimate_u(matcher: Matcher, frame: Frame, rng: np.random.Generator) -> list[list[float]]:
    n = len(frame)
    size = matcher.config.model.u_sample_pairs
    left = rng.integers(0, n, size=size, dtype=np.int64)
    right = rng.integers(0, n, size=size, dtype=np.int64)
    keep = left != right
    left, right = left[keep], right[keep]
    levels = _levels(matcher, frame, left, right)
    out = []
    for index, comparison in enumerate(matcher.comparisons):
        column = levels[:, index]
        counts = np.bincount(column, minlength=comparison.missing + 1)[: comparison.missing].astype(
            np.float64
        )
        present = counts.sum()
        exact = _exact_u(frame.columns[comparison.attribute].codes)
        if present == 0:
            out.append(list(matcher.scorer.parameters[index].u))
            continue
        rest = counts[1:] + _SMOOTHING
        rest = rest / rest.sum() * (1.0 - exact)
        out.append([exact, *rest.tolist()])
    return out


def _bound(m: list[float], labels: tuple[str, ...], bounds: Mapping[str, float]) -> list[float]:
    """Bound some levels' m, giving the excess to the other levels pro rata."""
    capped = {i for i, label in enumerate(labels[: len(m)]) if m[i] > bounds.get(label, 1.0)}
    if not capped:
        return m
    out = [bounds[labels[i]] if i in capped else x for i, x in enumerate(m)]
    free = sum(x for i, x in enumerate(out) if i not in capped)
    scale = (1.0 - sum(out[i] for i in capped)) / free if free > 0 else 1.0
    return [x if i in capped else x * scale for i, x in enumerate(out)]


def _levels(
    matcher: Matcher, frame: Frame, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> Levels:
    """Level matrix of many pairs, computed in chunks to bound temporary memory."""
    chunks = [
        matcher.levels(frame, left[i : i + _CHUNK], right[i : i + _CHUNK])[0]
        for i in range(0, len(left), _CHUNK)
    ]
    return np.concatenate(chunks) if chunks else np.empty((0, len(matcher.comparisons)), np.int8)


def _exact_u(codes: npt.NDArray[np.int32]) -> float:
    """Probability that two random records with a value share it: sum c(c-1) / n(n-1)."""
    present = codes[codes >= 0]
    n = len(present)
    if n < 2:
        return 1e-6
    counts = np.bincount(present).astype(np.float64)
    return float(max((counts * (counts - 1)).sum() / (n * (n - 1.0)), 0.5 / (n * n)))


def _expectation_maximisation(
    matcher: Matcher, frame: Frame, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> tuple[list[list[float]], float]:
    comparisons = matcher.comparisons
    start_m = [list(p.m) for p in matcher.scorer.parameters]
    if not len(left):
        return start_m, 0.0
    levels = _levels(matcher, frame, left, right)
    patterns, counts = _patterns(levels)
    m = [np.asarray(x, dtype=np.float64) for x in start_m]
    # Blocked non-matches agree far more than random pairs: start their u from the data.
    u = [_level_shares(patterns[:, i], counts, c) for i, c in enumerate(comparisons)]
    share = 0.1
    for _ in range(matcher.config.model.em_iterations):
        log_m = np.full(len(patterns), np.log(share))
        log_u = np.full(len(patterns), np.log(1.0 - share))
        for index, comparison in enumerate(comparisons):
            column = patterns[:, index]
            present = column != comparison.missing
            safe = np.where(present, column, 0)
            log_m += np.where(present, np.log(m[index][safe]), 0.0)
            log_u += np.where(present, np.log(u[index][safe]), 0.0)
        match = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        weighted_match = counts * match
        weighted_other = counts * (1.0 - match)
        new_share = float(weighted_match.sum() / counts.sum())
        for index, comparison in enumerate(comparisons):
            column = patterns[:, index]
            if (column != comparison.missing).any():
                m[index] = _level_shares(column, weighted_match, comparison)
                u[index] = _level_shares(column, weighted_other, comparison)
        converged = abs(new_share - share) < 1e-7
        share = min(max(new_share, 1e-9), 1 - 1e-9)
        if converged:
            break
    return [x.tolist() for x in m], share


def _patterns(levels: Levels) -> tuple[npt.NDArray[np.int8], Floats]:
    """Distinct rows of the level matrix and how many pairs have each."""
    rows = np.ascontiguousarray(levels)
    view = rows.view(np.dtype((np.void, rows.shape[1])))
    _, first, counts = np.unique(view, return_index=True, return_counts=True)
    return rows[first], counts.astype(np.float64)


def _level_shares(column: npt.NDArray[np.int8], weights: Floats, comparison: Comparison) -> Floats:
    size = comparison.missing
    present = column != comparison.missing
    totals = np.bincount(column[present], weights=weights[present], minlength=size)[:size]
    smoothed = np.asarray(totals, dtype=np.float64) + _SMOOTHING * 1e-3
    return np.asarray(smoothed / smoothed.sum(), dtype=np.float64)


def _term_frequencies(
    comparisons: tuple[Comparison, ...], frame: Frame, config: MatchConfig
) -> dict[AttributeName, TermFrequencies]:
    tables: dict[AttributeName, TermFrequencies] = {}
    for comparison in comparisons:
        name = comparison.attribute
        if name not in config.term_frequency or name not in frame.columns:
            continue
        column = frame.columns[name]
        codes = column.codes[column.codes >= 0]
        if not len(codes):
            continue
        counts = np.bincount(codes)
        total = float(len(codes))
        common = np.flatnonzero(counts >= config.model.tf_min_count)
        if len(common) > _TF_MAX_ENTRIES:
            common = common[np.argsort(-counts[common], kind="stable")[:_TF_MAX_ENTRIES]]
        values = column.vocabulary.values
        table = {values[c]: float(counts[c] / total) for c in common}
        tables[name] = TermFrequencies(table)
    return tables
