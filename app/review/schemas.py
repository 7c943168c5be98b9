"""How the review queue, decisions, merges, splits and undos look over the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.audit.schemas import AuditEntrySchema
from app.fields import ROW_ID_MAX, row_id
from app.pagination import PageArgsSchema, PageSchema
from app.resolution.schemas import ContributionSchema, EdgeSchema
from app.review.models import REVIEW_KINDS, REVIEW_STATUSES
from app.review.service import DECISIONS


def _note() -> fields.String:
    return fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        metadata={"description": "why: kept in the audit trail"},
    )


class ItemQuerySchema(PageArgsSchema):
    """Filters of the queue."""

    kind = fields.String(validate=validate.OneOf(REVIEW_KINDS), load_default=None)
    source = fields.String(load_default=None)
    status = fields.String(validate=validate.OneOf(REVIEW_STATUSES), load_default="open")


class ItemRecordSchema(Schema):
    """One record an item is about, and the identity holding it now."""

    reference = fields.String(metadata={"description": "SOURCE:EXTERNAL_ID"})
    identity = fields.String(allow_none=True)
    live = fields.Boolean()
    source = fields.String(metadata={"description": "the department holding the record"})
    name = fields.String(allow_none=True, metadata={"description": "as the department wrote it"})
    email = fields.String(allow_none=True)


class ReviewItemSchema(Schema):
    """Something the matcher is unsure about, for a person to decide."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": ", ".join(REVIEW_KINDS)})
    status = fields.String(metadata={"description": ", ".join(REVIEW_STATUSES)})
    priority = fields.Float(
        allow_none=True,
        metadata={
            "description": "how much the decision matters: closeness to the auto-match "
            "threshold times log2(1 + records of the identities involved)"
        },
    )
    probability = fields.Float(allow_none=True)
    left = fields.Nested(ItemRecordSchema, allow_none=True)
    right = fields.Nested(ItemRecordSchema, allow_none=True)
    detail = fields.Dict()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    claimed_by = fields.String(allow_none=True)
    claim_expires_at = fields.AwareDateTime(allow_none=True)
    decision = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    change = fields.Integer(allow_none=True, metadata={"description": "the decision's audit entry"})


class NextQuerySchema(Schema):
    """Which item to open next."""

    after = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=ROW_ID_MAX),
        metadata={"description": "the item open now: the next one after it"},
    )
    backwards = fields.Boolean(
        load_default=False, metadata={"description": "the item before ``after`` instead"}
    )
    kind = fields.String(validate=validate.OneOf(REVIEW_KINDS), load_default=None)
    source = fields.String(load_default=None)


class NextItemSchema(Schema):
    """The item to open next, or none left."""

    item = fields.Nested(ReviewItemSchema, allow_none=True)


class ReviewItemListSchema(PageSchema):
    """A page of the queue."""

    data = fields.List(fields.Nested(ReviewItemSchema))


class SideRecordSchema(Schema):
    """A record with its attributes."""

    reference = fields.String()
    attributes = fields.Dict(keys=fields.String(), values=fields.String())


class SideSchema(SideRecordSchema):
    """One side of a comparison: the record and the identity holding it."""

    live = fields.Boolean()
    identity = fields.String(allow_none=True)
    identity_records = fields.List(fields.Nested(SideRecordSchema))


class ScoreSchema(Schema):
    """How the matcher scores the pair, attribute by attribute."""

    weight = fields.Float()
    probability = fields.Float()
    verdict = fields.String(metadata={"description": "auto, review or below"})
    stored = fields.Boolean(metadata={"description": "false: scored now, no edge is stored"})
    contributions = fields.List(fields.Nested(ContributionSchema))


class ValueSchema(Schema):
    """One value of an attribute and the records holding it."""

    value = fields.String()
    records = fields.List(fields.String())


class MergePreviewSchema(Schema):
    """What a merge would give; nothing is written."""

    identities = fields.List(fields.String())
    survivor = fields.String(metadata={"description": "the id the merged identity keeps"})
    records = fields.List(fields.String())
    golden = fields.Dict(allow_none=True, metadata={"description": "the merged golden record"})
    attributes = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(ValueSchema)))


class HolderSchema(Schema):
    """A record holding a generic value."""

    reference = fields.String()
    identity = fields.String(allow_none=True)


class ComparisonSchema(Schema):
    """A review item side by side."""

    item = fields.Nested(ReviewItemSchema)
    left = fields.Nested(SideSchema, allow_none=True)
    right = fields.Nested(SideSchema, allow_none=True)
    score = fields.Nested(ScoreSchema, allow_none=True)
    edges = fields.List(fields.Nested(EdgeSchema))
    preview = fields.Nested(MergePreviewSchema, allow_none=True)
    holders = fields.List(fields.Nested(HolderSchema))


class DecisionSchema(Schema):
    """A person's decision on an item."""

    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    note = _note()


class DecisionResultSchema(Schema):
    """The decided item and the change it made."""

    item = fields.Nested(ReviewItemSchema)
    change = fields.Nested(AuditEntrySchema)


class BulkDecisionSchema(Schema):
    """The same decision for several items, with one note."""

    items = fields.List(row_id(), required=True, validate=validate.Length(min=1, max=200))
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    note = _note()


class RefusalSchema(Schema):
    """An item a bulk decision could not decide."""

    item = fields.Integer()
    detail = fields.String()


class BulkDecisionResultSchema(Schema):
    """What a bulk decision decided, and what it refused (each refusal left nothing behind)."""

    decided = fields.List(fields.Nested(DecisionResultSchema))
    refused = fields.List(fields.Nested(RefusalSchema))


class MergeSchema(Schema):
    """Merge identities into one."""

    identities = fields.List(fields.String(), required=True, validate=validate.Length(min=2))
    note = _note()


class SplitSchema(Schema):
    """Split an identity; records not named in any part form one more part."""

    identity = fields.String(required=True)
    parts = fields.List(
        fields.List(fields.String(), validate=validate.Length(min=1)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "lists of SOURCE:EXTERNAL_ID"},
    )
    note = _note()


class SplitPartSchema(Schema):
    """One part of a split preview."""

    identity = fields.String(allow_none=True, metadata={"description": "null: a new identity"})
    records = fields.List(fields.String())


class SplitPreviewSchema(Schema):
    """What a split would give; nothing is written."""

    identity = fields.String()
    parts = fields.List(fields.Nested(SplitPartSchema))


class UndoSchema(Schema):
    """Undo a change (an audit entry)."""

    change = row_id(required=True)
    note = _note()
