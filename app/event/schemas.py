"""How events, identify calls and timelines look over the API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.fields import Instant
from app.pagination import PageArgsSchema, PageSchema

IDENTIFIERS = ("email", "phone", "record")


class CustomerReferenceSchema(Schema):
    """Names a customer: exactly one of ``email``, ``phone``, ``record`` (SOURCE:EXTERNAL_ID)."""

    email = fields.String(validate=validate.Length(min=1, max=255))
    phone = fields.String(validate=validate.Length(min=1, max=64))
    record = fields.String(
        validate=validate.Regexp(r"^[^:]+:.+$", error="must look like SOURCE:EXTERNAL_ID"),
        metadata={"description": "SOURCE:EXTERNAL_ID, the id a department gives the customer"},
    )
    anonymous_id = fields.String(validate=validate.Length(min=1, max=255))


class EventInSchema(CustomerReferenceSchema):
    """One event, naming its customer by an identifier, an anonymous id, or both (both also
    stitches the anonymous id to the identifier, as an identify call would)."""

    type = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$", error="lower-case snake_case"),
        metadata={"description": "page_view, search, like, review, order, ticket, ..."},
    )
    occurred_at = Instant(load_default=None)
    id = fields.String(
        validate=validate.Length(min=1, max=255),
        load_default=None,
        metadata={"description": "the source's id for the event; resending it updates it"},
    )
    properties = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "category (affinities), amount and currency (orders), ..."},
    )

    @validates_schema
    def _one_customer(self, data: dict[str, Any], **_: Any) -> None:
        named = [name for name in IDENTIFIERS if name in data]
        if len(named) > 1:
            raise ValidationError(f"name the customer once, not by {' and '.join(named)}")
        if not named and "anonymous_id" not in data:
            raise ValidationError("name the customer: email, phone, record or anonymous_id")


class EventBatchSchema(Schema):
    """A batch of events; each is validated on its own so one bad event loses no other."""

    source = fields.String(
        load_default=None,
        metadata={"description": "the source the events come from; a connector token's own"},
    )
    events = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class EventRejectSchema(Schema):
    """An event that was refused, and why."""

    position = fields.String()
    reason = fields.String()


class EventBatchStatusSchema(Schema):
    """A batch of events: queued, then written, with what came of it (the counts and rejects
    appear once it is done)."""

    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, then done"})
    queued = fields.Integer(metadata={"description": "events in the batch"})
    received_at = fields.AwareDateTime()
    done_at = fields.AwareDateTime(allow_none=True)
    accepted = fields.Integer(attribute="outcome.accepted")
    updated = fields.Integer(attribute="outcome.updated")
    unchanged = fields.Integer(attribute="outcome.unchanged")
    suppressed = fields.Integer(
        attribute="outcome.suppressed",
        metadata={"description": "events naming an erased person: dropped, nothing stored"},
    )
    rejected = fields.Integer(attribute="outcome.rejected")
    rejects = fields.List(fields.Nested(EventRejectSchema), attribute="outcome.rejects")


class IdentifySchema(CustomerReferenceSchema):
    """Stitch a source's anonymous visitor to a known identifier."""

    anonymous_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    source = fields.String(
        load_default=None,
        metadata={"description": "the source whose visitor this is; a connector token's own"},
    )

    @validates_schema
    def _one_identifier(self, data: dict[str, Any], **_: Any) -> None:
        if sum(name in data for name in IDENTIFIERS) != 1:
            raise ValidationError("give exactly one of email, phone, record")


class TimelineQuerySchema(PageArgsSchema):
    """Filters and paging of a timeline: ``type`` and ``source`` may repeat."""

    type = fields.List(fields.String(), load_default=list)
    source = fields.List(fields.String(), load_default=list)


class TimelineEventSchema(Schema):
    """One event of a customer's timeline."""

    id = fields.String()
    type = fields.String()
    occurred_at = fields.AwareDateTime()
    source = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    via = fields.String(metadata={"description": "record, email, phone or anonymous"})
    properties = fields.Dict()


class TimelineSchema(PageSchema):
    """A page of a customer's timeline, newest first."""

    data = fields.List(fields.Nested(TimelineEventSchema))
