"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Flask, Response
from sqlalchemy import text

from app.db import get_db
from app.errors import problem


def init_app(app: Flask) -> None:
    """Serve /healthz (the process answers) and /readyz (the store answers too)."""

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response | dict[str, str]:
        try:
            with get_db().engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure to reach the store means "not ready"
            return problem(503, "Service unavailable", f"the database is unreachable: {error}")
        return {"status": "ready"}
