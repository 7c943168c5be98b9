"""Identity endpoints: one identity by id, with the evidence holding it together."""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from flask_smorest import Blueprint

from app.auth.guard import roles
from app.db import get_session
from app.identity import service
from app.identity.schemas import IdentitySchema, LookupQuerySchema
from app.privacy.guard import personal
from app.resolution import explain as resolution
from app.resolution.runtime import current_matcher
from app.resolution.schemas import ExplanationSchema

blp = Blueprint("identities", __name__, url_prefix="/api/v1/identities", description="Identities")


@blp.get("/<public_id>")
@blp.response(200, IdentitySchema)
@blp.alt_response(308, description="merged away: Location names the surviving identity")
@roles("admin", "agent")
@personal
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
@blp.response(308, description="Location: the customer lookup of this identifier")
@blp.doc(deprecated=True)
@roles("admin", "agent")
def lookup(query: dict[str, str]) -> Any:
    """Moved: customers are looked up by one identifier at
    ``/api/v1/customers/lookup/{reference}`` (``email:...``, ``phone:...``,
    ``SOURCE:EXTERNAL_ID``), cursor-paged. ``?email=``, ``?phone=`` and
    ``?source=&external_id=`` answer 308 with that address."""
    return redirect(url_for("customers.lookup_customers", reference=query["reference"]), 308)


@blp.get("/<public_id>/explain")
@blp.response(200, ExplanationSchema)
@blp.alt_response(308, description="merged away: Location names the surviving identity")
@roles("admin", "agent")
@personal
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
