"""How syncs, their runs and rejects, and the jobs handed to the workers look over the API."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.pagination import PageSchema


class SyncRequestSchema(Schema):
    """Options of a sync."""

    full = fields.Boolean(load_default=False)


class SyncRunSchema(Schema):
    """One sync of a source."""

    id = fields.Integer()
    status = fields.String()
    full = fields.Boolean()
    started_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)
    duration_seconds = fields.Float(allow_none=True)
    elapsed_seconds = fields.Float(metadata={"description": "so far, while it runs"})
    records_per_second = fields.Float(allow_none=True)
    counts = fields.Dict(
        metadata={"description": "pages and records read, created, updated, ... so far"}
    )
    error = fields.String(allow_none=True)
    cancel_requested_at = fields.AwareDateTime(allow_none=True)


class JobSchema(Schema):
    """Work a request handed to the workers (an erasure, a source's removal), and how it went."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": "erase or remove_source"})
    subject = fields.String(metadata={"description": "the customer's id, or the source's name"})
    actor = fields.String()
    status = fields.String(metadata={"description": "queued, running, succeeded or failed"})
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    result = fields.Dict(
        allow_none=True,
        metadata={"description": "what it did, once succeeded (as the request used to answer)"},
    )
    error = fields.Dict(
        allow_none=True,
        metadata={"description": "the problem (status, title, detail) it failed with"},
    )


class SyncRunListSchema(PageSchema):
    """A page of sync runs."""

    data = fields.List(fields.Nested(SyncRunSchema))


class StoredRejectSchema(Schema):
    """Input a source sent that could not be ingested."""

    id = fields.Integer()
    stream = fields.String()
    position = fields.String()
    reason = fields.String()
    raw = fields.Raw(allow_none=True)
    run_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()


class RejectListSchema(PageSchema):
    """A page of rejects."""

    data = fields.List(fields.Nested(StoredRejectSchema))
