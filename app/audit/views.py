"""The audit trail: every change to identities, and the story of one identity."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from app.audit import service
from app.audit.models import AuditEntry
from app.audit.schemas import AuditEntrySchema, AuditListSchema, AuditQuerySchema, HistorySchema
from app.auth.guard import roles
from app.db import get_session
from app.exports import EXPORT_MAX, csv_response
from app.identity import service as identities
from app.pagination import PageArgsSchema, before_id, id_page, page_limit

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail")


@blp.get("/audit")
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, AuditListSchema)
@roles("admin")
def list_entries(args: dict[str, Any]) -> dict[str, Any]:
    """Changes to identities, newest first, or reads of customers' data (``kind=read``);
    ``identity`` keeps those concerning one id."""
    limit = page_limit(args["limit"])
    listing = service.list_reads if args["kind"] == "read" else service.list_entries
    rows = listing(
        session=get_session(),
        limit=limit + 1,
        identities=[args["identity"]] if args["identity"] else None,
        action=args["action"],
        actor=args["actor"],
        before=before_id(args["cursor"]),
    )
    return id_page(rows, limit)


@blp.get("/audit/export")
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, {"format": "binary", "type": "string"}, content_type="text/csv")
@roles("admin")
def export_entries(args: dict[str, Any]) -> Response:
    """The audit trail as CSV (at most 10,000 entries, newest first), with the filters of the
    list: id, when, who, what, which identities, why."""
    listing = service.list_reads if args["kind"] == "read" else service.list_entries
    entries = listing(
        session=get_session(),
        limit=EXPORT_MAX,
        identities=[args["identity"]] if args["identity"] else None,
        action=args["action"],
        actor=args["actor"],
        before=None,
    )
    rows = [
        [
            e.id,
            e.at.isoformat(),
            e.actor,
            e.action,
            [s.identity_public_id for s in e.subjects],
            e.reason,
        ]
        for e in entries
    ]
    header = ["id", "at", "actor", "action", "identities", "reason"]
    return csv_response("audit.csv", header, rows)


@blp.get("/audit/<int:entry_id>")
@blp.response(200, AuditEntrySchema)
@roles("admin")
def get_entry(entry_id: int) -> AuditEntry:
    """One change."""
    return service.get(session=get_session(), entry_id=entry_id)


@blp.get("/identities/<public_id>/history")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, HistorySchema)
@roles("admin")
def history(args: dict[str, Any], public_id: str) -> dict[str, Any]:
    """The story of one identity, newest first: its own changes and those of the identities
    merged into it."""
    session = get_session()
    identity = identities.get_by_public_id(session=session, public_id=public_id)
    merged = identities.merged_into(session=session, identity=identity)
    limit = page_limit(args["limit"])
    rows = service.list_entries(
        session=session,
        limit=limit + 1,
        identities=[identity.public_id, *merged],
        before=before_id(args["cursor"]),
    )
    return {"identity": identity.public_id, "merged": merged, **id_page(rows, limit)}
