"""Consent per purpose: each department's choice, the most restrictive in force, disagreements
shown, choices recorded over the API (audited), affinities only with profiling, and a withdrawn
e-mail marketing consent flagged wherever the view shows an e-mail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]
NOOR = {"first_name": "Noor", "last_name": "Haddad", "email": "noor.haddad@example.org"}


@pytest.fixture
def noor(app: Flask, client: FlaskClient, make_token: Headers) -> str:
    """Noor, in the CRM (who subscribed her) and the shop (where she unsubscribed), with views
    of running gear; her customer's id."""
    add_source(app, "crm")
    add_source(app, "shop")
    admin = make_token("admin")
    subscribed = record("c-1", **NOOR) | {
        "consents": {"email_marketing": True},
        "updated_at": "2024-01-01T00:00:00Z",
    }
    unsubscribed = record("s-1", **NOOR) | {
        "consents": {"email_marketing": False},
        "updated_at": "2024-05-01T00:00:00Z",
    }
    push(client, admin, "crm", subscribed)
    push(client, admin, "shop", unsubscribed)
    views = [
        {"email": NOOR["email"], "type": "page_view", "properties": {"category": "running gear"}}
    ] * 3
    client.post("/api/v1/events", json={"source": "shop", "events": views}, headers=admin)
    answer = client.get(f"/api/v1/customers/lookup/email:{NOOR['email']}", headers=admin)
    [customer] = answer.get_json()["data"]
    return str(customer["id"])


def consents(client: FlaskClient, headers: dict[str, str], customer: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/customers/{customer}/consents", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    found: dict[str, Any] = answer.get_json()["consents"]
    return found


def test_the_most_restrictive_choice_is_in_force_and_the_disagreement_shows(
    client: FlaskClient, make_token: Headers, noor: str
) -> None:
    found = consents(client, make_token("agent"), noor)
    email = found["email_marketing"]
    assert (email["granted"], email["recorded"], email["disagreement"]) == (False, True, True)
    assert [(s["source"], s["granted"]) for s in email["sources"]] == [
        ("crm", True),
        ("shop", False),
    ]
    # Purposes no department asked about hold their configured default.
    assert (found["support_contact"]["granted"], found["support_contact"]["recorded"]) == (
        True,
        False,
    )
    assert found["profiling"]["granted"] is False


def test_a_withdrawn_email_marketing_is_flagged_wherever_an_email_shows(
    client: FlaskClient, make_token: Headers, noor: str
) -> None:
    agent = make_token("agent")
    profile = client.get(f"/api/v1/customers/{noor}", headers=agent).get_json()
    assert profile["withdrawn"] == ["email_marketing"]
    looked = client.post(
        "/api/v1/customers/lookup", json={"reference": f"email:{NOOR['email']}"}, headers=agent
    ).get_json()
    assert looked["data"][0]["withdrawn"] == ["email_marketing"]
    hits = client.get("/api/v1/customers?q=Noor+Haddad", headers=agent).get_json()["data"]
    assert hits[0]["withdrawn"] == ["email_marketing"]


def test_affinities_follow_the_profiling_consent_recorded_over_the_api(
    client: FlaskClient, make_token: Headers, noor: str
) -> None:
    agent, admin = make_token("agent"), make_token("admin")
    traits = client.get(f"/api/v1/customers/{noor}", headers=admin).get_json()["traits"]
    assert (traits["profiling"], traits["affinities"]) == (False, [])

    choice = {"purpose": "profiling", "granted": True, "source": "shop"}
    answer = client.put(f"/api/v1/customers/{noor}/consents", json=choice, headers=agent)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["consents"]["profiling"]["granted"] is True
    traits = client.get(f"/api/v1/customers/{noor}", headers=admin).get_json()["traits"]
    assert traits["affinities"][0]["category"] == "running gear"

    withdrawal = {**choice, "granted": False, "source": "crm"}
    client.put(f"/api/v1/customers/{noor}/consents", json=withdrawal, headers=agent)
    traits = client.get(f"/api/v1/customers/{noor}", headers=admin).get_json()["traits"]
    assert traits["affinities"] == []  # one department's withdrawal withdraws
    changes = client.get(f"/api/v1/audit?identity={noor}&action=consent", headers=admin).get_json()[
        "data"
    ]
    assert [(c["actor"], c["after"]) for c in changes] == [
        ("test agent", {"purpose": "profiling", "granted": False, "source": "crm"}),
        ("test agent", {"purpose": "profiling", "granted": True, "source": "shop"}),
    ]


def test_a_choice_names_a_known_purpose_and_a_department_holding_the_customer(
    app: Flask, client: FlaskClient, make_token: Headers, noor: str
) -> None:
    admin = make_token("admin")
    add_source(app, "billing")
    for choice, field in [
        ({"purpose": "telepathy", "granted": True, "source": "crm"}, "purpose"),
        ({"purpose": "profiling", "granted": True, "source": "billing"}, "source"),
        ({"purpose": "profiling", "source": "crm"}, "granted"),
    ]:
        answer = client.put(f"/api/v1/customers/{noor}/consents", json=choice, headers=admin)
        assert answer.status_code == 422, choice
        assert field in answer.get_json()["errors"], answer.get_json()
    connector = make_token("connector", "crm")
    choice = {"purpose": "profiling", "granted": True, "source": "crm"}
    refused = client.put(f"/api/v1/customers/{noor}/consents", json=choice, headers=connector)
    assert refused.status_code == 403
