"""Shared fixtures: the packaged config and a matcher built on it."""

from __future__ import annotations

import pytest

from app.matching import MatchConfig, Matcher, load_match_config


@pytest.fixture(scope="session")
def config() -> MatchConfig:
    """The packaged matching config."""
    return load_match_config()


@pytest.fixture(scope="session")
def matcher(config: MatchConfig) -> Matcher:
    """A matcher with the default (untrained) model."""
    return Matcher(config, {"soc_sec_id": "identifier", "loyalty_tier": "category"})
