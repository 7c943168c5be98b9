"""Fitting the Fellegi-Sunter model to a store: no labels needed.

Calibration measures what the data says directly and runs on every store:

- u of the fuzzy levels from random record pairs (almost all of which are different people);
- u of the exact level from value counts: every pair of records that share a value, minus
  the pairs among them that are one person (each counted with its match probability), over
  every pair where both have a value. Generic values (an office switchboard) are left out;
- the prior, d / (N - 1): d is found as the fixed point where the number of matches the
  model expects among the candidate pairs (each counted with its probability under that
  prior) is the number the prior implies. Pairs the evidence makes certain count fully
  whatever the prior; pairs in doubt count by their probability;
- term-frequency tables and generic values.

Training adds m by expectation-maximisation on the candidate pairs, with safeguards: each
comparison's m is estimated only on pairs that no blocking rule on that comparison made
candidates (pairs blocked on an e-mail all agree on it, which says nothing about how often
one person's e-mails agree), m is pulled toward the configured defaults by pseudo-matches, the
"different" level keeps a floor, and a model whose weights move far on little evidence is
refused.

Everything is summed in the order of the records' content digests, so the same records give
the same model whatever order they were stored in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from app.matching.blocking import candidate_pairs, group_pairs, rule_codes
from app.matching.compare import Comparison, Levels, Mask
from app.matching.config import MatchConfig
from app.matching.frame import Frame
from app.matching.model import (
    LevelParameters,
    MatchModel,
    Scorer,
    TermFrequencies,
    probability,
    value_digest,
)
from app.matching.types import AttributeName

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
_U_FLOOR = 0.1
_TF_MAX_ENTRIES = 20_000
_CHUNK = 500_000
_CALIBRATION_ROUNDS = 3
_PRIOR_ITERATIONS = 60


class ModelRefused(ValueError):
    """Training produced a model whose weights moved far on too little evidence."""


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Candidate pairs in content order, their levels, and the share of all candidates they
    are (large stores are sampled)."""

    left: Ints
    right: Ints
    levels: Levels
    crossed: Mask
    share: float


def calibrate_frame(scorer: Scorer, frame: Frame, *, seed: int = 0) -> MatchModel:
    """The scorer's model (its m kept) with u, prior and value tables measured on a frame."""
    if len(frame) < 2:
        return scorer.model.for_store(len(frame))
    return _calibrate(scorer, frame, _Sample.of(scorer, frame, seed))


def train_frame(scorer: Scorer, frame: Frame, *, seed: int = 0) -> MatchModel:
    """Calibrate on a frame, fit m by EM, and calibrate again with the fitted m.

    Raises :class:`ModelRefused` when a level's weight moves further than the config allows
    on a comparison too few expected matches informed.
    """
    if len(frame) < 2:
        return scorer.model.for_store(len(frame))
    sample = _Sample.of(scorer, frame, seed)
    calibrated = _calibrate(scorer, frame, sample)
    fitting = scorer.with_model(calibrated)
    m, support = _expectation_maximisation(fitting, frame, sample.candidates)
    fitted = _with_parameters(
        calibrated, scorer.pipeline.comparisons, m, [list(p.u) for p in fitting.parameters]
    )
    _check_support(scorer, calibrated, fitted, support)
    trained = _calibrate(scorer.with_model(fitted), frame, sample)
    return replace(trained, trained_on=len(frame))


@dataclass(frozen=True, slots=True)
class _Sample:
    """What calibration measures on, computed once per frame: the candidates, random pairs'
    levels, and the value tables."""

    candidates: _Candidates
    random_levels: Levels
    generic: Mapping[AttributeName, frozenset[str]]
    tables: Mapping[AttributeName, TermFrequencies]

    @classmethod
    def of(cls, scorer: Scorer, frame: Frame, seed: int) -> _Sample:
        config = scorer.pipeline.config
        order = np.argsort(frame.digests(), kind="stable")
        return cls(
            candidates=_candidates(scorer, frame, config.model.em_max_pairs),
            random_levels=_random_levels(scorer, frame, order, np.random.default_rng(seed)),
            generic=_generic_values(config, frame),
            tables={
                **_term_frequencies(scorer.pipeline.comparisons, frame, config),
                **_shared_values(scorer, frame),
            },
        )


