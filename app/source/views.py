"""Source endpoints: list sources; departments push records."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint

from app.auth.guard import current_token, roles
from app.db import get_session, retry_contended
from app.errors import Forbidden
from app.ingest import flows, worker
from app.pagination import (
    PageArgsSchema,
    decode_typed,
    key_page,
    page_limit,
    source_name,
)
from app.resolution.runtime import current_matcher
from app.resolution.views import accepted
from app.settings import get_settings
from app.source import service
from app.source.models import Source
from app.source.schemas import (
    PushBatchSchema,
    PushResultSchema,
    ScheduleSchema,
    SourceCreateSchema,
    SourceListSchema,
    SourceSchema,
    SourceUpdateSchema,
)
from app.sync import service as sync
from app.sync.schemas import JobSchema

blp = Blueprint("sources", __name__, url_prefix="/api/v1/sources", description="Sources")


@blp.get("")
@blp.arguments(PageArgsSchema(), location="query")
@blp.response(200, SourceListSchema)
@roles("admin", "agent")
def list_sources(args: dict[str, Any]) -> dict[str, Any]:
    """The connected sources, by name."""
    limit = page_limit(args["limit"])
    after = decode_typed(args["cursor"], source_name)
    found = service.list_sources(
        session=get_session(), after=after[0] if after else None, limit=limit + 1
    )
    return key_page(found, limit, lambda source: [source.name])


@blp.post("")
@blp.arguments(SourceCreateSchema())
@blp.response(201, SourceSchema)
@roles("admin")
def create_source(body: dict[str, Any]) -> Source:
    """Connect a department system."""
    session = get_session()
    source = service.create(session=session, policy=get_settings().sources, **body)
    session.commit()
    return source


@blp.get("/<name>")
@blp.response(200, SourceSchema)
@roles("admin", "agent")
def get_source(name: str) -> Source:
    """One source."""
    return service.get_by_name(session=get_session(), name=name)


@blp.patch("/<name>")
@blp.arguments(SourceUpdateSchema())
@blp.response(200, SourceSchema)
@roles("admin")
def update_source(body: dict[str, Any], name: str) -> Source:
    """Change a source's settings (those given replace the stored ones; null removes one) or
    its priority; the result is checked as a new source's would be."""
    session = get_session()
    source = service.update(
        session=session,
        source=service.get_by_name(session=session, name=name),
        policy=get_settings().sources,
        **body,
    )
    session.commit()
    return source


@blp.post("/<name>/pause")
@blp.response(200, SourceSchema)
@roles("admin")
def pause_source(name: str) -> Source:
    """Pause a source: no sync (by hand or on schedule) and no push until it is resumed."""
    return _set_paused(name, paused=True)


@blp.post("/<name>/resume")
@blp.response(200, SourceSchema)
@roles("admin")
def resume_source(name: str) -> Source:
    """Resume a paused source."""
    return _set_paused(name, paused=False)


def _set_paused(name: str, *, paused: bool) -> Source:
    session = get_session()
    source = service.set_paused(
        source=service.get_by_name(session=session, name=name), paused=paused
    )
    session.commit()
    return source


@blp.delete("/<name>")
@blp.response(202, JobSchema)
@roles("admin")
def remove_source(name: str) -> Response:
    """Remove a department: its records go, the identities they were part of are re-resolved
    without them, and the removal is audited; its events, runs and tokens go too. The workers
    do it: the answer is the job (Location), whose result says what went."""
    session = get_session()
    source = service.get_by_name(session=session, name=name)
    job = sync.queue_job(
        session=session, kind="remove_source", subject=source.name, actor=current_token().name
    )
    worker.hand_over(session, job, "huella.remove_source", source=name, actor=job.actor)
    return accepted(job)


@blp.put("/<name>/schedule")
@blp.arguments(ScheduleSchema())
@blp.response(200, SourceSchema)
@roles("admin")
def set_schedule(body: dict[str, Any], name: str) -> Source:
    """Sync the source on a schedule (an interval such as 15m, or a cron expression in UTC),
    or only when asked (null); ``huella scheduler`` queues the syncs."""
    session = get_session()
    source = service.get_by_name(session=session, name=name)
    service.set_schedule(source=source, schedule=body["schedule"])
    session.commit()
    return source


@blp.post("/<name>/records")
@blp.arguments(PushBatchSchema())
@blp.response(200, PushResultSchema)
@roles("admin", "connector")
def push_records(batch: dict[str, Any], name: str) -> dict[str, Any]:
    """A department pushes a batch of records; idempotent by external id."""
    session = get_session()
    source = service.get_by_name(session=session, name=name)
    token = current_token()
    if token.role == "connector" and token.source_id != source.id:
        raise Forbidden(f"this token may push only to its own source, not {name!r}")
    service.check_running(source)
    matcher = current_matcher(session)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    on_workers = worker.celery_of(app) is not None
    report = retry_contended(
        session,
        lambda: flows.push_records(
            session=session,
            settings=get_settings(),
            source=source,
            items=batch["records"],
            matcher=matcher,
            batch_max=current_app.config["PUSH_BATCH_MAX"],
            fit=not on_workers,
        ),
    )
    session.commit()
    if on_workers:  # fitting the model is long work: the workers do it
        worker.fit_later(app, session=session, matcher=matcher, newest=report.newest)
    return {**report.counts(), "rejects": report.rejects}
