"""The review queue: what is in it, in which order, filtered and paged, claimed and shown side
by side."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.matching.types import Clustering, Conflict
from app.review import queue as review_queue
from app.review.models import ReviewItem
from app.source.models import SourceRecord
from tests.helpers import add_source, push, record
from tests.review.conftest import (
    JONAS,
    MARTA,
    ZOE,
    Headers,
    identity_of,
    namesakes,
    pair_item,
    post,
    queue,
)


def test_a_possible_match_is_queued_with_both_records_and_their_identities(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    namesakes(client, admin, MARTA, "1", "2")
    (item,) = queue(client, admin)
    assert (item["kind"], item["status"]) == ("possible_match", "open")
    assert item["left"] == {
        "reference": "crm:1",
        "identity": identity_of(session, "crm:1"),
        "live": True,
        "source": "crm",
        "name": "Marta Lindqvist",
        "email": None,
    }
    assert item["right"]["identity"] == identity_of(session, "crm:2") != item["left"]["identity"]
    # closeness to the auto threshold (0.80 .. 0.99) times log2(1 + two records)
    closeness = (item["probability"] - 0.80) / (0.99 - 0.80)
    assert item["priority"] == pytest.approx(closeness * math.log2(3), abs=1e-5)


def test_bigger_identities_come_first_and_pages_follow_the_order(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    namesakes(client, admin, MARTA, "m1", "m2")
    namesakes(client, admin, JONAS, "j1", "j2")
    push(client, admin, "shop", record("z", **ZOE))
    marta, jonas = (pair_item(client, admin, f"crm:{p}1", f"crm:{p}2") for p in "mj")
    assert marta["probability"] == pytest.approx(jonas["probability"])
    # Marta's first record joins a bigger identity: her item now matters more.
    post(
        client,
        admin,
        "merges",
        {"identities": [identity_of(session, "crm:m1"), identity_of(session, "shop:z")]},
    )
    ordered = queue(client, admin, limit=1)
    assert [i["id"] for i in ordered] == [marta["id"], jonas["id"]]
    assert ordered[0]["priority"] > ordered[1]["priority"]


def test_the_queue_filters_by_kind_source_and_status(
    app: Flask, client: FlaskClient, admin: Headers, session: Session
) -> None:
    add_source(app, "desk")
    namesakes(client, admin, MARTA, "m1", "m2")
    push(client, admin, "desk", record("j1", **JONAS), record("j2", **JONAS))
    assert {i["left"]["reference"] for i in queue(client, admin, source="desk")} == {"desk:j1"}
    assert len(queue(client, admin, kind="possible_match")) == 2
    assert queue(client, admin, kind="conflict") == []
    marta = pair_item(client, admin, "crm:m1", "crm:m2")
    post(client, admin, f"items/{marta['id']}/decision", {"decision": "dismiss"})
    assert [i["id"] for i in queue(client, admin, status="decided")] == [marta["id"]]
    assert len(queue(client, admin)) == 1
    bad = client.get("/api/v1/review/items?kind=maybe", headers=admin)
    assert bad.status_code == 422 and "kind" in bad.get_json()["errors"]
    forged = client.get("/api/v1/review/items?cursor=WzFd", headers=admin)
    assert forged.status_code == 400


def test_only_admins_see_the_queue(
    client: FlaskClient, admin: Headers, make_token: Callable[..., Headers]
) -> None:
    assert client.get("/api/v1/review/items", headers=make_token("agent")).status_code == 403


def test_a_claim_keeps_other_admins_off_until_it_lapses(
    client: FlaskClient,
    admin: Headers,
    make_token: Callable[..., Headers],
    session: Session,
) -> None:
    other = make_token("admin")  # "test admin" too: a distinct actor needs a distinct name
    namesakes(client, admin, MARTA, "1", "2")
    (item,) = queue(client, admin)
    path = f"/api/v1/review/items/{item['id']}"
    claimed = client.post(f"{path}/claim", headers=admin)
    assert claimed.status_code == 200
    assert claimed.get_json()["claimed_by"] == "test admin"
    assert claimed.get_json()["claim_expires_at"] is not None
    session.execute(
        update(ReviewItem).where(ReviewItem.id == item["id"]).values(claimed_by="someone else")
    )
    session.commit()
    refused = client.post(f"{path}/claim", headers=other)
    assert refused.status_code == 409
    assert "claimed by someone else" in refused.get_json()["detail"]
    decided = client.post(f"{path}/decision", json={"decision": "merge"}, headers=other)
    assert decided.status_code == 409
    assert identity_of(session, "crm:1") != identity_of(session, "crm:2")
    # An hour later the claim has lapsed (claims last 30 minutes by default).
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item["id"])
        .values(claimed_at=utcnow().replace(year=utcnow().year - 1))
    )
    session.commit()
    assert queue(client, admin)[0]["claimed_by"] is None
    assert client.post(f"{path}/claim", headers=other).status_code == 200
    released = client.delete(f"{path}/claim", headers=other)
    assert released.status_code == 200 and released.get_json()["claimed_by"] is None


def test_an_item_side_by_side_explains_the_score_and_previews_the_merge(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    push(client, admin, "crm", record("1", email="marta@lindqvist.se", **MARTA))
    push(client, admin, "shop", record("a", email="MARTA@lindqvist.se", **MARTA))
    namesakes(client, admin, MARTA, "2")
    item = pair_item(client, admin, "crm:1", "crm:2")
    shown = client.get(f"/api/v1/review/items/{item['id']}", headers=admin).get_json()
    assert shown["left"]["identity"] == identity_of(session, "crm:1")
    assert [r["reference"] for r in shown["left"]["identity_records"]] == ["crm:1", "shop:a"]
    assert shown["right"]["attributes"] == MARTA
    levels = {c["attribute"]: (c["level"], c["weight"]) for c in shown["score"]["contributions"]}
    assert levels["first_name"][0] == levels["last_name"][0] == "exact"
    assert levels["first_name"][1] > 0
    assert shown["score"]["verdict"] == "review" and shown["score"]["stored"] is True
    assert shown["score"]["probability"] == pytest.approx(item["probability"])
    edges = {(e["left"], e["right"]): e["joins"] for e in shown["edges"]}
    assert edges[("crm:1", "shop:a")] is True  # what holds the left identity together
    assert edges[("crm:1", "crm:2")] is False
    preview = shown["preview"]
    assert sorted(preview["identities"]) == sorted(
        [identity_of(session, "crm:1"), identity_of(session, "crm:2")]
    )
    assert preview["survivor"] == identity_of(session, "crm:1")  # the older identity
    assert preview["records"] == ["crm:1", "crm:2", "shop:a"]
    emails = {v["value"]: v["records"] for v in preview["attributes"]["email"]}
    assert emails == {"marta@lindqvist.se": ["crm:1"], "MARTA@lindqvist.se": ["shop:a"]}
    # The preview wrote nothing.
    assert identity_of(session, "crm:1") != identity_of(session, "crm:2")
    assert client.get("/api/v1/review/items/999999", headers=admin).status_code == 404


def test_a_value_that_becomes_generic_is_queued_once(
    client: FlaskClient, admin: Headers, cli: FlaskCliRunner, session: Session
) -> None:
    # 55 staff whose names sound different from each other: only the phone is shared.
    names = [f"{first}a{second}o" for first in "BCDFGKLMNPRSTVZ" for second in "bdlmr"]
    office = [
        record(f"e{n}", first_name=name, last_name=f"Worker{n}", phone="+1 415 555 0100")
        for n, name in enumerate(names[:55])
    ]
    push(client, admin, "crm", *office[:30])
    assert queue(client, admin, kind="generic_value") == []
    push(client, admin, "crm", *office[30:])
    # Every blocking key of the office phone (its full and national forms) is queued once.
    items = queue(client, admin, kind="generic_value")
    assert items and all("55550100" in i["detail"]["key"] for i in items)
    assert {i["detail"]["records"] for i in items} == {55}
    item = items[0]
    shown = client.get(f"/api/v1/review/items/{item['id']}", headers=admin).get_json()
    assert len(shown["holders"]) == 50 and shown["left"] is None
    refused = client.post(
        f"/api/v1/review/items/{item['id']}/decision", json={"decision": "merge"}, headers=admin
    )
    assert refused.status_code == 422
    result = cli.invoke(args=["resolve", "--full"])
    assert result.exit_code == 0, result.output
    assert [i["id"] for i in queue(client, admin, kind="generic_value")] == [i["id"] for i in items]
    for each in items:
        post(
            client, admin, f"items/{each['id']}/decision", {"decision": "dismiss", "note": "office"}
        )
    assert queue(client, admin, kind="generic_value") == []


def test_a_conflict_is_queued_once_however_often_clustering_finds_it(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    push(client, admin, "crm", record("1", **MARTA), record("2", **JONAS), record("3", **ZOE))
    ids = dict(session.execute(select(SourceRecord.external_id, SourceRecord.id)).all())
    bridge = Conflict("weak_bridge", (ids["1"], ids["2"]), "one weak edge between two groups")
    apart = Clustering([frozenset({i}) for i in ids.values()], (bridge, bridge))
    assert review_queue.update_pairs(session, [], apart) == 1  # found twice in one run: once
    assert review_queue.update_pairs(session, [], apart) == 0  # found again later: still once
    other = Conflict("weak_bridge", (ids["2"], ids["3"]), "one weak edge between two groups")
    assert review_queue.update_pairs(session, [], Clustering(apart.clusters, (other,))) == 1
    items = queue(client, admin, kind="conflict")
    assert sorted(i["left"]["reference"] for i in items) == ["crm:1", "crm:2"]
