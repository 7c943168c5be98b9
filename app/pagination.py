"""One pagination style across the API: an opaque cursor and a limit, newest first."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from marshmallow import Schema, fields, validate

from app.errors import InvalidInput


def encode_cursor(position: Any) -> str:
    """An opaque cursor for a position (any JSON value, e.g. the last id seen)."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The position a cursor stands for; InvalidInput when it was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "the cursor is not valid", {"cursor": ["not a cursor we made"]}
        ) from None


def page_limit(requested: int | None) -> int:
    """The page size: the request's, else the default, never above the configured maximum."""
    maximum = int(current_app.config["PAGE_SIZE_MAX"])
    return min(requested or int(current_app.config["PAGE_SIZE_DEFAULT"]), maximum)


class PageArgsSchema(Schema):
    """``?limit=&cursor=`` on every list endpoint."""

    limit = fields.Integer(validate=validate.Range(min=1, max=1000), load_default=None)
    cursor = fields.String(load_default=None)


def id_page(rows: list[Any], limit: int) -> dict[str, Any]:
    """A page of rows fetched with ``limit + 1`` and ordered by descending id."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "next_cursor": encode_cursor(rows[-1].id) if more else None}


def before_id(cursor: str | None) -> int | None:
    """The id a descending-id cursor continues below."""
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    if not isinstance(position, int):
        raise InvalidInput("the cursor is not valid", {"cursor": ["not a cursor we made"]})
    return position


def decode_typed(cursor: str | None, *kinds: Callable[[Any], Any]) -> list[Any] | None:
    """A cursor holding a list of positions, each converted by its kind (None: no cursor)."""
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    try:
        if not isinstance(position, list) or len(position) != len(kinds):
            raise ValueError("not a position of this list")
        return [None if p is None else kind(p) for kind, p in zip(kinds, position, strict=True)]
    except (TypeError, ValueError):
        raise InvalidInput(
            "the cursor is not valid", {"cursor": ["not a cursor we made"]}
        ) from None


def aware_datetime(text: str) -> datetime:
    """A cursor position holding a time; one without a time zone is not one of ours."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("naive time in a cursor")
    return moment


def key_page(rows: list[Any], limit: int, key: Callable[[Any], list[Any]]) -> dict[str, Any]:
    """A page of rows fetched with ``limit + 1`` in the order of a compound key (such as
    priority then id); the cursor holds the key of the page's last row."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "next_cursor": encode_cursor(key(rows[-1])) if more else None}
