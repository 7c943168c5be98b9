"""Small helpers shared by tests that go through the API."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.db import get_db
from app.source import service as sources


def add_source(app: Flask, name: str, kind: str = "push", **attribute_types: str) -> None:
    """Create a source in its own unit of work."""
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(session=session, name=name, kind=kind, attribute_types=attribute_types)


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
