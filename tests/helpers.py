"""Small helpers shared by tests that go through the API."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app.db import get_db
from app.settings import get_settings
from app.source import service as sources


def add_source(
    app: Flask,
    name: str,
    kind: str = "push",
    *,
    settings: Mapping[str, Any] | None = None,
    priority: int = 100,
    **attribute_types: str,
) -> None:
    """Create a source in its own unit of work: its connector's ``settings``, its survivorship
    ``priority`` (lower wins; 100 is what a source gets when it names none) and its declared
    attribute types."""
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(
            session=session,
            name=name,
            kind=kind,
            policy=get_settings(app).sources,
            settings=settings,
            priority=priority,
            attribute_types=attribute_types,
        )


def push(
    client: FlaskClient, headers: dict[str, str], source: str, *records: dict[str, Any]
) -> dict[str, Any]:
    """Push records to a source; returns the response body, asserting success."""
    response = client.post(
        f"/api/v1/sources/{source}/records", json={"records": list(records)}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def record(external_id: str, **attributes: str) -> dict[str, Any]:
    """A pushed record."""
    return {"external_id": external_id, "attributes": attributes}


def wait_until_blocked(app: Flask, timeout: float = 10.0, sessions: int = 1) -> None:
    """Wait until ``sessions`` sessions of the (PostgreSQL) database wait for a lock."""
    deadline = time.monotonic() + timeout
    with get_db(app).engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            probe.rollback()  # the activity view is a snapshot per transaction
            if waiting >= sessions:
                return
            time.sleep(0.02)
    pytest.fail(f"never saw {sessions} sessions waiting for another one's lock")


def job_of(
    client: FlaskClient, headers: dict[str, str], answer: Any, timeout: float = 60.0
) -> dict[str, Any]:
    """The job a 202 answer names (Location), once it ended (tests run tasks inline, so at
    once; a real worker takes a moment)."""
    assert answer.status_code == 202, answer.get_json()
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(answer.headers["Location"], headers=headers).get_json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)
