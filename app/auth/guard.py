"""Every /api route needs a bearer token, and each view names the roles that may call it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from app.auth import service
from app.auth.service import Caller
from app.db import get_db, get_session
from app.errors import ConfigError, Forbidden, Unauthorized

F = TypeVar("F", bound=Callable[..., Any])
_ROLES_ATTRIBUTE = "_huella_roles"
_CACHE_SECONDS_MAX = 1.0


def roles(*allowed: str) -> Callable[[F], F]:
    """Declare which roles may call a view."""

    def mark(view: F) -> F:
        setattr(view, _ROLES_ATTRIBUTE, frozenset(allowed))
        return view

    return mark


def allowed_roles(view: Callable[..., Any]) -> frozenset[str] | None:
    """The roles a view declared, None when it declared none."""
    found: frozenset[str] | None = getattr(view, _ROLES_ATTRIBUTE, None)
    while found is None and hasattr(view, "__wrapped__"):
        view = view.__wrapped__
        found = getattr(view, _ROLES_ATTRIBUTE, None)
    return found


def current_token() -> Caller:
    """Who is calling: the token of the current API request."""
    caller: Caller = g.api_token
    return caller


def _bearer_secret() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send an API token: 'Authorization: Bearer <token>'")
    return secret.strip()


def _guard_api() -> None:
    if not request.path.startswith("/api/") or request.endpoint is None:
        return
    # A session of its own, closed before the view runs: the view's sessions start after it.
    with get_db().read_session() as reading:
        token = service.authenticate(
            session=reading,
            secret=_bearer_secret(),
            cache_seconds=float(current_app.config["TOKEN_CACHE_SECONDS"]),
        )
    if service.record_use(session=get_session(), caller=token):
        get_session().commit()  # keeps last_used_at; nothing else is pending this early
    g.api_token = token
    view = current_app.view_functions[request.endpoint]
    permitted = allowed_roles(view)
    # Fail closed: a view that forgot to declare its roles is callable by nobody.
    if not permitted or token.role not in permitted:
        raise Forbidden(f"role {token.role!r} may not call {request.method} {request.path}")


def init_app(app: Flask) -> None:
    """Install the token check in front of every /api route."""
    if not 0 <= float(app.config["TOKEN_CACHE_SECONDS"]) <= _CACHE_SECONDS_MAX:
        # Past a second, a revoked token would go on working in other server processes.
        raise ConfigError(f"token_cache_seconds must be between 0 and {_CACHE_SECONDS_MAX}")
    app.before_request(_guard_api)
