"""The matcher's knobs, loaded from ``config/matching.toml`` into a frozen object.

Everything the core decides with (attribute types, normalization tables, comparison levels and
their thresholds, blocking rules, model defaults, clustering guards) is data here, so the core
never carries a threshold or a word list as a literal.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.matching.text import fold
from app.matching.types import ATTRIBUTE_TYPES, AttributeType

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEFAULT_PATH = CONFIG_DIR / "matching.toml"

LEVEL_KINDS = frozenset(
    {
        "exact",
        "nickname",
        "token_subset",
        "jaro_winkler",
        "initial",
        "levenshtein",
        "edit_distance",
        "same_local_part",
        "day_month_swapped",
        "year_off_by_one",
        "one_component_off",
        "prefix",
        "suffix",
    }
)


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """One graded level of a comparison: its kind and the threshold that kind reads."""

    kind: str
    threshold: float = 0.0
    distance: int = 1
    length: int = 3
    same_numbers: bool = False

    @property
    def label(self) -> str:
        """A short, stable name for explanations: ``exact``, ``jaro_winkler>=0.92``, ..."""
        if self.kind == "jaro_winkler":
            return f"jaro_winkler>={self.threshold:g}"
        if self.kind == "levenshtein":
            return f"levenshtein<={self.distance}"
        if self.kind == "edit_distance":
            return f"edits<={self.distance}"
        if self.kind in ("prefix", "suffix"):
            return f"{self.kind}{self.length}"
        return self.kind


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """Records that agree on every field are candidates; a field is ``attr`` or ``attr:fn``.

    ``cap``: a key of this rule held by more records is generic (None: the config's
    ``generic_key_cap``)."""

    name: str
    fields: tuple[str, ...]
    cap: int | None = None


@dataclass(frozen=True, slots=True)
class Overlap:
    """Levels of one comparison that repeat what other comparisons already measure.

    They carry no positive weight while any of ``covered_by`` agrees: an e-mail local part built
    from the name (``ana.ruiz@``) adds nothing once the names agree.
    """

    attribute: str
    levels: frozenset[str]
    covered_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Normalization:
    """Tables that turn raw values into comparable ones."""

    default_region: str = "US"
    date_order: str = "MDY"
    missing_values: frozenset[str] = frozenset()
    missing_emails: frozenset[str] = frozenset()
    missing_phones: frozenset[str] = frozenset()
    missing_dates: frozenset[str] = frozenset()
    missing_identifiers: frozenset[str] = frozenset()
    dotless_email_domains: frozenset[str] = frozenset()
    plus_tag_email_domains: frozenset[str] = frozenset()
    email_domain_aliases: Mapping[str, str] = field(default_factory=dict)
    name_particles: frozenset[str] = frozenset()
    name_noise: frozenset[str] = frozenset()
    address_abbreviations: Mapping[str, str] = field(default_factory=dict)
    nicknames: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class ModelDefaults:
    """Priors and training knobs of the Fellegi-Sunter model."""

    duplicates: float = 1.0
    records: int = 100_000
    fit_from: int = 1000
    u_sample_pairs: int = 2_000_000
    em_max_pairs: int = 3_000_000
    em_iterations: int = 40
    blocking_recall: float = 0.9
    m_prior_matches: float = 50.0
    min_m_different: float = 0.01
    max_weight_change: float = 4.0
    min_change_support: float = 20.0
    household_share: float = 0.05
    tf_min_count: int = 2
    tf_max_down: float = 10.0
    tf_max_up: float = 4.0
    max_m: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    generic_values: tuple[str, ...] = ()
    m: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    u: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchConfig:
    """Everything the matcher decides with; the core never reads application config."""

    auto_threshold: float = 0.99
    review_threshold: float = 0.80
    generic_key_cap: int = 50
    default_region: str = "US"
    attributes: Mapping[str, AttributeType] = field(default_factory=dict)
    normalization: Normalization = field(default_factory=Normalization)
    levels: Mapping[str, tuple[LevelSpec, ...]] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    swap: tuple[str, ...] = ()
    term_frequency: frozenset[str] = frozenset()
    shared_values: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    overlaps: tuple[Overlap, ...] = ()
    compare_sources: bool = False
    personal: tuple[str, ...] = ()
    household: tuple[str, ...] = ()
    conflict_weight: float = -2.0
    conflict_weight_alone: float = -8.0
    personal_agreement: float = float("-inf")
    blocking_rules: tuple[BlockingRule, ...] = ()
    model: ModelDefaults = field(default_factory=ModelDefaults)
    exclusive: frozenset[str] = frozenset()
    weak_bridge_min_side: int = 2
    weak_bridge_weight: float = 12.0
    linkage_probability: float = 0.0
    ambiguity_margin: float = 0.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base_dir: Path = CONFIG_DIR) -> MatchConfig:
        """Build a config from parsed TOML; data files named in it are read from ``base_dir``."""
        thresholds = data.get("thresholds", {})
        blocking = data.get("blocking", {})
        comparisons = data.get("comparisons", {})
        options = comparisons.get("options", {})
        clustering = data.get("clustering", {})
        normalization = _normalization(data.get("normalization", {}), base_dir)
        return cls(
            auto_threshold=float(thresholds.get("auto", 0.99)),
            review_threshold=float(thresholds.get("review", 0.80)),
            generic_key_cap=int(blocking.get("generic_key_cap", 50)),
            default_region=normalization.default_region,
            attributes={
                name: _attribute_type(kind) for name, kind in data.get("attributes", {}).items()
            },
            normalization=normalization,
            levels={
                kind: tuple(_level(spec) for spec in table.get("levels", []))
                for kind, table in comparisons.items()
                if kind != "options"
            },
            skip=frozenset(options.get("skip", [])),
            swap=tuple(options.get("swap", [])),
            term_frequency=frozenset(options.get("term_frequency", [])),
            shared_values=tuple(options.get("shared_values", [])),
            groups=tuple(tuple(group) for group in options.get("groups", [])),
            overlaps=tuple(
                Overlap(
                    str(rule["attribute"]),
                    frozenset(rule["levels"]),
                    tuple(rule["covered_by"]),
                )
                for rule in options.get("overlaps", [])
            ),
            compare_sources=bool(options.get("compare_sources", False)),
            personal=tuple(options.get("personal", [])),
            household=tuple(options.get("household", [])),
            conflict_weight=float(options.get("conflict_weight", -2.0)),
            conflict_weight_alone=float(options.get("conflict_weight_alone", -8.0)),
            personal_agreement=float(options.get("personal_agreement", "-inf")),
            blocking_rules=tuple(
                BlockingRule(
                    str(rule["name"]),
                    tuple(rule["fields"]),
                    int(rule["cap"]) if "cap" in rule else None,
                )
                for rule in blocking.get("rules", [])
            ),
            model=_model_defaults(data.get("model", {})),
            exclusive=frozenset(clustering.get("exclusive", [])),
            weak_bridge_min_side=int(clustering.get("weak_bridge_min_side", 2)),
            weak_bridge_weight=float(clustering.get("weak_bridge_weight", 12.0)),
            linkage_probability=float(clustering.get("linkage_probability", 0.0)),
            ambiguity_margin=float(clustering.get("ambiguity_margin", 0.0)),
        )


def _attribute_type(kind: str) -> AttributeType:
    if kind not in ATTRIBUTE_TYPES:
        raise ValueError(f"unknown attribute type {kind!r}; expected one of {ATTRIBUTE_TYPES}")
    return kind  # type: ignore[return-value]


def _level(spec: Mapping[str, Any]) -> LevelSpec:
    kind = str(spec["kind"])
    if kind not in LEVEL_KINDS:
        raise ValueError(f"unknown comparison level {kind!r}")
    return LevelSpec(
        kind=kind,
        threshold=float(spec.get("threshold", 0.0)),
        distance=int(spec.get("distance", 1)),
        length=int(spec.get("length", 3)),
        same_numbers=bool(spec.get("same_numbers", False)),
    )


def _normalization(data: Mapping[str, Any], base_dir: Path) -> Normalization:
    def words(key: str) -> frozenset[str]:
        return frozenset(str(v).strip().lower() for v in data.get(key, []))

    nicknames: tuple[tuple[str, ...], ...] = ()
    if name := data.get("nicknames_file"):
        nicknames = read_nicknames(base_dir / str(name))
    return Normalization(
        default_region=str(data.get("default_region", "US")),
        date_order=str(data.get("date_order", "MDY")).upper(),
        missing_values=frozenset(fold(v) for v in data.get("missing_values", [])),
        missing_emails=words("missing_emails"),
        missing_phones=words("missing_phones"),
        missing_dates=words("missing_dates"),
        missing_identifiers=words("missing_identifiers"),
        dotless_email_domains=words("dotless_email_domains"),
        plus_tag_email_domains=words("plus_tag_email_domains"),
        email_domain_aliases=dict(data.get("email_domain_aliases", {})),
        name_particles=words("name_particles"),
        name_noise=words("name_noise"),
        address_abbreviations=dict(data.get("address_abbreviations", {})),
        nicknames=nicknames,
    )


def read_nicknames(path: Path) -> tuple[tuple[str, ...], ...]:
    """Read nickname groups: one group a line, names separated by spaces, ``#`` comments."""
    groups = []
    for line in path.read_text(encoding="utf-8").splitlines():
        names = line.split("#", 1)[0].split()
        if len(names) > 1:
            groups.append(tuple(n.lower() for n in names))
    return tuple(groups)


