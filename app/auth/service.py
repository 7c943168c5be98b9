"""Issuing and checking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

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


def authenticate(*, session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, or None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def list_tokens(*, session: Session) -> list[ApiToken]:
    """Every token, newest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def revoke(*, session: Session, token: ApiToken) -> None:
    """Stop a token from working."""
    token.revoked_at = token.revoked_at or utcnow()
