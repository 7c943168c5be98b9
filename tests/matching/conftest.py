"""Shared fixtures: the packaged config and a matcher built on it."""

from __future__ import annotations

import pytest

from app.matching import MatchConfig, Matcher, load_match_config


@pytest.fixture(scope="session")
def config() -> MatchConfig:
    """The packaged matching config."""
    return load_match_config()


STORE_SIZE = 100_000


@pytest.fixture(scope="session")
def matcher(config: MatchConfig) -> Matcher:
    """A matcher with the default (untrained) model, its prior that of a store of 100,000
    records: in a store that size, two strangers share a common name now and then."""
    extra = {"soc_sec_id": "identifier", "loyalty_tier": "category"}
    default = Matcher(config, extra)
    return default.with_model(default.model.for_store(STORE_SIZE))
