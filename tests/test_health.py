"""Probes and the OpenAPI document need no token."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_openapi_document_describes_the_api(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"] == "Huella"
    assert "/api/v1/identities/{public_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_unknown_path_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
