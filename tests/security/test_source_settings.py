"""Finding 1: a source's settings cannot send a server secret anywhere. Settings follow their
kind's declared schema; ``token_env`` names only variables with the configured prefix, and
``base_url`` only the allowed hosts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import load_config
from app.db import get_db
from app.settings.sources import HostPattern, SourcePolicy
from app.source.models import Source
from app.sync.models import SyncRun
from tests.connectors.scripted_server import scripted

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def admin(make_token: Headers) -> dict[str, str]:
    return make_token("admin")


def create(client: FlaskClient, headers: dict[str, str], kind: str, **settings: Any) -> Any:
    body = {"name": "x", "kind": kind, "settings": settings}
    return client.post("/api/v1/sources", json=body, headers=headers)


def refused_settings(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    errors: dict[str, list[str]] = response.get_json()["errors"]["settings"]
    return errors


def test_a_source_cannot_name_the_database_url_as_its_secret(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    with scripted() as listener:
        response = create(
            client, admin, "hubspot", base_url=listener.url, token_env="HUELLA_DATABASE_URL"
        )
        assert set(refused_settings(response)) == {"token_env"}
        assert "HUELLA_SECRET_" in refused_settings(response)["token_env"][0]
        assert listener.seen == []
    assert session.scalar(select(Source).where(Source.name == "x")) is None


def test_a_source_stored_before_the_rules_never_sends_its_secret(
    app: Flask, client: FlaskClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUELLA_LEAKED", "postgresql+psycopg://user:password@db/huella")
    with scripted() as listener:
        settings = {"base_url": listener.url, "token_env": "HUELLA_LEAKED"}
        with app.app_context(), get_db(app).unit_of_work() as session:
            session.add(Source(name="old", kind="hubspot", settings=settings))
        run = client.post("/api/v1/sources/old/sync", json={}, headers=admin).get_json()
        assert listener.seen == []
    with app.app_context(), get_db(app).unit_of_work() as session:
        stored = session.get_one(SyncRun, run["id"])
        assert stored.status == "failed" and "token_env" in (stored.error or "")


def test_base_url_must_be_on_an_allowed_host(client: FlaskClient, admin: dict[str, str]) -> None:
    for address in (
        "https://collector.example",
        "https://api.hubapi.com.collector.example",
        "https://user:pw@api.hubapi.com",
        "ftp://api.hubapi.com",
    ):
        response = create(client, admin, "hubspot", base_url=address, token_env="HUELLA_SECRET_CRM")
        assert set(refused_settings(response)) == {"base_url"}, address
    accepted = create(
        client, admin, "hubspot", base_url="https://api.hubapi.com", token_env="HUELLA_SECRET_CRM"
    )
    assert accepted.status_code == 201, accepted.get_json()


@pytest.mark.parametrize(
    ("kind", "settings", "offending"),
    [
        ("push", {"nosuch": 1}, {"nosuch"}),
        ("hubspot", {"token_env": "HUELLA_SECRET_CRM"}, {"base_url"}),
        ("zendesk", {"base_url": "https://acme.zendesk.com"}, {"token_env"}),
        (
            "mailchimp",
            {"base_url": "https://us1.api.mailchimp.com", "token_env": "HUELLA_SECRET_MC"},
            {"list_id"},
        ),
        (
            "hubspot",
            {
                "base_url": "https://api.hubapi.com",
                "token_env": "HUELLA_SECRET_CRM",
                "page_size": "ten",
            },
            {"page_size"},
        ),
        (
            "hubspot",
            {"base_url": "https://api.hubapi.com", "token_env": "HUELLA_SECRET_CRM", "tries": True},
            {"tries"},
        ),
        ("hubspot", {"base_url": 7, "token_env": ["HUELLA_SECRET_CRM"]}, {"base_url", "token_env"}),
        ("file", {"id_column": "id"}, {"path"}),
    ],
)
def test_settings_follow_the_kinds_schema(
    client: FlaskClient,
    admin: dict[str, str],
    kind: str,
    settings: dict[str, Any],
    offending: set[str],
) -> None:
    assert set(refused_settings(create(client, admin, kind, **settings))) == offending


def test_the_command_line_checks_settings_too(cli: FlaskCliRunner, session: Session) -> None:
    result = cli.invoke(args=["source", "add", "crm", "--kind", "push", "--set", "nosuch=1"])
    assert result.exit_code != 0 and "nosuch" in result.output
    result = cli.invoke(
        args=["source", "add", "crm", "--kind", "hubspot", "--set", "token_env=HUELLA_SECRET_X"]
    )
    assert result.exit_code != 0 and "base_url" in result.output
    assert session.scalar(select(Source).where(Source.name == "crm")) is None


def test_an_api_source_reads_files_only_from_the_configured_folders(
    client: FlaskClient, admin: dict[str, str], tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text("id,email\n1,ana@example.com\n")
    response = create(client, admin, "file", path=str(people), id_column="id")
    assert set(refused_settings(response)) == {"path"}
    response = create(client, admin, "file", path="/proc/self/environ", id_column="id")
    assert set(refused_settings(response)) == {"path"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_file_source_reads_huellas_own_store(cli: FlaskCliRunner, database_url: str) -> None:
    store = database_url.removeprefix("sqlite:///")
    result = cli.invoke(
        args=["import", store, "--source", "stolen", "--id-column", "id", "--format", "csv"]
    )
    assert result.exit_code != 0 and "own store" in result.output


def test_the_defaults_allow_only_the_vendors_hosts_and_prefix() -> None:
    policy = SourcePolicy.from_config(load_config(environ={}))
    assert policy.secret_prefix == "HUELLA_SECRET_"
    allowed = [
        "https://api.hubapi.com",
        "https://acme.zendesk.com/",
        "https://us21.api.mailchimp.com",
    ]
    refused = [
        "http://api.hubapi.com",
        "https://api.hubapi.com:8443",
        "http://127.0.0.1:8080",
        "https://zendesk.com.example",
        "https://evil-zendesk.com",
    ]
    for address in allowed:
        assert any(h.allows(address) for h in policy.allowed_hosts), address
    for address in refused:
        assert not any(h.allows(address) for h in policy.allowed_hosts), address
    assert HostPattern.parse("http://127.0.0.1:*").allows("http://127.0.0.1:5123/x")
