"""Finding 8: headers and probes. PII is never cached nor sniffed, a 405 says what is allowed,
errors are documented as problem documents, and a store that cannot be reached is a 503 that
names no driver's internals."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import URL

from app import create_app
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


def test_responses_carrying_pii_are_neither_cached_nor_sniffed(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    push(client, admin, "crm", record("1", email="ana.pii@example.com", first_name="Ana"))
    lookup = "/api/v1/customers/lookup/email:ana.pii@example.com"
    customer_id = client.get(lookup, headers=admin).get_json()["data"][0]["id"]
    for path in (lookup, f"/api/v1/customers/{customer_id}", "/api/v1/customers?q=ana"):
        response = client.get(path, headers=admin)
        assert response.status_code == 200, path
        assert b"ana.pii@example.com" in response.data or path.endswith("q=ana")
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
    refused = client.get("/api/v1/customers?q=ana")
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.headers["X-Content-Type-Options"] == "nosniff"


def test_a_405_names_the_methods_allowed(client: FlaskClient, make_token: Headers) -> None:
    response = client.delete("/api/v1/sources", headers=make_token("admin"))
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_the_openapi_document_describes_errors_as_problem_documents(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    responses = spec["components"]["responses"]
    assert responses, "error responses are described once and referred to"
    for name, response in responses.items():
        if "content" in response:
            assert list(response["content"]) == ["application/problem+json"], name
    create = spec["paths"]["/api/v1/sources"]["post"]["responses"]
    assert create["422"] == {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}


def _app_without_a_database(url: str) -> Flask:
    return create_app({"DATABASE_URL": url, "TESTING": True})


def _assert_unavailable_without_internals(application: Flask, leak: str) -> None:
    client = application.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.mimetype == "application/problem+json"
    assert ready.get_json()["title"] == "Service unavailable"
    assert leak not in ready.get_data(as_text=True)
    api = client.get("/api/v1/sources", headers={"Authorization": "Bearer hu_whatever"})
    assert api.status_code == 503, api.get_data(as_text=True)
    assert api.mimetype == "application/problem+json"
    assert leak not in api.get_data(as_text=True)


def test_a_missing_postgresql_database_is_a_503(postgres_server: URL) -> None:
    name = f"huella_missing_{uuid.uuid4().hex[:8]}"
    application = _app_without_a_database(postgres_server.set(database=name).render_as_string())
    _assert_unavailable_without_internals(application, name)


def test_a_sqlite_store_without_its_schema_is_a_503(tmp_path: Path) -> None:
    application = _app_without_a_database(f"sqlite:///{tmp_path / 'empty.db'}")
    _assert_unavailable_without_internals(application, "api_token")
