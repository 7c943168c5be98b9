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


ANA = {"first_name": "Ana", "last_name": "Ruiz", "birth_date": "1990-04-12"}
LI = {"full_name": "Li Wei", "birth_date": "1985-11-03"}


def test_records_sharing_an_email_and_a_name_form_one_identity(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("1", email="li.wei@example.cn", **LI))
    push(client, admin, "shop", record("a", email="LI.WEI@example.cn", full_name="Wei Li"))
    assert identity_of(session, "crm", "1") == identity_of(session, "shop", "a") is not None


def test_namesakes_without_shared_evidence_stay_apart(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("1", first_name="John", last_name="Smith", city="Leeds"))
    push(client, admin, "shop", record("a", first_name="John", last_name="Smith", city="Austin"))
    assert identity_of(session, "crm", "1") != identity_of(session, "shop", "a")


def test_a_deleted_record_leaves_its_identity(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("1", email="li.wei@example.cn", **LI))
    push(client, admin, "shop", record("a", email="li.wei@example.cn", **LI))
    kept = identity_of(session, "crm", "1")
    assert identity_of(session, "shop", "a") == kept
    push(client, admin, "shop", {"external_id": "a", "deleted": True})
    assert identity_of(session, "shop", "a") is None
    assert identity_of(session, "crm", "1") == kept
    stored = session.scalars(select(SourceRecord).where(SourceRecord.external_id == "a")).one()
    assert stored.deleted_at is not None  # a tombstone, not a gap
    actions = [e.action for e in audit.list_for_identity(session=session, public_id=kept or "")]
    assert actions == ["create", "attach", "detach"]


def test_an_identity_splits_when_a_record_turns_out_to_be_someone_else(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("1", email="ana@example.com", **ANA))
    push(
        client, admin, "shop", record("a", email="ana@example.com", phone="+34 600 111 222", **ANA)
    )
    push(client, admin, "shop", record("b", email="ana@example.com", **ANA))
    before = identity_of(session, "crm", "1")
    assert before == identity_of(session, "shop", "a") == identity_of(session, "shop", "b")
    bo = {"first_name": "Bo", "last_name": "Berg", "birth_date": "1979-01-30"}
    push(client, admin, "shop", record("a", email="bo@example.com", phone="+34600111222", **bo))
    assert identity_of(session, "crm", "1") == before  # the larger part keeps the id
    assert identity_of(session, "shop", "b") == before
    assert identity_of(session, "shop", "a") not in (None, before)
    actions = [e.action for e in audit.list_for_identity(session=session, public_id=before or "")]
    assert actions[-1] == "split"


def test_full_resolution_keeps_every_id(
    client: FlaskClient, admin: dict[str, str], cli: FlaskCliRunner, session: Session
) -> None:
    push(
        client,
        admin,
        "crm",
        record("1", email="ana@example.com", **ANA),
        record("2", email="li@x.org", **LI),
    )
    push(
        client,
        admin,
        "shop",
        record("a", email="ana@example.com", **ANA),
        record("b", phone="+1 202 555 0143", first_name="Bo", last_name="Berg"),
    )
    before = {
        key: identity_of(session, *key)
        for key in [("crm", "1"), ("crm", "2"), ("shop", "a"), ("shop", "b")]
    }
    assert before[("crm", "1")] == before[("shop", "a")]
    for _ in range(2):
        result = cli.invoke(args=["resolve", "--full"])
        assert result.exit_code == 0, result.output
        after = {key: identity_of(session, *key) for key in before}
        assert after == before
    assert "3 identities in all" in result.output


def test_export_lists_every_live_record_with_its_identity(
    client: FlaskClient, admin: dict[str, str], cli: FlaskCliRunner, session: Session
) -> None:
    push(client, admin, "crm", record("1", email="ana@example.com", **ANA))
    push(
        client,
        admin,
        "shop",
        record("a", email="ana@example.com", **ANA),
        record("z", email="z@x.org", **LI),
    )
    push(client, admin, "shop", {"external_id": "z", "deleted": True})
    result = cli.invoke(args=["export", "identities", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "source,source_record_id,identity_id"
    rows = [line.split(",") for line in lines[1:]]
    assert [(s, r) for s, r, _ in rows] == [("crm", "1"), ("shop", "a")]
    assert rows[0][2] == rows[1][2] == identity_of(session, "crm", "1")
