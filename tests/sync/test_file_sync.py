"""Syncing a file source: runs recorded, rejects kept and visible, state resumed, export."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.conftest import connectors_config

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    """Sources created through the API may read the test's own folder."""
    return {"CONNECTORS": {**connectors_config(), "file_folders": [str(tmp_path)]}}


def write_jsonl(path: Path, *rows: dict[str, object] | str) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def add_file_source(cli: FlaskCliRunner, name: str, path: Path) -> None:
    result = cli.invoke(
        args=[
            "source",
            "add",
            name,
            "--kind",
            "file",
            "--set",
            f"path={path}",
            "--set",
            "id_column=id",
            "--set",
            "page_size=2",
        ]
    )
    assert result.exit_code == 0, result.output


def test_sync_records_a_run_and_keeps_rejects(
    app: Flask, cli: FlaskCliRunner, client: FlaskClient, make_token: Headers, tmp_path: Path
) -> None:
    path = tmp_path / "crm.jsonl"
    write_jsonl(
        path,
        {"id": "1", "email": "ana@example.com", "first_name": "Ana"},
        {"email": "nobody@example.com"},
        "{not json",
        {"id": "4", "email": "bo@example.com"},
    )
    add_file_source(cli, "crm", path)
    result = cli.invoke(args=["sync", "crm"])
    assert result.exit_code == 0, result.output
    assert (
        "crm: succeeded" in result.output
        and "2 new" in result.output
        and "2 rejected" in result.output
    )

    admin = make_token("admin")
    runs = client.get("/api/v1/sources/crm/runs", headers=admin).get_json()
    assert [r["status"] for r in runs["data"]] == ["succeeded"]
    assert runs["data"][0]["counts"]["created"] == 2
    rejects = client.get("/api/v1/sources/crm/rejects", headers=admin).get_json()["data"]
    assert sorted(r["position"] for r in rejects) == ["row 2", "row 3"]
    assert all(r["reason"] for r in rejects)


def test_a_second_sync_resumes_after_the_last_page(cli: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "crm.jsonl"
    write_jsonl(path, {"id": "1", "email": "a@example.com"}, {"id": "2", "email": "b@example.com"})
    add_file_source(cli, "crm", path)
    assert "2 new" in cli.invoke(args=["sync", "crm"]).output
    with path.open("a") as handle:
        handle.write(json.dumps({"id": "3", "email": "c@example.com"}) + "\n")
    again = cli.invoke(args=["sync", "crm"])
    assert "1 new" in again.output and "0 unchanged" in again.output
    full = cli.invoke(args=["sync", "crm", "--full"])
    assert "0 new" in full.output and "3 unchanged" in full.output


def test_sync_over_the_api_and_export(
    app: Flask, cli: FlaskCliRunner, client: FlaskClient, make_token: Headers, tmp_path: Path
) -> None:
    path = tmp_path / "shop.jsonl"
    write_jsonl(path, {"id": "s1", "email": "a@example.com", "city": "Lyon"})
    admin = make_token("admin")
    created = client.post(
        "/api/v1/sources",
        json={"name": "shop", "kind": "file", "settings": {"path": str(path), "id_column": "id"}},
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    response = client.post("/api/v1/sources/shop/sync", json={}, headers=admin)
    assert response.status_code == 202
    runs = client.get("/api/v1/sources/shop/runs", headers=admin).get_json()["data"]
    assert runs[0]["status"] == "succeeded" and runs[0]["counts"]["created"] == 1
    exported = cli.invoke(args=["export", "records", "--source", "shop", "--format", "jsonl"])
    line = json.loads(exported.stdout.strip())
    assert line["external_id"] == "s1" and line["attributes"]["city"] == "Lyon"
    assert line["updated_at"] and line["first_seen_at"]


def test_runs_are_cursor_paged(
    app: Flask, cli: FlaskCliRunner, client: FlaskClient, make_token: Headers, tmp_path: Path
) -> None:
    path = tmp_path / "crm.jsonl"
    write_jsonl(path, {"id": "1", "email": "a@example.com"})
    add_file_source(cli, "crm", path)
    for _ in range(3):
        cli.invoke(args=["sync", "crm", "--full"])
    admin = make_token("admin")
    first = client.get("/api/v1/sources/crm/runs?limit=2", headers=admin).get_json()
    second = client.get(
        f"/api/v1/sources/crm/runs?limit=2&cursor={first['next_cursor']}", headers=admin
    ).get_json()
    ids = [r["id"] for r in first["data"] + second["data"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None
    bad = client.get("/api/v1/sources/crm/runs?cursor=!!", headers=admin)
    assert bad.status_code == 400


def test_creating_a_source_with_a_bad_name_or_kind_is_a_422(
    client: FlaskClient, make_token: Headers
) -> None:
    admin = make_token("admin")
    bad_name = client.post(
        "/api/v1/sources", json={"name": "Bad Name", "kind": "file"}, headers=admin
    )
    assert bad_name.status_code == 422
    assert "name" in bad_name.get_json()["errors"]
    bad_kind = client.post("/api/v1/sources", json={"name": "crm", "kind": "fax"}, headers=admin)
    assert bad_kind.status_code == 422
    assert "unknown connector kind 'fax'" in bad_kind.get_json()["errors"]["kind"][0]
