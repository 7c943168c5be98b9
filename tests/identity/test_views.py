"""Finding a customer: by id (following merges) and by e-mail, phone or a department's id."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def agent(app: Flask, client: FlaskClient, make_token: Headers) -> dict[str, str]:
    """Two departments hold Ana; the CRM also holds Bo."""
    add_source(app, "crm")
    add_source(app, "helpdesk")
    admin = make_token("admin")
    push(
        client,
        admin,
        "crm",
        record("c-1", first_name="Ana", last_name="Ruiz", email="Ana.Ruiz@Example.com"),
        record("c-2", first_name="Bo", email="bo@example.com", phone="+1 415 555 0100"),
    )
    push(
        client,
        admin,
        "helpdesk",
        record("h-9", full_name="Ana Ruiz", email="ana.ruiz@example.com "),
    )
    return make_token("agent")


def test_lookup_by_email_finds_one_identity_across_departments(
    client: FlaskClient, agent: dict[str, str]
) -> None:
    body = client.get("/api/v1/identities?email=ANA.RUIZ@example.com", headers=agent).get_json()
    assert len(body["data"]) == 1
    identity = body["data"][0]
    assert identity["id"].startswith("cus_")
    assert sorted(identity["sources"]) == ["crm", "helpdesk"]
    assert identity["sources"]["crm"][0]["attributes"]["last_name"] == "Ruiz"


def test_lookup_by_phone_in_another_format(client: FlaskClient, agent: dict[str, str]) -> None:
    body = client.get("/api/v1/identities?phone=(415) 555-0100", headers=agent).get_json()
    assert [i["sources"]["crm"][0]["external_id"] for i in body["data"]] == ["c-2"]


def test_lookup_by_source_and_external_id(client: FlaskClient, agent: dict[str, str]) -> None:
    body = client.get(
        "/api/v1/identities?source=helpdesk&external_id=h-9", headers=agent
    ).get_json()
    assert len(body["data"]) == 1
    assert sorted(body["data"][0]["sources"]) == ["crm", "helpdesk"]


def test_lookup_of_an_unknown_email_is_empty(client: FlaskClient, agent: dict[str, str]) -> None:
    body = client.get("/api/v1/identities?email=nobody@example.com", headers=agent).get_json()
    assert body["data"] == []


@pytest.mark.parametrize("query", ["", "?email=a@example.com&phone=1", "?source=crm"])
def test_lookup_needs_exactly_one_identifier(
    client: FlaskClient, agent: dict[str, str], query: str
) -> None:
    response = client.get(f"/api/v1/identities{query}", headers=agent)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_get_identity_by_id(client: FlaskClient, agent: dict[str, str]) -> None:
    found = client.get("/api/v1/identities?email=bo@example.com", headers=agent).get_json()
    public_id = found["data"][0]["id"]
    body = client.get(f"/api/v1/identities/{public_id}", headers=agent).get_json()
    assert body["id"] == public_id
    assert body["record_count"] == 1


def test_unknown_identity_is_a_404(client: FlaskClient, agent: dict[str, str]) -> None:
    response = client.get("/api/v1/identities/cus_doesnotexist", headers=agent)
    assert response.status_code == 404
    assert response.get_json()["detail"] == "no identity 'cus_doesnotexist'"


def test_merged_away_identity_redirects_to_the_survivor(
    client: FlaskClient, agent: dict[str, str], make_token: Headers
) -> None:
    admin = make_token("admin")
    marta = {"first_name": "Marta", "last_name": "Lindqvist", "birth_date": "1984-03-12"}
    push(client, admin, "crm", record("m-1", **marta, phone="+46 70 123 45 67"))
    push(
        client, admin, "helpdesk", record("m-2", full_name="Marta Lindqvist", email="ml@example.se")
    )
    older = client.get("/api/v1/identities?source=crm&external_id=m-1", headers=agent).get_json()
    newer = client.get(
        "/api/v1/identities?source=helpdesk&external_id=m-2", headers=agent
    ).get_json()
    older_id, newer_id = older["data"][0]["id"], newer["data"][0]["id"]
    assert older_id != newer_id
    # The CRM learns Marta's e-mail: the evidence now joins the two identities.
    push(client, admin, "crm", record("m-1", **marta, phone="+46701234567", email="ml@example.se"))
    response = client.get(f"/api/v1/identities/{newer_id}", headers=agent)
    assert response.status_code == 308
    assert response.headers["Location"].endswith(f"/api/v1/identities/{older_id}")
    survivor = client.get(response.headers["Location"], headers=agent).get_json()
    assert survivor["id"] == older_id
    assert survivor["record_count"] == 2
