"""What erasure asks for and answers: who may erase, by what reference, with which reason; what
a dry run shows; deleted records, audit entries and models; lifting a suppression."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import create_app
from app.audit.models import AuditEntry
from app.db import get_db
from app.errors import ConfigError
from app.event import intake
from app.event.models import Event, EventBatch
from app.matching.model import value_digest
from app.privacy import suppression
from app.privacy.models import Suppression
from app.resolution import service as resolution
from app.resolution.models import ModelVersion
from app.resolution.runtime import current_matcher
from app.source import service as sources
from app.source.models import SourceRecord
from app.sync.models import RecordReject
from tests.conftest import SUPPRESSION_KEY_ENV, huella_config
from tests.helpers import add_source, job_of, push, record

Headers = Callable[..., dict[str, str]]
ROSA = {"first_name": "Rosa", "last_name": "Quintanilla", "birth_date": "1979-11-02"}
ROSA_EMAIL = "rosa.quintanilla@example.net"
FAMILY = "casa.ferro@example.net"  # the Ferros' e-mail


def push_the_ferros(client: FlaskClient, crm: dict[str, str]) -> None:
    """Ada and Ugo Ferro, two people who share the family's e-mail."""
    push(
        client,
        crm,
        "crm",
        record("c-4", first_name="Ada", last_name="Ferro", birth_date="1950-01-01", email=FAMILY),
        record("c-5", first_name="Ugo", last_name="Ferro", birth_date="1990-09-09", email=FAMILY),
    )


@pytest.fixture
def crm(app: Flask, client: FlaskClient, make_token: Headers) -> dict[str, str]:
    """A CRM that pushes Rosa twice (one customer) and Bruno; returns an admin's headers."""
    add_source(app, "crm")
    admin = make_token("admin")
    push(
        client,
        admin,
        "crm",
        record("c-1", email=ROSA_EMAIL, phone="+34 622 000 111", **ROSA),
        record("c-2", email=ROSA_EMAIL, **ROSA),
        record("c-3", first_name="Bruno", last_name="Ferro", email="bruno@example.net"),
    )
    return admin


def customer_of(client: FlaskClient, headers: dict[str, str], reference: str) -> str:
    answer = client.post("/api/v1/customers/lookup", json={"reference": reference}, headers=headers)
    [found] = answer.get_json()["data"]
    return str(found["id"])


def erase(
    client: FlaskClient, headers: dict[str, str], public_id: str, **body: Any
) -> tuple[int, dict[str, Any]]:
    """An erasure over the API: its status and body; for one the workers ran (202), the
    report its job ended with."""
    answer = client.delete(
        f"/api/v1/customers/{public_id}", json={"reason": "request 88", **body}, headers=headers
    )
    if answer.status_code != 202:
        return answer.status_code, answer.get_json()
    job = job_of(client, headers, answer)
    assert job["status"] == "succeeded", job
    return 202, job["result"]


def test_only_an_admin_erases_and_an_unknown_customer_is_a_404(
    client: FlaskClient, crm: dict[str, str], make_token: Headers
) -> None:
    rosa = customer_of(client, crm, f"email:{ROSA_EMAIL}")
    assert erase(client, make_token("agent"), rosa)[0] == 403
    assert erase(client, make_token("connector", "crm"), rosa)[0] == 403
    status, problem = erase(client, crm, "cus_0000000000000000")
    assert status == 404 and problem["detail"] == "no customer 'cus_0000000000000000'"
    status, problem = erase(client, crm, rosa, reason="")
    assert status == 422 and "reason" in problem["errors"]


def test_a_reason_naming_the_person_is_refused_as_it_would_stay_in_the_audit(
    client: FlaskClient, crm: dict[str, str]
) -> None:
    rosa = customer_of(client, crm, f"email:{ROSA_EMAIL}")
    for reason in ("Rosa Quintanilla asked by phone", f"mail from {ROSA_EMAIL.upper()}"):
        status, problem = erase(client, crm, rosa, reason=reason)
        assert status == 422, problem
        assert "without their name, e-mail, phone or ids" in problem["errors"]["reason"][0]
    assert customer_of(client, crm, f"email:{ROSA_EMAIL}") == rosa  # nothing erased


