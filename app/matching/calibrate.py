"""Calibrating the Fellegi-Sunter model to a store: no labels needed.

Calibration measures what the data says directly and runs on every store:

- u of the fuzzy levels from random record pairs (almost all of which are different people);
- u of the exact level from value counts: every pair of records that share a value, minus
  the pairs among them that are one person (each counted with its match probability), over
  every pair where both have a value. Generic values (an office switchboard) are left out;
- the prior, d / (N - 1): d is found as the fixed point where the number of matches the
  model expects among the candidate pairs (each counted with its probability under that
  prior) is the number the prior implies. Pairs the evidence makes certain count fully
  whatever the prior; pairs in doubt count by their probability;
- term-frequency tables and generic values (:mod:`app.matching.values`).

Everything is summed in the order of the records' content digests, so the same records give
the same model whatever order they were stored in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from app.matching.blocking import blocked_pairs
from app.matching.compare import Comparison, Levels, Mask
from app.matching.config import MatchConfig
from app.matching.frame import Frame
from app.matching.model import (
    LevelParameters,
    MatchModel,
    TermFrequencies,
    probability,
    value_digest,
)
from app.matching.scorer import Scorer
from app.matching.types import SOURCE, AttributeName
from app.matching.values import (
    CHUNK,
    generic_values,
    household_attributes,
    shared_values,
    term_frequencies,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]
_U_FLOOR = 0.1
_CALIBRATION_ROUNDS = 3
_U_SETTLED = 1e-3
_PRIOR_ITERATIONS = 60


@dataclass(frozen=True, slots=True)
class Candidates:
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
    return calibrate(scorer, frame, Sample.of(scorer, frame, seed))


@dataclass(frozen=True, slots=True)
class Sample:
    """What calibration measures on, computed once per frame: the candidates, random pairs'
    levels, and the value tables."""

    candidates: Candidates
    random_levels: Levels
    generic: Mapping[AttributeName, frozenset[str]]
    tables: Mapping[AttributeName, TermFrequencies]

    @classmethod
    def of(cls, scorer: Scorer, frame: Frame, seed: int) -> Sample:
        config = scorer.pipeline.config
        order = np.argsort(frame.digests(), kind="stable")
        return cls(
            candidates=_candidates(scorer, frame, config.model.em_max_pairs),
            random_levels=_random_levels(scorer, frame, order, np.random.default_rng(seed)),
            generic=generic_values(config, frame),
            tables={
                **term_frequencies(scorer.pipeline.comparisons, frame, config),
                **shared_values(scorer, frame),
            },
        )


def calibrate(scorer: Scorer, frame: Frame, sample: Sample) -> MatchModel:
    comparisons = scorer.pipeline.comparisons
    model = replace(
        scorer.model,
        records=len(frame),
        calibrated_on=len(frame),
        term_frequencies=sample.tables,
        generic_values=sample.generic,
        household=household_attributes(scorer, sample.candidates.levels),
    )
    # Values several people hold (generic ones, and a household's shared e-mail) weigh as
    # their own frequency says: u of the exact level is what strangers share otherwise.
    apart = _values_apart(sample.generic, sample.tables, frame)
    agreement = _exact_agreement(comparisons, frame, apart)
    m = [list(p.m) for p in scorer.parameters]
    u = _fuzzy_u(scorer, sample.random_levels, [p.u[0] for p in scorer.parameters])
    source = next((i for i, c in enumerate(comparisons) if c.kind == "source"), None)
    same_u = _same_source_u(frame) if source is not None else 1.0
    for _ in range(_CALIBRATION_ROUNDS):
        model = with_parameters(model, comparisons, m, u)
        scored = _expected_matches(scorer, model, frame, sample.candidates)
        model = replace(model, duplicates=scored.prior * (len(frame) - 1))
        exact_u = _exact_u(comparisons, agreement, sample.candidates, scored, frame, apart)
        previous, u = [*u, *m], _fuzzy_u(scorer, sample.random_levels, exact_u)
        if source is not None:
            m[source], u[source] = _source_parameters(
                source, same_u, sample.candidates, scored, scorer.pipeline.config
            )
        # A round's prior and u (and the sources' m) follow from the u and m it scored with
        # alone: when they come back unchanged, another round (a rescoring of every candidate)
        # would give this one's.
        if _settled(previous, [*u, *m]):
            break
    return with_parameters(model, comparisons, m, u)


def _same_source_u(frame: Frame) -> float:
    """The chance that two random records come from one source: the sum over sources of
    n (n - 1), over N (N - 1); 1 in a store of one source."""
    codes = frame.columns[SOURCE].codes
    counts = np.bincount(codes[codes >= 0]).astype(np.float64)
    pairs = float(counts.sum() * (counts.sum() - 1))
    return float((counts * (counts - 1)).sum() / pairs) if pairs else 1.0


def _source_parameters(
    index: int, same_u: float, candidates: Candidates, scored: _Scored, config: MatchConfig
) -> tuple[list[float], list[float]]:
    """m and u of the comparison of sources (one source, different sources), measured.

    u is ``same_u`` (see :func:`_same_source_u`), the same every round. m is the share of
    one-source pairs among the candidates that the other attributes make matches (at the auto
    threshold, judged without the sources, so that they do not prove themselves), pulled toward
    u by ``m_prior_matches`` pseudo-matches.

    m stays u (the sources weigh nothing) unless the matches found would put at least
    ``min_change_support`` of them at the rarer level if sources said nothing: a store of one
    source, or of one large source and a stray record of another, has no evidence that two
    sources are rarely one person, only too few pairs to see one.

    Counting every candidate by its probability instead would count the relatives and
    colleagues a department holds side by side (hundreds of pairs in doubt each) among the
    matches, and measure m several times too high.
    """
    levels = candidates.levels[:, index]
    certain = (scored.posterior(without=index) >= config.auto_threshold) & (levels <= 1)
    matches = float(certain.sum()) / candidates.share
    together = float((certain & (levels == 0)).sum()) / candidates.share
    if matches * min(same_u, 1.0 - same_u) < config.model.min_change_support:
        return [same_u, 1.0 - same_u], [same_u, 1.0 - same_u]
    strength = config.model.m_prior_matches
    same_m = (together + strength * same_u) / (matches + strength)
    return [same_m, 1.0 - same_m], [same_u, 1.0 - same_u]


def _settled(before: Sequence[Sequence[float]], after: Sequence[Sequence[float]]) -> bool:
    """Whether no parameter moved by more than ``_U_SETTLED`` of itself."""
    return all(
        abs(b - a) <= _U_SETTLED * max(a, b)
        for old, new in zip(before, after, strict=True)
        for a, b in zip(old, new, strict=True)
    )


def _candidates(scorer: Scorer, frame: Frame, limit: int) -> Candidates:
    """Blocking's candidate pairs in content order; above ``limit``, the ``limit`` pairs whose
    content digests come first (a sample that does not depend on record ids).

    When every candidate is in the sample, their levels stay with the frame's blocked pairs:
    resolving the frame compares the same pairs.
    """
    blocked = blocked_pairs(frame, scorer.pipeline.rules, scorer.pipeline.caps)
    total = len(blocked.left)
    digests = frame.digests()
    low = np.minimum(digests[blocked.left], digests[blocked.right])
    high = np.maximum(digests[blocked.left], digests[blocked.right])
    # The pair's digest mixes both sides, so the sample is spread over the whole store.
    mixed = low * np.uint64(0x9E3779B97F4A7C15) + high
    order = np.lexsort((high, low, mixed))
    if total > limit:
        order = order[:limit]
    left, right = blocked.left[order], blocked.right[order]
    levels, crossed = pair_levels(scorer, frame, left, right)
    if total <= limit:
        blocked.levels = np.empty_like(levels)
        blocked.levels[order] = levels
        blocked.crossed = np.empty_like(crossed)
        blocked.crossed[order] = crossed
    return Candidates(left, right, levels, crossed, len(left) / total if total else 1.0)


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
    return pair_levels(scorer, frame, left.astype(np.int64), right.astype(np.int64))[0]


def pair_levels(
    scorer: Scorer, frame: Frame, left: Ints, right: Ints
) -> tuple[Levels, npt.NDArray[np.bool_]]:
    """Level matrix of many pairs, computed in chunks to bound temporary memory."""
    levels, crossed = [], []
    for i in range(0, len(left), CHUNK):
        chunk_levels, chunk_crossed = scorer.pipeline.levels(
            frame, left[i : i + CHUNK], right[i : i + CHUNK]
        )
        levels.append(chunk_levels)
        crossed.append(chunk_crossed)
    if not levels:
        return np.empty((0, len(scorer.pipeline.comparisons)), np.int8), np.empty(0, np.bool_)
    return np.concatenate(levels), np.concatenate(crossed)


@dataclass(frozen=True, slots=True)
class _Agreement:
    """Per comparison: pairs of the whole frame that share a non-generic value, and pairs
    where both records have a value."""

    agreeing: Floats
    present: Floats


def _values_apart(
    generic: Mapping[AttributeName, frozenset[str]],
    tables: Mapping[AttributeName, TermFrequencies],
    frame: Frame,
) -> dict[AttributeName, Flags]:
    """Per attribute, which of the frame's values are left out of the exact level's u (generic
    values, and values of a shared-value table, keyed by digest), with False for code -1
    (missing). Computed once per calibration: every round reads them."""
    out: dict[AttributeName, Flags] = {}
    for name in {*generic, *(n for n, t in tables.items() if t.shared)}:
        if (column := frame.columns.get(name)) is None:
            continue
        table = tables.get(name)
        shared = table.values if table is not None and table.shared else {}
        left_out = generic.get(name, frozenset())
        values = column.vocabulary.values
        flags = np.fromiter(
            (v in left_out or value_digest(v) in shared for v in values),
            dtype=np.bool_,
            count=len(values),
        )
        out[name] = np.append(flags, False)
    return out


def _exact_agreement(
    comparisons: Sequence[Comparison],
    frame: Frame,
    apart: Mapping[AttributeName, Flags],
) -> _Agreement:
    agreeing, present = [], []
    for comparison in comparisons:
        column = frame.columns[comparison.attribute]
        held = column.codes[column.codes >= 0]
        counts = np.bincount(held).astype(np.float64) if len(held) else np.empty(0)
        if (left_out := apart.get(comparison.attribute)) is not None:
            counts[left_out[: len(counts)]] = 0.0
        agreeing.append(float((counts * (counts - 1)).sum() / 2))
        present.append(len(held) * (len(held) - 1) / 2)
    return _Agreement(np.array(agreeing), np.array(present))


def _exact_u(
    comparisons: Sequence[Comparison],
    agreement: _Agreement,
    candidates: Candidates,
    scored: _Scored,
    frame: Frame,
    apart: Mapping[AttributeName, Flags],
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
        codes = frame.columns[comparison.attribute].codes
        # Pairs that share the value itself, as ``agreement`` counts them: a phone written two
        # ways is at the exact level without being one value.
        exact = (column == 0) & (codes[candidates.left] == codes[candidates.right])
        if (left_out := apart.get(comparison.attribute)) is not None:
            exact &= ~left_out[codes[candidates.left]]
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
    scorer: Scorer, model: MatchModel, frame: Frame, candidates: Candidates
) -> _Scored:
    """The candidates scored at the prior where they agree with it: the matches expected among
    candidates, over blocking's recall, are the prior's share of all pairs."""
    n = len(frame)
    scorer = scorer.with_model(model)
    weights, shares = _weights(scorer, candidates, frame)
    evidence = weights - model.prior_weight
    pairs = n * (n - 1) / 2
    scale = 1.0 / (candidates.share * scorer.pipeline.config.model.blocking_recall * pairs)
    prior = fixed_point(evidence, np.ones(len(evidence)), scale, 1.0 / pairs)
    return _Scored(evidence, shares, prior)


def _weights(
    scorer: Scorer, candidates: Candidates, frame: Frame
) -> tuple[Floats, npt.NDArray[np.float32]]:
    """Every candidate's weight and each comparison's share of it, a chunk at a time into
    arrays made once (shares as float32: a million candidates' would take 0.1 GB as float64)."""
    n = len(candidates.left)
    weights = np.empty(n, dtype=np.float64)
    shares = np.empty((n, len(scorer.comparisons)), dtype=np.float32)
    for i in range(0, n, CHUNK):
        weights[i : i + CHUNK], shares[i : i + CHUNK] = scorer.weights(
            candidates.levels[i : i + CHUNK],
            frame,
            candidates.left[i : i + CHUNK],
            candidates.crossed[i : i + CHUNK],
            candidates.right[i : i + CHUNK],
        )
    return weights, shares


def with_parameters(
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


def fixed_point(evidence: Floats, counts: Floats, scale: float, floor: float) -> float:
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
