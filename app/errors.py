"""One error hierarchy, mapped to one JSON error shape: RFC 9457 problem details.

Services raise these; the handlers registered by ``init_app`` turn them (and validation errors,
and any HTTP error Flask or a library raises) into ``application/problem+json`` responses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

PROBLEM_MIMETYPE = "application/problem+json"
log = logging.getLogger(__name__)


class HuellaError(Exception):
    """Base of every error Huella reports to a user."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init_subclass__(
        cls, *, status: int = 0, slug: str = "", title: str = "", **rest: Any
    ) -> None:
        """A subclass names its problem on its class line (``class NotFound(HuellaError,
        status=404, slug="not-found", title="Not found")``); what it leaves out, it inherits."""
        super().__init_subclass__(**rest)
        cls.status = status or cls.status
        cls.slug = slug or cls.slug
        cls.title = title or cls.title

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ConfigError(HuellaError, slug="configuration", title="Configuration error"):
    """The configuration is missing or wrong."""


class BadRequest(HuellaError, status=400, slug="bad-request", title="Bad request"):
    """The request cannot be understood."""


class Unauthorized(HuellaError, status=401, slug="unauthorized", title="Unauthorized"):
    """No valid credentials came with the request."""


class Forbidden(HuellaError, status=403, slug="forbidden", title="Forbidden"):
    """The credentials are valid but do not allow this."""


class NotFound(HuellaError, status=404, slug="not-found", title="Not found"):
    """The thing asked for does not exist."""


class Conflict(HuellaError, status=409, slug="conflict", title="Conflict"):
    """The request clashes with the current state."""


class InvalidInput(HuellaError, status=422, slug="validation", title="Invalid input"):
    """Input failed validation; ``errors`` maps each offending field to its messages."""

    def __init__(self, detail: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail, errors=dict(errors or {}))


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    """Build a problem-details response."""
    body: dict[str, Any] = {
        "type": extra.pop("type", "about:blank"),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="huella"'
    return response


def _handle_huella_error(error: HuellaError) -> Response:
    if error.status >= 500:
        log.exception("internal error: %s", error.detail)
    return problem(
        error.status,
        error.title,
        error.detail,
        type=f"urn:huella:problem:{error.slug}",
        **error.extra,
    )


def _handle_validation_error(error: ValidationError) -> Response:
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return problem(
        422,
        InvalidInput.title,
        "the request has invalid fields",
        type=f"urn:huella:problem:{InvalidInput.slug}",
        errors=messages,
    )


def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:
        # webargs (behind flask-smorest) reports errors per location: {"json": {...}}.
        messages = data["messages"]
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))
        return _handle_validation_error(ValidationError(messages))
    response = problem(status, error.name, error.description)
    # What the exception says beyond its body: Allow on a 405, Retry-After on a 429 or 503.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def _handle_store_unavailable(error: OperationalError | InterfaceError) -> Response:
    # The store is down, missing or not migrated: the request may succeed later. The driver's
    # message (host names, database names, SQL) stays in the log.
    log.error("the store cannot be used: %s", error)
    return problem(503, "Service unavailable", "the store cannot be reached; try again shortly")


def _handle_unstorable(error: DataError) -> Response:
    # The store refused a value (a number out of its range, text it cannot hold): the input's
    # fault, not the server's. Input is checked before it reaches the store; this is the net.
    # The driver's message may quote the value: only its kind is logged.
    log.warning("the store refused a value: %s", type(error.orig).__name__)
    return problem(400, "Bad request", "a value in the request cannot be stored")


def _handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into a problem document."""
    app.register_error_handler(HuellaError, _handle_huella_error)
    app.register_error_handler(ValidationError, _handle_validation_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(OperationalError, _handle_store_unavailable)
    app.register_error_handler(InterfaceError, _handle_store_unavailable)
    app.register_error_handler(DataError, _handle_unstorable)
    app.register_error_handler(Exception, _handle_unexpected)
