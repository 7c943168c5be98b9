"""Finding 3: a connector token reaches only its own source. It learns no identity ids, its
anonymous visitors are its own, and its events name only its own source's records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import migrate
from tests.conftest import BACKENDS
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def admin(app: Flask, client: FlaskClient, make_token: Headers) -> dict[str, str]:
    for name in ("support", "shop", "blog"):
        add_source(app, name)
    headers = make_token("admin")
    push(client, headers, "support", record("s-1", full_name="Ana Ruiz", email="ana@example.com"))
    push(client, headers, "support", record("s-2", full_name="Bo Lind", email="bo@example.com"))
    return headers


def profile(client: FlaskClient, admin: dict[str, str], reference: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/customers/lookup/{reference}", headers=admin)
    [found] = response.get_json()["data"]
    return dict(found)


def timeline(client: FlaskClient, admin: dict[str, str], reference: str) -> list[dict[str, Any]]:
    public_id = profile(client, admin, reference)["id"]
    response = client.get(f"/api/v1/customers/{public_id}/timeline", headers=admin)
    return list(response.get_json()["data"])


def events(client: FlaskClient, headers: dict[str, str], *items: dict[str, Any]) -> Any:
    return client.post("/api/v1/events", json={"events": list(items)}, headers=headers)


def identify(client: FlaskClient, headers: dict[str, str], **body: str) -> Any:
    return client.post("/api/v1/identify", json=body, headers=headers)


def test_identify_tells_a_connector_nothing(
    client: FlaskClient, admin: dict[str, str], make_token: Headers
) -> None:
    shop = make_token("connector", source="shop")
    ana = profile(client, admin, "support:s-1")["id"]
    response = identify(client, shop, anonymous_id="v-1", email="ana@example.com")
    assert response.status_code == 202
    assert response.get_data() == b"" and ana.encode() not in response.get_data()
    unknown = identify(client, shop, anonymous_id="v-2", email="nobody@example.com")
    assert (unknown.status_code, unknown.get_data()) == (202, b"")


def test_a_connector_cannot_attach_events_to_another_sources_record(
    client: FlaskClient, admin: dict[str, str], make_token: Headers
) -> None:
    shop = make_token("connector", source="shop")
    order = {"type": "order", "id": "o-1", "properties": {"amount": 99999, "currency": "EUR"}}
    response = events(client, shop, {**order, "record": "support:s-1"})
    assert response.status_code == 202  # queued, then refused by the worker, saying why
    assert (response.get_json()["accepted"], response.get_json()["rejected"]) == (0, 1)
    assert "support" in response.get_json()["rejects"][0]["reason"]
    assert profile(client, admin, "support:s-1")["traits"].get("lifetime_value", {}) == {}
    assert timeline(client, admin, "support:s-1") == []
    stitched = identify(client, shop, anonymous_id="v-9", record="support:s-1")
    assert stitched.status_code == 422
    push(client, shop, "shop", record("w-1", email="ana@example.com"))
    own = events(client, shop, {**order, "record": "shop:w-1"})
    assert own.get_json()["accepted"] == 1  # its own records it may name


def test_a_connector_cannot_re_point_another_sources_visitor(
    client: FlaskClient, admin: dict[str, str], make_token: Headers
) -> None:
    shop, blog = make_token("connector", source="shop"), make_token("connector", source="blog")
    visit = {"type": "page_view", "anonymous_id": "cookie-1", "properties": {"url": "/tents"}}
    assert events(client, shop, visit).get_json()["accepted"] == 1
    assert (
        identify(client, shop, anonymous_id="cookie-1", email="ana@example.com").status_code == 202
    )
    # The blog's visitor of the same id is another visitor: Ana keeps the shop's page view.
    assert (
        identify(client, blog, anonymous_id="cookie-1", email="bo@example.com").status_code == 202
    )
    assert [e["source"] for e in timeline(client, admin, "support:s-1")] == ["shop"]
    assert timeline(client, admin, "support:s-2") == []
    assert (
        profile(client, admin, "anonymous:shop:cookie-1")["id"]
        == profile(client, admin, "support:s-1")["id"]
    )
    assert (
        profile(client, admin, "anonymous:blog:cookie-1")["id"]
        == profile(client, admin, "support:s-2")["id"]
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_stored_visitors_move_into_their_source(
    fresh_database: Callable[[str], str], backend: str
) -> None:
    engine = create_engine(fresh_database(backend))
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0014")  # the revision before visitors moved
        connection.execute(text("INSERT INTO source (id, name, kind, settings, attribute_types, "
                                "priority, created_at) VALUES (7, 'web', 'push', '{}', '{}', 1, "
                                "CURRENT_TIMESTAMP)"))  # fmt: skip
        connection.execute(text(
            "INSERT INTO anonymous_link (anonymous_id, subject, source_id, linked_at) VALUES "
            "('c-1', 'email:ana@example.com', 7, CURRENT_TIMESTAMP), "
            "('c-2', 'email:bo@example.com', NULL, CURRENT_TIMESTAMP)"
        ))  # fmt: skip
        connection.execute(text(
            "INSERT INTO event (id, source_id, type, occurred_at, received_at, properties, "
            "subject) VALUES (1, 7, 'page_view', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '{}', "
            "'anonymous:c-1')"
        ))  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as connection:
        links = connection.execute(text("SELECT anonymous_id, subject FROM anonymous_link"))
        assert list(links) == [("7:c-1", "email:ana@example.com")]
        assert connection.scalar(text("SELECT subject FROM event")) == "anonymous:7:c-1"
    engine.dispose()