def _calibrate(scorer: Scorer, frame: Frame, sample: _Sample) -> MatchModel:
    comparisons = scorer.pipeline.comparisons
    model = replace(
        scorer.model,
        records=len(frame),
        calibrated_on=len(frame),
        term_frequencies=sample.tables,
        generic_values=sample.generic,
        household=_household(scorer, sample.candidates),
    )
    # Values several people hold (generic ones, and a household's shared e-mail) weigh as
    # their own frequency says: u of the exact level is what strangers share otherwise.
    apart = _values_apart(sample.generic, sample.tables)
    agreement = _exact_agreement(comparisons, frame, apart)
    m = [list(p.m) for p in scorer.parameters]
    u = _fuzzy_u(scorer, sample.random_levels, [p.u[0] for p in scorer.parameters])
    for _ in range(_CALIBRATION_ROUNDS):
        model = _with_parameters(model, comparisons, m, u)
        scored = _expected_matches(scorer, model, frame, sample.candidates)
        model = replace(model, duplicates=scored.prior * (len(frame) - 1))
        exact_u = _exact_u(comparisons, agreement, sample.candidates, scored, frame, apart)
        u = _fuzzy_u(scorer, sample.random_levels, exact_u)
    return _with_parameters(model, comparisons, m, u)


# -- candidates and random pairs --------------------------------------------------------------


def _candidates(scorer: Scorer, frame: Frame, limit: int) -> _Candidates:
    """Blocking's candidate pairs in content order; above ``limit``, the ``limit`` pairs whose
    content digests come first (a sample that does not depend on record ids)."""
    (left, right), _ = candidate_pairs(frame, scorer.pipeline.rules, scorer.pipeline.caps)
    total = len(left)
    digests = frame.digests()
    low = np.minimum(digests[left], digests[right])
    high = np.maximum(digests[left], digests[right])
    # The pair's digest mixes both sides, so the sample is spread over the whole store.
    mixed = low * np.uint64(0x9E3779B97F4A7C15) + high
    order = np.lexsort((high, low, mixed))
    if total > limit:
        order = order[:limit]
    left, right = left[order], right[order]
    swap = frame.ids[left] > frame.ids[right]
    left, right = np.where(swap, right, left), np.where(swap, left, right)
    levels, crossed = _levels(scorer, frame, left, right)
    return _Candidates(left, right, levels, crossed, len(left) / total if total else 1.0)


def _random_levels(scorer: Scorer, frame: Frame, order: Ints, rng: np.random.Generator) -> Levels:
    """Levels of random record pairs: every pair of a small store, a sample of a large one
    (drawn over the records in content order)."""
    n = len(frame)
    size = scorer.pipeline.config.model.u_sample_pairs
    if n * (n - 1) // 2 <= size:
        upper, lower = np.triu_indices(n, 1)
        left, right = order[upper], order[lower]
    else:
        left = order[rng.integers(0, n, size=size, dtype=np.int64)]
        right = order[rng.integers(0, n, size=size, dtype=np.int64)]
        keep = left != right
        left, right = left[keep], right[keep]
    return _levels(scorer, frame, left.astype(np.int64), right.astype(np.int64))[0]


def _levels(
    scorer: Scorer, frame: Frame, left: Ints, right: Ints
) -> tuple[Levels, npt.NDArray[np.bool_]]:
    """Level matrix of many pairs, computed in chunks to bound temporary memory."""
    levels, crossed = [], []
    for i in range(0, len(left), _CHUNK):
        chunk_levels, chunk_crossed = scorer.pipeline.levels(
            frame, left[i : i + _CHUNK], right[i : i + _CHUNK]
        )
        levels.append(chunk_levels)
        crossed.append(chunk_crossed)
    if not levels:
        return np.empty((0, len(scorer.pipeline.comparisons)), np.int8), np.empty(0, np.bool_)
    return np.concatenate(levels), np.concatenate(crossed)


