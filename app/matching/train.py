"""Fitting the Fellegi-Sunter model to a store: calibration (:mod:`app.matching.calibrate`),
then m by expectation-maximisation on the candidate pairs, with safeguards.

Each comparison's m is estimated only on pairs that no blocking rule on that comparison made
candidates (pairs blocked on an e-mail all agree on it, which says nothing about how often
one person's e-mails agree), m is pulled toward the configured defaults by pseudo-matches, the
"different" level keeps a floor, and a model whose weights move far on little evidence is
refused. Patterns are summed in content order, so the same records give the same model
whatever order they were stored in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from app.matching.blocking import rule_codes
from app.matching.calibrate import (
    Candidates,
    Floats,
    Sample,
    calibrate,
    fixed_point,
    with_parameters,
)
from app.matching.compare import Comparison, Levels, Mask
from app.matching.config import MatchConfig
from app.matching.frame import Frame
from app.matching.model import (
    MatchModel,
    probability,
)
from app.matching.scorer import Scorer


class ModelRefused(ValueError):
    """Training produced a model whose weights moved far on too little evidence."""


def train_frame(scorer: Scorer, frame: Frame, *, seed: int = 0) -> MatchModel:
    """Calibrate on a frame, fit m by EM, and calibrate again with the fitted m.

    Raises :class:`ModelRefused` when a level's weight moves further than the config allows
    on a comparison too few expected matches informed.
    """
    if len(frame) < 2:
        return scorer.model.for_store(len(frame))
    sample = Sample.of(scorer, frame, seed)
    calibrated = calibrate(scorer, frame, sample)
    fitting = scorer.with_model(calibrated)
    m, support = _expectation_maximisation(fitting, frame, sample.candidates)
    fitted = with_parameters(
        calibrated, scorer.pipeline.comparisons, m, [list(p.u) for p in fitting.parameters]
    )
    _check_support(scorer, calibrated, fitted, support)
    trained = calibrate(scorer.with_model(fitted), frame, sample)
    return replace(trained, trained_on=len(frame))


def _expectation_maximisation(
    scorer: Scorer, frame: Frame, candidates: Candidates
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
        model = with_parameters(plain, comparisons, [x.tolist() for x in m], u)
        evidence = patterns.evidence(scorer.with_model(model), frame)
        prior = fixed_point(evidence, patterns.counts, scale, 1.0 / pairs)
        weighted = patterns.counts * probability(evidence + np.log2(prior / (1.0 - prior)))
        previous = [x.copy() for x in m]
        for index, comparison in enumerate(comparisons):
            if comparison.kind == "source":
                # Calibration measures the sources' m, judging matches without them: fitted
                # here, their own weight would count toward the matches that fit it.
                continue
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
    def of(cls, candidates: Candidates, eligible: npt.NDArray[np.bool_]) -> _Patterns:
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


def _eligible(scorer: Scorer, frame: Frame, candidates: Candidates) -> npt.NDArray[np.bool_]:
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
