"""Issuing and checking API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ROLES, ApiToken
from app.db import utcnow
from app.errors import InvalidInput
from app.source.models import Source

TOKEN_PREFIX = "hu_"
# Writing last_used_at on every request would turn each read into a write; once a minute is
# precise enough to tell which tokens are in use.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    """The stored form of a token: tokens are long random strings, so plain SHA-256 suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    *, session: Session, name: str, role: str, source: Source | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it and its secret, which is never stored and shown only once."""
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
        name=name, role=role, source=source, token_hash=hash_secret(secret), prefix=secret[:10]
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


# Recently verified tokens, so hot reads skip a query: secret hash -> (caller, verified at).
_verified: dict[str, tuple[Caller, float]] = {}
_VERIFIED_MAX = 10_000


def authenticate(*, session: Session, secret: str, cache_seconds: float = 0.0) -> Caller | None:
    """The caller holding this secret, None when it is unknown or revoked.

    With ``cache_seconds``, a token verified that recently is trusted without a query; a
    revocation then reaches other processes within that time (this one at once).
    """
    digest = hash_secret(secret)
    cached = _verified.get(digest)
    if cached is not None and time.monotonic() - cached[1] < cache_seconds:
        return cached[0]
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.revoked_at is not None:
        _verified.pop(digest, None)
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now
    caller = Caller(token.id, token.name, token.role, token.source_id)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[digest] = (caller, time.monotonic())
    return caller


def list_tokens(*, session: Session) -> list[ApiToken]:
    """Every token, newest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def revoke(*, session: Session, token: ApiToken) -> None:
    """Stop a token from working."""
    token.revoked_at = token.revoked_at or utcnow()
    _verified.pop(token.token_hash, None)


def describe(*, session: Session, caller: Caller) -> dict[str, Any]:
    """What a caller may know of its own token."""
    source = session.get(Source, caller.source_id) if caller.source_id is not None else None
    return {"name": caller.name, "role": caller.role, "source": source.name if source else None}