# -- u and the prior ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Agreement:
    """Per comparison: pairs of the whole frame that share a non-generic value, and pairs
    where both records have a value."""

    agreeing: Floats
    present: Floats


def _values_apart(
    generic: Mapping[AttributeName, frozenset[str]],
    tables: Mapping[AttributeName, TermFrequencies],
) -> dict[AttributeName, Callable[[str], bool]]:
    """Per attribute, whether a value is left out of the exact level's u: generic values, and
    values of a shared-value table (keyed by digest)."""
    out: dict[AttributeName, Callable[[str], bool]] = {}
    for name in {*generic, *(n for n, t in tables.items() if t.shared)}:
        table = tables.get(name)
        shared = table.values if table is not None and table.shared else {}
        out[name] = _apart(generic.get(name, frozenset()), shared)
    return out


def _apart(generic: frozenset[str], shared: Mapping[str, float]) -> Callable[[str], bool]:
    def test(value: str) -> bool:
        return value in generic or value_digest(value) in shared

    return test


def _exact_agreement(
    comparisons: Sequence[Comparison],
    frame: Frame,
    apart: Mapping[AttributeName, Callable[[str], bool]],
) -> _Agreement:
    agreeing, present = [], []
    for comparison in comparisons:
        column = frame.columns[comparison.attribute]
        held = column.codes[column.codes >= 0]
        counts = np.bincount(held).astype(np.float64) if len(held) else np.empty(0)
        if (left_out := apart.get(comparison.attribute)) is not None:
            counts[_flags(column.vocabulary.values, left_out)[: len(counts)]] = 0.0
        agreeing.append(float((counts * (counts - 1)).sum() / 2))
        present.append(len(held) * (len(held) - 1) / 2)
    return _Agreement(np.array(agreeing), np.array(present))


def _flags(values: Sequence[str], test: Callable[[str], bool]) -> npt.NDArray[np.bool_]:
    """Whether each value passes a test, with False appended for code -1 (missing)."""
    flags = np.fromiter((test(v) for v in values), dtype=np.bool_, count=len(values))
    return np.append(flags, False)


def _exact_u(
    comparisons: Sequence[Comparison],
    agreement: _Agreement,
    candidates: _Candidates,
    scored: _Scored,
    frame: Frame,
    apart: Mapping[AttributeName, Callable[[str], bool]],
) -> list[float]:
    """u of each comparison's exact level: pairs that share a value but are not one person,
    over pairs that both have a value and are not one person.

    Whether a pair is one person is judged on its other attributes (the comparison's own share
    left out): two records that share an e-mail and nothing else may be a couple as well as one
    person, and counting them as one person would make the e-mail prove itself.
    """
    out = []
    for index, comparison in enumerate(comparisons):
        if not agreement.present[index]:
            out.append(0.0)
            continue
        posterior = scored.posterior(without=index)
        column = candidates.levels[:, index]
        exact = column == 0
        if (left_out := apart.get(comparison.attribute)) is not None:
            vocabulary = frame.columns[comparison.attribute].vocabulary
            codes = frame.columns[comparison.attribute].codes[candidates.left]
            exact &= ~_flags(vocabulary.values, left_out)[codes]
        matched_agreeing = float(posterior[exact].sum()) / candidates.share
        matched_present = float(posterior[column != comparison.missing].sum()) / candidates.share
        others = max(agreement.present[index] - matched_present, 1.0)
        strangers = max(agreement.agreeing[index] - matched_agreeing, 0.0)
        # One pseudo-pair keeps a value no stranger shares from weighing infinitely.
        out.append(min((strangers + 1.0) / (others + 1.0), 0.5))
    return out


