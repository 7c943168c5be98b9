"""Identity endpoints: one profile by id, lookup by identifier."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, url_for
from flask_smorest import Blueprint

from app.auth.guard import roles
from app.db import get_session
from app.identity import service
from app.identity.schemas import IdentityListSchema, IdentitySchema, LookupQuerySchema
from app.resolution import explain as resolution
from app.resolution.runtime import current_matcher
from app.resolution.schemas import ExplanationSchema

blp = Blueprint("identities", __name__, url_prefix="/api/v1/identities", description="Identities")


@blp.get("/<public_id>")
@blp.response(200, IdentitySchema)
@blp.alt_response(308, description="merged away: Location names the surviving identity")
@roles("admin", "agent")
def get_identity(public_id: str) -> Any:
    """One identity with its records grouped by source; a merged-away id redirects."""
    session = get_session()
    identity = service.get_by_public_id(session=session, public_id=public_id)
    if identity.merged_into_id is not None:
        target = service.survivor(session=session, identity=identity)
        return redirect(url_for("identities.get_identity", public_id=target.public_id), 308)
    return identity


@blp.get("")
@blp.arguments(LookupQuerySchema(), location="query")
@blp.response(200, IdentityListSchema)
@roles("admin", "agent")
def lookup(query: dict[str, str]) -> dict[str, Any] | Response:
    """Identities holding a record with this e-mail, phone, or source id."""
    session = get_session()
    found = service.lookup(session=session, normalizer=current_matcher(session).normalizer, **query)
    return {"data": found, "next_cursor": None}


@blp.get("/<public_id>/explain")
@blp.response(200, ExplanationSchema)
@blp.alt_response(308, description="merged away: Location names the surviving identity")
@roles("admin", "agent")
def explain(public_id: str) -> Any:
    """The identity's records, the edges that hold them together and each edge's per-attribute
    levels and weights."""
    session = get_session()
    identity = service.get_by_public_id(session=session, public_id=public_id)
    if identity.merged_into_id is not None:
        target = service.survivor(session=session, identity=identity)
        return redirect(url_for("identities.explain", public_id=target.public_id), 308)
    return resolution.explain_identity(
        session=session,
        matcher=current_matcher(session),
        public_id=identity.public_id,
        records=service.live_records(identity),
    )
