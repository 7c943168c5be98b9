"""Identifiers people look customers up by, normalized the way the matcher normalizes them."""

from __future__ import annotations

from collections.abc import Mapping

from app.matching.matcher import normalize_email, normalize_phone

LOOKUP_KINDS = ("email", "phone")


def normalize_identifier(kind: str, value: str, region: str) -> str | None:
    """The normalized form of an e-mail or phone, None when it is not one."""
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value, region)
    raise ValueError(f"unknown identifier kind {kind!r}")


def record_identifiers(
    attributes: Mapping[str, str], attribute_types: Mapping[str, str], region: str
) -> set[tuple[str, str]]:
    """Every (kind, normalized value) a record holds, from canonical and declared attributes.

    >>> sorted(record_identifiers({"email": " Ana@X.org "}, {}, "US"))
    [('email', 'ana@x.org')]
    """
    found = set()
    for name, text in attributes.items():
        kind = name if name in LOOKUP_KINDS else attribute_types.get(name)
        if kind in LOOKUP_KINDS and (value := normalize_identifier(kind, text, region)):
            found.add((kind, value))
    return found
