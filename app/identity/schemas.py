"""How identities look over the API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from app.identity.models import Identity
from app.identity.service import live_records, records_by_source


class RecordSchema(Schema):
    """One department's record of the customer."""

    source = fields.Function(lambda r: r.source.name)
    external_id = fields.String()
    attributes = fields.Dict(keys=fields.String(), values=fields.String())
    first_seen_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    source_updated_at = fields.AwareDateTime(allow_none=True)


class IdentitySchema(Schema):
    """An identity with its records grouped by source."""

    id = fields.String(attribute="public_id")
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    record_count = fields.Method("_record_count")
    sources = fields.Method("_sources")

    def _record_count(self, identity: Identity) -> int:
        return len(live_records(identity))

    def _sources(self, identity: Identity) -> dict[str, Any]:
        grouped = records_by_source(live_records(identity))
        return {name: RecordSchema(many=True).dump(records) for name, records in grouped.items()}


class LookupQuerySchema(Schema):
    """The lookup of earlier releases: exactly one identifier as query parameters, read as the
    ``type:value`` reference the customer lookup takes."""

    email = fields.String()
    phone = fields.String()
    source = fields.String()
    external_id = fields.String()

    @validates_schema
    def _exactly_one(self, data: dict[str, str], **_: Any) -> None:
        named = sum(key in data for key in ("email", "phone", "source"))
        if named != 1 or ("source" in data) != ("external_id" in data):
            raise ValidationError("give email, phone, or source and external_id", "_schema")

    @post_load
    def _reference(self, data: dict[str, str], **_: Any) -> dict[str, str]:
        if "source" in data:
            return {"reference": f"{data['source']}:{data['external_id']}"}
        kind = "email" if "email" in data else "phone"
        return {"reference": f"{kind}:{data[kind]}"}
