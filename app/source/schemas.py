"""How sources and pushed records look over the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.fields import ROW_ID_MAX, Instant
from app.pagination import PageSchema


class SourceSchema(Schema):
    """A connected department system."""

    name = fields.String()
    kind = fields.String()
    priority = fields.Integer()
    attribute_types = fields.Dict(keys=fields.String(), values=fields.String())
    created_at = fields.AwareDateTime()
    schedule = fields.String(
        allow_none=True, metadata={"description": "how often it is synced: 15m, or cron (UTC)"}
    )
    next_sync_at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "when the scheduler queues its next sync (later while failing)"},
    )
    consecutive_failures = fields.Integer(
        metadata={"description": "syncs that failed in a row (see its runs for why)"}
    )
    paused = fields.Boolean(metadata={"description": "neither synced nor pushed to until resumed"})
    settings = fields.Dict(
        metadata={"description": "the connector's settings (secrets only by variable name)"}
    )


class SourceUpdateSchema(Schema):
    """Changes to a source: settings given replace the stored ones (null removes one), and its
    survivorship priority."""

    settings = fields.Dict(keys=fields.String(), load_default=None)
    priority = fields.Integer(validate=validate.Range(min=0, max=1_000_000), load_default=None)


class ScheduleSchema(Schema):
    """A source's schedule: an interval (30s, 15m, 6h, 1d), a cron expression in UTC, or null
    to sync only when asked."""

    schedule = fields.String(required=True, allow_none=True, validate=validate.Length(max=100))


class SourceListSchema(PageSchema):
    """A page of sources, by name."""

    data = fields.List(fields.Nested(SourceSchema))


class PushedRecordSchema(Schema):
    """One record a department pushes."""

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    attributes = fields.Dict(
        keys=fields.String(), values=fields.String(allow_none=True), load_default=dict
    )
    raw = fields.Dict(load_default=None)
    deleted = fields.Boolean(load_default=False)
    updated_at = Instant(load_default=None)
    consents = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=50)),
        values=fields.Boolean(),
        load_default=dict,
        metadata={
            "description": "the choices the department recorded, per purpose: "
            '{"email_marketing": false} (see config/privacy.toml)'
        },
    )


class PushBatchSchema(Schema):
    """A batch of pushed records; each is validated on its own so one bad record loses no other."""

    records = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class RejectSchema(Schema):
    """A pushed record that was refused, and why."""

    position = fields.String()
    reason = fields.String()


class PushResultSchema(Schema):
    """What a push changed."""

    created = fields.Integer()
    updated = fields.Integer()
    deleted = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    suppressed = fields.Integer(
        metadata={
            "description": "records carrying an erased person's identifier (a record id, "
            "e-mail or phone on the suppression list): dropped, nothing stored"
        }
    )
    warnings = fields.Integer(
        metadata={
            "description": "values kept as written that cannot be compared (a date that does "
            "not read), flagged on their record"
        }
    )
    identities_created = fields.Integer()
    merges = fields.Integer()
    splits = fields.Integer()
    rejects = fields.List(fields.Nested(RejectSchema))


class SourceCreateSchema(Schema):
    """A new source: its connector kind and settings (secrets by environment variable name)."""

    name = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[a-z][a-z0-9_-]{0,99}$", error="lower-case letters, digits, - and _"
        ),
    )
    kind = fields.String(required=True)
    settings = fields.Dict(keys=fields.String(), load_default=dict)
    attribute_types = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    priority = fields.Integer(load_default=100, validate=validate.Range(min=0, max=ROW_ID_MAX))
