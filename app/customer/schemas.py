"""How customers look over the API (profiles are stored ready-made; these describe them)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.pagination import PageArgsSchema, PageSchema


class SearchQuerySchema(PageArgsSchema):
    """Search by name, narrowed by city, postcode or birth date; with none, every customer."""

    q = fields.String(load_default=None, metadata={"description": "name, in any word order"})
    city = fields.String(load_default=None)
    postcode = fields.String(load_default=None)
    birth_date = fields.Date(load_default=None)


def _region() -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.Length(min=2, max=60),
        metadata={"description": "where a phone written nationally is read: FR, or France"},
    )


class LookupQuerySchema(PageArgsSchema):
    """A lookup's page, and the region its phone is read in."""

    region = _region()


class LookupSchema(PageArgsSchema):
    """A lookup with the identifier in the body, where no access log keeps it."""

    region = _region()

    reference = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "email:..., phone:..., anonymous:... or SOURCE:EXTERNAL_ID"},
    )


class ProfileQuerySchema(Schema):
    """Profile options."""

    verbose = fields.Boolean(
        load_default=False,
        metadata={"description": "every value with its provenance, every record's attributes"},
    )


class CustomerSchema(Schema):
    """A customer's profile.

    ``golden``: the golden record (verbose: each value with source, external_id, observed_at,
    the rule that chose it, how many records hold it, and its rank); ``values`` (verbose): every
    record's value of every attribute; ``records``: per department; ``consents``: per purpose,
    the choice in force and each department's; ``traits``: first/last seen, orders, tickets,
    e-mail engagement and affinities (only with the ``profiling`` consent in force:
    ``traits.profiling``), as of ``traits.as_of``.
    """

    id = fields.String()
    masked = fields.Boolean(
        metadata={
            "description": "present when values are masked for the caller's role (e-mails, "
            "phones, birth years, streets): POST .../reveal with a reason shows them"
        }
    )
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime(allow_none=True)
    golden = fields.Dict()
    values = fields.Dict()
    records = fields.Dict()
    consents = fields.Dict(
        metadata={
            "description": "per purpose (config/privacy.toml): granted (the choice in force: "
            "the most restrictive any department recorded, else the purpose's default), "
            "recorded, disagreement (departments differ), observed_at, description, and "
            "sources (each department's choice)"
        }
    )
    withdrawn = fields.List(
        fields.String(),
        metadata={
            "description": "purposes a department recorded a withdrawal of, in force: "
            "email_marketing here means no marketing e-mail to any of the customer's addresses"
        },
    )
    traits = fields.Dict(allow_none=True)


class CustomerPageSchema(PageSchema):
    """A page of profiles."""

    data = fields.List(fields.Nested(CustomerSchema))


class SearchHitSchema(Schema):
    """A customer a search found: golden values and records, and the name score (0-100)."""

    id = fields.String()
    score = fields.Float(allow_none=True)
    withdrawn = fields.List(
        fields.String(),
        metadata={"description": "purposes a department recorded a withdrawal of, in force"},
    )
    golden = fields.Dict()
    records = fields.Dict()


class SearchPageSchema(PageSchema):
    """A page of search results, best first."""

    data = fields.List(fields.Nested(SearchHitSchema))
