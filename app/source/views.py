"""Source endpoints: list sources; departments push records."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from app.auth.guard import current_token, roles
from app.db import get_session
from app.errors import Forbidden
from app.resolution.runtime import current_matcher
from app.source import service
from app.source.schemas import PushBatchSchema, PushResultSchema, SourceListSchema
from app.sync import service as sync

blp = Blueprint("sources", __name__, url_prefix="/api/v1/sources", description="Sources")


@blp.get("")
@blp.response(200, SourceListSchema)
@roles("admin", "agent")
def list_sources() -> dict[str, Any]:
    """Every connected source."""
    return {"data": service.list_sources(session=get_session()), "next_cursor": None}


@blp.post("/<name>/records")
@blp.arguments(PushBatchSchema)
@blp.response(200, PushResultSchema)
@roles("admin", "connector")
def push_records(batch: dict[str, Any], name: str) -> dict[str, Any]:
    """A department pushes a batch of records; idempotent by external id."""
    session = get_session()
    source = service.get_by_name(session=session, name=name)
    token = current_token()
    if token.role == "connector" and token.source_id != source.id:
        raise Forbidden(f"this token may push only to its own source, not {name!r}")
    report = sync.push_records(
        session=session,
        source=source,
        items=batch["records"],
        matcher=current_matcher(session),
        batch_max=current_app.config["PUSH_BATCH_MAX"],
    )
    session.commit()
    return {**report.counts(), "rejects": report.rejects}
