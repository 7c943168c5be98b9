"""How the audit trail looks over the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.pagination import PageArgsSchema, PageSchema


class AuditEntrySchema(Schema):
    """One change to identities (who, when, why, the identities before and after), or one
    read of customers' data (``kind=read``: who, when, which route, which customers)."""

    id = fields.Integer()
    at = fields.AwareDateTime()
    actor = fields.String(metadata={"description": "the token's name, cli:<user>, or system"})
    action = fields.String(
        metadata={
            "description": "changes: create, attach, detach, merge, split, keep_apart, dismiss, "
            "undo, erase, lift_suppression; reads: read, reveal (with its reason)"
        }
    )
    route = fields.String(metadata={"description": "reads: the route that showed the data"})
    reason = fields.String()
    identities = fields.Function(
        lambda entry: [s.identity_public_id for s in entry.subjects],
        metadata={"description": "the identities the change concerns"},
    )
    before = fields.Dict()
    after = fields.Dict()
    undone_by = fields.Integer(attribute="undone_by_id", allow_none=True)


class AuditListSchema(PageSchema):
    """A page of audit entries, newest first."""

    data = fields.List(fields.Nested(AuditEntrySchema))


class AuditQuerySchema(PageArgsSchema):
    """Filters of the audit trail: changes, or reads of customers' data (``kind=read``)."""

    kind = fields.String(
        load_default="change",
        validate=validate.OneOf(("change", "read")),
        metadata={
            "description": "change (default) or read: profile reads, lookups, searches "
            "and reveals by the roles whose reads are audited"
        },
    )
    identity = fields.String(load_default=None, metadata={"description": "an identity's id"})
    action = fields.String(load_default=None)
    actor = fields.String(load_default=None)


class HistorySchema(AuditListSchema):
    """The story of one identity, newest first, including the identities merged into it."""

    identity = fields.String()
    merged = fields.List(
        fields.String(), metadata={"description": "ids merged into this identity (redirects)"}
    )
