"""One pagination style across the API: an opaque cursor, a ``limit``, and ``next_cursor``.

A cursor is the key of the last item a page returned (base64url of a small JSON list); the
next page starts after it. Clients pass it back unchanged and never look inside.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validates

from app.errors import InvalidInput


def encode_cursor(key: list[Any]) -> str:
    """The opaque cursor that resumes after an item with this key."""
    text = json.dumps(key, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The key a cursor holds; a cursor that is not one of ours is a 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != length:
        raise InvalidInput("invalid cursor", {"cursor": ["not a cursor this API returned"]})
    return key


def page_limit(requested: int | None) -> int:
    """The page size to use: the requested one, or the configured default."""
    default: int = current_app.config["PAGE_SIZE_DEFAULT"]
    return requested or default


class PageQuerySchema(Schema):
    """``limit`` (1 to the configured maximum) and the ``cursor`` of the previous page."""

    limit = fields.Integer(load_default=None)
    cursor = fields.String(load_default=None)

    @validates("limit")
    def _limit_in_range(self, value: int | None, **_: Any) -> None:
        largest: int = current_app.config["PAGE_SIZE_MAX"]
        if value is not None and not 1 <= value <= largest:
            raise ValidationError(f"must be between 1 and {largest}")


def decode_typed(cursor: str | None, *kinds: Callable[[Any], Any]) -> list[Any] | None:
    """A cursor's key with each part converted by its kind (None when there is no cursor)."""
    if cursor is None:
        return None
    key = decode_cursor(cursor, len(kinds))
    try:
        return [None if part is None else kind(part) for kind, part in zip(kinds, key, strict=True)]
    except (TypeError, ValueError):
        raise InvalidInput(
            "invalid cursor", {"cursor": ["not a cursor this API returned"]}
        ) from None


def aware_datetime(text: str) -> datetime:
    """A cursor part holding a time; one without a time zone is not one of ours."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("naive time in a cursor")
    return moment
