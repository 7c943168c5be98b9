"""Administering sources: settings edited and checked, a source paused and resumed, a
department removed with its records, its identities re-resolved and the removal audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.db import utcnow
from app.source.models import SourceRecord
from app.sync import service as sync
from tests.helpers import add_source, job_of, push, record

Headers = dict[str, str]
ANA = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.org"}


def test_settings_are_edited_and_checked_like_a_new_sources(
    client: FlaskClient, make_token: Callable[..., Headers], cli: FlaskCliRunner, tmp_path: Path
) -> None:
    admin = make_token("admin")
    created = client.post(
        "/api/v1/sources",
        json={
            "name": "sales",
            "kind": "hubspot",
            "settings": {"base_url": "http://127.0.0.1:9", "token_env": "HUELLA_SECRET_SALES"},
        },
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    changed = client.patch(
        "/api/v1/sources/sales", json={"settings": {"page_size": 50}, "priority": 5}, headers=admin
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["settings"]["page_size"] == 50 and body["priority"] == 5
    assert body["settings"]["token_env"] == "HUELLA_SECRET_SALES"  # the others stay
    for wrong, named in (({"page_size": "lots"}, "page_size"), ({"colour": "red"}, "colour")):
        refused = client.patch("/api/v1/sources/sales", json={"settings": wrong}, headers=admin)
        assert refused.status_code == 422 and named in str(refused.get_json())
    elsewhere = {"base_url": "https://attacker.example"}  # secrets go only to allowed hosts
    refused = client.patch("/api/v1/sources/sales", json={"settings": elsewhere}, headers=admin)
    assert refused.status_code == 422
    assert (
        client.get("/api/v1/sources/sales", headers=admin).get_json()["settings"]["base_url"]
        == "http://127.0.0.1:9"
    )
    people = tmp_path / "people.csv"
    people.write_text("id,email\n1,a@example.org\n")
    add = ["source", "add", "files", "--kind", "file", "--set", f"path={people}"]
    assert cli.invoke(args=[*add, "--set", "id_column=id"]).exit_code == 0
    by_cli = cli.invoke(args=["source", "set", "files", "page_size=10", "--unset", "format"])
    assert by_cli.exit_code == 0, by_cli.output
    assert '"page_size": 10' in by_cli.output
    agent = client.patch("/api/v1/sources/sales", json={"priority": 1}, headers=make_token("agent"))
    assert agent.status_code == 403


def test_a_paused_source_is_neither_synced_nor_pushed_to(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., Headers],
    cli: FlaskCliRunner,
    tmp_path: Path,
) -> None:
    admin = make_token("admin")
    add_source(app, "shop")
    people = tmp_path / "people.csv"
    people.write_text("id,email\n1,a@example.org\n")
    cli.invoke(
        args=[
            "source",
            "add",
            "files",
            "--kind",
            "file",
            "--set",
            f"path={people}",
            "--set",
            "id_column=id",
        ]
    )
    assert client.post("/api/v1/sources/shop/pause", headers=admin).get_json()["paused"] is True
    refused = client.post(
        "/api/v1/sources/shop/records", json={"records": [record("1", **ANA)]}, headers=admin
    )
    assert refused.status_code == 409 and "paused" in refused.get_json()["detail"]
    assert cli.invoke(args=["source", "pause", "files"]).exit_code == 0
    by_hand = client.post("/api/v1/sources/files/sync", json={}, headers=admin)
    assert by_hand.status_code == 409
    synced = cli.invoke(args=["sync", "files"])
    assert synced.exit_code == 1 and "is paused" in synced.output
    everything = cli.invoke(args=["sync", "--all"])  # a paused source is left out, not failed
    assert everything.exit_code == 0, everything.output
    assert "files" not in everything.output
    assert client.post("/api/v1/sources/shop/resume", headers=admin).get_json()["paused"] is False
    push(client, admin, "shop", record("1", **ANA))


def test_removing_a_department_takes_its_records_and_re_resolves_its_customers(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., Headers],
    cli: FlaskCliRunner,
    session: Session,
) -> None:
    admin = make_token("admin")
    add_source(app, "crm")
    add_source(app, "desk")
    push(client, admin, "crm", record("1", **ANA))
    push(client, admin, "desk", record("9", **ANA))
    connector = make_token("connector", source="desk")
    (ana,) = client.get("/api/v1/customers/lookup/crm:1", headers=admin).get_json()["data"]
    assert set(ana["records"]) == {"crm", "desk"}

    # The workers remove it (here inline): the answer is the job, its result what went.
    job = job_of(client, admin, client.delete("/api/v1/sources/desk", headers=admin))
    assert (job["kind"], job["subject"], job["status"]) == ("remove_source", "desk", "succeeded")
    assert job["result"]["records"] == 1 and job["result"]["source"] == "desk"
    assert client.get("/api/v1/sources/desk", headers=admin).status_code == 404
    (ana,) = client.get("/api/v1/customers/lookup/crm:1", headers=admin).get_json()["data"]
    assert set(ana["records"]) == {"crm"}  # the golden record is hers without desk's record
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(SourceRecord)) == 1
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "remove_source")).one()
    assert entry.after["source"] == "desk"
    audit = client.get(f"/api/v1/audit?identity={ana['id']}", headers=admin).get_json()
    assert "remove_source" in [e["action"] for e in audit["data"]]
    # its token goes with it
    assert client.get("/api/v1/me", headers=connector).status_code == 401
    gone = cli.invoke(args=["source", "remove", "crm", "--yes"])
    assert gone.exit_code == 0, gone.output
    assert "removed crm: 1 records gone" in gone.output


def test_the_scheduler_skips_a_paused_source(
    client: FlaskClient, make_token: Callable[..., Headers], session: Session
) -> None:
    admin = make_token("admin")
    settings = {"base_url": "http://127.0.0.1:9", "token_env": "HUELLA_SECRET_SALES"}
    created = client.post(
        "/api/v1/sources",
        json={"name": "sales", "kind": "hubspot", "settings": {**settings, "schedule": "15m"}},
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    later = utcnow() + timedelta(days=1)
    assert [s.name for s in sync.due_sources(session=session, now=later)] == ["sales"]
    client.post("/api/v1/sources/sales/pause", headers=admin)
    session.expire_all()
    assert sync.due_sources(session=session, now=later) == []
