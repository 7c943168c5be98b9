"""Value tables measured on a store: term frequencies, generic values (an office
switchboard held by many records), values that different people share (a family e-mail), and
the household attributes people of one household share.
"""

from __future__ import annotations

import numpy as np

from app.matching.blocking import group_pairs
from app.matching.compare import Comparison, Levels
from app.matching.config import MatchConfig
from app.matching.frame import Frame
from app.matching.model import (
    TermFrequencies,
    value_digest,
)
from app.matching.scorer import Scorer
from app.matching.types import AttributeName

CHUNK = 500_000
_TF_MAX_ENTRIES = 20_000


def household_attributes(scorer: Scorer, levels: Levels) -> frozenset[AttributeName]:
    """The household attributes this store shows people share: those whose exact agreements
    are, often enough, between records that name different people (a couple's street).

    Where no household shares them (each address is one person's), agreeing on them is
    evidence of one person even when a given name and a birth date were mistyped, and they
    keep their full weight.
    """
    config = scorer.pipeline.config
    apart = scorer.named_apart(levels)
    shared = set()
    for index, comparison in enumerate(scorer.pipeline.comparisons):
        if comparison.attribute not in config.household:
            continue
        agreeing = levels[:, index] == 0
        if agreeing.any() and apart[agreeing].mean() >= config.model.household_share:
            shared.add(comparison.attribute)
    return frozenset(shared)


def shared_values(scorer: Scorer, frame: Frame) -> dict[AttributeName, TermFrequencies]:
    """Values of the ``shared_values`` attributes that records of different people hold (a
    family e-mail, a household's landline), each with its frequency.

    A value is shared when two of its records give different given names and no birth date or
    identifier of theirs agrees. Only such values get a term frequency: agreeing on one is as
    common as the value, while a personal address seen on many records is one person's and
    keeps its full weight.
    """
    out: dict[AttributeName, TermFrequencies] = {}
    cap = scorer.pipeline.config.generic_key_cap
    for name in scorer.pipeline.config.shared_values:
        column = frame.columns.get(name)
        if column is None:
            continue
        shared: set[int] = set()
        for left, right in group_pairs(column.codes, cap):
            for start in range(0, len(left), CHUNK):
                a, b = left[start : start + CHUNK], right[start : start + CHUNK]
                levels, _ = scorer.pipeline.levels(frame, a, b)
                shared.update(column.codes[a[scorer.named_apart(levels)]].tolist())
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


def generic_values(config: MatchConfig, frame: Frame) -> dict[AttributeName, frozenset[str]]:
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


def term_frequencies(
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
            # Most common first; equal counts in value order, never in order of arrival.
            values = column.vocabulary.values
            common = np.array(
                sorted(common.tolist(), key=lambda c: (-counts[c], values[c]))[:_TF_MAX_ENTRIES],
                dtype=np.int64,
            )
        values = column.vocabulary.values
        table = {values[c]: float(counts[c] / total) for c in common}
        tables[name] = TermFrequencies(table)
    return tables
