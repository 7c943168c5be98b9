"""Scoring pairs under a model: match weights, each comparison's share, conflicts, and the
explanation of a pair's weight.

A :class:`Scorer` binds a :class:`~app.matching.model.MatchModel` to a pipeline's comparisons
and precomputes what every pair needs (weight tables, term-frequency lookups per vocabulary),
so batch, training and real time score a pair the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.matching.compare import Comparison, Levels, Mask, Rows
from app.matching.frame import MISSING, Codes, Column, Frame, Vocabulary
from app.matching.model import (
    MatchModel,
    Weights,
    default_parameters,
)
from app.matching.pipeline import Pipeline
from app.matching.types import AttributeName, Contribution


@dataclass(frozen=True, slots=True)
class ContributionColumn:
    """One compared attribute's contribution to many pairs, as columns: what
    :meth:`Scorer.contributions` says of it pair by pair, without an object per pair."""

    attribute: AttributeName
    labels: tuple[str, ...]
    """Level names; ``levels`` indexes them (a crossed pair's level reads its swapped name)."""
    levels: npt.NDArray[np.intp]
    weights: npt.NDArray[np.float64]
    values: Sequence[str]
    """The values both sides' codes index (``-1``: missing)."""
    left: Codes
    right: Codes


class Scorer:
    """Applies a model to a pipeline's comparisons: match weights, their parts, conflicts."""

    def __init__(self, model: MatchModel, pipeline: Pipeline):
        config = pipeline.config
        comparisons = pipeline.comparisons
        self.model = model
        self.pipeline = pipeline
        self.comparisons = tuple(comparisons)
        by_attribute = {p.attribute: p for p in model.parameters}
        self.defaults = tuple(default_parameters(config, c) for c in comparisons)
        self.parameters = tuple(
            p
            if (p := by_attribute.get(c.attribute)) is not None and p.labels == c.labels[:-1]
            else default
            for c, default in zip(comparisons, self.defaults, strict=True)
        )
        self.tables = tuple(p.weights() for p in self.parameters)
        self.labels = tuple(c.labels for c in self.comparisons)
        position = {c.attribute: i for i, c in enumerate(self.comparisons)}
        self.groups = tuple(
            indices
            for group in config.groups
            if len(indices := [position[name] for name in group if name in position]) > 1
        )
        self.overlaps = tuple(
            (
                position[rule.attribute],
                [i for i, label in enumerate(c.labels) if label in rule.levels],
                [position[name] for name in rule.covered_by if name in position],
            )
            for rule in config.overlaps
            if (c := self._comparison(rule.attribute)) is not None
        )
        self.swap = tuple(config.swap)
        self.swap_positions = self._positions(self.swap)
        self.personal = self._positions(config.personal)
        self.personal_names = np.array(
            [self.comparisons[i].kind == "name" for i in self.personal], dtype=np.bool_
        )
        household = config.household if model.household is None else model.household
        self.household = self._positions(tuple(household))
        self.conflict_weight = config.conflict_weight
        self.conflict_weight_alone = config.conflict_weight_alone
        self.personal_agreement = config.personal_agreement
        self._cache: dict[str, tuple[Vocabulary, npt.NDArray[Any]]] = {}

    def with_model(self, model: MatchModel) -> Scorer:
        """A scorer of the same pipeline with another model."""
        return Scorer(model, self.pipeline)

    def judge(
        self,
        levels: Levels,
        frame: Frame,
        left: Rows,
        crossed: Mask | None = None,
        right: Rows | None = None,
    ) -> tuple[Weights, Mask]:
        """Match weight of each pair and whether it is a conflict: two people whose records
        must never share an identity.

        A pair is a conflict when its personal attributes say two people (:meth:`conflicts`)
        and its own calibrated evidence agrees: it is more likely two people than one. A pair
        that everything else says is one person despite, say, a mistyped identifier and a
        changed given name is not vetoed; its weight decides.
        """
        weights, shares = self.weights(levels, frame, left, crossed, right)
        return weights, self.conflicts(shares) & (weights < 0.0)

    def _positions(self, names: Sequence[str]) -> list[int]:
        """Comparison indices of attribute names; ``@type`` names every attribute of a type."""
        return [
            index
            for index, comparison in enumerate(self.comparisons)
            if comparison.attribute in names or f"@{comparison.kind}" in names
        ]

    def _frequency(
        self,
        table: AttributeName,
        frame: Frame,
        rows: Rows,
        fallback: float,
        column: AttributeName | None = None,
    ) -> Weights:
        """How common the values of ``column`` (default: ``table``) at ``rows`` are in the
        term-frequency table of ``table``; values rarer than its cut-off get ``fallback``."""
        tf = self.model.term_frequencies.get(table)
        source = frame.columns[column or table]
        if tf is None:
            return np.full(len(rows), fallback, dtype=np.float64)
        frequencies = self._per_value(
            f"tf:{table}:{fallback!r}", source, lambda _: tf.lookup(source, fallback)
        )
        return frequencies[source.codes[rows]]

    def _comparison(self, attribute: AttributeName) -> Comparison | None:
        return next((c for c in self.comparisons if c.attribute == attribute), None)

    def weights(
        self,
        levels: Levels,
        frame: Frame,
        left: Rows,
        crossed: Mask | None = None,
        right: Rows | None = None,
    ) -> tuple[Weights, npt.NDArray[np.float64]]:
        """Match weight per pair, and each comparison's share of it (pairs x comparisons).

        A comparison's share is its level's log2(m/u), plus the term-frequency adjustment on
        exact matches; inside a group of comparisons only the largest agreement counts.
        ``crossed`` marks pairs whose first and last names were compared crossed; with the
        ``right`` rows, their names' frequencies are read from both records.
        """
        shares = np.empty(levels.shape, dtype=np.float64)
        for index, (comparison, table) in enumerate(
            zip(self.comparisons, self.tables, strict=True)
        ):
            shares[:, index] = table[levels[:, index]]
            if comparison.attribute not in self.model.term_frequencies:
                continue
            exact = np.flatnonzero(levels[:, index] == 0)
            if not len(exact):
                continue
            u_exact = max(self.parameters[index].u[0], 1e-12)
            frequency = self._frequency(comparison.attribute, frame, left[exact], u_exact)
            if crossed is not None and right is not None and comparison.attribute in self.swap:
                # A crossed name is a first name on one side and a family name on the other,
                # and which crossed comparison lands on which name depends on which record is
                # on the left: it is as common as the most common of the pair's names, in
                # either role, whichever way round the pair is scored.
                swapped = exact[crossed[exact]]
                for role in self.swap:
                    for name in self.swap:
                        for rows in (left[swapped], right[swapped]):
                            frequency[crossed[exact]] = np.maximum(
                                frequency[crossed[exact]],
                                self._frequency(role, frame, rows, u_exact, name),
                            )
            shared = self.model.term_frequencies[comparison.attribute].shared
            shares[exact, index] += np.clip(
                np.log2(u_exact / np.maximum(frequency, 1e-12)),
                -self.model.tf_max_down,
                0.0 if shared else self.model.tf_max_up,
            )
        self._generic(shares, levels, frame, left)
        for index, overlapping, covered_by in self.overlaps:
            covered = np.zeros(len(levels), dtype=np.bool_)
            for position in covered_by:
                covered |= levels[:, position] < self.comparisons[position].different
            hit = covered & np.isin(levels[:, index], overlapping)
            shares[hit, index] = np.minimum(shares[hit, index], 0.0)
        for group in self.groups:
            _count_strongest_once(shares, group)
        lone = self._lone(levels, crossed)
        household_only = self._household_only(shares, levels, lone)
        # A lone name that agrees crossed is a family name as often as a given name: in a
        # household-only pair it is one more thing the household shares.
        for picked, columns in (
            (household_only & ~lone, self.household),
            (household_only & lone, sorted({*self.household, *self.swap_positions})),
        ):
            rows = np.flatnonzero(picked)
            if len(rows) and len(columns) > 1:
                block = shares[rows]
                _count_strongest_once(block, columns)
                shares[rows] = block
        total = np.full(len(levels), self.model.prior_weight, dtype=np.float64)
        for index in range(len(self.comparisons)):
            total += shares[:, index]
        return total, shares

    def _generic(self, shares: Weights, levels: Levels, frame: Frame, left: Rows) -> None:
        """Take the weight out of exact agreements on generic values (an office switchboard)."""
        for index, comparison in enumerate(self.comparisons):
            values = self.model.generic_values.get(comparison.attribute)
            if not values:
                continue
            column = frame.columns[comparison.attribute]
            flags = self._per_value(f"generic:{comparison.attribute}", column, _membership(values))
            exact = np.flatnonzero(levels[:, index] == 0)
            hit = exact[flags[column.codes[left[exact]]]]
            shares[hit, index] = np.minimum(shares[hit, index], 0.0)

    def _lone(self, levels: Levels, crossed: Mask | None) -> Mask:
        """Pairs where a lone name was compared with the other record's other name: what
        agrees there is a family name as often as a given name."""
        if crossed is None or len(self.swap_positions) != 2:
            return np.zeros(len(levels), dtype=np.bool_)
        lone = np.zeros(len(levels), dtype=np.bool_)
        for index in self.swap_positions:
            lone |= levels[:, index] == self.comparisons[index].missing
        return np.asarray(crossed & lone, dtype=np.bool_)

    def _per_value(
        self, key: str, column: Column, build: Callable[[list[str]], npt.NDArray[Any]]
    ) -> npt.NDArray[Any]:
        """A per-value array of a column, built once per vocabulary (batch scores in chunks)."""
        vocabulary = column.vocabulary
        cached = self._cache.get(key)
        if (
            cached is None
            or cached[0] is not vocabulary
            or len(cached[1]) != len(vocabulary.values)
        ):
            cached = (vocabulary, build(vocabulary.values))
            self._cache[key] = cached
        return cached[1]

    def _household_only(self, shares: Weights, levels: Levels, lone: Mask) -> Mask:
        """Pairs whose household attributes say nothing about the person: their personal
        attributes conflict, or none of them agrees by ``personal_agreement`` bits.

        Agreement is read from the level, before term frequencies: a common given name still
        tells two members of a household apart. A name agreeing only through a lone-name
        crossing does not count (it may be the family name).
        """
        if not self.personal:
            return np.zeros(len(shares), dtype=np.bool_)
        personal = np.column_stack(
            [self.tables[index][levels[:, index]] for index in self.personal]
        )
        personal = np.where(lone[:, None] & self.personal_names, 0.0, personal)
        agreement = personal.max(axis=1)
        weak = agreement < self.personal_agreement
        return np.asarray(self.conflicts(shares) | weak, dtype=np.bool_)

    def named_apart(self, levels: Levels) -> Mask:
        """Pairs that look like two people: their given names disagree and no other personal
        attribute (a birth date, an identifier) agrees to say it is one person under a mistyped
        or other given name."""
        apart = np.zeros(len(levels), dtype=np.bool_)
        vouched = np.zeros(len(levels), dtype=np.bool_)
        for index in self.personal:
            if self.comparisons[index].kind == "name":
                apart |= levels[:, index] == self.comparisons[index].different
            else:
                vouched |= self.tables[index][levels[:, index]] >= self.personal_agreement
        return apart & ~vouched

    def conflicts(self, shares: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Whether each pair's personal attributes conflict (two people), from its shares.

        One personal attribute that disagrees is a typo or a data-entry slip as often as not (a
        birth date one digit off, a given name written two ways): two people take two
        disagreeing attributes (each weighing ``conflict_weight`` or less), or one whose
        disagreement alone weighs ``conflict_weight_alone`` or less (an identifier the data
        shows is almost never mistyped). An agreeing name (namesakes share it) never counts.
        """
        if not self.personal:
            return np.zeros(len(shares), dtype=np.bool_)
        personal = shares[:, self.personal]
        votes = (personal <= self.conflict_weight).sum(axis=1)
        alone = (personal <= self.conflict_weight_alone).any(axis=1)
        return np.asarray((votes >= 2) | alone, dtype=np.bool_)

    def contributions(
        self,
        levels: npt.NDArray[np.int8],
        shares: npt.NDArray[np.float64],
        values: tuple[Mapping[AttributeName, str], Mapping[AttributeName, str]],
        crossed: bool,
        swap: Sequence[AttributeName],
    ) -> tuple[Contribution, ...]:
        """The explanation of one pair: level, weight and compared values per attribute."""
        left, right = values
        out = []
        for index, (level, weight) in enumerate(zip(levels.tolist(), shares.tolist(), strict=True)):
            name = self.comparisons[index].attribute
            label = self.labels[index][level]
            other = name
            if crossed and name in swap:
                other = swap[1] if name == swap[0] else swap[0]
                label = f"{label} (swapped)"
            out.append(Contribution(name, label, weight, left.get(name), right.get(other)))
        return tuple(out)

    def contribution_columns(
        self,
        levels: Levels,
        shares: npt.NDArray[np.float64],
        crossed: Mask,
        frame: Frame,
        rows: tuple[Rows, Rows],
    ) -> tuple[ContributionColumn, ...]:
        """The explanation of many pairs (their ``rows`` in ``frame``), a column per compared
        attribute: the same levels, weights and values as :meth:`contributions`, pair by pair.

        A batch explains hundreds of thousands of edges; one Python object per attribute and
        edge cost more than scoring them.
        """
        left, right = rows
        columns = []
        for index, comparison in enumerate(self.comparisons):
            name = comparison.attribute
            labels = tuple(self.labels[index])
            codes = levels[:, index].astype(np.intp)
            column = frame.columns.get(name)
            if column is None:  # an attribute no record of the frame can hold: always missing
                missing = np.full(len(codes), MISSING, dtype=np.int32)
                columns.append(
                    ContributionColumn(name, labels, codes, shares[:, index], (), missing, missing)
                )
                continue
            right_codes = column.codes[right]
            if name in self.swap:
                # Crossed names read the other name on the right; a frame keeps both names in
                # one vocabulary (FrameBuilder's ``shared``), so the codes stay comparable.
                other = frame.columns[self.swap[1] if name == self.swap[0] else self.swap[0]]
                if other.vocabulary is not column.vocabulary:
                    raise ValueError("crossed names need one vocabulary for both names")
                right_codes = np.where(crossed, other.codes[right], right_codes)
                codes = codes + np.where(crossed, len(labels), 0)
                labels = (*labels, *(f"{label} (swapped)" for label in labels))
            columns.append(
                ContributionColumn(
                    name,
                    labels,
                    codes,
                    shares[:, index],
                    column.vocabulary.values,
                    column.codes[left],
                    right_codes,
                )
            )
        return tuple(columns)


def _membership(values: frozenset[str]) -> Callable[[list[str]], npt.NDArray[np.bool_]]:
    """Builds, for a vocabulary, whether each of its values is in ``values``."""

    def build(vocabulary: list[str]) -> npt.NDArray[np.bool_]:
        return np.fromiter((v in values for v in vocabulary), np.bool_, len(vocabulary))

    return build


def _count_strongest_once(shares: npt.NDArray[np.float64], group: list[int]) -> None:
    """Keep only the largest positive share of a group's columns; negatives all stay."""
    block = shares[:, group]
    # Only rows with two or more positive shares change: most pairs agree on one at most.
    rows = np.flatnonzero((block > 0).sum(axis=1) > 1)
    if not len(rows):
        return
    block = block[rows]
    strongest = block.argmax(axis=1)
    keep = np.zeros(block.shape, dtype=np.bool_)
    keep[np.arange(len(block)), strongest] = True
    shares[np.ix_(rows, np.asarray(group, dtype=np.int64))] = np.where(
        (block > 0) & ~keep, 0.0, block
    )
