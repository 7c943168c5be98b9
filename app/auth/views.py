"""Who am I: the one thing a client (the console) needs to know about its own token."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.auth import service
from app.auth.guard import current_token, roles
from app.auth.schemas import MeSchema
from app.db import get_session

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The signed-in token")


@blp.get("/me")
@blp.response(200, MeSchema)
@roles("admin", "agent", "connector")
def me() -> dict[str, Any]:
    """The token making the request: its name, role and, for a connector, its source."""
    return service.describe(session=get_session(), caller=current_token())
