"""Finding 4: input limits. Whatever a caller sends, the answer is a problem document with a
4xx status (never a 500), and what was good in a batch is kept."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.source.models import SourceRecord
from app.sync.models import RecordReject
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def admin(app: Flask, make_token: Headers) -> dict[str, str]:
    add_source(app, "crm")
    return make_token("admin")


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    return body


def post_json(client: FlaskClient, path: str, text: str, headers: dict[str, str]) -> TestResponse:
    return client.post(path, data=text, headers={**headers, "Content-Type": "application/json"})


def cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def stored_records(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SourceRecord)) or 0


def test_a_body_over_ten_megabytes_is_a_413_and_nothing_is_stored(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    filler = "x" * 3000
    records = [
        {"external_id": str(n), "attributes": {"first_name": "Ana"}, "raw": {"note": filler}}
        for n in range(3600)
    ]
    text = json.dumps({"records": records})
    assert len(text) > 10 * 1024 * 1024
    body = assert_problem(post_json(client, "/api/v1/sources/crm/records", text, admin), 413)
    assert "10485760" in body["detail"]
    assert stored_records(session) == 0


def test_a_value_over_the_length_cap_rejects_its_record_only(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    result = push(
        client,
        admin,
        "crm",
        record("long", first_name="A" * 5000, email="long@example.com"),
        {"external_id": "raw", "attributes": {"first_name": "Bo"}, "raw": {"x": ["y" * 4097]}},
        record("fine", first_name="Cy", email="cy@example.com"),
    )
    assert (result["created"], result["rejected"]) == (1, 2)
    reasons = {r["position"]: r["reason"] for r in result["rejects"]}
    assert "attributes.first_name" in reasons["0"] and "4096" in reasons["0"]
    assert "raw.x.0" in reasons["1"]
    assert stored_records(session) == 1


def test_an_event_property_over_the_cap_rejects_that_event_only(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    events = [
        {"type": "page_view", "anonymous_id": "v-1", "properties": {"path": "/" * 5000}},
        {"type": "page_view", "anonymous_id": "v-1", "properties": {"path": "/shoes"}},
    ]
    response = client.post(
        "/api/v1/events", json={"source": "crm", "events": events}, headers=admin
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert "properties.path" in body["rejects"][0]["reason"]


@pytest.mark.parametrize(
    "text",
    [
        '{"records": [{"external_id": "1", "attributes": {"email": "a\\u0000@example.com"}}]}',
        '{"records": [{"external_id": "1\\u0000", "attributes": {"first_name": "Ana"}}]}',
        '{"records": [{"external_id": "1", "attributes": {"first_name": "\\ud800na"}}]}',
        '{"records": [{"external_id": "1", "raw": {"x": ' + "[" * 1000 + "]" * 1000 + "}}]}",
        '{"records": [{"external_id": "1", "raw": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}]}",
        '{"records": [{"external_id": "1", "raw": {"x": NaN}}]}',
        '{"records": [{"external_id": "1", "raw": {"x": 1' + "0" * 5000 + "}}]}",
        '{"records": [{"external_id": "1", "raw": {"x": 1e999}}]}',
    ],
    ids=["nul-value", "nul-id", "lone-surrogate", "deep", "deeper", "nan", "huge-int", "inf"],
)
def test_unstorable_json_is_a_400(
    client: FlaskClient, admin: dict[str, str], session: Session, text: str
) -> None:
    assert_problem(post_json(client, "/api/v1/sources/crm/records", text, admin), 400)
    assert stored_records(session) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/customers/lookup/email:a%00b@example.com",
        "/api/v1/identities?email=a%00b@example.com",
        "/api/v1/customers/cus_%00",
        "/api/v1/customers?q=an%00a",
    ],
)
def test_a_nul_in_the_address_is_a_400(
    client: FlaskClient, admin: dict[str, str], path: str
) -> None:
    assert_problem(client.get(path, headers=admin), 400)


@pytest.mark.parametrize("item", ["2147483648", "99999999999", "9" * 30])
def test_ids_beyond_the_store_range_are_not_found(
    client: FlaskClient, admin: dict[str, str], item: str
) -> None:
    assert_problem(client.get(f"/api/v1/review/items/{item}", headers=admin), 404)


@pytest.mark.parametrize("change", [2**31, 99999999999, 10**30])
def test_an_id_beyond_the_store_range_in_a_body_is_a_422(
    client: FlaskClient, admin: dict[str, str], change: int
) -> None:
    response = client.post("/api/v1/review/undos", json={"change": change}, headers=admin)
    assert "change" in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "1500-01-01T00:00:00Z"]
)
def test_extreme_times_are_a_422_or_a_reject(
    client: FlaskClient, admin: dict[str, str], session: Session, moment: str
) -> None:
    pushed = client.post(
        "/api/v1/sources/crm/records",
        json={"records": [{"external_id": "1", "updated_at": moment}]},
        headers=admin,
    )
    assert "updated_at" in json.dumps(assert_problem(pushed, 422)["errors"])
    event = {"type": "order", "email": "ana@example.com", "occurred_at": moment}
    tracked = client.post(
        "/api/v1/events", json={"source": "crm", "events": [event]}, headers=admin
    )
    assert tracked.status_code == 202  # queued; the worker refuses it and says why
    assert (tracked.get_json()["rejected"], tracked.get_json()["accepted"]) == (1, 0)
    assert "occurred_at" in tracked.get_json()["rejects"][0]["reason"]
    assert stored_records(session) == 0


@pytest.mark.parametrize(
    ("path", "position"),
    [
        ("/api/v1/review/items", "not base64 at all!"),
        ("/api/v1/review/items", [None, None]),
        ("/api/v1/review/items", ["NaN", 1]),
        ("/api/v1/review/items", [1e309, 1]),
        ("/api/v1/sources/crm/runs", 10**30),
        ("/api/v1/sources/crm/runs", 99999999999),
        ("/api/v1/sources/crm/runs", -1),
        ("/api/v1/audit", 10**30),
        ("/api/v1/customers/lookup/email:ana@example.com", [10**30]),
        ("/api/v1/customers?q=ana", [None, "x"]),
        ("/api/v1/sources", [7]),
        ("/api/v1/sources", ["crm\u0000"]),
        ("/api/v1/sources", ["x" * 101]),
    ],
)
def test_a_forged_cursor_is_a_400(
    client: FlaskClient, admin: dict[str, str], path: str, position: Any
) -> None:
    forged = position if isinstance(position, str) else cursor(position)
    separator = "&" if "?" in path else "?"
    response = client.get(f"{path}{separator}cursor={forged}", headers=admin)
    assert "cursor" in json.dumps(assert_problem(response, 400))


def test_a_timeline_cursor_beyond_the_calendar_is_a_400(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    push(client, admin, "crm", record("1", first_name="Ana", email="ana@example.com"))
    profile = client.get("/api/v1/customers/lookup/crm:1", headers=admin).get_json()["data"][0]
    forged = cursor(["9999-12-31T23:59:59-05:00", 1])
    response = client.get(
        f"/api/v1/customers/{profile['id']}/timeline?cursor={forged}", headers=admin
    )
    assert_problem(response, 400)


def test_an_address_over_4096_characters_is_a_414_problem(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    path = "/api/v1/customers/lookup/email:" + "a" * 4100 + "@example.com"
    assert_problem(client.get(path, headers=admin), 414)
    assert client.get("/api/v1/customers?q=" + "a" * 3000, headers=admin).status_code == 200


def test_an_imported_row_over_the_value_cap_is_a_reject_and_the_rest_is_kept(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "id,first_name,email\n"
        "1,Ana,ana@example.com\n"
        f"2,{'B' * 5000},bo@example.com\n"
        "3,Cy,cy@example.com\n"
    )
    result = cli.invoke(args=["import", str(people), "--source", "registry", "--id-column", "id"])
    assert result.exit_code == 0, result.output
    kept = session.scalars(select(SourceRecord.external_id).order_by(SourceRecord.external_id))
    assert list(kept) == ["1", "3"]
    reject = session.scalars(select(RecordReject)).one()
    assert reject.position == "record 2" and "first_name" in reject.reason
    assert reject.raw is None
