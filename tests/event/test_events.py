"""Events over the API: intake with rejects, anonymous stitching, the timeline, and traits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.customer import service as customers
from app.db import get_db
from app.event.models import Event
from app.privacy.models import Consent
from app.settings import get_settings
from app.source import service as sources
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]
T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def send(
    client: FlaskClient,
    headers: dict[str, str],
    *events: dict[str, Any],
    source: str | None = "web",
) -> Any:
    body: dict[str, Any] = {"events": list(events)}
    if source is not None:
        body["source"] = source
    return client.post("/api/v1/events", json=body, headers=headers)


def accepted(
    client: FlaskClient, headers: dict[str, str], *events: dict[str, Any]
) -> dict[str, Any]:
    response = send(client, headers, *events)
    # Queued, then written by a worker: here at once (task_mode inline), outcome included.
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "done", response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def customer_id(client: FlaskClient, headers: dict[str, str], reference: str) -> str:
    [found] = client.get(f"/api/v1/customers/lookup/{reference}", headers=headers).get_json()[
        "data"
    ]
    return str(found["id"])


def timeline(client: FlaskClient, headers: dict[str, str], public_id: str, query: str = "") -> Any:
    response = client.get(f"/api/v1/customers/{public_id}/timeline?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def admin(app: Flask, client: FlaskClient, make_token: Headers) -> dict[str, str]:
    add_source(app, "crm")
    add_source(app, "shop")
    add_source(app, "web")
    headers = make_token("admin")
    push(client, headers, "crm", record("c-1", full_name="Ana Ruiz", email="ana@example.com"))
    return headers


def test_an_anonymous_visitors_page_views_join_the_timeline_after_identify(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    ana = customer_id(client, admin, "crm:c-1")
    visitor = {"anonymous_id": "cookie-7f3a"}
    accepted(
        client,
        admin,
        {"type": "page_view", "occurred_at": at(1), **visitor, "properties": {"url": "/tents"}},
        {"type": "search", "occurred_at": at(2), **visitor, "properties": {"query": "tent"}},
    )
    assert timeline(client, admin, ana)["data"] == []
    response = client.post(
        "/api/v1/identify",
        json={"anonymous_id": "cookie-7f3a", "email": "ANA@example.com", "source": "web"},
        headers=admin,
    )
    assert response.status_code == 202, response.get_json()
    assert customer_id(client, admin, "anonymous:web:cookie-7f3a") == ana
    accepted(client, admin, {"type": "page_view", "occurred_at": at(3), **visitor})
    events = timeline(client, admin, ana)["data"]
    assert [(e["type"], e["via"]) for e in events] == [
        ("page_view", "anonymous"),
        ("search", "anonymous"),
        ("page_view", "anonymous"),
    ]
    assert events[2]["properties"] == {"url": "/tents"}
    assert events[0]["source"] == "web"
    traits = client.get(f"/api/v1/customers/{ana}", headers=admin).get_json()["traits"]
    assert traits["events"] == 3


def test_an_event_with_both_ids_stitches_the_visitor(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    ana = customer_id(client, admin, "crm:c-1")
    accepted(client, admin, {"type": "page_view", "occurred_at": at(1), "anonymous_id": "dev-1"})
    accepted(
        client,
        admin,
        {"type": "like", "occurred_at": at(2), "anonymous_id": "dev-1", "record": "crm:c-1"},
    )
    assert [e["type"] for e in timeline(client, admin, ana)["data"]] == ["like", "page_view"]
    assert customer_id(client, admin, "anonymous:web:dev-1") == ana


def test_bad_events_are_rejected_with_reasons_and_good_ones_kept(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    result = accepted(
        client,
        admin,
        {"type": "page_view", "email": "ana@example.com"},
        {"type": "page_view"},
        {"type": "Bad Type", "email": "ana@example.com"},
        {"type": "order", "email": "not-an-email"},
        {"type": "order", "record": "nosuchsource:1"},
        {"type": "order", "email": "ana@example.com", "phone": "+12025550100"},
    )
    assert (result["accepted"], result["rejected"]) == (1, 5)
    reasons = {r["position"]: r["reason"] for r in result["rejects"]}
    assert "name the customer" in reasons["1"]
    assert "type" in reasons["2"]
    assert "email" in reasons["3"]
    assert "nosuchsource" in reasons["4"]
    assert "not by email and phone" in reasons["5"]
    nobody = accepted(client, admin, {"type": "page_view"})
    assert (nobody["accepted"], nobody["rejected"]) == (0, 1)


def test_resending_an_event_id_updates_it_instead_of_duplicating(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    ana = customer_id(client, admin, "crm:c-1")
    ticket = {"type": "ticket", "id": "T-1", "email": "ana@example.com", "occurred_at": at(0)}
    accepted(client, admin, {**ticket, "properties": {"status": "open"}})
    again = accepted(client, admin, {**ticket, "properties": {"status": "open"}})
    assert (again["accepted"], again["unchanged"]) == (0, 1)
    solved = accepted(client, admin, {**ticket, "properties": {"status": "solved"}})
    assert solved["updated"] == 1
    body = client.get(f"/api/v1/customers/{ana}", headers=admin).get_json()
    assert (body["traits"]["tickets"]["total"], body["traits"]["tickets"]["open"]) == (1, 0)
    assert len(timeline(client, admin, ana)["data"]) == 1


def test_roles_and_sources(client: FlaskClient, admin: dict[str, str], make_token: Headers) -> None:
    event = {"type": "page_view", "email": "ana@example.com"}
    assert send(client, make_token("agent"), event).status_code == 403
    shop = make_token("connector", source="shop")
    assert send(client, shop, event, source="web").status_code == 403
    assert send(client, shop, event, source=None).status_code == 202
    assert send(client, admin, event, source=None).status_code == 422
    assert send(client, admin, event, source="nosuch").status_code == 404
    ana = customer_id(client, admin, "crm:c-1")
    assert [e["source"] for e in timeline(client, admin, ana)["data"]] == ["shop"]


def test_the_timeline_pages_newest_first_and_filters(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    ana = customer_id(client, admin, "crm:c-1")
    kinds = ["page_view", "order", "search"]
    accepted(
        client,
        admin,
        *(
            {"type": kinds[i % 3], "occurred_at": at(i // 2), "email": "ana@example.com"}
            for i in range(25)
        ),
    )
    everything = timeline(client, admin, ana, "limit=200")["data"]
    assert len(everything) == 25
    keys = [(e["occurred_at"], int(e["id"])) for e in everything]
    assert keys == sorted(keys, reverse=True)  # ties on time are ordered by id
    seen: list[str] = []
    query = "limit=4"
    while True:
        body = timeline(client, admin, ana, query)
        seen += [e["id"] for e in body["data"]]
        if body["next_cursor"] is None:
            break
        query = f"limit=4&cursor={body['next_cursor']}"
    assert seen == [e["id"] for e in everything]
    orders = timeline(client, admin, ana, "type=order&type=search&limit=200")["data"]
    assert {e["type"] for e in orders} == {"order", "search"} and len(orders) == 16
    assert timeline(client, admin, ana, "source=crm")["data"] == []
    assert (
        client.get(f"/api/v1/customers/{ana}/timeline?source=nosuch", headers=admin).status_code
        == 422
    )


def test_events_follow_merges_and_splits(client: FlaskClient, admin: dict[str, str]) -> None:
    push(client, admin, "shop", record("s-1", full_name="Ana Ruiz", phone="+34 600 111 222"))
    shopper = customer_id(client, admin, "shop:s-1")
    ana = customer_id(client, admin, "crm:c-1")
    accepted(client, admin, {"type": "order", "phone": "+34600111222", "occurred_at": at(5)})
    accepted(client, admin, {"type": "review", "email": "ana@example.com", "occurred_at": at(1)})
    # The CRM learns Ana's phone: the shopper merges into Ana, with her order.
    push(
        client,
        admin,
        "crm",
        record("c-1", full_name="Ana Ruiz", email="ana@example.com", phone="+34600111222"),
    )
    response = client.get(f"/api/v1/customers/{shopper}/timeline?type=order", headers=admin)
    assert response.status_code == 308
    assert response.headers["Location"].endswith(f"/customers/{ana}/timeline?type=order")
    assert [e["type"] for e in timeline(client, admin, ana)["data"]] == ["order", "review"]
    merged = client.get(f"/api/v1/customers/{ana}", headers=admin).get_json()
    assert merged["traits"]["orders"]["count"] == 1
    # The CRM drops the phone again: the order leaves with the record that holds the phone.
    push(client, admin, "crm", record("c-1", full_name="Ana Ruiz", email="ana@example.com"))
    assert [e["type"] for e in timeline(client, admin, ana)["data"]] == ["review"]
    shopper_now = customer_id(client, admin, "shop:s-1")
    assert [e["type"] for e in timeline(client, admin, shopper_now)["data"]] == ["order"]
    assert (
        client.get(f"/api/v1/customers/{ana}", headers=admin).get_json()["traits"]["orders"][
            "count"
        ]
        == 0
    )


def test_connector_events_on_records_count_too(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    with app.app_context(), get_db(app).unit_of_work() as session:
        crm = sources.get_record(session=session, source_name="crm", external_id="c-1")
        # Affinities need the profiling consent (config/privacy.toml).
        session.add(Consent(record_id=crm.id, purpose="profiling", granted=True))
        session.add(
            Event(
                source_id=crm.source_id,
                external_id="deal-1",
                record_id=crm.id,
                type="order",
                occurred_at=T0,
                properties={"amount": "120.50", "currency": "EUR", "category": "running gear"},
            )
        )
        customers.refresh_after_events(
            session=session, settings=get_settings(app), record_ids=[crm.id]
        )
    ana = customer_id(client, admin, "crm:c-1")
    assert [(e["type"], e["via"]) for e in timeline(client, admin, ana)["data"]] == [
        ("order", "record")
    ]
    traits = client.get(f"/api/v1/customers/{ana}", headers=admin).get_json()["traits"]
    assert traits["orders"]["lifetime_value"] == {"EUR": 120.5}
    assert traits["affinities"][0]["category"] == "running gear"


def test_a_visitor_identified_as_someone_else_moves_with_their_events(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    push(client, admin, "shop", record("s-1", full_name="Bo Ek", email="bo@example.se"))
    ana = customer_id(client, admin, "crm:c-1")
    bo = customer_id(client, admin, "shop:s-1")
    accepted(client, admin, {"type": "page_view", "occurred_at": at(1), "anonymous_id": "tablet"})
    accepted(client, admin, {"type": "like", "anonymous_id": "tablet", "email": "ana@example.com"})
    assert len(timeline(client, admin, ana)["data"]) == 2
    accepted(client, admin, {"type": "like", "anonymous_id": "tablet", "email": "bo@example.se"})
    assert [e["via"] for e in timeline(client, admin, ana)["data"]] == ["email"]
    assert sorted(e["via"] for e in timeline(client, admin, bo)["data"]) == ["anonymous", "email"]
    traits = client.get(f"/api/v1/customers/{ana}", headers=admin).get_json()["traits"]
    assert traits["events"] == 1


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "WyIyMDI0LTA1LTAxVDA5OjAwOjAwIiwgMV0", "WyJub3QgYSB0aW1lIiwgMV0", "WzFd"],
)
def test_a_forged_timeline_cursor_is_a_400(
    client: FlaskClient, admin: dict[str, str], cursor: str
) -> None:
    ana = customer_id(client, admin, "crm:c-1")
    response = client.get(f"/api/v1/customers/{ana}/timeline?cursor={cursor}", headers=admin)
    assert response.status_code == 400
    assert "cursor" in response.get_json()["errors"]
