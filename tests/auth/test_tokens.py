"""Bearer tokens: shown once, stored hashed, required on every /api route, scoped by role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.guard import allowed_roles
from app.auth.models import ApiToken
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


def test_token_create_prints_the_secret_once_and_stores_only_its_hash(
    cli: FlaskCliRunner, session: Session
) -> None:
    result = cli.invoke(args=["token", "create", "--role", "agent", "--name", "Support desk"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("hu_") and len(secret) > 30
    stored = session.scalars(select(ApiToken)).one()
    assert stored.role == "agent" and stored.name == "Support desk"
    assert secret not in (stored.token_hash, stored.prefix)
    listing = cli.invoke(args=["token", "list"])
    assert "Support desk" in listing.output and secret not in listing.output


def test_connector_tokens_need_a_source(cli: FlaskCliRunner) -> None:
    result = cli.invoke(args=["token", "create", "--role", "connector", "--name", "crm"])
    assert result.exit_code != 0
    assert "connector token needs exactly one source" in result.output


def test_missing_token_is_a_401_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/customers/lookup/email:ana@example.com")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["title"] == "Unauthorized"


@pytest.mark.parametrize("header", ["Bearer hu_not-a-real-token", "Basic abc", "Bearer "])
def test_bad_token_is_a_401(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/sources", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["status"] == 401


def test_wrong_role_is_a_403(app: Flask, client: FlaskClient, make_token: Headers) -> None:
    add_source(app, "crm")
    connector = make_token("connector", source="crm")
    response = client.get("/api/v1/customers/lookup/email:ana@example.com", headers=connector)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_connector_token_pushes_only_to_its_own_source(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    add_source(app, "crm")
    add_source(app, "helpdesk")
    connector = make_token("connector", source="crm")
    push(client, connector, "crm", record("1", email="ana@example.com"))
    response = client.post(
        "/api/v1/sources/helpdesk/records",
        json={"records": [record("1", email="ana@example.com")]},
        headers=connector,
    )
    assert response.status_code == 403


def test_revoked_token_stops_working(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    admin = make_token("admin")
    assert client.get("/api/v1/sources", headers=admin).status_code == 200
    from app.auth import service  # noqa: PLC0415

    token = session.scalars(select(ApiToken)).one()
    service.revoke(session=session, token=token)
    session.commit()
    assert client.get("/api/v1/sources", headers=admin).status_code == 401


def test_every_api_route_declares_its_roles(app: Flask) -> None:
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and not allowed_roles(app.view_functions[rule.endpoint])
    ]
    assert undeclared == []
