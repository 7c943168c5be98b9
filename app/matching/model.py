"""The Fellegi-Sunter model: m and u per comparison level, a prior, term frequencies.

A pair's match weight is ``log2(prior odds) + sum(log2(m/u))`` over its comparison levels,
plus a term-frequency adjustment on exact matches of common values. Every table the score
reads is frozen in the model, so scoring a pair depends only on the pair and the model: the
same pair gets the same weight in real time and in batch.

The prior is not a constant: two random records of a store of N records are one person with
probability d / (N - 1), where d (how many other records of their person a record has, on
average) is estimated from the store. A model is calibrated for one store size; as the store
grows it is calibrated again (:meth:`MatchModel.for_store`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from app.matching.compare import Comparison
from app.matching.config import MatchConfig
from app.matching.frame import Column, Vocabulary
from app.matching.pipeline import Pipeline
from app.matching.types import AttributeName

FORMAT = "huella.match-model"
VERSION = 2
Weights = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LevelParameters:
    """m and u of each level of one comparison, "different" last (missing is neutral)."""

    attribute: AttributeName
    kind: str
    labels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]

    def weights(self) -> Weights:
        """log2(m/u) per level, with 0 appended for "missing"."""
        m = np.maximum(np.asarray(self.m, dtype=np.float64), 1e-12)
        u = np.maximum(np.asarray(self.u, dtype=np.float64), 1e-12)
        return np.append(np.log2(m / u), 0.0)


@dataclass(frozen=True, slots=True)
class TermFrequencies:
    """How often each common value of an attribute occurred at training time.

    A ``shared`` table lists only identifiers that several people hold (a family e-mail): it is
    keyed by :func:`value_digest`, so the model holds no address or number in clear, and it
    only ever lowers a weight (a family's landline may be rarer than the average agreement on
    phones, which office switchboards inflate, but it is no stronger evidence for that).
    """

    values: Mapping[str, float] = field(default_factory=dict)
    shared: bool = False
    _looked_up: dict[int, tuple[Vocabulary, Weights]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def lookup(self, column: Column, fallback: float) -> Weights:
        """Frequency per vocabulary code of a column; ``fallback`` for values not in the table."""
        frequencies = self._per_value(column.vocabulary)
        return np.where(np.isnan(frequencies), fallback, frequencies)

    def _per_value(self, vocabulary: Vocabulary) -> Weights:
        """The table's frequency of each value of a vocabulary (NaN: not in the table), kept
        while the vocabulary does not grow: training and batch score it many times."""
        cached = self._looked_up.get(id(vocabulary))
        if (
            cached is None
            or cached[0] is not vocabulary
            or len(cached[1]) != len(vocabulary.values)
        ):
            key = value_digest if self.shared else str
            frequencies = np.fromiter(
                (self.values.get(key(v), np.nan) for v in vocabulary.values),
                dtype=np.float64,
                count=len(vocabulary.values),
            )
            cached = (vocabulary, frequencies)
            self._looked_up[id(vocabulary)] = cached
        return cached[1]


def value_digest(value: str) -> str:
    """A short digest standing for a value in a model's tables."""
    return hashlib.blake2b(value.encode(), digest_size=12, person=b"huella.tf").hexdigest()


