"""Identities: by id (following merges), found by e-mail, phone or a department's id through the
customer lookup; the lookup of earlier releases redirects there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


def find(client: FlaskClient, headers: dict[str, str], reference: str) -> list[dict[str, Any]]:
    """The identities the customer lookup finds for a ``type:value`` reference, as the identity
    endpoint shows them."""
    found = client.get(f"/api/v1/customers/lookup/{quote(reference, safe=':@')}", headers=headers)
    assert found.status_code == 200, found.get_json()
    return [
        client.get(f"/api/v1/identities/{customer['id']}", headers=headers).get_json()
        for customer in found.get_json()["data"]
    ]


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
    found = find(client, agent, "email:ANA.RUIZ@example.com")
    assert len(found) == 1
    identity = found[0]
    assert identity["id"].startswith("cus_")
    assert sorted(identity["sources"]) == ["crm", "helpdesk"]
    assert identity["sources"]["crm"][0]["attributes"]["last_name"] == "Ruiz"


def test_lookup_by_phone_in_another_format(client: FlaskClient, agent: dict[str, str]) -> None:
    found = find(client, agent, "phone:(415) 555-0100")
    assert [i["sources"]["crm"][0]["external_id"] for i in found] == ["c-2"]


def test_lookup_by_source_and_external_id(client: FlaskClient, agent: dict[str, str]) -> None:
    found = find(client, agent, "helpdesk:h-9")
    assert len(found) == 1
    assert sorted(found[0]["sources"]) == ["crm", "helpdesk"]


def test_lookup_of_an_unknown_email_is_empty(client: FlaskClient, agent: dict[str, str]) -> None:
    assert find(client, agent, "email:nobody@example.com") == []


@pytest.mark.parametrize(
    ("query", "reference"),
    [
        ("?email=ANA.RUIZ@example.com", "email:ANA.RUIZ@example.com"),
        ("?phone=(415) 555-0100", "phone:(415) 555-0100"),
        ("?source=helpdesk&external_id=h-9", "helpdesk:h-9"),
    ],
)
def test_the_lookup_of_earlier_releases_redirects_to_the_customer_lookup(
    client: FlaskClient, agent: dict[str, str], query: str, reference: str
) -> None:
    response = client.get(f"/api/v1/identities{query}", headers=agent)
    assert response.status_code == 308
    location = response.headers["Location"]
    assert unquote(location).endswith(f"/api/v1/customers/lookup/{reference}")
    moved = client.get(location, headers=agent).get_json()
    assert [c["id"] for c in moved["data"]] == [i["id"] for i in find(client, agent, reference)]
    assert len(moved["data"]) == 1


@pytest.mark.parametrize("query", ["", "?email=a@example.com&phone=1", "?source=crm"])
def test_lookup_needs_exactly_one_identifier(
    client: FlaskClient, agent: dict[str, str], query: str
) -> None:
    response = client.get(f"/api/v1/identities{query}", headers=agent)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_get_identity_by_id(client: FlaskClient, agent: dict[str, str]) -> None:
    public_id = find(client, agent, "email:bo@example.com")[0]["id"]
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
    [older] = find(client, agent, "crm:m-1")
    [newer] = find(client, agent, "helpdesk:m-2")
    older_id, newer_id = older["id"], newer["id"]
    assert older_id != newer_id
    # The CRM learns Marta's e-mail: the evidence now joins the two identities.
    push(client, admin, "crm", record("m-1", **marta, phone="+46701234567", email="ml@example.se"))
    response = client.get(f"/api/v1/identities/{newer_id}", headers=agent)
    assert response.status_code == 308
    assert response.headers["Location"].endswith(f"/api/v1/identities/{older_id}")
    survivor = client.get(response.headers["Location"], headers=agent).get_json()
    assert survivor["id"] == older_id
    assert survivor["record_count"] == 2
