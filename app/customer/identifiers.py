"""E-mails and phones normalized exactly as the matcher normalizes them.

The customer view and the event intake read identifiers through this one function, so they
follow the matcher's rules wherever those live. Results are cached: an identity's golden record
is recomputed whenever it changes, and parsing phone numbers is the slow part.
"""

from __future__ import annotations

from functools import lru_cache

from app.matching.lookup import normalize_identifier as _matcher_normalize


@lru_cache(maxsize=65536)
def normalize_identifier(kind: str, value: str, region: str) -> str | None:
    """The normalized e-mail or phone (``kind``), None when the text is not one.

    >>> normalize_identifier("email", " Ana@Example.COM ", "US")
    'ana@example.com'
    """
    return _matcher_normalize(kind, value, region)
