"""The matcher's knobs, loaded from ``config/matching.toml`` into a frozen object."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "matching.toml"


@dataclass(frozen=True)
class MatchConfig:
    """Thresholds and limits of the matcher; the core never reads application config."""

    auto_threshold: float = 0.99
    review_threshold: float = 0.80
    generic_key_cap: int = 50
    default_region: str = "US"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MatchConfig:
        """Build a config from parsed TOML, ignoring sections other parts of Huella read."""
        thresholds = data.get("thresholds", {})
        blocking = data.get("blocking", {})
        normalization = data.get("normalization", {})
        return cls(
            auto_threshold=float(thresholds.get("auto", cls.auto_threshold)),
            review_threshold=float(thresholds.get("review", cls.review_threshold)),
            generic_key_cap=int(blocking.get("generic_key_cap", cls.generic_key_cap)),
            default_region=str(normalization.get("default_region", cls.default_region)),
        )


def load_match_config(path: Path | None = None) -> MatchConfig:
    """Read the matching config file (the packaged default when no path is given)."""
    with (path or DEFAULT_PATH).open("rb") as handle:
        return MatchConfig.from_mapping(tomllib.load(handle))
