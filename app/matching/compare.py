"""Graded comparisons, vectorised over pairs of rows of a :class:`Frame`.

A comparison is an attribute, its type and the ordered levels of that type from config. The
level of a pair is the first level it satisfies; after the configured levels come "different"
and then "missing" (either side has no value). Expensive similarities are computed once per
unique pair of values, in C, through ``rapidfuzz.process.cpdist``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from app.matching.config import LevelSpec, MatchConfig
from app.matching.frame import Column, Frame, Vocabulary
from app.matching.normalize import one_number
from app.matching.types import SOURCE, AttributeName, AttributeType, ComparisonKind

Rows = npt.NDArray[np.int64]
Levels = npt.NDArray[np.int8]
Mask = npt.NDArray[np.bool_]

_PARALLEL_FROM = 20_000  # unique pairs scored in threads from this many on


@dataclass(frozen=True, slots=True)
class Comparison:
    """How one attribute is compared: its graded levels, best first."""

    attribute: AttributeName
    kind: ComparisonKind
    levels: tuple[LevelSpec, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """Level names, including the implicit ``different`` and ``missing``."""
        return (*(level.label for level in self.levels), "different", "missing")

    @property
    def different(self) -> int:
        """Index of the "different" level."""
        return len(self.levels)

    @property
    def missing(self) -> int:
        """Index of the "missing" level."""
        return len(self.levels) + 1


# Two records' sources are the same or different: one level and "different", always (their
# fitting measures exactly these two, so config has no levels of its own for them).
_SAME = (LevelSpec("exact"),)


def build_comparisons(
    config: MatchConfig, attribute_types: Mapping[AttributeName, AttributeType]
) -> tuple[Comparison, ...]:
    """Every compared attribute, in a stable order: canonical first, then declared extras,
    then the records' sources when config compares them."""
    types = {**config.attributes, **attribute_types}
    compared = tuple(
        Comparison(name, kind, config.levels.get(kind, ()))
        for name, kind in types.items()
        if name not in config.skip
    )
    if not compares_sources(config, types):
        return compared
    return (*compared, Comparison(SOURCE, "source", _SAME))


def compares_sources(config: MatchConfig, types: Mapping[AttributeName, AttributeType]) -> bool:
    """Whether records' sources are compared: config asks for it and no attribute is named
    like the comparison (an attribute of that name keeps its own)."""
    return config.compare_sources and SOURCE not in types


