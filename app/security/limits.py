"""Input limits: how large a request, its address and its JSON may be, and how long one value.

Whatever a caller sends, the answer is a problem document with a 4xx status: a body over the
cap is a 413, an address over the cap a 414, and JSON that no store could keep (NUL characters,
lone surrogates, NaN or infinite numbers, nesting deeper than the cap) a 400, all checked
before any view runs. A value longer than the per-value cap rejects only its own record or
event, with the reason (see :mod:`app.security.values`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, ClassVar
from urllib.parse import quote

from flask import Flask, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from app.errors import BadRequest, HuellaError
from app.fields import ROW_ID_MAX
from app.security.values import dotted, walk

_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


class PayloadTooLarge(HuellaError, status=413, slug="payload-too-large", title="Payload too large"):
    """The request's body is larger than the configured cap."""


class AddressTooLong(HuellaError, status=414, slug="uri-too-long", title="URI too long"):
    """The request's address (path and query) is longer than the configured cap."""


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in routes: an id beyond what a row can have is a 404 at once, rather than
    reaching the store, which would refuse the number. (A ``max`` on the converter would make
    werkzeug answer 405 to the other methods of the route.)"""

    def to_python(self, value: str) -> Any:
        """The id, or NotFound past the largest a row can have."""
        number = super().to_python(value)
        if isinstance(number, int) and number > ROW_ID_MAX:
            raise NotFound(f"no row has an id as large as {value}")
        return number


def _storable(document: Any, max_depth: int) -> None:
    """Raise BadRequest when a parsed JSON body holds what no store can keep."""
    for where, node in walk(document):
        if len(where) > max_depth:
            raise BadRequest(f"JSON nested deeper than {max_depth} levels at {dotted(where)}")
        if isinstance(node, str) and _UNSTORABLE_TEXT.search(node):
            raise BadRequest(
                f"{dotted(where)} holds a NUL character or a lone surrogate, which text may not"
            )


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is beyond a 64-bit float")
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json_body(data: bytes, max_depth: int) -> Any:
    """The JSON document of a body; BadRequest when it is not one Huella can store."""
    try:
        document = json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as error:  # malformed JSON, bad UTF-8, numbers beyond every limit
        raise BadRequest(f"the body is not JSON Huella can read: {error}") from None
    _storable(document, max_depth)
    return document


class RequestLimits:
    """The configured caps, checked before any view (and before the token is looked up)."""

    METHODS_WITH_BODY: ClassVar[frozenset[str]] = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, max_body_bytes: int, max_url_length: int, max_json_depth: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_url_length = max_url_length
        self.max_json_depth = max_json_depth

    def check(self) -> None:
        """Refuse the current request when it is over a cap or holds unstorable text."""
        length = _address_length()
        if length > self.max_url_length:
            raise AddressTooLong(
                f"the address is {length} characters long; at most {self.max_url_length}"
            )
        values = (value for listed in request.args.listvalues() for value in listed)
        address = [request.path, *request.args.keys(), *values]
        if any("\x00" in part for part in address):
            raise BadRequest("the address holds a NUL character")
        if request.method not in self.METHODS_WITH_BODY:
            return
        if (request.content_length or 0) > self.max_body_bytes:
            raise PayloadTooLarge(f"the body is larger than {self.max_body_bytes} bytes")
        if request.is_json:
            data = request.get_data(cache=True)  # werkzeug stops a longer chunked body too
            if data:
                parse_json_body(data, self.max_json_depth)


def _address_length() -> int:
    # What the client sent (gunicorn and werkzeug's server keep it), else the address rebuilt.
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    query = request.query_string
    return len(quote(request.path)) + (len(query) + 1 if query else 0)


def init_app(app: Flask) -> None:
    """Apply the configured caps to every request; route ids stay within a row's range."""
    limits = RequestLimits(
        max_body_bytes=int(app.config["MAX_BODY_BYTES"]),
        max_url_length=int(app.config["MAX_URL_LENGTH"]),
        max_json_depth=int(app.config["MAX_JSON_DEPTH"]),
    )
    # Flask's own cap also stops bodies sent without a length (chunked).
    app.config["MAX_CONTENT_LENGTH"] = limits.max_body_bytes
    app.url_map.converters["int"] = RowIdConverter
    app.before_request(limits.check)
