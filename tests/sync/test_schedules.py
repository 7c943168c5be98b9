"""Scheduled syncs as an admin sees them: a source's schedule and next sync in GET /sources,
the scheduler syncing what is due and backing off a source that fails (saying why in its
runs), runs that show their progress, and runs that can be cancelled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from app.db import get_db, utcnow
from app.ingest import sync as runner
from app.ingest.scheduler import queue_due_syncs
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source import service as sources
from app.source.models import Source, SourceRecord
from app.sync import service as sync
from app.sync.models import SyncRun
from connectors.sandbox import SANDBOX_TOKEN, Faults, Sandboxes, connector_settings, start_sandboxes
from tests.helpers import add_source

TOKEN_ENV = "HUELLA_SECRET_SCHEDULE_TEST"
VENDOR = {"base_url": "https://api.hubapi.com", "token_env": TOKEN_ENV}


@pytest.fixture
def sandboxes(department_sandboxes: Callable[..., Sandboxes]) -> Sandboxes:
    return department_sandboxes(TOKEN_ENV, 40, seed=5)


def parse(moment: str | None) -> datetime:
    assert moment is not None
    return datetime.fromisoformat(moment)


def listed(client: FlaskClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    answer = client.get("/api/v1/sources", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return {source["name"]: source for source in answer.get_json()["data"]}


def test_a_source_on_a_schedule_shows_when_it_syncs_next(
    client: FlaskClient, make_token: Callable[..., dict[str, str]]
) -> None:
    admin = make_token("admin")
    before = utcnow()
    created = client.post(
        "/api/v1/sources",
        json={"name": "sales", "kind": "hubspot", "settings": {**VENDOR, "schedule": "15m"}},
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["schedule"] == "15m"
    sales = listed(client, make_token("agent"))["sales"]
    assert sales["schedule"] == "15m" and sales["consecutive_failures"] == 0
    due = parse(sales["next_sync_at"])
    assert before + timedelta(minutes=15) <= due <= utcnow() + timedelta(minutes=15)

    cron = client.put(
        "/api/v1/sources/sales/schedule", json={"schedule": "*/5 * * * *"}, headers=admin
    )
    assert cron.status_code == 200, cron.get_json()
    due = parse(cron.get_json()["next_sync_at"])
    assert due.minute % 5 == 0 and due.second == 0 and due > before

    off = client.put("/api/v1/sources/sales/schedule", json={"schedule": None}, headers=admin)
    assert (off.get_json()["schedule"], off.get_json()["next_sync_at"]) == (None, None)


def test_a_schedule_that_does_not_read_is_refused_by_name(
    client: FlaskClient, make_token: Callable[..., dict[str, str]], app: Flask
) -> None:
    admin = make_token("admin")
    add_source(app, "webshop")
    bad = client.post(
        "/api/v1/sources",
        json={"name": "sales", "kind": "hubspot", "settings": {**VENDOR, "schedule": "often"}},
        headers=admin,
    )
    assert bad.status_code == 422
    assert "cron expression" in str(bad.get_json()["errors"]["schedule"])
    push = client.put("/api/v1/sources/webshop/schedule", json={"schedule": "1h"}, headers=admin)
    assert push.status_code == 422
    assert "pushes" in str(push.get_json()["errors"]["schedule"])


def test_the_command_line_schedules_with_set_and_lists_the_next_sync(cli: FlaskCliRunner) -> None:
    added = cli.invoke(
        args=[
            "source", "add", "sales", "--kind", "hubspot",
            *(f"--set={key}={value}" for key, value in VENDOR.items()),
            "--set", "schedule=15m",
        ]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "schedule=15m\tnext=" in cli.invoke(args=["source", "list"]).output
    changed = cli.invoke(args=["source", "schedule", "sales", "0 3 * * *"])
    assert (
        "synced on schedule 0 3 * * *; next at" in changed.output
        and "03:00:00 UTC" in changed.output
    )
    assert (
        "synced only when asked" in cli.invoke(args=["source", "schedule", "sales", "off"]).output
    )


def connect(app: Flask, server: Any, schedule: str | None) -> None:
    settings = connector_settings(
        server, TOKEN_ENV, page_size=10, tries=1, backoff=0.01, backoff_max=0.02, rate_limit=0
    )
    if schedule:
        settings["schedule"] = schedule
    add_source(app, "sales", "hubspot", settings=settings)


def test_the_scheduler_syncs_what_is_due_and_backs_off_a_failing_source(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., dict[str, str]],
    sandboxes: Sandboxes,
) -> None:
    connect(app, sandboxes.hubspot, schedule="5s")
    admin = make_token("admin")
    assert queue_due_syncs(app, utcnow()) == []  # due in five seconds

    later = utcnow() + timedelta(seconds=6)
    [first] = queue_due_syncs(app, later)  # runs here: no broker, task_mode inline
    sales = listed(client, admin)["sales"]
    assert parse(sales["next_sync_at"]) == later + timedelta(seconds=5)
    [run] = client.get("/api/v1/sources/sales/runs", headers=admin).get_json()["data"]
    assert (run["id"], run["status"]) == (first, "succeeded")
    # Progress: pages and records read, and their rate.
    assert run["counts"]["pages"] >= 4 and run["counts"]["records"] == len(
        sandboxes.hubspot.records()
    )
    assert run["records_per_second"] > 0 and run["elapsed_seconds"] > 0

    sandboxes.hubspot.set_faults(Faults(error_every=1))  # the CRM answers only 500s
    [second] = queue_due_syncs(app, utcnow() + timedelta(seconds=12))
    sales = listed(client, admin)["sales"]
    assert sales["consecutive_failures"] == 1
    # Its schedule would try again in five seconds; failing, it waits a minute from when the run
    # failed (backoff_seconds = 60), and the scheduler leaves it alone meanwhile.
    assert parse(sales["next_sync_at"]) >= utcnow() + timedelta(seconds=50)
    assert queue_due_syncs(app, utcnow() + timedelta(seconds=20)) == []
    latest = client.get("/api/v1/sources/sales/runs", headers=admin).get_json()["data"][0]
    assert (latest["id"], latest["status"]) == (second, "failed")
    assert "500" in latest["error"]

    sandboxes.hubspot.set_faults(Faults())
    assert len(queue_due_syncs(app, utcnow() + timedelta(minutes=2))) == 1
    assert listed(client, admin)["sales"]["consecutive_failures"] == 0


def test_the_scheduler_never_queues_a_second_sync_of_a_source_with_one_under_way(
    app: Flask, sandboxes: Sandboxes
) -> None:
    connect(app, sandboxes.hubspot, schedule="1m")
    with get_db(app).unit_of_work() as session:
        source = sources.get_by_name(session=session, name="sales")
        waiting = sync.queue_run(session=session, source=source, full=False)
    assert queue_due_syncs(app, utcnow() + timedelta(minutes=2)) == []
    # A run queued long ago and never started is taken for lost (stale_after_seconds).
    assert len(queue_due_syncs(app, waiting.started_at + timedelta(hours=1))) == 1


def test_a_queued_run_is_cancelled_and_a_finished_one_cannot_be(
    app: Flask, client: FlaskClient, make_token: Callable[..., dict[str, str]]
) -> None:
    admin = make_token("admin")
    add_source(app, "crm")
    with get_db(app).unit_of_work() as session:
        source = session.scalars(select(Source).where(Source.name == "crm")).one()
        run_id = sync.queue_run(session=session, source=source, full=False).id
    cancelled = client.post(f"/api/v1/sources/crm/runs/{run_id}/cancel", headers=admin)
    assert cancelled.status_code == 202
    assert cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/sources/crm/runs/{run_id}/cancel", headers=admin)
    assert again.status_code == 409 and "already ended: cancelled" in again.get_json()["detail"]
    assert client.post("/api/v1/sources/crm/runs/999/cancel", headers=admin).status_code == 404


def test_a_running_sync_stops_when_cancelled_and_the_next_goes_on_from_there(
    live_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, SANDBOX_TOKEN)
    sandboxes = start_sandboxes(120, seed=9, faults=Faults(slow_seconds=0.1))
    database = get_db(live_app)
    try:
        connect(live_app, sandboxes.hubspot, schedule=None)
        finished: list[SyncRun] = []

        def run() -> None:
            with live_app.app_context():
                finished.append(
                    runner.run_sync(
                        database=database,
                        settings=get_settings(live_app),
                        source_name="sales",
                        matcher_for=current_matcher,
                    )
                )

        syncing = threading.Thread(target=run)
        syncing.start()
        deadline = utcnow() + timedelta(seconds=60)
        while stored(live_app) < 20 and utcnow() < deadline:
            threading.Event().wait(0.05)
        with database.unit_of_work() as session:
            [active] = session.scalars(select(SyncRun)).all()
            sync.cancel_run(session=session, run=active)
        syncing.join(60)
        [stopped] = finished
        assert (stopped.status, stopped.error) == ("cancelled", "cancelled by request")
        kept = stored(live_app)
        assert 20 <= kept < len(sandboxes.hubspot.records())

        sandboxes.set_faults(Faults())
        run()
        assert finished[-1].status == "succeeded"
        assert finished[-1].counts["created"] == len(sandboxes.hubspot.records()) - kept
    finally:
        sandboxes.stop()


def stored(app: Flask) -> int:
    with get_db(app).engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(SourceRecord)) or 0
