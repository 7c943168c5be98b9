"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Flask, Response

from app import migrate
from app.db import get_db
from app.errors import problem

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Serve /healthz (the process answers) and /readyz (the store answers, with the schema
    this code expects)."""

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response | dict[str, str]:
        try:
            current = migrate.current_revision(get_db().engine)
        except Exception as error:  # any failure to reach the store means "not ready"
            log.warning("not ready: %s", error)  # the driver's words stay in the log
            current = None
        if current != migrate.head_revision():
            return problem(503, "Service unavailable", "the store is unreachable or not migrated")
        return {"status": "ready"}
