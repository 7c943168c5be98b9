"""Finding customers by name: misspellings found, best match first, filters, pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def agent(app: Flask, client: FlaskClient, make_token: Headers) -> dict[str, str]:
    add_source(app, "crm")
    push(
        client,
        make_token("admin"),
        "crm",
        record("1", first_name="María", last_name="García López", city="Madrid", postcode="28013"),
        record("2", full_name="Maria Garcia", city="Sevilla", birth_date="1990-05-17"),
        record("3", first_name="Mario", last_name="Garza", city="Madrid"),
        record("4", first_name="Marta", last_name="Gómez", city="Madrid"),
        record("5", first_name="Li", last_name="Wei", city="Shanghai"),
    )
    return make_token("agent")


def search(client: FlaskClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/customers?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [
        c["golden"].get("full_name") or f"{c['golden']['first_name']} {c['golden']['last_name']}"
        for c in body["data"]
    ]


def test_best_match_first_and_misspellings_found(
    client: FlaskClient, agent: dict[str, str]
) -> None:
    body = search(client, agent, "q=maria garcia")
    assert names(body)[0] == "Maria Garcia"
    assert "María García López" in names(body)
    assert "Li Wei" not in names(body)
    scores = [c["score"] for c in body["data"]]
    assert scores == sorted(scores, reverse=True)
    assert names(search(client, agent, "q=garsia mariya"))[0] == "Maria Garcia"


def test_filters_narrow_the_search(client: FlaskClient, agent: dict[str, str]) -> None:
    in_madrid = names(search(client, agent, "q=maria garcia&city=madrid"))
    assert in_madrid[0] == "María García López"
    assert "Maria Garcia" not in in_madrid  # Sevilla
    assert "Marta Gómez" not in in_madrid  # neither word sounds alike
    assert names(search(client, agent, "q=garcia&postcode=28 013")) == ["María García López"]
    assert names(search(client, agent, "q=garcia&birth_date=1990-05-17")) == ["Maria Garcia"]
    assert len(search(client, agent, "city=Madrid")["data"]) == 3


def test_pages_cover_every_result_once(client: FlaskClient, agent: dict[str, str]) -> None:
    everyone = [c["id"] for c in search(client, agent, "limit=200")["data"]]
    assert len(everyone) == 5
    seen: list[str] = []
    cursor = ""
    while True:
        body = search(client, agent, f"limit=2{cursor}")
        seen += [c["id"] for c in body["data"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert seen == everyone
    ranked = [c["id"] for c in search(client, agent, "q=maria garcia")["data"]]
    first = search(client, agent, "q=maria garcia&limit=1")
    second = search(client, agent, f"q=maria garcia&limit=1&cursor={first['next_cursor']}")
    assert [c["id"] for c in first["data"] + second["data"]] == ranked[:2]


@pytest.mark.parametrize("query", ["limit=0", "limit=100000", "birth_date=yesterday"])
def test_bad_parameters_are_a_422(client: FlaskClient, agent: dict[str, str], query: str) -> None:
    assert client.get(f"/api/v1/customers?{query}", headers=agent).status_code == 422


def test_a_query_of_initials_finds_nobody(client: FlaskClient, agent: dict[str, str]) -> None:
    assert search(client, agent, "q=M. G.")["data"] == []
