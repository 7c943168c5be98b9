"""The web console: a page shell and its static files; its data comes from the API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve the console at ``/`` and ``/console/...``."""
    from app.web.views import blp  # noqa: PLC0415  (views import the app's modules)

    app.register_blueprint(blp)
