"""Sync endpoints: queue a source's sync, follow and cancel its runs, read what it rejected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from app.auth.guard import roles
from app.db import get_session
from app.ingest import worker
from app.pagination import PageArgsSchema, before_id, id_page, page_limit
from app.source import service as sources
from app.sync import service
from app.sync.models import SyncRun
from app.sync.schemas import (
    RejectListSchema,
    SyncRequestSchema,
    SyncRunListSchema,
    SyncRunSchema,
)

# Under the source's address, as a sync is always one source's.
blp = Blueprint(
    "sync", __name__, url_prefix="/api/v1/sources", description="Syncs: runs and rejects"
)


@blp.post("/<name>/sync")
@blp.arguments(SyncRequestSchema())
@blp.response(202, SyncRunSchema)
@roles("admin")
def start_sync(body: dict[str, Any], name: str) -> SyncRun:
    """Queue a sync of the source for the workers; follow it with GET .../runs."""
    session = get_session()
    source = sources.get_by_name(session=session, name=name)
    sources.check_running(source)
    run = service.queue_run(session=session, source=source, full=body["full"])
    session.commit()
    worker.enqueue(current_app._get_current_object(), "huella.sync", run_id=run.id)  # type: ignore[attr-defined]
    session.refresh(run)
    return run


def _newest_page(
    listing: Callable[..., list[Any]], name: str, args: dict[str, Any]
) -> dict[str, Any]:
    """A page of what ``listing`` keeps of the source (its runs, its rejects), newest first."""
    session = get_session()
    source = sources.get_by_name(session=session, name=name)
    limit = page_limit(args["limit"])
    rows = listing(
        session=session, source=source, limit=limit + 1, before=before_id(args["cursor"])
    )
    return id_page(rows, limit)


@blp.get("/<name>/runs")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, SyncRunListSchema)
@roles("admin")
def list_runs(args: dict[str, Any], name: str) -> dict[str, Any]:
    """The source's sync runs, newest first."""
    return _newest_page(service.list_runs, name, args)


@blp.post("/<name>/runs/<int:run_id>/cancel")
@blp.response(202, SyncRunSchema)
@roles("admin")
def cancel_run(name: str, run_id: int) -> SyncRun:
    """Stop a run: a queued one never starts, a running one stops after the page it is
    storing (what it stored stays; the next sync goes on from there)."""
    session = get_session()
    source = sources.get_by_name(session=session, name=name)
    run = service.cancel_run(
        session=session, run=service.get_run(session=session, source=source, run_id=run_id)
    )
    session.commit()
    return run


@blp.get("/<name>/rejects")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, RejectListSchema)
@roles("admin")
def list_rejects(args: dict[str, Any], name: str) -> dict[str, Any]:
    """What the source sent that could not be ingested, with where and why, newest first."""
    return _newest_page(service.list_rejects, name, args)
