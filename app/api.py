"""The HTTP API: one flask-smorest Api, every domain's blueprint, problem-details errors."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api as SmorestApi
from marshmallow import Schema, fields

from app import errors


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error response is shaped."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "field -> messages, on 422"})


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api, answering errors with Huella's problem documents."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        errors.init_app(self._app)


def init_app(app: Flask) -> None:
    """Mount every API blueprint and the OpenAPI document (/openapi.json)."""
    from app.audit.views import blp as audit  # noqa: PLC0415
    from app.auth.views import blp as me  # noqa: PLC0415
    from app.customer.views import blp as customers  # noqa: PLC0415
    from app.event.views import blp as events  # noqa: PLC0415
    from app.identity.views import blp as identities  # noqa: PLC0415
    from app.resolution.views import blp as admin  # noqa: PLC0415
    from app.review.views import blp as review  # noqa: PLC0415
    from app.source.views import blp as sources  # noqa: PLC0415

    spec_kwargs: dict[str, Any] = {
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
    api = Api(app, spec_kwargs=spec_kwargs)
    for blueprint in (identities, sources, admin, customers, events, review, audit, me):
        api.register_blueprint(blueprint)
    app.extensions["huella.api"] = api
