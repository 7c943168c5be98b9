"""How the signed-in token looks to the console."""

from __future__ import annotations

from marshmallow import Schema, fields


class MeSchema(Schema):
    """The token that made the request: who it is for and what it may do."""

    name = fields.String(metadata={"description": "who or what the token is for"})
    role = fields.String(metadata={"description": "admin, agent or connector"})
    source = fields.String(
        allow_none=True, metadata={"description": "the source a connector token may push to"}
    )
