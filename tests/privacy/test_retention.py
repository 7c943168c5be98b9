"""Retention: events, rejects, reads and finished jobs older than config/privacy.toml keeps are
deleted by
`huella retention apply` (and the scheduler's daily task), and the traits recounted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.audit.models import ReadEntry
from app.db import get_db, hold_identity_lock, utcnow
from app.errors import ConfigError
from app.event.models import Event
from app.ingest.retention import apply_retention
from app.ingest.tasks import TASKS
from app.settings import get_settings
from app.settings.privacy import load_privacy_config
from app.source import service as sources
from app.sync.models import Job, RecordReject
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]
YEARS_AGO = utcnow() - timedelta(days=3 * 365)


@pytest.fixture
def store(app: Flask, client: FlaskClient, make_token: Headers) -> str:
    """A customer with two orders of three years ago and one of last week, an old reject, an
    old read of the audit, and two jobs of three years ago, one finished and one still running
    (its worker is slow, not gone); the customer's id."""
    add_source(app, "shop")
    admin = make_token("admin")
    push(client, admin, "shop", record("s-1", first_name="Ole", email="ole@example.dk"))
    orders = [
        {"record": "shop:s-1", "id": f"o-{n}", "type": "order", "occurred_at": when.isoformat()}
        for n, when in enumerate((YEARS_AGO, YEARS_AGO, utcnow() - timedelta(days=7)))
    ]
    answer = client.post("/api/v1/events", json={"source": "shop", "events": orders}, headers=admin)
    assert answer.get_json()["accepted"] == 3
    with app.app_context(), get_db(app).unit_of_work() as session:
        shop = sources.get_by_name(session=session, name="shop")
        session.add(
            RecordReject(
                source_id=shop.id,
                stream="records",
                position="row 3",
                reason="no id",
                raw={"name": "old"},
                created_at=YEARS_AGO,
            )
        )
        session.add(ReadEntry(actor="an agent", action="read", route="GET /x", at=YEARS_AGO))
        for status, finished in (("succeeded", YEARS_AGO), ("running", None)):
            session.add(
                Job(
                    kind="remove_source",
                    subject="old-shop",
                    actor="an admin",
                    status=status,
                    created_at=YEARS_AGO,
                    started_at=YEARS_AGO,
                    finished_at=finished,
                )
            )
    found = client.get("/api/v1/customers/lookup/email:ole@example.dk", headers=admin)
    return str(found.get_json()["data"][0]["id"])


def counts(session: Session) -> tuple[int, int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Event)) or 0,
        session.scalar(select(func.count()).select_from(RecordReject)) or 0,
        session.scalar(select(func.count()).select_from(ReadEntry)) or 0,
        session.scalar(select(func.count()).select_from(Job)) or 0,
    )


def test_retention_deletes_what_is_older_than_kept_and_recounts_traits(
    client: FlaskClient, cli: FlaskCliRunner, make_token: Headers, session: Session, store: str
) -> None:
    dry = cli.invoke(args=["retention", "apply", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "events: would delete 2 (from before " in dry.output
    assert "rejects: would delete 1" in dry.output and "reads: would delete 1" in dry.output
    assert "jobs: would delete 1" in dry.output
    assert counts(session) == (3, 1, 1, 2)

    done = cli.invoke(args=["retention", "apply"])
    assert done.exit_code == 0, done.output
    assert "events: deleted 2" in done.output
    assert "traits recounted for 1 customers" in done.output
    assert counts(session) == (1, 0, 0, 1)
    admin = make_token("admin")
    traits = client.get(f"/api/v1/customers/{store}", headers=admin).get_json()["traits"]
    assert traits["orders"]["count"] == 1
    again = cli.invoke(args=["retention", "apply"])
    assert "events: deleted 0" in again.output


def test_the_scheduler_runs_retention_as_a_task(app: Flask, session: Session, store: str) -> None:
    with app.app_context():
        assert TASKS["huella.retention"]() == {
            "events": 2,
            "rejects": 1,
            "reads": 1,
            "jobs": 1,
            "customers": 1,
        }
    assert counts(session) == (1, 0, 0, 1)
    assert "huella.retention" in app.config["SCHEDULER"]["tasks"]


def test_a_retention_that_does_not_read_stops_the_start(tmp_path: Path) -> None:
    config = tmp_path / "privacy.toml"
    config.write_text(
        '[suppression]\nkey_env = "HUELLA_SECRET_SUPPRESSION_KEY"\n'
        "[retention]\nevents_days = -1\nlogs_days = 3\n"
    )
    with pytest.raises(ConfigError, match=r"\[retention\] events, logs: one of events_days"):
        load_privacy_config(config, environ={})


def test_a_dry_run_does_not_wait_for_a_change_to_identities(live_app: Flask) -> None:
    """A dry run only counts: it goes on while another transaction holds the identities (a
    batch resolution, an erasure), where the real run waits its turn."""
    database = get_db(live_app)
    with live_app.app_context(), database.session() as busy, database.session() as counting:
        hold_identity_lock(busy)
        counting.execute(text("SET LOCAL lock_timeout = '2s'"))
        report = apply_retention(session=counting, settings=get_settings(live_app), dry_run=True)
        assert report.dry_run and report.events == 0
        with pytest.raises(OperationalError):
            apply_retention(session=counting, settings=get_settings(live_app))