def _model_defaults(data: Mapping[str, Any]) -> ModelDefaults:
    defaults = data.get("defaults", {})
    return ModelDefaults(
        duplicates=float(data.get("duplicates", 1.0)),
        records=int(data.get("records", 100_000)),
        fit_from=int(data.get("fit_from", 1000)),
        u_sample_pairs=int(data.get("u_sample_pairs", 2_000_000)),
        em_max_pairs=int(data.get("em_max_pairs", 3_000_000)),
        em_iterations=int(data.get("em_iterations", 40)),
        blocking_recall=float(data.get("blocking_recall", 0.9)),
        m_prior_matches=float(data.get("m_prior_matches", 50.0)),
        min_m_different=float(data.get("min_m_different", 0.01)),
        max_weight_change=float(data.get("max_weight_change", 4.0)),
        min_change_support=float(data.get("min_change_support", 20.0)),
        household_share=float(data.get("household_share", 0.05)),
        tf_min_count=int(data.get("tf_min_count", 2)),
        tf_max_down=float(data.get("tf_max_down", 10.0)),
        tf_max_up=float(data.get("tf_max_up", 4.0)),
        generic_values=tuple(data.get("generic_values", [])),
        max_m={
            kind: {level: float(bound) for level, bound in levels.items()}
            for kind, levels in data.get("max_m", {}).items()
        },
        m={k: tuple(float(x) for x in v["m"]) for k, v in defaults.items()},
        u={k: tuple(float(x) for x in v["u"]) for k, v in defaults.items()},
    )


def load_match_config(path: Path | None = None) -> MatchConfig:
    """Read the matching config file (the packaged default when no path is given).

    >>> load_match_config().attributes["email"]
    'email'
    """
    target = path or DEFAULT_PATH
    with target.open("rb") as handle:
        return MatchConfig.from_mapping(tomllib.load(handle), target.parent)