def _fuzzy_u(scorer: Scorer, levels: Levels, exact_u: Sequence[float]) -> list[list[float]]:
    """u per level: the exact level's given, the others' shares among random pairs.

    A level random pairs never reached keeps a tenth of its default u: a store without
    initials today may hold some tomorrow, and one such agreement must not weigh as a rare
    coincidence. An attribute no record holds keeps its defaults.
    """
    out = []
    for index, comparison in enumerate(scorer.pipeline.comparisons):
        default = np.asarray(scorer.defaults[index].u, dtype=np.float64)
        column = levels[:, index]
        counts = np.bincount(column, minlength=comparison.missing + 1)[: comparison.missing]
        if not counts.sum():
            out.append(default.tolist())
            continue
        rest = counts[1:].astype(np.float64) / counts.sum()
        rest = np.maximum(rest, default[1:] * _U_FLOOR)
        exact = float(exact_u[index])
        rest = rest / rest.sum() * (1.0 - exact)
        out.append([exact, *rest.tolist()])
    return out


@dataclass(frozen=True, slots=True)
class _Scored:
    """The candidates under one model: evidence (match weight without the prior), each
    comparison's share of it, and the prior where expected and implied matches agree."""

    evidence: Floats
    shares: npt.NDArray[np.float32]
    prior: float

    def posterior(self, without: int | None = None) -> Floats:
        """Each candidate's match probability; ``without`` leaves one comparison's share out."""
        evidence = self.evidence
        if without is not None:
            evidence = evidence - self.shares[:, without]
        return probability(evidence + np.log2(self.prior / (1.0 - self.prior)))


def _expected_matches(
    scorer: Scorer, model: MatchModel, frame: Frame, candidates: _Candidates
) -> _Scored:
    """The candidates scored at the prior where they agree with it: the matches expected among
    candidates, over blocking's recall, are the prior's share of all pairs."""
    n = len(frame)
    scorer = scorer.with_model(model)
    weights, shares = _weights(scorer, candidates, frame)
    evidence = weights - model.prior_weight
    pairs = n * (n - 1) / 2
    scale = 1.0 / (candidates.share * scorer.pipeline.config.model.blocking_recall * pairs)
    prior = _fixed_point(evidence, np.ones(len(evidence)), scale, 1.0 / pairs)
    return _Scored(evidence, shares.astype(np.float32), prior)


