"""Huella: customer identity resolution. ``create_app`` builds the service."""

from __future__ import annotations

import gc
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from app import db, errors, settings
from app.config import load_config

# Collect the youngest generation every 50,000 allocations rather than Python's 700. Resolving a
# page allocates hundreds of thousands of objects that live until the page is done: collected
# every 700 allocations, they were promoted to the old generation, whose full scans took about a
# tenth of real-time resolution's CPU at a million records. Most of them now die young.
_YOUNG_GENERATION_THRESHOLD = 50_000


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: configuration and settings, store, errors, auth, API and console."""
    _tune_garbage_collection()
    app = Flask(__name__)
    app.config.update(load_config(test_config))
    app.config.setdefault("API_TITLE", "Huella")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    logging.basicConfig(
        level=str(app.config["LOG_LEVEL"]).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Migrations narrate every step at INFO; Huella's own commands say what matters.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    settings.init_app(app)
    db.init_app(app)
    errors.init_app(app)
    app.register_error_handler(
        db.Contended, lambda error: errors.problem(409, "Conflict", str(error))
    )

    from app import api, auth, cli, health, security, web  # noqa: PLC0415  (they import the app's modules)
    from app.ingest import worker  # noqa: PLC0415
    from app.privacy import guard  # noqa: PLC0415
    from app.sync import sql  # noqa: PLC0415

    sql.init_app()
    worker.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    auth.init_app(app)
    guard.init_app(app)
    security.start_rate_limits(app)
    health.init_app(app)
    api.init_app(app)
    web.init_app(app)
    return app


def _tune_garbage_collection() -> None:
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, _YOUNG_GENERATION_THRESHOLD), middle, old)
