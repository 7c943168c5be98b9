"""Masking: what a role that may not see every value (an agent, by default) sees of one.

Plain functions over JSON documents, no database: a document's values are masked by the name
they stand under (``email``, the golden record's ``emails``, a record's ``birth_date``, an
explanation's ``{"attribute": "phone", "left": ..., "right": ...}``), as config/privacy.toml
says for each name.

>>> mask_value("email", "rosa.quintanilla@gmail.com")
'r•••@gmail.com'
>>> mask_value("last_digits", "+34 622 000 111")
'+•• ••• ••• 111'
>>> mask_value("no_year", "1979-11-02")
'••••-11-02'
>>> mask_value("hidden", "Carrer Zorrilla 71")
'•••'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DOT = "•"
# An e-mail keeps its first letter and its domain, a phone its last three digits, a date its
# month and day; anything else (``hidden``) nothing.
_KEPT_DIGITS = 3
# The members of an explanation's contribution that hold the compared values.
_COMPARED = ("left", "right", "value")


def mask_value(mask: str, value: str) -> str:
    """A value as the mask shows it."""
    if mask == "email":
        local, at, domain = value.rpartition("@")
        return f"{local[:1]}{DOT * 3}@{domain}" if at and local else DOT * 3
    if mask == "last_digits":
        digits = sum(c.isdigit() for c in value)
        seen, shown = 0, []
        for c in value:
            if c.isdigit():
                seen += 1
                shown.append(c if seen > digits - _KEPT_DIGITS else DOT)
            else:
                shown.append(c)
        return "".join(shown)
    if mask == "no_year":
        year, dash, rest = value.partition("-")
        return f"{DOT * len(year)}-{rest}" if dash and year.isdigit() else DOT * 3
    return DOT * 3


def _masked(mask: str, value: Any, masks: Mapping[str, str]) -> Any:
    """A value under a masked name: a text, a list of them, a value with its provenance."""
    if isinstance(value, str):
        return mask_value(mask, value)
    if isinstance(value, list):
        return [_masked(mask, item, masks) for item in value]
    if isinstance(value, dict):
        if "value" in value:
            return {**value, "value": _masked(mask, value["value"], masks)}
        return mask_document(value, masks)  # an address's parts, each under its own name
    return value


def mask_document(document: Any, masks: Mapping[str, str]) -> Any:
    """A JSON document with every value under a masked name masked (``masks``: name -> mask)."""
    if isinstance(document, list):
        return [mask_document(item, masks) for item in document]
    if not isinstance(document, dict):
        return document
    attribute = document.get("attribute")
    if isinstance(attribute, str) and attribute in masks:  # a comparison of two values
        mask = masks[attribute]
        return {k: _masked(mask, v, masks) if k in _COMPARED else v for k, v in document.items()}
    return {
        name: _masked(masks[name], value, masks) if name in masks else mask_document(value, masks)
        for name, value in document.items()
    }
