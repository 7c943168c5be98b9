"""Identifiers people look customers up by, normalized the way the matcher normalizes them."""

from __future__ import annotations

from collections.abc import Mapping

from app.matching.normalize import Normalizer

LOOKUP_KINDS = ("email", "phone")


def normalize_identifier(normalizer: Normalizer, kind: str, value: str) -> str | None:
    """The normalized form of an e-mail or phone, None when it is not one (or a placeholder)."""
    if kind not in LOOKUP_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    return normalizer.value(kind, value)  # type: ignore[arg-type]


def record_identifiers(
    normalizer: Normalizer, attributes: Mapping[str, str], attribute_types: Mapping[str, str]
) -> set[tuple[str, str]]:
    """Every (kind, normalized value) a record holds, from canonical and declared attributes.

    >>> from app.matching.config import load_match_config
    >>> sorted(record_identifiers(Normalizer(load_match_config()), {"email": " Ana@X.org "}, {}))
    [('email', 'ana@x.org')]
    """
    found = set()
    for name, text in attributes.items():
        kind = name if name in LOOKUP_KINDS else attribute_types.get(name)
        if kind in LOOKUP_KINDS and (value := normalize_identifier(normalizer, kind, text)):
            found.add((kind, value))
    return found
