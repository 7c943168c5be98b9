"""E-mails and phones normalized exactly as the matcher normalizes them.

The customer view and the event intake read identifiers through this one function, given the
matcher's configuration (``settings.match``), so they follow the matcher's rules wherever those
live. Results are cached: an identity's golden record is recomputed
whenever it changes, and parsing phone numbers is the slow part.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from app.matching import MatchConfig
from app.matching.lookup import normalize_identifier as matcher_normalize
from app.matching.normalize import Normalizer, region_of_country

# A normalizer per configuration, keyed by its id; each entry keeps its configuration alive so
# that the id is never reused. An application has one configuration, a test a few.
_normalizers: dict[int, tuple[MatchConfig, Normalizer]] = {}


def _normalizer(config: MatchConfig) -> Normalizer:
    """The matcher's normalizer of this configuration."""
    if id(config) not in _normalizers:
        _normalizers[id(config)] = (config, Normalizer(config))
    return _normalizers[id(config)][1]


@lru_cache(maxsize=65536)
def _normalized(normalizer: Normalizer, kind: str, value: str, region: str | None) -> str | None:
    if region is not None and kind == "phone":
        return normalizer.value("phone", value, region)
    return matcher_normalize(normalizer, kind, value)


def normalize_identifier(
    kind: str, value: str, config: MatchConfig, region: str | None = None
) -> str | None:
    """The normalized e-mail or phone (``kind``) as the matcher ``config`` normalizes it (phones
    without a country code read in ``region``, a region code, else in its normalization's
    ``default_region``); None when the text is not one.

    >>> from app.matching import load_match_config
    >>> normalize_identifier("email", " Ana@Example.COM ", load_match_config())
    'ana@example.com'
    """
    return _normalized(_normalizer(config), kind, value, region)


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


def phone_readings(value: str, config: MatchConfig, region: str | None = None) -> list[str]:
    """Every number a phone as an agent typed it can be, normalized as the matcher stores
    phones: in ``region`` when one is given ("FR", or a country's name); written with its
    country code, that number; written nationally (``06 13 25 74 39``), its reading in the
    default region, and in every region where it is a valid number, since the customer's
    records may carry their country. Empty when it cannot be a phone.

    >>> from app.matching import load_match_config
    >>> phone_readings("06 13 25 74 39", load_match_config(), region="FR")
    ['+33613257439']
    """
    text = value.strip()
    if region is not None:
        code = region_of_country(region)
        read = _normalizer(config).value("phone", text, code) if code else None
        return [read] if read else []
    default = normalize_identifier("phone", text, config)
    readings = [default] if default else []
    if text.startswith("+") or not readings:
        return readings
    return readings + [n for n in _national_readings(text) if n not in readings]


@lru_cache(maxsize=4096)
def _national_readings(text: str) -> tuple[str, ...]:
    found = set()
    for code in phonenumbers.SUPPORTED_REGIONS:
        try:
            number = phonenumbers.parse(text, code)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return tuple(sorted(found))
