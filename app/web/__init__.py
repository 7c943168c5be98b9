"""The web console: a page shell, its static files, and the session endpoint it signs in with."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve the console at ``/`` and ``/console/...``, and ``GET /api/v1/me`` in the API."""
    from app.web.views import blp, me_blp  # noqa: PLC0415  (views import the app's modules)

    app.register_blueprint(blp)
    app.extensions["huella.api"].register_blueprint(me_blp)
