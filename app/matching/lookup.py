"""Identifiers people look customers up by, normalized the way the matcher normalizes them."""

from __future__ import annotations

from collections.abc import Mapping

from app.matching.normalize import Normalizer
from app.matching.types import AttributeName, AttributeType

LOOKUP_KINDS = ("email", "phone")


def normalize_identifier(normalizer: Normalizer, kind: str, value: str) -> str | None:
    """The normalized form of an e-mail or phone, None when it is not one (or a placeholder)."""
    if kind not in LOOKUP_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    return normalizer.value(kind, value)  # type: ignore[arg-type]


def record_identifiers(
    values: Mapping[AttributeName, str], attribute_types: Mapping[AttributeName, AttributeType]
) -> set[tuple[str, str]]:
    """Every (kind, value) a prepared record holds: its normalized e-mails and phones, from
    canonical and declared attributes (normalized once, by :meth:`Matcher.prepare`).

    >>> from app.matching import InputRecord, Matcher, load_match_config
    >>> matcher = Matcher(load_match_config(), attribute_types={"work_mail": "email"})
    >>> ready = matcher.prepare(InputRecord(1, "crm", {"email": " Ana@X.org ", "work_mail": "-"}))
    >>> sorted(record_identifiers(ready.values, matcher.types))
    [('email', 'ana@x.org')]
    """
    return {
        (kind, value)
        for name, value in values.items()
        if (kind := attribute_types.get(name)) in LOOKUP_KINDS
    }
