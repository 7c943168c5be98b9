"""Exports people ask for: search results and the audit trail as CSV, for admins."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import add_source, push, record

Headers = dict[str, str]


def rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_search_results_and_the_audit_as_csv(
    app: Flask, client: FlaskClient, make_token: Callable[..., Headers]
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    push(
        client,
        admin,
        "crm",
        record("1", first_name="Marta", last_name="Lindqvist", email="marta@example.se"),
        record("2", first_name="Marta", last_name="Lind", phone="+46 8 123 456 78"),
        record("3", full_name='=HYPERLINK("http://x")', email="x@example.org"),
    )
    found = client.get("/api/v1/customers/export?q=marta", headers=admin)
    assert found.status_code == 200, found.get_json()
    assert found.mimetype == "text/csv"
    assert "attachment" in found.headers["Content-Disposition"]
    exported = rows(found.data)
    assert [r["name"] for r in exported][:1] == ["Marta Lindqvist"]  # best first
    assert {r["emails"] for r in exported} >= {"marta@example.se"}
    assert all(r["id"].startswith("cus_") and float(r["score"]) > 0 for r in exported)
    formula = rows(client.get("/api/v1/customers/export?q=hyperlink", headers=admin).data)
    assert all(not r["name"].startswith("=") for r in formula)  # never run as a formula
    agent = client.get("/api/v1/customers/export?q=marta", headers=make_token("agent"))
    assert agent.status_code == 403

    audit = client.get("/api/v1/audit/export?action=create", headers=admin)
    assert audit.status_code == 200 and audit.mimetype == "text/csv"
    entries = rows(audit.data)
    assert len(entries) == 3 and {e["action"] for e in entries} == {"create"}
    assert all(e["identities"].startswith("cus_") and e["at"] for e in entries)
