"""E-mails and phones normalized exactly as the matcher normalizes them.

The customer view and the event intake read identifiers through this one function, so they
follow the matcher's rules wherever those live. Results are cached: an identity's golden record
is recomputed whenever it changes, and parsing phone numbers is the slow part.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache, lru_cache

from flask import current_app, has_app_context

from app.matching import MatchConfig, load_match_config
from app.matching.lookup import normalize_identifier as matcher_normalize
from app.matching.normalize import Normalizer

_normalizers: dict[tuple[int, str], Normalizer] = {}


@cache
def _packaged_config() -> MatchConfig:
    return load_match_config()


def _normalizer(region: str) -> Normalizer:
    """The matcher's normalizer of the running application (or the packaged config)."""
    config: MatchConfig = (
        current_app.extensions["huella.match_config"] if has_app_context() else _packaged_config()
    )
    key = (id(config), region)
    if key not in _normalizers:
        rules = replace(config.normalization, default_region=region)
        _normalizers[key] = Normalizer(replace(config, normalization=rules))
    return _normalizers[key]


@lru_cache(maxsize=65536)
def _normalized(normalizer: Normalizer, kind: str, value: str) -> str | None:
    return matcher_normalize(normalizer, kind, value)


def normalize_identifier(kind: str, value: str, region: str) -> str | None:
    """The normalized e-mail or phone (``kind``), None when the text is not one.

    >>> normalize_identifier("email", " Ana@Example.COM ", "US")
    'ana@example.com'
    """
    return _normalized(_normalizer(region), kind, value)
