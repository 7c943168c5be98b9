"""One pagination style across the API: an opaque cursor and a limit, newest first."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from marshmallow import Schema, fields, validate

from app.errors import BadRequest
from app.fields import EARLIEST, LATEST, ROW_ID_MAX

_CURSOR_MAX_LENGTH = 1024
_EVENT_ID_MAX = 2**63 - 1  # events are counted in a 64-bit column
_NAME_MAX_LENGTH = 100  # a source's name


class _NotOurs(ValueError):
    """A cursor position that no page of this API would have made."""


def _forged() -> BadRequest:
    return BadRequest("the cursor is not valid", errors={"cursor": ["not a cursor we made"]})


def encode_cursor(position: Any) -> str:
    """An opaque cursor for a position (any JSON value, e.g. the last id seen)."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The position a cursor stands for; BadRequest (400) when it was not made by us: a forged
    cursor is refused, never read as the first page."""
    if len(cursor) > _CURSOR_MAX_LENGTH:
        raise _forged()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()), parse_constant=_no_constant)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _forged() from None


def _no_constant(name: str) -> Any:
    raise _NotOurs(name)


def _whole(position: Any, largest: int) -> int:
    if isinstance(position, bool) or not isinstance(position, int):
        raise _NotOurs("not a whole number")
    if not 0 < position <= largest:
        raise _NotOurs("out of range")
    return position


def row_id(position: Any) -> int:
    """A cursor position holding the id of a row of Huella's."""
    return _whole(position, ROW_ID_MAX)


def event_id(position: Any) -> int:
    """A cursor position holding the id of an event."""
    return _whole(position, _EVENT_ID_MAX)


def score(position: Any) -> float:
    """A cursor position holding a finite score."""
    if isinstance(position, bool) or not isinstance(position, int | float):
        raise _NotOurs("not a number")
    if not math.isfinite(position):
        raise _NotOurs("not finite")
    return float(position)


def source_name(position: Any) -> str:
    """A cursor position holding a source's name: text the store could have kept."""
    if not isinstance(position, str) or not 0 < len(position) <= _NAME_MAX_LENGTH:
        raise _NotOurs("not a name")
    if "\x00" in position:
        raise _NotOurs("a NUL character")
    return position


def optional(kind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A position of this kind that may also be null (e.g. the score of an unscored hit)."""
    return lambda position: None if position is None else kind(position)


def page_limit(requested: int | None) -> int:
    """The page size: the request's, else the default, never above the configured maximum."""
    maximum = int(current_app.config["PAGE_SIZE_MAX"])
    return min(requested or int(current_app.config["PAGE_SIZE_DEFAULT"]), maximum)


class PageArgsSchema(Schema):
    """``?limit=&cursor=`` on every list endpoint."""

    limit = fields.Integer(validate=validate.Range(min=1, max=1000), load_default=None)
    cursor = fields.String(load_default=None)


class PageSchema(Schema):
    """A page of every list endpoint: ``data`` (each subclass names what it holds) and the
    cursor of the next page, null on the last."""

    next_cursor = fields.String(allow_none=True)


def id_page(rows: list[Any], limit: int) -> dict[str, Any]:
    """A page of rows fetched with ``limit + 1`` and ordered by descending id."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "next_cursor": encode_cursor(rows[-1].id) if more else None}


def before_id(cursor: str | None) -> int | None:
    """The id a descending-id cursor continues below."""
    if cursor is None:
        return None
    try:
        return row_id(decode_cursor(cursor))
    except _NotOurs:
        raise _forged() from None


def decode_typed(cursor: str | None, *kinds: Callable[[Any], Any]) -> list[Any] | None:
    """A cursor holding a list of positions, each checked and converted by its kind (see
    ``row_id``, ``score``, ``aware_datetime``, ``optional``); None: no cursor."""
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    try:
        if not isinstance(position, list) or len(position) != len(kinds):
            raise _NotOurs("not a position of this list")
        return [kind(p) for kind, p in zip(kinds, position, strict=True)]
    except (TypeError, ValueError):
        raise _forged() from None


def aware_datetime(text: Any) -> datetime:
    """A cursor position holding a time; one without a time zone, or beyond what the store
    can hold, is not one of ours."""
    if not isinstance(text, str):
        raise _NotOurs("not a time")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise _NotOurs("naive time in a cursor")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise _NotOurs("beyond the calendar") from None
    if not EARLIEST <= moment < LATEST:
        raise _NotOurs("beyond the times Huella keeps")
    return moment


def key_page(rows: list[Any], limit: int, key: Callable[[Any], list[Any]]) -> dict[str, Any]:
    """A page of rows fetched with ``limit + 1`` in the order of a compound key (such as
    priority then id); the cursor holds the key of the page's last row."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "next_cursor": encode_cursor(key(rows[-1])) if more else None}
