"""The audit trail: every change to identities with who, when, why and the ids before and
after, paged per identity, and the story of one identity including the ids merged into it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.helpers import push, record
from tests.review.conftest import MARTA, ZOE, Headers, identity_of, post


def pages(client: FlaskClient, headers: Headers, path: str, **query: Any) -> list[dict[str, Any]]:
    """Every entry of a paged audit listing, one entry a page."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**query, "limit": 1, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, query_string=params, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        entries.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return entries


def test_every_change_is_audited_with_actor_reason_and_ids_before_and_after(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    push(client, admin, "crm", record("1", **MARTA, email="marta@lindqvist.se"))
    push(client, admin, "shop", record("a", **MARTA, email="marta@lindqvist.se"))
    push(client, admin, "shop", record("z", **ZOE))
    marta, zoe = identity_of(session, "crm:1"), identity_of(session, "shop:z")
    merge = post(client, admin, "merges", {"identities": [marta, zoe], "note": "one account"})
    entries = pages(client, admin, "/api/v1/audit", identity=marta)
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("merge", "test admin"),
        ("attach", "system"),
        ("create", "system"),
    ]
    newest = entries[0]
    assert newest["id"] == merge["id"] and newest["reason"] == "one account"
    assert sorted(newest["identities"]) == sorted([marta, zoe])
    assert newest["before"]["identities"] == sorted([marta, zoe])
    assert newest["after"]["identities"] == [marta]
    assert datetime.fromisoformat(newest["at"]).tzinfo is not None
    assert entries[1]["before"]["members"] == {marta: ["crm:1"]}
    assert entries[1]["after"] == {"identity": marta, "records": ["crm:1", "shop:a"]}
    one = client.get(f"/api/v1/audit/{merge['id']}", headers=admin).get_json()
    assert one == newest
    assert client.get("/api/v1/audit/999999", headers=admin).status_code == 404


def test_the_history_of_an_identity_includes_the_ids_merged_into_it(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    push(client, admin, "crm", record("1", **MARTA, email="marta@lindqvist.se"))
    push(client, admin, "shop", record("z", **ZOE))
    marta, zoe = identity_of(session, "crm:1"), identity_of(session, "shop:z")
    merge = post(client, admin, "merges", {"identities": [zoe, marta]})
    story = client.get(f"/api/v1/identities/{marta}/history", headers=admin).get_json()
    assert story["identity"] == marta and story["merged"] == [zoe]
    actions = [(e["action"], sorted(e["identities"])) for e in story["data"]]
    assert actions == [
        ("merge", sorted([marta, zoe])),
        ("create", [zoe]),  # the merged-away identity's own story is part of it
        ("create", [marta]),
    ]
    paged = pages(client, admin, f"/api/v1/identities/{marta}/history")
    assert [e["id"] for e in paged] == [e["id"] for e in story["data"]]
    undo = post(client, admin, "undos", {"change": merge["id"]})
    story = client.get(f"/api/v1/identities/{marta}/history", headers=admin).get_json()
    assert story["merged"] == []
    assert [e["action"] for e in story["data"]] == ["undo", "merge", "create"]
    assert story["data"][1]["undone_by"] == undo["id"]
    missing = client.get("/api/v1/identities/cus_nobody/history", headers=admin)
    assert missing.status_code == 404


def test_only_admins_read_the_audit_trail(
    client: FlaskClient, admin: Headers, make_token: Callable[..., Headers], session: Session
) -> None:
    push(client, admin, "crm", record("1", **MARTA))
    agent = make_token("agent")
    assert client.get("/api/v1/audit", headers=agent).status_code == 403
    marta = identity_of(session, "crm:1")
    assert client.get(f"/api/v1/identities/{marta}/history", headers=agent).status_code == 403
