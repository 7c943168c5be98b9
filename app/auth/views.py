"""Who am I (for the console), and the admins' token registry."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from app.auth import service
from app.auth.guard import current_token, roles
from app.auth.models import ApiToken
from app.auth.schemas import (
    MeSchema,
    TokenCreatedSchema,
    TokenCreateSchema,
    TokenListSchema,
    TokenSchema,
)
from app.db import get_session
from app.pagination import PageArgsSchema, before_id, id_page, page_limit
from app.source import service as sources

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The signed-in token")
tokens = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens", description="API tokens")


@blp.get("/me")
@blp.response(200, MeSchema)
@roles("admin", "agent", "connector")
def me() -> dict[str, Any]:
    """The token making the request: its name, role and, for a connector, its source."""
    return service.describe(session=get_session(), caller=current_token())


@tokens.get("")
@tokens.arguments(PageArgsSchema(), location="query")
@tokens.response(200, TokenListSchema)
@roles("admin")
def list_tokens(args: dict[str, Any]) -> dict[str, Any]:
    """Every token, newest first, with its last use (to the minute) and expiry."""
    limit = page_limit(args["limit"])
    rows = service.list_tokens(
        session=get_session(), limit=limit + 1, before=before_id(args["cursor"])
    )
    return id_page(rows, limit)


@tokens.post("")
@tokens.arguments(TokenCreateSchema())
@tokens.response(201, TokenCreatedSchema)
@roles("admin")
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Create a token; its secret is in this answer only. Without ``expires_in``, the role's
    configured lifetime applies (connector tokens: 90 days)."""
    session = get_session()
    source = sources.get_by_name(session=session, name=body["source"]) if body["source"] else None
    lifetime = service.lifetime_for(
        body["role"], body["expires_in"], current_app.config["TOKENS"]["lifetime_days"]
    )
    token, secret = service.create(
        session=session, name=body["name"], role=body["role"], source=source, lifetime=lifetime
    )
    session.commit()
    return {"token": token, "secret": secret}


@tokens.get("/<int:token_id>")
@tokens.response(200, TokenSchema)
@roles("admin")
def get_token(token_id: int) -> ApiToken:
    """One token."""
    return service.get(session=get_session(), token_id=token_id)


@tokens.delete("/<int:token_id>")
@tokens.response(204)
@roles("admin")
def revoke_token(token_id: int) -> None:
    """Revoke a token: refused at once by this server process, within a second by others."""
    session = get_session()
    service.revoke(session=session, token=service.get(session=session, token_id=token_id))
    session.commit()
