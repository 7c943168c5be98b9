"""Finding 2: no SQL runs with the server's credentials. A SQL source names a connection the
operator declared in the configuration and one of its tables or declared queries; the API
takes no database URL and no SQL, and Huella's own store is never a source."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.source.models import Source, SourceRecord
from app.sync.models import SyncRun

Headers = Callable[..., dict[str, str]]
CRM_URL_ENV = "HUELLA_SECRET_CRM_DATABASE"
SELF_URL_ENV = "HUELLA_SECRET_SELF_DATABASE"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "CONNECTIONS": {
            "crm": {
                "url_env": CRM_URL_ENV,
                "queries": {"active": "SELECT id, mail, changed FROM customers WHERE gone = 0"},
            },
            "self": {"url_env": SELF_URL_ENV},
        }
    }


@pytest.fixture
def crm_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sales department's own database: three customers, one of them gone."""
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, mail TEXT, changed TEXT, gone INT)"
        )
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?)",
            [
                (1, "ana@example.com", "2024-01-01T10:00:00", 0),
                (2, "bo@example.com", "2024-01-02T10:00:00", 0),
                (3, "cy@example.com", "2024-01-03T10:00:00", 1),
            ],
        )
    connection.close()
    monkeypatch.setenv(CRM_URL_ENV, f"sqlite:///{path}")
    return path


@pytest.fixture
def admin(make_token: Headers) -> dict[str, str]:
    return make_token("admin")


def create(client: FlaskClient, headers: dict[str, str], **settings: Any) -> Any:
    body = {"name": "sales", "kind": "sql", "settings": settings}
    return client.post("/api/v1/sources", json=body, headers=headers)


def reads(**extra: Any) -> dict[str, Any]:
    return {"id_column": "id", "updated_at_column": "changed", "map": {"email": "mail"}} | extra


def emails(session: Session) -> set[str]:
    rows = session.scalars(select(SourceRecord.attributes))
    return {attributes["email"] for attributes in rows}


def test_the_api_takes_no_database_url_and_no_sql(
    client: FlaskClient, admin: dict[str, str], session: Session, database_url: str
) -> None:
    stolen = "SELECT id, token_hash AS mail, created_at AS changed FROM api_token"
    response = create(client, admin, url=database_url, **reads(query=stolen))
    assert response.status_code == 422
    assert {"url", "connection"} <= set(response.get_json()["errors"]["settings"])
    response = create(client, admin, connection="crm", **reads(query=stolen))
    assert set(response.get_json()["errors"]["settings"]) == {"query"}
    response = create(client, admin, connection="nowhere", **reads(table="customers"))
    assert set(response.get_json()["errors"]["settings"]) == {"connection"}
    assert session.scalar(select(Source).where(Source.name == "sales")) is None


def test_a_sql_source_reads_a_table_of_a_declared_connection(
    client: FlaskClient, admin: dict[str, str], session: Session, crm_database: Path
) -> None:
    response = create(client, admin, connection="crm", **reads(table="customers"))
    assert response.status_code == 201, response.get_json()
    run = client.post("/api/v1/sources/sales/sync", json={}, headers=admin).get_json()
    assert run["status"] == "succeeded", run
    assert emails(session) == {"ana@example.com", "bo@example.com", "cy@example.com"}


def test_a_sql_source_reads_a_query_the_operator_declared(
    client: FlaskClient, admin: dict[str, str], session: Session, crm_database: Path
) -> None:
    response = create(client, admin, connection="crm", **reads(query="active"))
    assert response.status_code == 201, response.get_json()
    run = client.post("/api/v1/sources/sales/sync", json={}, headers=admin).get_json()
    assert run["status"] == "succeeded", run
    assert emails(session) == {"ana@example.com", "bo@example.com"}


def test_huellas_own_store_is_never_a_source(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    session: Session,
    crm_database: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SELF_URL_ENV, database_url)
    response = create(client, admin, connection="self", **reads(table="api_token"))
    assert set(response.get_json()["errors"]["settings"]) == {"connection"}
    # A connection re-pointed at the store after its source was created is refused at sync.
    monkeypatch.setenv(SELF_URL_ENV, f"sqlite:///{crm_database}")
    assert create(client, admin, connection="self", **reads(table="customers")).status_code == 201
    monkeypatch.setenv(SELF_URL_ENV, database_url)
    run = client.post("/api/v1/sources/sales/sync", json={}, headers=admin).get_json()
    assert run["status"] == "failed" and "own store" in run["error"]
    assert session.scalars(select(SourceRecord)).all() == []
    assert session.scalar(select(SyncRun.status)) == "failed"


def test_the_command_line_takes_no_database_url_either(
    cli: FlaskCliRunner, session: Session, crm_database: Path
) -> None:
    result = cli.invoke(
        args=[
            "source", "add", "sales", "--kind", "sql",
            "--set", f"url=sqlite:///{crm_database}", "--set", "table=customers",
            "--set", "id_column=id", "--set", "updated_at_column=changed",
        ]
    )  # fmt: skip
    assert result.exit_code != 0 and "url" in result.output
    assert session.scalar(select(Source).where(Source.name == "sales")) is None