def test_a_dry_run_counts_what_the_erasure_then_removes(
    client: FlaskClient, crm: dict[str, str], session: Session
) -> None:
    rosa = customer_of(client, crm, f"email:{ROSA_EMAIL}")
    status, dry = erase(client, crm, rosa, dry_run=True)
    assert (status, dry["status"], dry["dry_run"]) == (200, "would_erase", True)
    assert customer_of(client, crm, f"email:{ROSA_EMAIL}") == rosa
    status, done = erase(client, crm, rosa)
    assert (status, done["status"]) == (202, "erased")
    assert done["tables"] == dry["tables"]
    assert done["suppressed"] == dry["suppressed"] == 4  # two record ids, an e-mail, a phone
    assert done["records"] == {"crm": 2}
    assert session.scalars(select(SourceRecord.external_id)).all() == ["c-3"]


def test_erasing_by_a_departments_id_or_a_phone_and_twice(
    cli: FlaskCliRunner, crm: dict[str, str]
) -> None:
    first = cli.invoke(args=["erase", "crm:c-2", "--reason", "request 88"])
    assert first.exit_code == 0, first.output
    assert "erased cus_" in first.output and "records 2 in crm" in first.output
    for reference in ("crm:c-2", "phone:+34622000111", f"email:{ROSA_EMAIL}"):
        again = cli.invoke(args=["erase", reference, "--reason", "request 88"])
        assert again.exit_code == 0, again.output
        assert "was already erased" in again.output
    unknown = cli.invoke(args=["erase", "crm:c-404", "--reason", "request 88"])
    assert unknown.exit_code == 1 and "nothing holds 'crm:c-404'" in unknown.output


def test_an_email_two_customers_hold_names_them_instead_of_erasing_both(
    client: FlaskClient, cli: FlaskCliRunner, crm: dict[str, str]
) -> None:
    push_the_ferros(client, crm)
    result = cli.invoke(args=["erase", f"email:{FAMILY}", "--reason", "request 88"])
    assert result.exit_code == 1
    assert "2 customers hold this email: erase each by its id (cus_" in result.output


def test_deleted_records_rejects_and_earlier_audit_entries_lose_the_persons_values(
    app: Flask, client: FlaskClient, crm: dict[str, str], session: Session
) -> None:
    rosa = customer_of(client, crm, f"email:{ROSA_EMAIL}")
    # A deleted record keeps its values as a tombstone; a reject keeps what could not be read.
    push(client, crm, "crm", record("c-old", email=ROSA_EMAIL.upper(), first_name="R."))
    push(client, crm, "crm", {"external_id": "c-old", "deleted": True})
    bad = {"external_id": "c-bad", "attributes": {"email": ROSA_EMAIL, "shoe": "38"}}
    client.post("/api/v1/sources/crm/records", json={"records": [bad, record("c-9")]}, headers=crm)
    assert session.scalar(select(RecordReject.id).where(RecordReject.raw.is_not(None)))
    history = session.scalars(select(AuditEntry)).all()
    assert any("crm:c-1" in json.dumps(e.after) for e in history)

    status, report = erase(client, crm, rosa)
    assert status == 202, report
    assert report["records"] == {"crm": 3}  # c-1, c-2 and the tombstone c-old
    assert report["tables"]["record_reject"] == 1
    session.expire_all()
    assert "c-old" not in session.scalars(select(SourceRecord.external_id)).all()
    assert session.scalar(select(RecordReject.id).where(RecordReject.raw.is_not(None))) is None
    trail = json.dumps([[e.before, e.after, e.reason] for e in session.scalars(select(AuditEntry))])
    for value in ("crm:c-1", "crm:c-2", "crm:c-old", ROSA_EMAIL, "Quintanilla"):
        assert value.lower() not in trail.lower()
    assert "crm:c-3" in trail  # Bruno's history stays whole


def test_stored_models_forget_the_persons_rare_values_and_keep_common_ones(
    app: Flask, client: FlaskClient, crm: dict[str, str], session: Session
) -> None:
    push_the_ferros(client, crm)
    with app.app_context():
        matcher = current_matcher(session)
        resolution.keep_model(
            session=session, fitted=resolution.fit(session=session, matcher=matcher, train=False)
        )
    session.commit()
    stored = json.loads(session.scalars(select(ModelVersion.model)).one())
    tables = stored["term_frequencies"]
    assert "quintanilla" in tables["last_name"]["values"]
    assert "ferro" in tables["last_name"]["values"]  # Bruno, Ada and Ugo
    assert value_digest(FAMILY) in tables["email"]["values"]  # two people, one e-mail

    ada = customer_of(client, crm, "crm:c-4")
    assert erase(client, crm, customer_of(client, crm, f"email:{ROSA_EMAIL}"))[0] == 202
    assert erase(client, crm, ada)[0] == 202
    session.expire_all()
    tables = json.loads(session.scalars(select(ModelVersion.model)).one())["term_frequencies"]
    assert "quintanilla" not in tables["last_name"]["values"]
    assert "ferro" in tables["last_name"]["values"]  # still two other holders
    assert value_digest(FAMILY) not in tables["email"].get("values", {})  # one holder left


