"""Erasure that stays erased: a person held by three departments, with events and anonymous page
views, is erased; every door then keeps them out, and a plain dump of the whole database holds
none of their values."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.audit.models import AuditEntry
from app.db import get_db
from app.source.models import Source
from app.sync.models import SyncRun
from connectors.sandbox import Sandboxes
from tests.helpers import job_of
from tests.privacy.conftest import XIMENA, connect, token

DEPARTMENTS = ("sales", "support", "marketing")


def dump(app: Flask) -> str:
    """A plain-text dump of the whole database, as its own tools write it."""
    url = make_url(get_db(app).engine.url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as connection:
            return "\n".join(connection.iterdump())
    command = ["pg_dump", "--no-owner", "-h", str(url.host), "-p", str(url.port or 5432)]
    command += ["-U", str(url.username), str(url.database)]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def held(text: str, value: str) -> bool:
    """Whether a dump holds a value, as written or as JSON escapes it, in any case."""
    lowered = text.lower()
    escaped = json.dumps(value)[1:-1].lower()
    return value.lower() in lowered or escaped in lowered


def lookup(client: FlaskClient, headers: dict[str, str], reference: str) -> list[Any]:
    response = client.post(
        "/api/v1/customers/lookup", json={"reference": reference}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    found: list[Any] = response.get_json()["data"]
    return found


def latest_runs(app: Flask) -> dict[str, dict[str, Any]]:
    """The counts of each department's latest sync run."""
    with app.app_context(), get_db(app).unit_of_work() as session:
        runs = session.execute(
            select(Source.name, SyncRun.counts).join(Source).order_by(SyncRun.id)
        ).all()
    return {name: dict(counts) for name, counts in runs}


def page_views(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"pv-{XIMENA.visitor}-{n}",
            "anonymous_id": XIMENA.visitor,
            "type": "page_view",
            "properties": {"url": "https://shop.example/telescopios/celestron-8se"},
        }
        for n in range(count)
    ]


def test_an_erased_person_is_gone_from_every_table_and_no_door_brings_them_back(
    store: Flask, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    app, client = store, store.test_client()
    connect(app, sandboxes)
    admin, web = token(app), token(app, "connector", "web")
    customer = sync_and_visit(app, admin, web)
    before = dump(app)
    assert all(held(before, value) for value in XIMENA.values())  # the check can fail

    # A dry run lists what would go, table by table, and changes nothing.
    reference = f"email:{XIMENA.email}"
    dry = app.test_cli_runner().invoke(
        args=["erase", reference, "--reason", "ticket 4711", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert f"would erase {customer}" in dry.output
    assert "source_record" in dry.output and "event" in dry.output
    assert len(lookup(client, admin, reference)) == 1

    erased = client.delete(
        f"/api/v1/customers/{customer}", json={"reason": "ticket 4711"}, headers=admin
    )
    # The workers erase (here inline): the answer is the job, its result the report.
    job = job_of(client, admin, erased)
    assert (job["kind"], job["subject"], job["status"]) == ("erase", customer, "succeeded")
    report = job["result"]
    assert report["status"] == "erased" and report["identity"] == customer
    assert report["records"] == {"marketing": 1, "sales": 1, "support": 1}
    assert report["tables"]["source_record"] == 3
    assert report["tables"]["event"] == 6
    assert report["tables"]["anonymous_link"] == 1
    assert report["suppressed"] >= 5  # three record ids, the e-mail, the phone
    # The answer an erasure in the request gave: its audit entry, and that it was no dry run.
    assert report["dry_run"] is False and isinstance(report["audit_entry"], int)
    again = client.delete(
        f"/api/v1/customers/{customer}", json={"reason": "ticket 4711"}, headers=admin
    )
    assert again.status_code == 200 and again.get_json()["status"] == "already_erased"
    assert client.get(f"/api/v1/customers/{customer}", headers=admin).status_code == 404

    knock_at_every_door(app, web, tmp_path)
    assert lookup(client, admin, reference) == []
    assert lookup(client, admin, f"phone:{XIMENA.attributes['phone']}") == []
    after = dump(app)
    assert [value for value in XIMENA.values() if held(after, value)] == []
    # The audit trail keeps the fact: who erased which customer, when, why, how many records.
    with app.app_context(), get_db(app).unit_of_work() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "erase"))
        assert [s.identity_public_id for s in entry.subjects] == [customer]
        assert (entry.actor, entry.reason) == ("admin of the test", "ticket 4711")
        assert entry.after["records"] == {"marketing": 1, "sales": 1, "support": 1}


def sync_and_visit(app: Flask, admin: dict[str, str], web: dict[str, str]) -> str:
    """Sync the three departments; Ximena browses the shop, then signs in. Her customer's id."""
    client = app.test_client()
    assert app.test_cli_runner().invoke(args=["sync", "--all"]).exit_code == 0
    answer = client.post("/api/v1/events", json={"events": page_views(3)}, headers=web)
    assert answer.get_json()["accepted"] == 3
    identify = {"anonymous_id": XIMENA.visitor, "email": XIMENA.email}
    assert client.post("/api/v1/identify", json=identify, headers=web).status_code == 202
    [customer] = lookup(client, admin, f"email:{XIMENA.email}")
    assert sorted(customer["records"]) == sorted(DEPARTMENTS)
    timeline = client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=admin)
    assert len(timeline.get_json()["data"]) == 6  # an event per department, three page views
    return str(customer["id"])


def knock_at_every_door(app: Flask, web: dict[str, str], folder: Path) -> None:
    """A full sync of every department, a push, an event, identify and an import, each holding
    Ximena: none lets her in, each counts her as suppressed."""
    cli, client = app.test_cli_runner(), app.test_client()
    synced = cli.invoke(args=["sync", "--all", "--full"])
    assert synced.exit_code == 0, synced.output
    runs = latest_runs(app)
    for department in DEPARTMENTS:
        assert runs[department]["suppressed"] >= 1, (department, runs[department])
        assert runs[department]["created"] == 0, (department, runs[department])
    shouted = {"external_id": "w-77", "attributes": {"email": XIMENA.email.upper()}}
    pushed = client.post(
        "/api/v1/sources/web/records", json={"records": [shouted]}, headers=web
    ).get_json()
    assert (pushed["created"], pushed["suppressed"]) == (0, 1)
    named = {"email": XIMENA.email, "type": "order", "properties": {"name": "Celestron 8SE"}}
    tracked = client.post("/api/v1/events", json={"events": [named]}, headers=web).get_json()
    assert (tracked["accepted"], tracked["suppressed"]) == (0, 1)
    identify = {"anonymous_id": XIMENA.visitor, "email": XIMENA.email}
    assert client.post("/api/v1/identify", json=identify, headers=web).status_code == 202
    legacy = folder / "legacy.csv"
    with legacy.open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["id", "first_name", "last_name", "phone"])
        rows.writerow(["L-1", "Xime", XIMENA.attributes["last_name"], XIMENA.attributes["phone"]])
        rows.writerow(["L-2", "Otto", "Brandt", "+49 30 1234567"])
    imported = cli.invoke(args=["import", str(legacy), "--source", "legacy", "--id-column", "id"])
    assert imported.exit_code == 0, imported.output
    assert "1 new" in imported.output and "1 suppressed" in imported.output