class _PairCache:
    """Similarities of unique value pairs of one column, computed once and reused by levels."""

    def __init__(
        self,
        column: Column,
        left: Rows,
        right: Rows,
        nicknames: Nicknames,
        kind: ComparisonKind | None = None,
    ) -> None:
        self.column = column
        self.kind = kind
        self.nicknames = nicknames
        self.a = column.codes[left]
        self.b = column.codes[right]
        self._scores: dict[str, npt.NDArray[np.float64]] = {}
        self._unique: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Rows] | None = None

    def unique_pairs(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Rows]:
        """Unique (left code, right code) pairs of different values, and each pair's index into
        them: ``len(unique)`` where both sides hold the same value, ``-1`` where one is missing.

        Equal values are left out: they are most of a batch's candidates, and every similarity
        of a value with itself is known without computing it."""
        if self._unique is None:
            size = max(len(self.column.vocabulary.values), 1)
            present = (self.a >= 0) & (self.b >= 0)
            differ = present & (self.a != self.b)
            keys = self.a[differ].astype(np.int64) * size + self.b[differ]
            unique, inverse = np.unique(keys, return_inverse=True)
            where = np.full(len(self.a), -1, dtype=np.int64)
            where[present] = len(unique)
            where[differ] = inverse
            self._unique = (unique // size, unique % size, where)
        return self._unique

    def score(self, name: str, scorer: Callable[..., float]) -> npt.NDArray[np.float64]:
        """A rapidfuzz similarity per pair (0 where a side is missing), on unique pairs."""
        if name not in self._scores:
            ua, ub, where = self.unique_pairs()
            objects = self.column.vocabulary.objects()
            # One entry per unique pair, then a value with itself, then missing (0).
            scores = np.zeros(len(ua) + 2, dtype=np.float64)
            scores[len(ua)] = scorer("same", "same")
            if len(ua):
                # Threads pay off on a batch's millions of pairs; real time's few pairs
                # would spend longer starting them than scoring.
                workers = -1 if len(ua) >= _PARALLEL_FROM else 1
                scores[: len(ua)] = process.cpdist(
                    objects[ua], objects[ub], scorer=scorer, workers=workers
                )
            self._scores[name] = scores[where]
        return self._scores[name]

    def feature(self, name: str) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """A per-value feature on both sides of every pair."""
        # Features carry one extra entry at the end, which code -1 (missing) reads.
        values = self.column.vocabulary.feature(name)
        return values[self.a], values[self.b]

    def same_number(self) -> Mask:
        """Whether two different phones are one number written two ways (see
        :func:`one_number`): only pairs whose last seven digits agree can be."""
        ua, ub, where = self.unique_pairs()
        _, tails = self.column.vocabulary.derived("suffix7")
        plus = self.column.vocabulary.feature("plus")
        maybe = np.flatnonzero((tails[ua] == tails[ub]) & (tails[ua] >= 0) & (plus[ua] | plus[ub]))
        # One entry per unique pair of different values, then a value with itself, then missing.
        same = np.zeros(len(ua) + 2, dtype=np.bool_)
        values = self.column.vocabulary.values
        same[maybe] = [one_number(values[ua[i]], values[ub[i]]) for i in maybe.tolist()]
        return same[where]

    def nickname(self) -> Mask:
        """Whether the two names are forms of one name (Bob and Robert)."""
        groups, tokens = self.nicknames.codes(self.column.vocabulary)
        ga, gb = groups[self.a], groups[self.b]
        differ = tokens[self.a] != tokens[self.b]
        agree = (ga == gb) & (ga >= 0) & differ
        # Names in several groups (Chris: Christopher, Christine) are checked one by one.
        several = np.flatnonzero(((ga == Nicknames.SEVERAL) | (gb == Nicknames.SEVERAL)) & differ)
        if len(several):
            values = self.column.vocabulary.values
            agree[several] = [
                self.nicknames.agree(values[self.a[i]], values[self.b[i]]) for i in several
            ]
        return np.asarray(agree, dtype=np.bool_)


class Nicknames:
    """Nickname groups: two names agree when some group holds both."""

    NONE = -1
    SEVERAL = -2

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.groups: dict[str, frozenset[int]] = {}
        for number, group in enumerate(groups):
            for name in group:
                self.groups[name] = self.groups.get(name, frozenset()) | {number}

    def codes(self, vocabulary: Vocabulary) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Per value (and -1, missing, last): the group of its first token (``NONE``,
        ``SEVERAL`` or the one group's number), and a code of the first token itself."""
        cached = vocabulary.cached("nicknames")
        if cached is None or len(cached[0]) != len(vocabulary.values) + 1:
            firsts = [v.split(" ", 1)[0] for v in vocabulary.values]
            groups = np.fromiter((self._group(first) for first in firsts), np.int32, len(firsts))
            index: dict[str, int] = {}
            tokens = np.fromiter(
                (index.setdefault(first, len(index)) for first in firsts), np.int32, len(firsts)
            )
            cached = (np.append(groups, self.NONE), np.append(tokens, -1))
            vocabulary.cache("nicknames", cached)
        return cached[0], cached[1]

    def _group(self, name: str) -> int:
        found = self.groups.get(name)
        if not found:
            return self.NONE
        return next(iter(found)) if len(found) == 1 else self.SEVERAL

    def agree(self, left: str, right: str) -> bool:
        """Whether the first tokens differ and some group holds both."""
        first, second = left.split(" ", 1)[0], right.split(" ", 1)[0]
        a, b = self.groups.get(first), self.groups.get(second)
        return first != second and a is not None and b is not None and not a.isdisjoint(b)


def _satisfies(level: LevelSpec, cache: _PairCache) -> Mask:
    return np.asarray(_mask(level, cache), dtype=np.bool_)


def _mask(level: LevelSpec, cache: _PairCache) -> Any:
    a, b = cache.a, cache.b
    kind = level.kind
    if kind == "exact":
        if cache.kind == "phone":
            return (a == b) | cache.same_number()
        return a == b
    if kind == "jaro_winkler":
        ok = cache.score("jw", JaroWinkler.normalized_similarity) >= level.threshold
        if level.same_numbers:
            # House numbers must agree when both addresses have one: 12 and 21 Oak St differ.
            na, nb = cache.feature("numbers")
            ha, hb = cache.feature("has_numbers")
            ok &= (na == nb) | ~ha | ~hb
        return ok
    if kind == "levenshtein":
        return cache.score("lev", Levenshtein.distance) <= level.distance
    if kind == "edit_distance":
        return cache.score("osa", OSA.distance) <= level.distance
    if kind == "token_subset":
        sa, sb = cache.feature("has_space")
        return (sa | sb) & (cache.score("tokens", fuzz.token_set_ratio) >= 100.0)
    if kind == "nickname":
        return cache.nickname()
    if kind == "initial":
        la, lb = cache.feature("length")
        fa, fb = cache.feature("first_char")
        return ((la == 1) | (lb == 1)) & (fa == fb)
    if kind == "same_local_part":
        pa, pb = cache.feature("local_part")
        return pa == pb
    if kind in ("prefix", "suffix"):
        la, lb = cache.feature("length")
        ok = (la >= level.length) & (lb >= level.length)
        ua, ub, where = cache.unique_pairs()
        values = cache.column.vocabulary.values
        n = level.length
        # One entry per unique pair of different values, then a value with itself, then missing.
        same = np.zeros(len(ua) + 2, dtype=np.bool_)
        same[len(ua)] = True
        if kind == "prefix":
            same[: len(ua)] = [values[x][:n] == values[y][:n] for x, y in zip(ua, ub, strict=True)]
        else:
            same[: len(ua)] = [
                values[x][-n:] == values[y][-n:] for x, y in zip(ua, ub, strict=True)
            ]
        return ok & same[where]
    return _date_level(kind, cache)


def _date_level(kind: str, cache: _PairCache) -> Any:
    ya, yb = cache.feature("year")
    ma, mb = cache.feature("month")
    da, db = cache.feature("day")
    if kind == "day_month_swapped":
        return (ya == yb) & (ma == db) & (da == mb) & (ma != da)
    if kind == "year_off_by_one":
        return (ma == mb) & (da == db) & (np.abs(ya.astype(np.int32) - yb) == 1)
    if kind == "one_component_off":
        agree = (ya == yb).astype(np.int8) + (ma == mb) + (da == db)
        return agree == 2
    raise ValueError(f"unknown comparison level {kind!r}")


def compare_column(
    comparison: Comparison, column: Column, left: Rows, right: Rows, nicknames: Nicknames
) -> Levels:
    """The level index of every pair ``(left[i], right[i])`` on one attribute."""
    cache = _PairCache(column, left, right, nicknames, comparison.kind)
    levels = np.full(len(left), comparison.different, dtype=np.int8)
    missing = (cache.a < 0) | (cache.b < 0)
    levels[missing] = comparison.missing
    open_ = ~missing
    for index, level in enumerate(comparison.levels):
        if not open_.any():
            break
        hit = open_ & _satisfies(level, cache)
        levels[hit] = index
        open_ &= ~hit
    return levels


def compare_frame(
    comparisons: Sequence[Comparison],
    frame: Frame,
    left: Rows,
    right: Rows,
    *,
    nicknames: Nicknames,
    swap: Sequence[AttributeName] = (),
) -> tuple[Levels, Mask]:
    """The level matrix (pairs x comparisons) and, per pair, whether the swap pair was crossed.

    For the two ``swap`` attributes (first and last name) the pair is also compared crossed;
    when crossing gives better levels on both, the crossed levels are kept: Ana Ruiz and
    Ruiz Ana agree on both names.
    """
    matrix = np.empty((len(left), len(comparisons)), dtype=np.int8)
    for index, comparison in enumerate(comparisons):
        column = frame.columns[comparison.attribute]
        matrix[:, index] = compare_column(comparison, column, left, right, nicknames)
    crossed = np.zeros(len(left), dtype=np.bool_)
    if len(swap) == 2 and all(name in frame.columns for name in swap):
        position = {c.attribute: i for i, c in enumerate(comparisons)}
        first, second = (position[name] for name in swap)
        crossed = _cross(
            comparisons,
            frame,
            (left, right),
            nicknames=nicknames,
            swap=swap,
            target=(matrix, first, second),
        )
    return matrix, crossed


def _cross(
    comparisons: Sequence[Comparison],
    frame: Frame,
    pairs: tuple[Rows, Rows],
    *,
    nicknames: Nicknames,
    swap: Sequence[AttributeName],
    target: tuple[Levels, int, int],
) -> Mask:
    left, right = pairs
    matrix, first, second = target
    a, b = (frame.columns[name] for name in swap)
    different = comparisons[first].different
    straight = (matrix[:, first], matrix[:, second])
    # Crossing can only help where the straight comparison is imperfect and one of the crossed
    # comparisons has values on both sides (a lone name may be either the first or the last).
    candidates = np.flatnonzero(
        ((straight[0] > 0) | (straight[1] > 0))
        & (
            ((a.codes[left] >= 0) & (b.codes[right] >= 0))
            | ((b.codes[left] >= 0) & (a.codes[right] >= 0))
        )
    )
    if not len(candidates):
        return np.zeros(len(left), dtype=np.bool_)
    crossed_left = _Crossed(a, b, left[candidates], right[candidates])
    one = compare_column(comparisons[first], crossed_left.first, *crossed_left.rows, nicknames)
    two = compare_column(comparisons[second], crossed_left.second, *crossed_left.rows, nicknames)
    better = _better((one, two), (straight[0][candidates], straight[1][candidates]), different)
    chosen = candidates[better]
    # Which crossed comparison counts as the first name depends on which record is on the
    # left, and that follows ids (the order records arrived in); the better level always goes
    # to the first name, so a pair weighs the same whichever way round it is scored.
    matrix[chosen, first] = np.minimum(one, two)[better]
    matrix[chosen, second] = np.maximum(one, two)[better]
    crossed = np.zeros(len(left), dtype=np.bool_)
    crossed[chosen] = True
    return crossed


def _better(
    crossed: tuple[Levels, Levels], straight: tuple[Levels, Levels], different: int
) -> Mask:
    """Whether crossed levels beat straight ones: no disagreement, and more agreements (or as
    many, but closer ones)."""

    def agreements(levels: tuple[Levels, Levels]) -> tuple[npt.NDArray[np.int32], ...]:
        x, y = (level.astype(np.int32) for level in levels)
        count = (x < different).astype(np.int32) + (y < different)
        total = np.where(x < different, x, 0) + np.where(y < different, y, 0)
        return count, total

    count, total = agreements(crossed)
    straight_count, straight_total = agreements(straight)
    clean = (crossed[0] != different) & (crossed[1] != different)
    better = (count > straight_count) | ((count == straight_count) & (total < straight_total))
    # A lone name read as the other name is a guess; only an exact agreement supports it.
    lone = (crossed[0] > different) | (crossed[1] > different)
    exact = (crossed[0] == 0) | (crossed[1] == 0)
    return np.asarray(clean & better & (~lone | exact), dtype=np.bool_)


class _Crossed:
    """Columns that compare the left record's first name with the right record's last name."""

    def __init__(self, a: Column, b: Column, left: Rows, right: Rows) -> None:
        # Stack rows so that "left" rows read column a and "right" rows read column b.
        n = len(left)
        self.rows = (np.arange(n, dtype=np.int64), np.arange(n, 2 * n, dtype=np.int64))
        self.first = Column(a.vocabulary, np.concatenate([a.codes[left], b.codes[right]]))
        self.second = Column(a.vocabulary, np.concatenate([b.codes[left], a.codes[right]]))