def test_a_lifted_suppression_lets_the_identifier_in_again_and_is_audited(
    client: FlaskClient, cli: FlaskCliRunner, crm: dict[str, str], session: Session
) -> None:
    assert cli.invoke(args=["erase", "crm:c-1", "--reason", "request 88"]).exit_code == 0
    again = push(client, crm, "crm", record("c-7", email=ROSA_EMAIL, first_name="Rosa"))
    assert (again["created"], again["suppressed"]) == (0, 1)
    listed = cli.invoke(args=["suppression", "list"])
    assert "email\t1" in listed.output and "record\t2" in listed.output
    lifted = cli.invoke(
        args=["suppression", "lift", f"email:{ROSA_EMAIL.upper()}", "--reason", "consent 91"]
    )
    assert lifted.exit_code == 0, lifted.output
    digest = lifted.output.split()[1]
    assert session.get(Suppression, digest) is None
    back = push(client, crm, "crm", record("c-7", email=ROSA_EMAIL, first_name="Rosa"))
    assert (back["created"], back["suppressed"]) == (1, 0)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "lift_suppression")).one()
    assert entry.reason == "consent 91" and entry.after == {"digest": digest, "kind": "email"}
    assert entry.subjects  # under the erased customer's id
    missing = cli.invoke(args=["suppression", "lift", digest, "--reason", "consent 91"])
    assert missing.exit_code == 1 and "nothing to lift" in missing.output


def test_without_the_key_erasure_says_how_to_set_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SUPPRESSION_KEY_ENV)
    keyless = create_app(huella_config(database_url))
    result = keyless.test_cli_runner().invoke(args=["erase", "crm:c-1", "--reason", "request 88"])
    get_db(keyless).dispose()
    assert result.exit_code == 1
    assert f"set {SUPPRESSION_KEY_ENV} to a long random secret" in result.output
    monkeypatch.setenv(SUPPRESSION_KEY_ENV, "too short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        create_app(huella_config(database_url))


def test_ingest_stops_when_the_list_holds_digests_it_cannot_check(
    app: Flask, client: FlaskClient, cli: FlaskCliRunner, crm: dict[str, str], session: Session
) -> None:
    assert cli.invoke(args=["erase", "crm:c-3", "--reason", "request 88"]).exit_code == 0
    for key in (None, b"another key, as long as the one before it"):
        with pytest.raises(ConfigError, match="nothing is ingested until"):
            suppression.open_checker(session=session, key=key, key_env=SUPPRESSION_KEY_ENV)


def test_what_an_erased_person_sends_is_not_kept_even_as_a_reject(
    client: FlaskClient, cli: FlaskCliRunner, crm: dict[str, str], session: Session
) -> None:
    assert cli.invoke(args=["erase", "crm:c-1", "--reason", "request 88"]).exit_code == 0
    unreadable = {"external_id": "c-8", "attributes": {"email": ROSA_EMAIL, "shoe": "38"}}
    answer = client.post(
        "/api/v1/sources/crm/records",
        json={"records": [unreadable, record("c-9", first_name="Lia")]},
        headers=crm,
    ).get_json()
    assert (answer["created"], answer["rejected"], answer["suppressed"]) == (1, 0, 1)
    assert session.scalar(select(RecordReject.id)) is None


def test_events_still_queued_for_the_workers_are_erased_with_the_person(
    app: Flask, client: FlaskClient, crm: dict[str, str], session: Session
) -> None:
    rosa = customer_of(client, crm, f"email:{ROSA_EMAIL}")
    # A batch POST /api/v1/events answered 202 for, which no worker has written yet.
    parcel = {"email": ROSA_EMAIL, "type": "order", "properties": {"to": "Quintanilla, C/ Olmo"}}
    with app.app_context(), get_db(app).unit_of_work() as queueing:
        source = sources.get_by_name(session=queueing, name="crm")
        intake.queue_batch(session=queueing, source=source, items=[parcel], only_own=False)

    status, report = erase(client, crm, rosa)
    assert status == 202, report
    assert report["tables"]["event"] == 1  # written out first, then erased with the rest
    session.expire_all()
    batches = session.scalars(select(EventBatch.items)).all()
    assert [items for items in batches if items and "Quintanilla" in items] == []
    assert session.scalar(select(func.count()).select_from(Event)) == 0
