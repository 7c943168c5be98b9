"""The knobs of the customer view: survivorship rules and trait definitions, from config/.

Plain data, read once at start-up into the application's :class:`app.settings.Settings`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.errors import ConfigError

Rule = Literal["ignore_empty", "source_priority", "most_recent", "most_frequent", "most_complete"]
RULES: tuple[Rule, ...] = (
    "ignore_empty",
    "source_priority",
    "most_recent",
    "most_frequent",
    "most_complete",
)
MultiType = Literal["email", "phone", "address"]


@dataclass(frozen=True, slots=True)
class MultiAttribute:
    """A multi-valued golden attribute (emails, phones, addresses): every distinct value, ranked."""

    name: str
    type: MultiType
    rules: tuple[Rule, ...]
    parts: tuple[str, ...] = ()
    shared_by: int = 0
    """A value this many customers or more hold (an office switchboard, a team inbox) is
    marked shared and ranked last; 0: never."""


@dataclass(frozen=True, slots=True)
class SurvivorshipConfig:
    """Which rules choose each golden value."""

    default_rules: tuple[Rule, ...]
    attributes: Mapping[str, tuple[Rule, ...]]
    multi: tuple[MultiAttribute, ...]
    placeholders: frozenset[str]

    def rules_for(self, attribute: str) -> tuple[Rule, ...]:
        """The rules of a single-valued attribute."""
        return self.attributes.get(attribute, self.default_rules)


@dataclass(frozen=True, slots=True)
class TraitsConfig:
    """Which event types count as what, and how affinities decay."""

    orders: frozenset[str]
    tickets: frozenset[str]
    email_sends: frozenset[str]
    email_opens: frozenset[str]
    email_clicks: frozenset[str]
    closed_ticket_statuses: frozenset[str]
    email_window_days: int
    default_currency: str
    half_life_days: float
    saturation: float
    affinity_weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CustomerConfig:
    """Everything the customer view is configured with."""

    survivorship: SurvivorshipConfig
    traits: TraitsConfig


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None


def _rules(value: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(value, list) or not value or any(rule not in RULES for rule in value):
        raise ConfigError(f"{where}: rules must be a non-empty list of {', '.join(RULES)}")
    return tuple(value)


def parse_survivorship(data: Mapping[str, Any]) -> SurvivorshipConfig:
    """Survivorship rules from the parsed survivorship.toml."""
    multi = []
    for name, spec in data.get("multi", {}).items():
        kind = spec.get("type")
        if kind not in ("email", "phone", "address"):
            raise ConfigError(f"multi.{name}: type must be email, phone or address")
        parts = tuple(spec.get("parts", ()))
        if kind == "address" and not parts:
            raise ConfigError(f"multi.{name}: an address needs its parts")
        shared_by = spec.get("shared_by", 0)
        if not isinstance(shared_by, int) or isinstance(shared_by, bool) or shared_by < 0:
            raise ConfigError(f"multi.{name}: shared_by must be a whole number, 0 for never")
        rules = _rules(spec.get("rules"), f"multi.{name}")
        multi.append(MultiAttribute(name, kind, rules, parts, shared_by))
    return SurvivorshipConfig(
        default_rules=_rules(data.get("defaults", {}).get("rules"), "defaults"),
        attributes={
            name: _rules(rules, f"attributes.{name}")
            for name, rules in data.get("attributes", {}).items()
        },
        multi=tuple(multi),
        placeholders=frozenset(
            v.casefold() for v in data.get("placeholders", {}).get("values", [])
        ),
    )


def parse_traits(data: Mapping[str, Any]) -> TraitsConfig:
    """Trait definitions from the parsed traits.toml."""
    types = data.get("event_types", {})
    affinity = data.get("affinity", {})
    try:
        config = TraitsConfig(
            orders=frozenset(types.get("orders", ())),
            tickets=frozenset(types.get("tickets", ())),
            email_sends=frozenset(types.get("email_sends", ())),
            email_opens=frozenset(types.get("email_opens", ())),
            email_clicks=frozenset(types.get("email_clicks", ())),
            closed_ticket_statuses=frozenset(
                s.casefold() for s in data.get("tickets", {}).get("closed_statuses", ())
            ),
            email_window_days=int(data.get("email", {}).get("window_days", 90)),
            default_currency=str(data.get("orders", {}).get("default_currency", "XXX")),
            half_life_days=float(affinity["half_life_days"]),
            saturation=float(affinity["saturation"]),
            affinity_weights={k: float(v) for k, v in affinity.get("weights", {}).items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"traits configuration: {error!r}") from None
    if config.half_life_days <= 0 or config.saturation <= 0:
        raise ConfigError("traits configuration: half_life_days and saturation must be positive")
    return config


def load_customer_config(survivorship_path: Path, traits_path: Path) -> CustomerConfig:
    """Read both files into one frozen configuration."""
    return CustomerConfig(
        survivorship=parse_survivorship(_read(survivorship_path)),
        traits=parse_traits(_read(traits_path)),
    )
