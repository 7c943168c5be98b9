"""Two transactions resolving at once, on PostgreSQL with real commits: the second waits for the
first and sees its records, so one person arriving twice at the same moment is one identity."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from app.db import get_db
from app.resolution.runtime import current_matcher
from app.source import service as sources
from app.sync.service import IngestReport, ingest_page
from connectors import Page, RecordIn
from tests.helpers import add_source, wait_until_blocked

ANA = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana.ruiz@example.com"}


def ingest(session: Session, source: str, external_id: str, attributes: dict[str, str]) -> None:
    page = Page(state={}, records=[RecordIn(external_id, dict(attributes), dict(attributes))])
    ingest_page(
        session=session,
        source=sources.get_by_name(session=session, name=source),
        page=page,
        matcher=current_matcher(session),
        report=IngestReport(),
    )


def test_one_person_arriving_in_two_departments_at_once_is_one_identity(live_app: Flask) -> None:
    add_source(live_app, "crm")
    add_source(live_app, "desk")
    database = get_db(live_app)
    outcome: dict[str, Any] = {}

    def second_department() -> None:
        with live_app.app_context(), database.unit_of_work() as session:
            ingest(session, "desk", "d-1", ANA)
        outcome["done"] = True

    with live_app.app_context(), database.unit_of_work() as first:
        ingest(first, "crm", "c-1", ANA)
        # The desk's copy arrives while the CRM's is resolved but not yet committed.
        thread = threading.Thread(target=second_department)
        thread.start()
        wait_until_blocked(live_app)
        assert "done" not in outcome
    thread.join(30)
    assert outcome.get("done")
    with live_app.app_context(), database.session() as session:
        crm = sources.get_record(session=session, source_name="crm", external_id="c-1")
        desk = sources.get_record(session=session, source_name="desk", external_id="d-1")
        assert crm.identity_id is not None
        assert crm.identity_id == desk.identity_id
