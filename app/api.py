"""The HTTP API: one flask-smorest Api, every domain's blueprint, problem-details errors."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api as SmorestApi
from marshmallow import Schema, fields

from app import errors
from app.fields import ROW_ID_MAX
from app.security.limits import RowIdConverter


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error response is shaped."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "field -> messages, on 422"})


# What any API operation may answer besides its own statuses: a request that cannot be read
# (400), no or a refused token (401), a role that may not (403), an address over the cap (414),
# a rate limit (429), a store that cannot be used (503).
EVERY_OPERATION = (400, 401, 403, 414, 429, 503)
# A write: a source, identity or change its body names does not exist (404), it clashes with
# the current state (409: a claim, a merge undone since, a sync running), its body is over the
# cap (413) or not JSON (415).
WITH_A_BODY = (404, 409, 413, 415)
WITH_AN_ID = (404,)  # the thing the path names does not exist


class DocumentedErrors(BasePlugin):  # type: ignore[misc]
    """Documents, on every API operation, the error statuses any of them may answer; with
    no catch-all ``default``, a status missing from the document is a defect the schema
    tests find."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any
    ) -> None:
        """Add the shared error responses to each operation of an API path."""
        if not path or not path.startswith("/api/") or not operations:
            return
        for method, operation in operations.items():
            statuses = list(EVERY_OPERATION)
            if method in ("post", "put", "patch", "delete"):
                statuses += WITH_A_BODY
            if "{" in path and 404 not in statuses:
                statuses += WITH_AN_ID
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(str(status), HTTPStatus(status).name)


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api, answering errors with Huella's problem documents."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its statuses instead

    def _register_error_handlers(self) -> None:
        errors.init_app(self._app)

    def _register_responses(self) -> None:
        # flask-smorest documents its shared error responses as application/json; Huella sends
        # them as problem documents, and clients choose their parser by the documented type.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = errors.PROBLEM_MIMETYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = SmorestApi.DEFAULT_RESPONSE_CONTENT_TYPE


def init_app(app: Flask) -> None:
    """Mount every API blueprint and the OpenAPI document (/openapi.json)."""
    from app.audit.views import blp as audit  # noqa: PLC0415
    from app.auth.views import blp as me  # noqa: PLC0415
    from app.auth.views import tokens  # noqa: PLC0415
    from app.customer.views import blp as customers  # noqa: PLC0415
    from app.event.views import blp as events  # noqa: PLC0415
    from app.identity.views import blp as identities  # noqa: PLC0415
    from app.privacy.views import blp as privacy  # noqa: PLC0415
    from app.resolution.views import blp as admin  # noqa: PLC0415
    from app.review.views import blp as review  # noqa: PLC0415
    from app.source.views import blp as sources  # noqa: PLC0415
    from app.sync.views import blp as syncs  # noqa: PLC0415

    spec_kwargs: dict[str, Any] = {
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "extra_plugins": [DocumentedErrors()],
    }
    api = Api(app, spec_kwargs=spec_kwargs)
    api.register_converter(
        RowIdConverter, lambda _: {"type": "integer", "minimum": 0, "maximum": ROW_ID_MAX}
    )
    blueprints = (
        identities,
        sources,
        syncs,
        admin,
        customers,
        privacy,
        events,
        review,
        audit,
        me,
        tokens,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    app.extensions["huella.api"] = api
