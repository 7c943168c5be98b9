"""Issuing and checking API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import ROLES, ApiToken
from app.db import utcnow
from app.errors import InvalidInput, NotFound, Unauthorized
from app.source.models import Source

TOKEN_PREFIX = "hu_"
# Writing last_used_at on every request would turn each read into a write; once a minute is
# precise enough to tell which tokens are in use.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    """The stored form of a token: tokens are long random strings, so plain SHA-256 suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


_LIFETIME = re.compile(r"^\s*(\d{1,5})\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_lifetime(text: str) -> timedelta | None:
    """How long a token lasts, written ``90d``, ``12h`` or ``30m``; ``never``: None.
    ValueError when it is neither."""
    if text.strip().lower() == "never":
        return None
    match = _LIFETIME.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError("write a lifetime as 90d, 12h or 30m, or never")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def default_lifetime(role: str, lifetime_days: Mapping[str, int]) -> timedelta | None:
    """The configured lifetime of a role's new tokens (0 days: they never expire)."""
    days = int(lifetime_days.get(role, 0))
    return timedelta(days=days) if days > 0 else None


def lifetime_for(
    role: str, expires_in: str | None, lifetime_days: Mapping[str, int]
) -> timedelta | None:
    """The lifetime a new token gets: the one asked for, else the role's configured one.
    InvalidInput when the one asked for cannot be read."""
    if expires_in is None:
        return default_lifetime(role, lifetime_days)
    try:
        return parse_lifetime(expires_in)
    except ValueError as error:
        raise InvalidInput(str(error), {"expires_in": [str(error)]}) from None


def create(
    *,
    session: Session,
    name: str,
    role: str,
    source: Source | None = None,
    lifetime: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Create a token, expiring after ``lifetime`` (None: never); returns it and its secret,
    which is never stored and shown only once."""
    if role not in ROLES:
        raise InvalidInput(
            f"unknown role {role!r}", {"role": [f"must be one of {', '.join(ROLES)}"]}
        )
    if (role == "connector") != (source is not None):
        raise InvalidInput(
            "a connector token needs exactly one source; other roles take none",
            {"source": ["required for role connector, not allowed otherwise"]},
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        role=role,
        source=source,
        token_hash=hash_secret(secret),
        prefix=secret[:10],
        expires_at=utcnow() + lifetime if lifetime is not None else None,
    )
    session.add(token)
    session.flush()
    return token, secret


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling the API: what a request needs of its token."""

    token_id: int
    name: str
    role: str
    source_id: int | None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    digest: str = ""


class TokenRefused(Unauthorized):
    """The token is unknown, expired or revoked."""


# Recently verified tokens, so hot reads skip a query: secret hash -> (caller, verified at).
_verified: dict[str, tuple[Caller, float]] = {}
_VERIFIED_MAX = 10_000
# When this process last wrote each token's last use, by the secret's hash.
_noted: dict[str, datetime] = {}


def authenticate(*, session: Session, secret: str, cache_seconds: float = 0.0) -> Caller:
    """The caller holding this secret; TokenRefused when it is unknown, expired or revoked.
    ``session`` only reads (see ``record_use`` for the write).

    With ``cache_seconds``, a token verified that recently is trusted without a query; a
    revocation then reaches other processes within that time (this one at once). An expiry
    is checked on every call.
    """
    digest = hash_secret(secret)
    now = utcnow()
    cached = _verified.get(digest)
    if cached is not None and time.monotonic() - cached[1] < cache_seconds:
        caller = cached[0]
        if caller.expires_at is None or caller.expires_at > now:
            return caller
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    state = token.state(now) if token is not None else "unknown"
    if token is None or state != "active":
        _verified.pop(digest, None)
        if state == "expired":
            raise TokenRefused("the API token has expired")
        raise TokenRefused("the API token is unknown or revoked")
    caller = Caller(
        token.id,
        token.name,
        token.role,
        token.source_id,
        token.expires_at,
        token.last_used_at,
        digest,
    )
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[digest] = (caller, time.monotonic())
    return caller


def record_use(*, session: Session, caller: Caller) -> bool:
    """Note that the caller's token is in use, when its last noted use is older than a minute;
    True when that wrote something (for the caller to commit)."""
    now = utcnow()
    last = max(
        (m for m in (caller.last_used_at, _noted.get(caller.digest)) if m is not None),
        default=None,
    )
    if last is not None and now - last <= _LAST_USED_RESOLUTION:
        return False
    session.execute(update(ApiToken).where(ApiToken.id == caller.token_id).values(last_used_at=now))
    if len(_noted) >= _VERIFIED_MAX:
        _noted.clear()
    _noted[caller.digest] = now
    return True


def get(*, session: Session, token_id: int) -> ApiToken:
    """A token by its id, or NotFound."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    return token


def list_tokens(
    *, session: Session, limit: int | None = None, before: int | None = None
) -> list[ApiToken]:
    """Tokens, newest first, keyset-paged by id."""
    query = select(ApiToken)
    if before is not None:
        query = query.where(ApiToken.id < before)
    return list(session.scalars(query.order_by(ApiToken.id.desc()).limit(limit)))


def revoke(*, session: Session, token: ApiToken) -> None:
    """Stop a token from working: at once in this process, within the token cache's time
    (``token_cache_seconds``, at most a second) in every other."""
    token.revoked_at = token.revoked_at or utcnow()
    _verified.pop(token.token_hash, None)


def describe(*, session: Session, caller: Caller) -> dict[str, Any]:
    """What a caller may know of its own token."""
    source = session.get(Source, caller.source_id) if caller.source_id is not None else None
    return {"name": caller.name, "role": caller.role, "source": source.name if source else None}
