"""Transactions changing identities at once, on PostgreSQL with real commits: the second waits
for the first and sees its records, so one person arriving twice at the same moment is one
identity, and an event about a customer being resolved counts in their traits."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from app.auth import service as tokens
from app.db import get_db
from app.ingest.flows import IngestReport, ingest_page
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source import service as sources
from connectors import Page, RecordIn
from tests.helpers import add_source, wait_until_blocked

ANA = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana.ruiz@example.com"}


def ingest(session: Session, source: str, external_id: str, attributes: dict[str, str]) -> None:
    page = Page(state={}, records=[RecordIn(external_id, dict(attributes), dict(attributes))])
    ingest_page(
        session=session,
        settings=get_settings(),
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


def test_an_event_about_a_customer_being_resolved_waits_and_counts_in_their_traits(
    live_app: Flask,
) -> None:
    add_source(live_app, "crm")
    add_source(live_app, "web")
    database = get_db(live_app)
    with live_app.app_context(), database.unit_of_work() as session:
        _, secret = tokens.create(session=session, name="site", role="admin")
    order = {"type": "order", "occurred_at": "2024-05-01T09:00:00+00:00", "email": ANA["email"]}
    answers: list[int] = []

    def send_event() -> None:
        response = live_app.test_client().post(
            "/api/v1/events",
            json={"source": "web", "events": [order]},
            headers={"Authorization": f"Bearer {secret}"},
        )
        answers.append(response.status_code)

    with live_app.app_context(), database.unit_of_work() as first:
        ingest(first, "crm", "c-1", ANA)
        thread = threading.Thread(target=send_event)
        thread.start()
        wait_until_blocked(live_app)
        assert answers == []
    thread.join(30)
    assert answers == [202]
    client = live_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    [found] = client.get(
        f"/api/v1/customers/lookup/email:{ANA['email']}", headers=headers
    ).get_json()["data"]
    assert found["traits"]["orders"]["count"] == 1