def _weights(scorer: Scorer, candidates: _Candidates, frame: Frame) -> tuple[Floats, Floats]:
    parts = [
        scorer.weights(
            candidates.levels[i : i + _CHUNK],
            frame,
            candidates.left[i : i + _CHUNK],
            candidates.crossed[i : i + _CHUNK],
            candidates.right[i : i + _CHUNK],
        )
        for i in range(0, len(candidates.left), _CHUNK)
    ]
    if not parts:
        return np.empty(0), np.empty((0, len(scorer.comparisons)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _with_parameters(
    model: MatchModel,
    comparisons: Sequence[Comparison],
    m: Sequence[Sequence[float]],
    u: Sequence[Sequence[float]],
) -> MatchModel:
    parameters = tuple(
        LevelParameters(c.attribute, c.kind, c.labels[:-1], tuple(m[i]), tuple(u[i]))
        for i, c in enumerate(comparisons)
    )
    return replace(model, parameters=parameters)


# -- m by expectation-maximisation -------------------------------------------------------------


def _expectation_maximisation(
    scorer: Scorer, frame: Frame, candidates: _Candidates
) -> tuple[list[list[float]], list[Floats]]:
    """m of every comparison, and each level's support (matches expected at it).

    A candidate's probability of being a match is its posterior under the store's prior (the
    fixed point of :func:`_expected_matches`), not under a share of matches among candidates:
    its evidence already holds the agreement that made it a candidate, and counting that
    agreement twice is what lets households and namesakes pass for one person. Term
    frequencies are left out while fitting, so pairs with the same levels weigh the same and
    EM runs over distinct patterns, not millions of pairs.
    """
    pipeline = scorer.pipeline
    comparisons = pipeline.comparisons
    defaults = [np.asarray(p.m, dtype=np.float64) for p in scorer.defaults]
    m = [np.asarray(p.m, dtype=np.float64) for p in scorer.parameters]
    u = [list(p.u) for p in scorer.parameters]
    patterns = _Patterns.of(candidates, _eligible(scorer, frame, candidates))
    plain = replace(scorer.model, term_frequencies={}, generic_values={})
    support = [np.zeros(len(x)) for x in m]
    pairs = len(frame) * (len(frame) - 1) / 2
    scale = 1.0 / (candidates.share * pipeline.config.model.blocking_recall * pairs)
    prior = plain.prior
    for _ in range(pipeline.config.model.em_iterations):
        model = _with_parameters(plain, comparisons, [x.tolist() for x in m], u)
        evidence = patterns.evidence(scorer.with_model(model), frame)
        prior = _fixed_point(evidence, patterns.counts, scale, 1.0 / pairs)
        weighted = patterns.counts * probability(evidence + np.log2(prior / (1.0 - prior)))
        previous = [x.copy() for x in m]
        for index, comparison in enumerate(comparisons):
            rows = patterns.eligible[:, index] & (patterns.levels[:, index] != comparison.missing)
            counts = np.bincount(
                patterns.levels[rows, index], weights=weighted[rows], minlength=comparison.missing
            )[: comparison.missing].astype(np.float64)
            support[index] = counts
            m[index] = _regularised(counts, defaults[index], comparison, pipeline.config)
        moved = max(float(np.abs(a - b).max()) for a, b in zip(m, previous, strict=True))
        if moved < 1e-5:
            break
    return [x.tolist() for x in m], support


@dataclass(frozen=True, slots=True)
class _Patterns:
    """Distinct (levels, crossed, eligible) rows of the candidates and how many pairs each."""

    levels: Levels
    crossed: Mask
    eligible: npt.NDArray[np.bool_]
    counts: Floats

    @classmethod
    def of(cls, candidates: _Candidates, eligible: npt.NDArray[np.bool_]) -> _Patterns:
        rows = np.ascontiguousarray(
            np.column_stack(
                [candidates.levels, candidates.crossed.astype(np.int8), eligible.astype(np.int8)]
            )
        )
        view = rows.view(np.dtype((np.void, rows.shape[1])))
        _, first, counts = np.unique(view, return_index=True, return_counts=True)
        return cls(
            candidates.levels[first],
            candidates.crossed[first],
            eligible[first],
            counts.astype(np.float64),
        )

    def evidence(self, scorer: Scorer, frame: Frame) -> Floats:
        """Match weight without the prior of each pattern (the model has no value tables)."""
        rows = np.zeros(len(self.counts), dtype=np.int64)
        weights, _ = scorer.weights(self.levels, frame, rows, self.crossed)
        return weights - scorer.model.prior_weight


def _fixed_point(evidence: Floats, counts: Floats, scale: float, floor: float) -> float:
    """The prior at which the matches expected among candidates (``counts`` pairs of each
    evidence), times ``scale``, give that prior back."""
    prior = min(max(float(counts.sum()) * scale, floor), 0.5)
    for _ in range(_PRIOR_ITERATIONS):
        expected = counts * probability(evidence + np.log2(prior / (1.0 - prior)))
        updated = min(max(float(expected.sum()) * scale, 0.5 * floor), 0.5)
        if abs(updated - prior) <= 1e-9 * prior:
            return updated
        prior = updated
    return prior


def _regularised(
    counts: Floats, default: Floats, comparison: Comparison, config: MatchConfig
) -> Floats:
    """m from expected match counts, pulled toward the default by pseudo-matches, with the
    configured floor on "different" and caps on some levels."""
    strength = config.model.m_prior_matches
    m = (counts + strength * default) / (counts.sum() + strength)
    labels = comparison.labels[: len(m)]
    floor = min(config.model.min_m_different, float(default[-1]))
    if m[-1] < floor:
        rest = m[:-1] * (1.0 - floor) / max(m[:-1].sum(), 1e-12)
        m = np.append(rest, floor)
    return np.asarray(_bound(m.tolist(), labels, config.model.max_m.get(comparison.kind, {})))


def _eligible(scorer: Scorer, frame: Frame, candidates: _Candidates) -> npt.NDArray[np.bool_]:
    """Per candidate and comparison, whether some rule not on the comparison's attribute made
    the pair candidates (through a key that is not generic)."""
    pipeline = scorer.pipeline
    attributes = {c.attribute for c in pipeline.comparisons}
    eligible = np.zeros((len(candidates.left), len(pipeline.comparisons)), dtype=np.bool_)
    for rule in pipeline.rules:
        codes = rule_codes(frame, rule).codes
        held = codes[codes >= 0]
        specific = np.bincount(held) <= pipeline.caps[rule.name] if len(held) else np.empty(0, bool)
        key = codes[candidates.left]
        same = (key >= 0) & (key == codes[candidates.right])
        same[same] &= specific[key[same]]
        used = _rule_attributes(scorer, rule.fields) & attributes
        for index, comparison in enumerate(pipeline.comparisons):
            if comparison.attribute not in used:
                eligible[:, index] |= same
    return eligible


def _rule_attributes(scorer: Scorer, fields: Sequence[str]) -> frozenset[str]:
    """The attributes a rule's keys depend on, with the whole group of an address field (a
    street, its postcode and city are one fact)."""
    used = {name for spec in fields for name in spec.partition(":")[0].split("|")}
    for group in scorer.pipeline.config.groups:
        if used & set(group):
            used |= set(group)
    return frozenset(used)


def _check_support(
    scorer: Scorer, calibrated: MatchModel, fitted: MatchModel, support: Sequence[Floats]
) -> None:
    """Refuse a model whose level weights moved further than allowed on a comparison that too
    few expected matches informed (the pseudo-matches make this rare: it guards against EM
    running away, not against what the data shows)."""
    config = scorer.pipeline.config.model
    before = scorer.with_model(calibrated).tables
    after = scorer.with_model(fitted).tables
    problems = []
    for index, comparison in enumerate(scorer.pipeline.comparisons):
        matches = float(support[index].sum())
        if matches >= config.min_change_support:
            continue
        jump = np.abs(after[index][:-1] - before[index][:-1])
        for level in np.flatnonzero(jump > config.max_weight_change):
            problems.append(
                f"{comparison.attribute} {comparison.labels[level]}: "
                f"{before[index][level]:+.1f} -> {after[index][level]:+.1f} bits on "
                f"{matches:.1f} expected matches"
            )
    if problems:
        raise ModelRefused(
            "the new model moves weights on too little evidence: " + "; ".join(problems)
        )


def _bound(m: list[float], labels: tuple[str, ...], bounds: Mapping[str, float]) -> list[float]:
    """Bound some levels' m, giving the excess to the other levels pro rata."""
    capped = {i for i, label in enumerate(labels[: len(m)]) if m[i] > bounds.get(label, 1.0)}
    if not capped:
        return m
    out = [bounds[labels[i]] if i in capped else x for i, x in enumerate(m)]
    free = sum(x for i, x in enumerate(out) if i not in capped)
    scale = (1.0 - sum(out[i] for i in capped)) / free if free > 0 else 1.0
    return [x if i in capped else x * scale for i, x in enumerate(out)]


# -- value tables -------------------------------------------------------------------------------


def _household(scorer: Scorer, candidates: _Candidates) -> frozenset[AttributeName]:
    """The household attributes this store shows people share: those whose exact agreements
    are, often enough, between records that name different people (a couple's street).

    Where no household shares them (each address is one person's), agreeing on them is
    evidence of one person even when a given name and a birth date were mistyped, and they
    keep their full weight.
    """
    config = scorer.pipeline.config
    apart = scorer.named_apart(candidates.levels)
    shared = set()
    for index, comparison in enumerate(scorer.pipeline.comparisons):
        if comparison.attribute not in config.household:
            continue
        agreeing = candidates.levels[:, index] == 0
        if agreeing.any() and apart[agreeing].mean() >= config.model.household_share:
            shared.add(comparison.attribute)
    return frozenset(shared)


def _shared_values(scorer: Scorer, frame: Frame) -> dict[AttributeName, TermFrequencies]:
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
            for start in range(0, len(left), _CHUNK):
                a, b = left[start : start + _CHUNK], right[start : start + _CHUNK]
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
