"""Phones as people write them: national numbers read in the record's country or the region
the agent names, found however they are typed; a number that does not read still compares."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers import add_source, push, record

Headers = dict[str, str]
RENATE = {"first_name": "Renate", "last_name": "Marchal", "birth_date": "1961-02-14"}


def lookup(client: FlaskClient, headers: Headers, typed: str, **query: str) -> list[str]:
    response = client.get(
        f"/api/v1/customers/lookup/phone:{typed}", query_string=query, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return [customer["id"] for customer in response.get_json()["data"]]


def test_a_national_number_is_read_in_the_records_country_and_found_as_typed(
    app: Flask, client: FlaskClient, make_token: Callable[..., Headers]
) -> None:
    add_source(app, "crm")
    add_source(app, "desk")
    admin = make_token("admin")
    push(client, admin, "crm", record("1", **RENATE, phone="06 13 25 74 39", country="France"))
    push(client, admin, "desk", record("7", **RENATE, phone="+33 6 13 25 74 39"))
    (renate,) = lookup(client, admin, "+33 6 13 25 74 39")
    # one customer: the national number was read in France, where her CRM record says she is
    customer = client.get(f"/api/v1/customers/{renate}", headers=admin).get_json()
    assert len(customer["golden"]["phones"]) == 1  # the same number, written two ways
    assert sum(len(records) for records in customer["records"].values()) == 2
    assert lookup(client, admin, "06 13 25 74 39", region="FR") == [renate]
    assert lookup(client, admin, "06 13 25 74 39", region="France") == [renate]
    assert lookup(client, admin, "06 13 25 74 39") == [renate]  # no region: every reading
    assert lookup(client, admin, "06 13 25 74 39", region="ES") == []  # not hers in Spain
    bad = client.get("/api/v1/customers/lookup/phone:12", headers=admin)
    assert bad.status_code == 422


def test_a_number_that_does_not_read_is_kept_and_still_compared(
    app: Flask, client: FlaskClient, make_token: Callable[..., Headers], cli: FlaskCliRunner
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    # a Spanish mobile written nationally, in a store that reads numbers in the US
    push(
        client,
        admin,
        "crm",
        record("1", first_name="Lucia", last_name="Vidal", phone="712 849 718"),
    )
    push(
        client, admin, "crm", record("2", first_name="Lucia", last_name="Vidal", phone="712849718")
    )
    explained = cli.invoke(args=["explain", "crm:1", "crm:2"])
    assert explained.exit_code == 0, explained.output
    phone = next(line for line in explained.output.splitlines() if line.startswith("phone"))
    assert "the same" in phone and "missing" not in phone, explained.output
    held = client.get("/api/v1/customers/lookup/crm:1", headers=admin).get_json()["data"][0]
    # one customer, one number: its two spellings kept as written and told to be the same
    assert len(held["golden"]["phones"]) == 1 and held["golden"]["phones"][0] in (
        "712 849 718",
        "712849718",
    )
