"""How resolution's evidence looks over the API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.matching.levels import describe_level


def _field(contribution: Any, name: str) -> Any:
    """A contribution's field, whether it is a matcher's Contribution or a stored row."""
    if isinstance(contribution, dict):
        return contribution.get(name)
    return getattr(contribution, name)


def level_words(contribution: Any) -> str:
    """The contribution's level in words (a phone or a date differs by digits)."""
    attribute = str(_field(contribution, "attribute"))
    kind = next((k for k in ("phone", "date") if k in attribute), None)
    return describe_level(str(_field(contribution, "level")), kind)


class ContributionSchema(Schema):
    """How one attribute moved a pair's score."""

    attribute = fields.String()
    level = fields.String(metadata={"description": "the level's stable name"})
    described = fields.Function(
        level_words, metadata={"description": "the level in words, for people"}
    )
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
