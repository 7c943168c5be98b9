"""Finding 5: tokens expire and can be revoked, from the command line and the admin API, and an
admin can see which are in use."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import ApiToken
from tests.helpers import add_source

Headers = Callable[..., dict[str, str]]


def create_on_cli(cli: FlaskCliRunner, *options: str) -> str:
    result = cli.invoke(args=["token", "create", *options])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def stored(session: Session, name: str) -> ApiToken:
    session.expire_all()
    return session.scalars(select(ApiToken).where(ApiToken.name == name)).one()


def test_connector_tokens_last_90_days_unless_told_otherwise(
    app: Flask, cli: FlaskCliRunner, session: Session
) -> None:
    add_source(app, "crm")
    create_on_cli(cli, "--role", "connector", "--source", "crm", "--name", "crm feed")
    create_on_cli(
        cli, "--role", "connector", "--source", "crm", "--name", "short", "--expires-in", "12h"
    )
    create_on_cli(cli, "--role", "agent", "--name", "desk")
    create_on_cli(cli, "--role", "agent", "--name", "temp desk", "--expires-in", "7d")
    now = datetime.now(UTC)
    feed = stored(session, "crm feed")
    assert feed.expires_at is not None
    assert abs(feed.expires_at - (now + timedelta(days=90))) < timedelta(minutes=1)
    short = stored(session, "short").expires_at
    assert short is not None and abs(short - (now + timedelta(hours=12))) < timedelta(minutes=1)
    assert stored(session, "desk").expires_at is None
    temp = stored(session, "temp desk").expires_at
    assert temp is not None and abs(temp - (now + timedelta(days=7))) < timedelta(minutes=1)
    bad = cli.invoke(
        args=["token", "create", "--role", "agent", "--name", "x", "--expires-in", "soon"]
    )
    assert bad.exit_code != 0 and "expires" in bad.output


class TestConfiguredLifetimes:
    @pytest.fixture
    def app_config(self) -> dict[str, object]:
        return {"TOKENS": {"lifetime_days": {"admin": 0, "agent": 30, "connector": 7}}}

    def test_default_lifetimes_are_configurable(
        self, cli: FlaskCliRunner, session: Session
    ) -> None:
        create_on_cli(cli, "--role", "agent", "--name", "desk")
        expires = stored(session, "desk").expires_at
        assert expires is not None
        assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)


def test_an_expired_token_is_refused(
    app: Flask, client: FlaskClient, cli: FlaskCliRunner, session: Session
) -> None:
    secret = create_on_cli(cli, "--role", "agent", "--name", "desk", "--expires-in", "1h")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    session.execute(
        update(ApiToken)
        .where(ApiToken.name == "desk")
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    time.sleep(float(app.config["TOKEN_CACHE_SECONDS"]))  # past the verified-token cache
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]


def test_token_list_shows_last_use_and_expiry_and_revoke_stops_a_token(
    client: FlaskClient, cli: FlaskCliRunner, session: Session
) -> None:
    secret = create_on_cli(cli, "--role", "agent", "--name", "desk", "--expires-in", "30d")
    create_on_cli(cli, "--role", "admin", "--name", "never used")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    listing = cli.invoke(args=["token", "list"]).output
    desk = next(line for line in listing.splitlines() if "desk" in line)
    token = stored(session, "desk")
    assert token.last_used_at is not None and token.expires_at is not None
    assert str(token.id) in desk.split()[0]
    assert token.last_used_at.strftime("%Y-%m-%d %H:%M") in desk
    assert token.expires_at.strftime("%Y-%m-%d %H:%M") in desk
    unused = next(line for line in listing.splitlines() if "never used" in line)
    assert "never" in unused.replace("never used", "")
    assert secret not in listing

    revoked = cli.invoke(args=["token", "revoke", str(token.id)])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert "revoked" in next(
        line for line in cli.invoke(args=["token", "list"]).output.splitlines() if "desk" in line
    )
    assert cli.invoke(args=["token", "revoke", "999999"]).exit_code != 0


def test_the_admin_api_creates_lists_and_revokes_tokens(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    created = client.post(
        "/api/v1/tokens",
        json={"name": "crm feed", "role": "connector", "source": "crm"},
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    secret, token_id = body["secret"], body["token"]["id"]
    assert body["token"]["source"] == "crm" and body["token"]["expires_at"]
    assert client.get("/api/v1/me", headers=bearer(secret)).get_json()["name"] == "crm feed"

    listing = client.get("/api/v1/tokens", headers=admin).get_json()["data"]
    listed = next(t for t in listing if t["id"] == token_id)
    assert listed["last_used_at"] is not None and listed["state"] == "active"
    assert secret not in str(listing)
    assert client.get("/api/v1/tokens", headers=bearer(secret)).status_code == 403

    assert client.delete(f"/api/v1/tokens/{token_id}", headers=admin).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    shown = client.get(f"/api/v1/tokens/{token_id}", headers=admin).get_json()
    assert shown["state"] == "revoked" and shown["revoked_at"]
    assert client.delete("/api/v1/tokens/999999", headers=admin).status_code == 404
    bad = client.post(
        "/api/v1/tokens", json={"name": "x", "role": "agent", "expires_in": "soon"}, headers=admin
    )
    assert bad.status_code == 422 and "expires_in" in bad.get_json()["errors"]


def test_tokens_are_cached_for_at_most_a_second(app: Flask) -> None:
    assert 0 < float(app.config["TOKEN_CACHE_SECONDS"]) <= 1.0
