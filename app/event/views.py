"""Event intake: departments and sites push events; identify stitches anonymous visitors."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from app.auth.guard import current_token, roles
from app.db import get_session, retry_contended
from app.errors import Forbidden, InvalidInput
from app.event import intake
from app.event.models import EventBatch
from app.event.schemas import EventBatchSchema, EventBatchStatusSchema, IdentifySchema
from app.ingest import event_flows, worker
from app.settings import get_settings
from app.source import service as sources
from app.source.models import Source

blp = Blueprint("events", __name__, url_prefix="/api/v1", description="Events and identify")


def _source(session: Session, name: str | None) -> Source:
    """The source the call speaks for: a connector token's own, else the one named."""
    token = current_token()
    if token.role == "connector":
        own = session.get_one(Source, token.source_id)
        if name is not None and name != own.name:
            raise Forbidden(f"this token speaks only for its own source, not {name!r}")
        return own
    if name is None:
        raise InvalidInput("name the source", {"source": ["required with an admin token"]})
    return sources.get_by_name(session=session, name=name)


def _records_limited_to(source: Source) -> Source | None:
    """A connector names only its own source's records; an admin any source's."""
    return source if current_token().role == "connector" else None


@blp.post("/events")
@blp.arguments(EventBatchSchema())
@blp.response(202, EventBatchStatusSchema)
@roles("admin", "connector")
def post_events(batch: dict[str, Any]) -> EventBatch:
    """Queue events naming a customer by email, phone, record (SOURCE:EXTERNAL_ID) or
    anonymous_id, up to 1,000 a batch; answers 202 once the batch is safely stored. Workers
    write it to the timeline within moments; GET .../events/batches/ID then tells what came of
    each event (invalid ones are rejected with their reason, the rest are kept)."""
    largest = current_app.config["PUSH_BATCH_MAX"]
    if len(batch["events"]) > largest:
        raise InvalidInput(
            f"a batch holds at most {largest} events", {"events": [f"got {len(batch['events'])}"]}
        )
    session = get_session()
    source = _source(session, batch["source"])
    queued = intake.queue_batch(
        session=session,
        source=source,
        items=batch["events"],
        only_own=_records_limited_to(source) is not None,
    )
    session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker.enqueue(app, "huella.events")
    if worker.runs_inline(app):
        session.refresh(queued)  # written already: the answer tells what came of each event
    return queued


@blp.get("/events/batches/<int:batch_id>")
@blp.response(200, EventBatchStatusSchema)
@roles("admin", "connector")
def get_event_batch(batch_id: int) -> EventBatch:
    """A batch of events: queued, or written with what came of each event."""
    session = get_session()
    token = current_token()
    own = session.get_one(Source, token.source_id) if token.role == "connector" else None
    return intake.get_batch(session=session, batch_id=batch_id, source=own)


@blp.post("/identify")
@blp.arguments(IdentifySchema())
@blp.response(202)
@roles("admin", "connector")
def identify(body: dict[str, Any]) -> Response:
    """Stitch a source's anonymous visitor to an email, phone or record: the visitor's earlier
    and later events appear on that customer's timeline. The answer says nothing of who the
    customer is (a connector learns no identity); agents look the visitor up by
    ``anonymous:SOURCE:ID``."""
    session = get_session()
    source = _source(session, body.pop("source"))
    anonymous_id = body.pop("anonymous_id")
    retry_contended(
        session,
        lambda: event_flows.identify(
            session=session,
            settings=get_settings(),
            anonymous_id=anonymous_id,
            reference=body,
            source=source,
            only_records_of=_records_limited_to(source),
        ),
    )
    session.commit()
    return Response(status=202)
