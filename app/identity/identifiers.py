"""E-mails and phones normalized exactly as the matcher normalizes them.

The customer view and the event intake read identifiers through this one function, given the
matcher's configuration (``settings.match``), so they follow the matcher's rules wherever those
live. Results are cached: an identity's golden record is recomputed
whenever it changes, and parsing phone numbers is the slow part.
"""

from __future__ import annotations

from functools import lru_cache

from app.matching import MatchConfig
from app.matching.lookup import normalize_identifier as matcher_normalize
from app.matching.normalize import Normalizer

# A normalizer per configuration, keyed by its id; each entry keeps its configuration alive so
# that the id is never reused. An application has one configuration, a test a few.
_normalizers: dict[int, tuple[MatchConfig, Normalizer]] = {}


def _normalizer(config: MatchConfig) -> Normalizer:
    """The matcher's normalizer of this configuration."""
    if id(config) not in _normalizers:
        _normalizers[id(config)] = (config, Normalizer(config))
    return _normalizers[id(config)][1]


@lru_cache(maxsize=65536)
def _normalized(normalizer: Normalizer, kind: str, value: str) -> str | None:
    return matcher_normalize(normalizer, kind, value)


def normalize_identifier(kind: str, value: str, config: MatchConfig) -> str | None:
    """The normalized e-mail or phone (``kind``) as the matcher ``config`` normalizes it (phones
    without a country code read in its normalization's ``default_region``); None when the text
    is not one.

    >>> from app.matching import load_match_config
    >>> normalize_identifier("email", " Ana@Example.COM ", load_match_config())
    'ana@example.com'
    """
    return _normalized(_normalizer(config), kind, value)


@lru_cache(maxsize=65536)
def _normalized_date(normalizer: Normalizer, value: str) -> str | None:
    return normalizer.date(value)


def normalize_date(value: str, config: MatchConfig) -> str | None:
    """A date in ISO form (``1988-02-14``) as the matcher ``config`` reads it, whichever way it
    was written; None when the text is not a date (or a placeholder such as 1900-01-01).

    >>> from app.matching import load_match_config
    >>> normalize_date("02/14/1988", load_match_config())
    '1988-02-14'
    """
    return _normalized_date(_normalizer(config), value)
