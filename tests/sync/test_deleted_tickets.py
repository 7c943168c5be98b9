"""A ticket Zendesk reports as deleted leaves the customer's timeline and traits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.event.models import Event
from app.identity.models import Identity
from app.source.models import SourceRecord
from connectors.sandbox import Sandboxes, connector_settings
from tests.helpers import add_source

TOKEN_ENV = "HUELLA_SECRET_TICKET_TEST"


@pytest.fixture
def sandboxes(department_sandboxes: Callable[..., Sandboxes]) -> Sandboxes:
    return department_sandboxes(TOKEN_ENV, 60, seed=7)


def customer_of_ticket(session: Session, number: int) -> str:
    session.expire_all()
    found: str = session.execute(
        select(Identity.public_id)
        .join(SourceRecord, SourceRecord.identity_id == Identity.id)
        .join(Event, Event.record_id == SourceRecord.id)
        .where(Event.external_id == str(number))
    ).scalar_one()
    return found


def tickets_of(client: FlaskClient, headers: dict[str, str], customer: str) -> list[str]:
    answer = client.get(
        f"/api/v1/customers/{customer}/timeline?type=ticket&limit=100", headers=headers
    )
    assert answer.status_code == 200, answer.get_json()
    return [event["external_id"] for event in answer.get_json()["data"]]


def test_a_deleted_ticket_leaves_the_timeline_and_the_open_count(
    app: Flask,
    cli: FlaskCliRunner,
    client: FlaskClient,
    session: Session,
    sandboxes: Sandboxes,
    make_token: Callable[..., dict[str, str]],
) -> None:
    zendesk = sandboxes.zendesk
    assert len(zendesk.events) >= 3
    zendesk.delete_ticket(1)  # deleted before the first sync: never read (exclude_deleted)
    add_source(
        app, "support", "zendesk", settings=connector_settings(zendesk, TOKEN_ENV, rate_limit=0)
    )
    assert cli.invoke(args=["sync", "support"]).exit_code == 0
    stored = set(session.scalars(select(Event.external_id)))
    assert "1" not in stored and "2" in stored
    zendesk.events[1].properties["status"] = "open"  # ticket 2, open: counted
    assert cli.invoke(args=["sync", "support", "--full"]).exit_code == 0
    admin = make_token("admin")
    customer = customer_of_ticket(session, 2)
    assert "2" in tickets_of(client, admin, customer)
    profile = client.get(f"/api/v1/customers/{customer}", headers=admin).get_json()
    open_before = profile["traits"]["tickets"]["open"]
    assert open_before >= 1

    zendesk.delete_ticket(2)
    synced = cli.invoke(args=["sync", "support"])
    assert synced.exit_code == 0, synced.output
    assert "2" not in tickets_of(client, admin, customer)
    profile = client.get(f"/api/v1/customers/{customer}", headers=admin).get_json()
    assert profile["traits"]["tickets"]["open"] == open_before - 1
