"""Admin views of resolution: values too common to block on."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.auth.guard import roles
from app.db import get_session
from app.resolution import service
from app.resolution.runtime import current_matcher
from app.resolution.schemas import GenericValueListSchema

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Administration")


@blp.get("/generic-values")
@blp.response(200, GenericValueListSchema)
@roles("admin")
def generic_values() -> dict[str, Any]:
    """Blocking values shared by more records than the cap: they generate no candidates."""
    session = get_session()
    matcher = current_matcher(session)
    rows = service.generic_values(session=session, matcher=matcher)
    return {
        "data": [
            {"key": key, "records": count, "cap": matcher.key_cap(key)} for key, count in rows
        ],
        "cap": matcher.config.generic_key_cap,
    }
