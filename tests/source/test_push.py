"""Departments push records: validated, idempotent by external id, bad records named."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.source.models import SourceRecord
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


def test_pushing_twice_changes_nothing(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    add_source(app, "crm")
    token = make_token("connector", source="crm")
    batch = [record("1", first_name="Ana", email="ana@example.com"), record("2", first_name="Bo")]
    first = push(client, token, "crm", *batch)
    second = push(client, token, "crm", *batch)
    assert (first["created"], first["unchanged"]) == (2, 0)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 2)
    assert session.scalar(select(func.count()).select_from(SourceRecord)) == 2


def test_a_changed_record_is_updated(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    add_source(app, "crm")
    token = make_token("connector", source="crm")
    push(client, token, "crm", record("1", first_name="Ana", email="ana@example.com"))
    result = push(client, token, "crm", record("1", first_name="Ana", email="ana@new.example"))
    assert result["updated"] == 1
    stored = session.scalars(select(SourceRecord)).one()
    assert stored.attributes["email"] == "ana@new.example"


def test_bad_records_are_rejected_and_good_ones_kept(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    add_source(app, "crm", loyalty_id="identifier")
    token = make_token("connector", source="crm")
    result = push(
        client,
        token,
        "crm",
        record("1", email="ana@example.com", loyalty_id="L-1"),
        {"attributes": {"email": "no-id@example.com"}},
        record("3", shoe_size="42"),
    )
    assert result["created"] == 1
    assert result["rejected"] == 2
    reasons = {r["position"]: r["reason"] for r in result["rejects"]}
    assert "external_id" in reasons["1"]
    assert "shoe_size" in reasons["2"]


def test_a_batch_with_nothing_valid_is_a_422(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    add_source(app, "crm")
    response = client.post(
        "/api/v1/sources/crm/records",
        json={"records": [{"attributes": {}}]},
        headers=make_token("admin"),
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "records" in response.get_json()["errors"]


def test_a_malformed_body_is_a_422_naming_the_field(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    add_source(app, "crm")
    response = client.post(
        "/api/v1/sources/crm/records", json={"rows": []}, headers=make_token("admin")
    )
    assert response.status_code == 422
    assert "records" in response.get_json()["errors"]


def test_pushing_to_an_unknown_source_is_a_404(client: FlaskClient, make_token: Headers) -> None:
    response = client.post(
        "/api/v1/sources/nowhere/records",
        json={"records": [record("1", email="a@example.com")]},
        headers=make_token("admin"),
    )
    assert response.status_code == 404
    assert response.get_json()["detail"] == "no source named 'nowhere'"


def test_sources_are_listed(app: Flask, client: FlaskClient, make_token: Headers) -> None:
    add_source(app, "crm")
    add_source(app, "helpdesk")
    body = client.get("/api/v1/sources", headers=make_token("agent")).get_json()
    assert [s["name"] for s in body["data"]] == ["crm", "helpdesk"]
    assert body["next_cursor"] is None


def test_sources_are_listed_a_page_at_a_time(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    for name in ("shop", "crm", "helpdesk"):
        add_source(app, name)
    agent = make_token("agent")
    names, cursor = [], None
    for _ in range(3):
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        body = client.get(f"/api/v1/sources{query}", headers=agent).get_json()
        names.append([s["name"] for s in body["data"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert names == [["crm", "helpdesk"], ["shop"]]
    bad = client.get("/api/v1/sources?cursor=not-ours", headers=agent)
    assert bad.status_code == 400  # a forged cursor is refused, never read as the first page
    assert bad.mimetype == "application/problem+json"


def test_a_raw_payload_beyond_64_bit_integers_and_unicode_is_kept_as_sent(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    # Some systems number things past 2**64; the payload must survive storage unchanged.
    add_source(app, "crm")
    token = make_token("connector", source="crm")
    raw = {"id": 2**70, "nombre": "Begoña", "tags": ["vip", None]}
    pushed = {**record("1", first_name="Begoña"), "raw": raw}
    assert push(client, token, "crm", pushed)["created"] == 1
    assert push(client, token, "crm", pushed)["unchanged"] == 1
    stored = session.scalars(select(SourceRecord)).one()
    assert stored.raw == raw


def test_a_pushed_value_that_does_not_read_is_kept_flagged_and_counted(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    add_source(app, "crm")
    token = make_token("connector", source="crm")
    result = push(
        client,
        token,
        "crm",
        record("1", first_name="Ana", email="ana at example", birth_date="1990-02-30"),
        record("2", first_name="Bo", email="bo@example.com", phone="call me"),
    )
    assert (result["created"], result["rejected"], result["warnings"]) == (2, 0, 3)
    stored = {r.external_id: r for r in session.scalars(select(SourceRecord))}
    assert stored["1"].attributes["birth_date"] == "1990-02-30"
    assert stored["1"].problems == {"birth_date": "not a date", "email": "not an e-mail address"}
    assert stored["2"].problems == {"phone": "not a phone number"}
    profile = client.get(
        f"/api/v1/customers/{stored['1'].identity.public_id}?verbose=true", headers=make_token()
    ).get_json()
    (shown,) = profile["records"]["crm"]
    assert shown["problems"]["birth_date"] == "not a date"
