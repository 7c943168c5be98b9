"""Fixtures and helpers of the review workflow tests: two departments, an admin, and people
the matcher is unsure about."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.identity.models import Identity
from app.source.models import Source, SourceRecord
from tests.helpers import add_source, push, record

Headers = dict[str, str]

# Namesakes: same name and city, nothing else shared: the matcher cannot tell (review band).
MARTA = {"first_name": "Marta", "last_name": "Lindqvist", "city": "Uppsala"}
JONAS = {"first_name": "Jonas", "last_name": "Berglund", "city": "Malmo"}
# Someone else entirely.
ZOE = {"first_name": "Zoe", "last_name": "Okafor", "email": "zoe@okafor.ng", "city": "Lagos"}


@pytest.fixture
def admin(app: Flask, make_token: Callable[..., Headers]) -> Headers:
    """An admin's headers, with a CRM and a shop connected."""
    add_source(app, "crm")
    add_source(app, "shop")
    return make_token("admin")


def identity_of(session: Session, reference: str) -> str | None:
    """The public id of the identity holding a record (SOURCE:EXTERNAL_ID), None if none."""
    session.expire_all()
    source, _, external_id = reference.partition(":")
    found: str | None = session.execute(
        select(Identity.public_id)
        .join(SourceRecord, SourceRecord.identity_id == Identity.id)
        .join(Source, Source.id == SourceRecord.source_id)
        .where(Source.name == source, SourceRecord.external_id == external_id)
    ).scalar_one_or_none()
    return found


def partition(session: Session) -> dict[str, set[str]]:
    """Every identity holding live records, as public id -> SOURCE:EXTERNAL_ID."""
    session.expire_all()
    groups: dict[str, set[str]] = {}
    rows = session.execute(
        select(Identity.public_id, Source.name, SourceRecord.external_id)
        .join(SourceRecord, SourceRecord.identity_id == Identity.id)
        .join(Source, Source.id == SourceRecord.source_id)
        .where(SourceRecord.deleted_at.is_(None))
    )
    for public_id, source, external_id in rows:
        groups.setdefault(public_id, set()).add(f"{source}:{external_id}")
    return groups


def queue(client: FlaskClient, headers: Headers, **query: Any) -> list[dict[str, Any]]:
    """Every page of the queue with these filters."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/review/items", query_string=params, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def pair_item(client: FlaskClient, headers: Headers, left: str, right: str) -> dict[str, Any]:
    """The open possible-match item about two records."""
    wanted = {left, right}
    found = [
        item
        for item in queue(client, headers, kind="possible_match")
        if {item["left"]["reference"], item["right"]["reference"]} == wanted
    ]
    assert len(found) == 1, found
    return found[0]


def decide(
    client: FlaskClient, headers: Headers, item_id: int, decision: str, note: str = "checked"
) -> dict[str, Any]:
    """Decide an item, asserting success."""
    response = client.post(
        f"/api/v1/review/items/{item_id}/decision",
        json={"decision": decision, "note": note},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def post(client: FlaskClient, headers: Headers, path: str, body: dict[str, Any]) -> Any:
    """POST to the review API, asserting a 201."""
    response = client.post(f"/api/v1/review/{path}", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def namesakes(client: FlaskClient, headers: Headers, person: dict[str, str], *ids: str) -> None:
    """Push the same name and city under several CRM ids."""
    push(client, headers, "crm", *(record(i, **person) for i in ids))
