"""How resolution's evidence looks over the API."""

from __future__ import annotations

from marshmallow import Schema, fields


class ContributionSchema(Schema):
    """How one attribute moved a pair's score."""

    attribute = fields.String()
    level = fields.String()
    weight = fields.Float()
    left = fields.String(allow_none=True)
    right = fields.String(allow_none=True)


class EdgeSchema(Schema):
    """Scored evidence between two records."""

    left = fields.String()
    right = fields.String()
    weight = fields.Float()
    probability = fields.Float()
    joins = fields.Boolean(metadata={"description": "at or above the auto-match threshold"})
    contributions = fields.List(fields.Nested(ContributionSchema))


class ExplainedRecordSchema(Schema):
    """A record of the identity, as its source holds it."""

    reference = fields.String(metadata={"description": "SOURCE:EXTERNAL_ID"})
    attributes = fields.Dict(keys=fields.String(), values=fields.String())


class ExplanationSchema(Schema):
    """Why an identity holds its records."""

    identity = fields.String()
    records = fields.List(fields.Nested(ExplainedRecordSchema))
    edges = fields.List(fields.Nested(EdgeSchema))


class GenericValueSchema(Schema):
    """A blocking value too common to tell people apart."""

    key = fields.String()
    records = fields.Integer()
    cap = fields.Integer(metadata={"description": "records its blocking rule allows a value"})


class GenericValueListSchema(Schema):
    """Every generic value."""

    data = fields.List(fields.Nested(GenericValueSchema))
    cap = fields.Integer(metadata={"description": "the cap of rules that set none of their own"})
