"""The profile over the API: golden values with provenance, kept current through merges,
splits and record updates, consents, redirects and roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from app.customer import service as customers
from app.db import get_db
from app.privacy.models import Consent
from app.settings import get_settings
from app.source import service as sources
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


# Enough agreement for any matcher to call two records one person.
ANA = {"first_name": "Ana", "last_name": "Ruiz", "birth_date": "1990-04-12"}
MARTA = {"first_name": "Marta", "last_name": "Lindqvist", "birth_date": "1984-03-12"}


def lookup(client: FlaskClient, headers: dict[str, str], reference: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/customers/lookup/{reference}", headers=headers)
    assert response.status_code == 200, response.get_json()
    data: list[dict[str, Any]] = response.get_json()["data"]
    return data


def profile(
    client: FlaskClient, headers: dict[str, str], public_id: str, verbose: bool = False
) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/customers/{public_id}{'?verbose=true' if verbose else ''}", headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


@pytest.fixture
def admin(app: Flask, make_token: Headers) -> dict[str, str]:
    add_source(app, "crm", priority=10, tier="text")
    add_source(app, "shop", priority=50, tier="text")
    return make_token("admin")


@pytest.fixture
def reader(make_token: Headers, admin: dict[str, str]) -> dict[str, str]:
    """Who reads the profiles here: another admin, who sees every value (agents see some
    masked: tests/privacy/test_masking.py)."""
    return make_token("admin")


def test_golden_values_come_from_the_priority_source_with_provenance(
    client: FlaskClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    push(client, admin, "shop", record("s-1", **ANA, tier="gold", email="ana@example.com"))
    push(client, admin, "crm", record("c-1", **ANA, tier="silver", email="ana@example.com "))
    [found] = lookup(client, reader, "email:ana@example.com")
    assert found["golden"]["tier"] == "silver"
    assert found["golden"]["emails"] == ["ana@example.com"]
    assert sorted(found["records"]) == ["crm", "shop"]
    detail = profile(client, reader, found["id"], verbose=True)
    tier = detail["golden"]["tier"]
    assert (tier["source"], tier["external_id"], tier["rule"]) == ("crm", "c-1", "source_priority")
    assert tier["observed_at"]
    assert [v["value"] for v in detail["values"]["tier"]] == ["silver", "gold"]
    assert [v["chosen"] for v in detail["values"]["tier"]] == [True, False]
    assert detail["records"]["shop"][0]["attributes"]["tier"] == "gold"
    assert "values" not in found


def test_a_merge_joins_golden_records_and_the_old_id_redirects(
    client: FlaskClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    push(client, admin, "crm", record("c-1", **MARTA, tier="silver", phone="+46 70 123 45 67"))
    push(client, admin, "shop", record("s-1", full_name="Marta Lindqvist", email="ml@example.se"))
    [older] = lookup(client, reader, "crm:c-1")
    [newer] = lookup(client, reader, "shop:s-1")
    assert older["id"] != newer["id"]  # a name alone does not make one person
    assert newer["golden"]["emails"] == ["ml@example.se"]
    # The CRM learns Marta's e-mail: the evidence now joins the two identities.
    marta = record("c-1", **MARTA, tier="silver", phone="+46701234567", email="ml@example.se")
    push(client, admin, "crm", marta)
    response = client.get(f"/api/v1/customers/{newer['id']}?verbose=true", headers=reader)
    assert response.status_code == 308
    assert response.headers["Location"].endswith(f"/api/v1/customers/{older['id']}?verbose=true")
    merged = profile(client, reader, older["id"])
    assert merged["golden"]["full_name"] == "Marta Lindqvist"  # only the shop knows it
    assert merged["golden"]["last_name"] == "Lindqvist"
    assert merged["golden"]["emails"] == ["ml@example.se"]
    assert sorted(merged["records"]) == ["crm", "shop"]


def test_a_split_and_an_update_recompute_both_golden_records(
    client: FlaskClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    push(client, admin, "crm", record("c-1", email="ana@example.com", **ANA))
    push(
        client,
        admin,
        "shop",
        record("s-1", email="ana@example.com", phone="+34 600 111 222", **ANA),
    )
    [together] = lookup(client, reader, "crm:c-1")
    assert [r["external_id"] for r in together["records"]["shop"]] == ["s-1"]
    assert together["golden"]["phones"] == ["+34 600 111 222"]
    # The shop's record turns out to be someone else: the identity splits.
    bo = {"first_name": "Bo", "last_name": "Berg", "birth_date": "1979-01-30"}
    push(client, admin, "shop", record("s-1", email="bo@example.com", phone="+34600111222", **bo))
    [kept] = lookup(client, reader, "crm:c-1")
    [split_off] = lookup(client, reader, "shop:s-1")
    assert kept["id"] == together["id"] != split_off["id"]
    assert kept["golden"]["phones"] == [] and kept["golden"]["emails"] == ["ana@example.com"]
    assert split_off["golden"]["phones"] == ["+34600111222"]
    assert split_off["golden"]["emails"] == ["bo@example.com"]
    assert split_off["golden"]["first_name"] == "Bo"
    # A plain update shows at once.
    push(client, admin, "crm", record("c-1", email="ana@example.com", city="Sevilla", **ANA))
    assert profile(client, reader, kept["id"])["golden"]["addresses"] == [{"city": "Sevilla"}]


def test_a_deleted_record_leaves_the_golden_record(
    client: FlaskClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    push(client, admin, "crm", record("c-1", **ANA, company="Acme", email="jo@example.com"))
    shop = record("s-1", **ANA, company="Shop Co", phone="+1 202 555 0100", email="jo@example.com")
    push(client, admin, "shop", shop)
    [found] = lookup(client, reader, "email:jo@example.com")
    assert found["golden"]["phones"] == ["+1 202 555 0100"]
    push(client, admin, "shop", {"external_id": "s-1", "deleted": True})
    after = profile(client, reader, found["id"])
    assert after["golden"]["phones"] == []
    assert after["golden"]["company"] == "Acme"
    assert list(after["records"]) == ["crm"]
    detail = profile(client, reader, found["id"], verbose=True)
    assert [v["value"] for v in detail["values"]["company"]] == ["Acme"]
    assert list(detail["records"]) == ["crm"]
    # With its last record gone the identity holds nothing, in either view.
    push(client, admin, "crm", {"external_id": "c-1", "deleted": True})
    emptied = profile(client, reader, found["id"], verbose=True)
    assert (emptied["golden"], emptied["values"], emptied["records"]) == ({}, {}, {})


def test_consents_show_the_latest_choice_of_any_department(
    app: Flask, client: FlaskClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    push(client, admin, "crm", record("c-1", **ANA, email="kim@example.kr"))
    push(client, admin, "shop", record("s-1", **ANA, email="kim@example.kr"))
    with app.app_context(), get_db(app).unit_of_work() as session:
        crm = sources.get_record(session=session, source_name="crm", external_id="c-1")
        shop = sources.get_record(session=session, source_name="shop", external_id="s-1")
        session.add(
            Consent(
                record_id=crm.id,
                purpose="email_marketing",
                granted=True,
                observed_at=datetime(2024, 1, 1, tzinfo=UTC),
            )
        )
        session.add(
            Consent(
                record_id=shop.id,
                purpose="email_marketing",
                granted=False,
                observed_at=datetime(2024, 5, 1, tzinfo=UTC),
            )
        )
    [found] = lookup(client, reader, "email:kim@example.kr")
    consent = found["consents"]["email_marketing"]
    assert consent["granted"] is False
    assert [(s["source"], s["granted"]) for s in consent["sources"]] == [
        ("crm", True),
        ("shop", False),
    ]


def test_lookup_by_phone_record_and_unknowns(
    client: FlaskClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    push(client, admin, "crm", record("c-9", full_name="Bo Ek", phone="+46 70 123 45 67"))
    assert [c["golden"]["full_name"] for c in lookup(client, reader, "phone:+46701234567")] == [
        "Bo Ek"
    ]
    assert lookup(client, reader, "crm:c-9")[0]["golden"]["full_name"] == "Bo Ek"
    assert lookup(client, reader, "email:nobody@example.com") == []
    for bad in ("nocolon", "email:not-an-email", "nosuchsource:1"):
        response = client.get(f"/api/v1/customers/lookup/{bad}", headers=reader)
        assert response.status_code == 422, bad
        assert response.mimetype == "application/problem+json"


def test_lookup_pages_through_a_shared_identifier(
    client: FlaskClient, admin: dict[str, str], reader: dict[str, str], app: Flask
) -> None:
    # A generic e-mail shared by more records than the blocking cap joins nobody.
    cap = get_settings(app).match.generic_key_cap
    push(
        client,
        admin,
        "crm",
        *(record(f"c-{i}", email="office@example.com") for i in range(cap + 3)),
    )
    seen: list[str] = []
    url = "/api/v1/customers/lookup/email:office@example.com?limit=2"
    cursor = None
    while True:
        body = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=reader).get_json()
        assert len(body["data"]) <= 2
        seen += [c["id"] for c in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 2


def test_unknown_customer_and_bad_cursor(client: FlaskClient, reader: dict[str, str]) -> None:
    assert client.get("/api/v1/customers/cus_nobody", headers=reader).status_code == 404
    response = client.get("/api/v1/customers?cursor=garbage", headers=reader)
    assert response.status_code == 400
    assert "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("role", "status"), [("agent", 200), ("admin", 200), ("connector", 403), (None, 401)]
)
def test_roles(
    client: FlaskClient, admin: dict[str, str], make_token: Headers, role: str | None, status: int
) -> None:
    push(client, admin, "crm", record("c-1", email="x@example.com"))
    headers = (
        {} if role is None else make_token(role, source="crm" if role == "connector" else None)
    )
    [found] = lookup(client, admin, "crm:c-1")
    for path in (
        "/api/v1/customers?q=x",
        "/api/v1/customers/lookup/crm:c-1",
        f"/api/v1/customers/{found['id']}",
        f"/api/v1/customers/{found['id']}/timeline",
    ):
        assert client.get(path, headers=headers).status_code == status, path


def test_preview_shows_the_golden_record_a_merge_would_give(
    app: Flask, client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    push(client, admin, "crm", record("c-1", first_name="Ana", email="ana@example.com"))
    push(client, admin, "shop", record("s-1", first_name="Anita", last_name="Ruiz"))
    ids = [
        sources.get_record(session=session, source_name=name, external_id=external_id).id
        for name, external_id in (("crm", "c-1"), ("shop", "s-1"))
    ]
    preview = customers.preview_golden(session=session, settings=get_settings(app), record_ids=ids)
    assert preview["golden"]["first_name"]["value"] == "Ana"
    assert preview["golden"]["last_name"]["source"] == "shop"
    assert sorted(preview["records"]) == ["crm", "shop"]


def test_golden_records_survive_a_full_resolution(
    client: FlaskClient, admin: dict[str, str], reader: dict[str, str], cli: FlaskCliRunner
) -> None:
    push(client, admin, "crm", record("c-1", **ANA, tier="silver", email="ana@example.com"))
    push(client, admin, "shop", record("s-1", **ANA, tier="gold", email="ana@example.com"))
    [before] = lookup(client, reader, "email:ana@example.com")
    assert sorted(before["records"]) == ["crm", "shop"]
    result = cli.invoke(args=["resolve", "--full"])
    assert result.exit_code == 0, result.output
    [after] = lookup(client, reader, "email:ana@example.com")
    assert after["golden"] == before["golden"]
    assert after["id"] == before["id"]
