"""Subject access: the export of everything held about one customer (API and command), and the
footprint view of which department holds what."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]
IDA = {"first_name": "Ida", "last_name": "Lindgren", "email": "ida.lindgren@example.se"}


@pytest.fixture
def ida(app: Flask, client: FlaskClient, make_token: Headers) -> str:
    """Ida in the CRM and the shop (which recorded her marketing opt-in), with an order, and a
    visitor of the shop stitched to her; her customer's id."""
    add_source(app, "crm")
    add_source(app, "shop")
    admin = make_token("admin")
    push(client, admin, "crm", record("c-1", phone="+46 70 123 45 67", **IDA))
    shop = record("s-1", **IDA) | {
        "raw": {"customer_no": "s-1", "loyalty": "gold"},
        "consents": {"email_marketing": True},
    }
    push(client, admin, "shop", shop)
    events = [
        {"record": "shop:s-1", "id": "o-9", "type": "order", "properties": {"amount": 42}},
        {"anonymous_id": "cookie-77", "type": "page_view", "properties": {"url": "/sale"}},
    ]
    client.post("/api/v1/events", json={"source": "shop", "events": events}, headers=admin)
    identify = {"source": "shop", "anonymous_id": "cookie-77", "email": IDA["email"]}
    assert client.post("/api/v1/identify", json=identify, headers=admin).status_code == 202
    found = client.get(f"/api/v1/customers/lookup/email:{IDA['email']}", headers=admin)
    [customer] = found.get_json()["data"]
    return str(customer["id"])


def test_the_export_holds_everything_about_the_customer_machine_readable(
    client: FlaskClient, make_token: Headers, ida: str
) -> None:
    answer = client.get(f"/api/v1/customers/{ida}/export", headers=make_token("admin"))
    assert answer.status_code == 200, answer.get_json()
    document = answer.get_json()
    assert (document["format"], document["version"]) == ("huella.subject-export", 1)
    assert document["customer"] == {"id": ida, "merged": []}
    records = {(r["source"], r["external_id"]): r for r in document["records"]}
    assert set(records) == {("crm", "c-1"), ("shop", "s-1")}
    assert records["shop", "s-1"]["raw"] == {"customer_no": "s-1", "loyalty": "gold"}
    assert records["shop", "s-1"]["consents"][0]["purpose"] == "email_marketing"
    assert records["crm", "c-1"]["attributes"]["phone"] == "+46 70 123 45 67"
    assert document["golden"]["golden"]["emails"][0]["value"] == IDA["email"]
    assert document["consents"]["email_marketing"]["granted"] is True
    assert sorted(e["type"] for e in document["events"]) == ["order", "page_view"]
    assert [v["anonymous_id"] for v in document["anonymous_visitors"]] == ["cookie-77"]
    assert document["traits"]["values"]["orders"]["count"] == 1
    assert document["traits"]["computed"]["affinities"]["needs_consent"] == "profiling"
    assert any(change["action"] in ("create", "attach", "merge") for change in document["history"])


def test_the_export_command_writes_the_same_document_and_agents_may_not_export(
    client: FlaskClient, cli: FlaskCliRunner, make_token: Headers, ida: str, tmp_path: Path
) -> None:
    out = tmp_path / "ida.json"
    result = cli.invoke(args=["export", "subject", ida, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{ida}: 2 records, 2 events written to" in result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["customer"]["id"] == ida and len(document["records"]) == 2
    assert (
        client.get(f"/api/v1/customers/{ida}/export", headers=make_token("agent")).status_code
        == 403
    )
    unknown = client.get(
        "/api/v1/customers/cus_0000000000000000/export", headers=make_token("admin")
    )
    assert unknown.status_code == 404


def test_the_footprint_shows_which_department_holds_what_since_when_under_which_consent(
    client: FlaskClient, make_token: Headers, ida: str
) -> None:
    answer = client.get(f"/api/v1/customers/{ida}/footprint", headers=make_token("agent"))
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()
    departments = {d["source"]: d["records"] for d in found["departments"]}
    assert [r["external_id"] for r in departments["crm"]] == ["c-1"]
    assert departments["crm"][0]["attributes"] == ["email", "first_name", "last_name", "phone"]
    assert departments["crm"][0]["since"]
    assert departments["shop"][0]["consents"]["email_marketing"]["granted"] is True
    assert [h["source"] for h in found["attributes"]["phone"]] == ["crm"]
    assert [h["source"] for h in found["attributes"]["email"]] == ["crm", "shop"]
    assert found["consents"]["email_marketing"]["granted"] is True
    assert "ida.lindgren" not in answer.get_data(as_text=True)  # names of attributes, no values
