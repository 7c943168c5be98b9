"""Resolution on the store: stable ids through merges, deletions and full re-runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.identity.models import Identity
from app.source.models import SourceRecord
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


def identity_of(session: Session, source: str, external_id: str) -> str | None:
    """The public id of the identity a record belongs to."""
    session.expire_all()
    found = session.execute(
        select(Identity.public_id)
        .join(SourceRecord, SourceRecord.identity_id == Identity.id)
        .join(SourceRecord.source)
        .where(SourceRecord.external_id == external_id)
        .where(SourceRecord.source.has(name=source))
    ).scalar_one_or_none()
    return found


@pytest.fixture
def admin(app: Flask, make_token: Headers) -> dict[str, str]:
    add_source(app, "crm")
    add_source(app, "shop")
    return make_token("admin")


def test_records_sharing_an_email_form_one_identity(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("1", email="li.wei@example.cn", full_name="Li Wei"))
    push(client, admin, "shop", record("a", email="LI.WEI@example.cn", full_name="Wei Li"))
    assert identity_of(session, "crm", "1") == identity_of(session, "shop", "a") is not None


def test_a_deleted_record_leaves_its_identity(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("1", email="li.wei@example.cn"))
    push(client, admin, "shop", record("a", email="li.wei@example.cn"))
    kept = identity_of(session, "crm", "1")
    push(client, admin, "shop", {"external_id": "a", "deleted": True})
    assert identity_of(session, "shop", "a") is None
    assert identity_of(session, "crm", "1") == kept
    stored = session.scalars(select(SourceRecord).where(SourceRecord.external_id == "a")).one()
    assert stored.deleted_at is not None  # a tombstone, not a gap
    actions = [e.action for e in audit.list_for_identity(session=session, public_id=kept or "")]
    assert actions[-1] == "detach"


def test_an_identity_splits_when_the_record_holding_it_together_changes(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("1", email="ana@example.com"))
    push(client, admin, "shop", record("a", email="ana@example.com", phone="+34 600 111 222"))
    push(client, admin, "shop", record("b", phone="+34600111222"))
    before = identity_of(session, "crm", "1")
    assert before == identity_of(session, "shop", "b")
    push(client, admin, "shop", record("a", email="ana@example.com"))  # phone removed
    assert identity_of(session, "crm", "1") == before  # the larger part keeps the id
    assert identity_of(session, "shop", "b") not in (None, before)


def test_full_resolution_keeps_every_id(
    client: FlaskClient, admin: dict[str, str], cli: FlaskCliRunner, session: Session
) -> None:
    push(client, admin, "crm", record("1", email="a@example.com"), record("2", email="b@x.org"))
    push(
        client,
        admin,
        "shop",
        record("a", email="a@example.com"),
        record("b", phone="+1 202 555 0143"),
    )
    before = {
        key: identity_of(session, *key)
        for key in [("crm", "1"), ("crm", "2"), ("shop", "a"), ("shop", "b")]
    }
    for _ in range(2):
        result = cli.invoke(args=["resolve", "--full"])
        assert result.exit_code == 0, result.output
        after = {key: identity_of(session, *key) for key in before}
        assert after == before
    assert "3 identities in all" in result.output


def test_export_lists_every_live_record_with_its_identity(
    client: FlaskClient, admin: dict[str, str], cli: FlaskCliRunner, session: Session
) -> None:
    push(client, admin, "crm", record("1", email="a@example.com"))
    push(client, admin, "shop", record("a", email="a@example.com"), record("z", email="z@x.org"))
    push(client, admin, "shop", {"external_id": "z", "deleted": True})
    result = cli.invoke(args=["export", "identities", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "source,source_record_id,identity_id"
    rows = [line.split(",") for line in lines[1:]]
    assert [(s, r) for s, r, _ in rows] == [("crm", "1"), ("shop", "a")]
    assert rows[0][2] == rows[1][2] == identity_of(session, "crm", "1")