@dataclass(frozen=True, slots=True)
class MatchModel:
    """A trained (or default) scoring model; immutable, serializable, versioned."""

    parameters: tuple[LevelParameters, ...]
    duplicates: float = 1.0
    """d: how many other records of the same person a record has, on average."""
    records: int = 100_000
    """N: the store size the prior is calibrated for."""
    term_frequencies: Mapping[AttributeName, TermFrequencies] = field(default_factory=dict)
    tf_max_down: float = 10.0
    tf_max_up: float = 4.0
    trained_on: int = 0
    """Records m was fitted on by EM (0: m are the config's defaults)."""
    calibrated_on: int = 0
    """Records u, d and the value tables were measured on (0: the config's defaults)."""
    generic_values: Mapping[AttributeName, frozenset[str]] = field(default_factory=dict)
    """Values held by more records than the generic cap at training (an office switchboard):
    agreeing on one is no evidence."""
    household: frozenset[AttributeName] | None = None
    """The household attributes this store shows people share (a couple's street, a family's
    landline); None before calibration: all the configured ones."""

    @property
    def prior(self) -> float:
        """Probability that two random records of the store are one person: d / (N - 1)."""
        return min(max(self.duplicates / max(self.records - 1, 1), 1e-12), 0.5)

    @property
    def prior_weight(self) -> float:
        """log2 of the prior odds that two random records match."""
        return math.log2(self.prior / (1.0 - self.prior))

    def for_store(self, records: int) -> MatchModel:
        """The same model with its prior calibrated for a store of ``records`` records."""
        return replace(self, records=max(records, 2))

    def to_json(self) -> str:
        """Serialize the model (the service stores it, versioned)."""
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "duplicates": self.duplicates,
                "records": self.records,
                "trained_on": self.trained_on,
                "calibrated_on": self.calibrated_on,
                "tf_max_down": self.tf_max_down,
                "tf_max_up": self.tf_max_up,
                "comparisons": [
                    {
                        "attribute": p.attribute,
                        "type": p.kind,
                        "levels": list(p.labels),
                        "m": list(p.m),
                        "u": list(p.u),
                    }
                    for p in self.parameters
                ],
                "term_frequencies": {
                    name: {"values": dict(tf.values), "shared": tf.shared}
                    for name, tf in self.term_frequencies.items()
                },
                "household": None if self.household is None else sorted(self.household),
                "generic_values": {
                    name: sorted(values) for name, values in self.generic_values.items()
                },
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        """Load a model saved by :meth:`to_json`."""
        data = json.loads(text)
        if data.get("format") != FORMAT or data.get("version") not in (1, VERSION):
            raise ValueError("not a Huella match model of a supported version")
        trained_on = int(data.get("trained_on", 0))
        if data["version"] == 1:
            # Version 1 froze the prior itself, for the store it was trained on.
            records = max(trained_on, 2)
            data.update(duplicates=float(data["prior"]) * (records - 1), records=records)
        return cls(
            duplicates=float(data["duplicates"]),
            records=int(data["records"]),
            trained_on=trained_on,
            calibrated_on=int(data.get("calibrated_on", trained_on)),
            tf_max_down=float(data.get("tf_max_down", 10.0)),
            tf_max_up=float(data.get("tf_max_up", 4.0)),
            parameters=tuple(
                LevelParameters(
                    c["attribute"],
                    c["type"],
                    tuple(c["levels"]),
                    tuple(float(x) for x in c["m"]),
                    tuple(float(x) for x in c["u"]),
                )
                for c in data["comparisons"]
            ),
            term_frequencies={
                name: TermFrequencies(dict(tf["values"]), bool(tf.get("shared", False)))
                for name, tf in data.get("term_frequencies", {}).items()
            },
            generic_values={
                name: frozenset(values) for name, values in data.get("generic_values", {}).items()
            },
            household=None if data.get("household") is None else frozenset(data["household"]),
        )


def default_model(pipeline: Pipeline) -> MatchModel:
    """The model used before any calibration: m and u per type from config, no TF tables."""
    config = pipeline.config
    return MatchModel(
        duplicates=config.model.duplicates,
        records=config.model.records,
        parameters=tuple(default_parameters(config, c) for c in pipeline.comparisons),
        tf_max_down=config.model.tf_max_down,
        tf_max_up=config.model.tf_max_up,
    )


def default_parameters(config: MatchConfig, comparison: Comparison) -> LevelParameters:
    """m and u of one comparison from config (flat guesses if config has none)."""
    size = comparison.different + 1
    m = config.model.m.get(comparison.kind)
    u = config.model.u.get(comparison.kind)
    if m is None or u is None or len(m) != size or len(u) != size:
        m = (0.9, *([0.1 / max(size - 1, 1)] * (size - 1)))[:size]
        u = (0.01, *([0.99 / max(size - 1, 1)] * (size - 1)))[:size]
    if comparison.kind == "source":
        m = u  # the sources weigh nothing until a fit measures them, whatever config guesses
    labels = comparison.labels[:-1]
    return LevelParameters(comparison.attribute, comparison.kind, labels, m, u)


def probability(weight: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Match probability from match weight."""
    return 1.0 / (1.0 + np.exp2(-np.asarray(weight, dtype=np.float64)))
