"""An erasure while a sync of the same person runs, on PostgreSQL with real commits: the erasure
waits for the page being stored, the sync's later pages wait for the erasure, the person is gone
at the end and the sync counts them as suppressed."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import select, text

from app.db import get_db
from app.identity.models import RecordIdentifier
from app.ingest import sync as runner
from app.ingest.erasure import erase
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source.models import SourceRecord
from connectors.sandbox import Sandboxes, connector_settings
from tests.helpers import add_source, wait_until_blocked
from tests.privacy.conftest import TOKEN_ENV, XIMENA

IDENTITY_LOCK = 0x4875656C  # app.db.locks: the lock every page that resolves takes
SUPPRESSION_LOCK = 0x53757070  # app.db.locks: ingest holds it shared, erasure exclusively


def waiting_for_suppression_lock(app: Flask) -> int:
    """How many sessions wait for the suppression list's lock."""
    with get_db(app).engine.connect() as probe:
        return int(
            probe.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted AND objid = :lock"
                ),
                {"lock": SUPPRESSION_LOCK},
            ).scalar_one()
        )


def test_an_erasure_during_a_sync_of_the_person_waits_and_the_person_stays_gone(
    live_app: Flask, sandboxes: Sandboxes
) -> None:
    app, database, settings = live_app, get_db(live_app), get_settings(live_app)
    # Pages of five: Ximena, changed last, comes on the third.
    crm = connector_settings(sandboxes.hubspot, TOKEN_ENV, rate_limit=0, page_size=5)
    add_source(app, "sales", "hubspot", settings=crm)
    assert app.test_cli_runner().invoke(args=["sync", "sales"]).exit_code == 0
    outcome: dict[str, Any] = {}

    def full_sync() -> None:
        with app.app_context():
            outcome["run"] = runner.run_sync(
                database=database,
                settings=settings,
                source_name="sales",
                matcher_for=current_matcher,
                full=True,
            )

    def erasure() -> None:
        with app.app_context(), database.unit_of_work() as session:
            outcome["erasure"] = erase(
                session=session,
                settings=settings,
                matcher=current_matcher(session),
                reference=f"email:{XIMENA.email}",
                actor="race test",
                reason="request 9",
            )

    syncing, erasing = threading.Thread(target=full_sync), threading.Thread(target=erasure)
    with database.engine.connect() as holder:
        # Hold the first page of the full sync in its transaction, past its suppression check.
        holder.execute(text("SELECT pg_advisory_lock(:lock)"), {"lock": IDENTITY_LOCK})
        syncing.start()
        wait_until_blocked(app, timeout=15)
        erasing.start()
        wait_until_blocked(app, timeout=15, sessions=2)
        # The erasure waits for the page being stored, which passed its suppression check.
        assert waiting_for_suppression_lock(app) == 1
        assert "erasure" not in outcome
        holder.execute(text("SELECT pg_advisory_unlock(:lock)"), {"lock": IDENTITY_LOCK})
        holder.commit()
    syncing.join(60)
    erasing.join(60)

    assert outcome["erasure"].status == "erased"
    assert outcome["erasure"].records == {"sales": 1}
    run = outcome["run"]
    assert run.status == "succeeded", run.error
    assert run.counts["suppressed"] == 2  # her contact, and her deal on the events stream
    assert run.counts["created"] == 0
    with app.app_context(), database.session() as session:
        held = session.scalars(
            select(SourceRecord.id).where(SourceRecord.external_id == XIMENA.ids["sales"])
        ).all()
        assert held == []
        emails = session.scalars(
            select(RecordIdentifier.record_id).where(RecordIdentifier.value == XIMENA.email)
        ).all()
        assert emails == []
