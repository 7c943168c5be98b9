"""The queue as a team works it: one item per pair of customers, items that close themselves,
who is who on each side, the next item, and several items decided at once."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.review.models import ReviewItem
from app.source.models import Source, SourceRecord
from tests.helpers import push, record
from tests.review.conftest import (
    JONAS,
    MARTA,
    Headers,
    decide,
    identity_of,
    namesakes,
    pair_item,
    post,
    queue,
)


def record_id(session: Session, reference: str) -> int:
    source, _, external_id = reference.partition(":")
    found: int = session.execute(
        select(SourceRecord.id)
        .join(Source, Source.id == SourceRecord.source_id)
        .where(Source.name == source, SourceRecord.external_id == external_id)
    ).scalar_one()
    return found


def add_item(session: Session, left: str, right: str) -> int:
    """An open possible match about two records, as an older release could leave (one per pair
    of records)."""
    lower, upper = sorted((record_id(session, left), record_id(session, right)))
    item = ReviewItem(
        kind="possible_match",
        status="open",
        left_record_id=lower,
        right_record_id=upper,
        probability=0.85,
        detail={"weight": 3.0},
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(item)
    session.commit()
    return item.id


def customers_of(item: dict[str, Any]) -> frozenset[str]:
    return frozenset((item["left"]["identity"], item["right"]["identity"]))


def test_one_item_per_pair_of_customers_however_many_records_they_hold(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    namesakes(client, admin, MARTA, "1")
    push(client, admin, "shop", record("a", **MARTA))
    first = pair_item(client, admin, "crm:1", "shop:a")
    decide(client, admin, first["id"], "merge")  # one customer, two records
    namesakes(client, admin, MARTA, "2")  # a namesake: in doubt with both records
    items = queue(client, admin)
    assert len(items) == 1, items
    assert customers_of(items[0]) == {identity_of(session, "crm:1"), identity_of(session, "crm:2")}
    push(client, admin, "shop", record("b", **MARTA))  # doubt with all three records
    items = queue(client, admin)
    pairs = [customers_of(item) for item in items]
    assert len(pairs) == len(set(pairs)) == 3, items  # {1+a, 2, b}: three pairs of customers


def test_items_that_no_longer_ask_anything_close_themselves(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    namesakes(client, admin, MARTA, "m1", "m2")
    namesakes(client, admin, JONAS, "j1", "j2")
    marta = pair_item(client, admin, "crm:m1", "crm:m2")
    # merged by hand, not through the item: the item has nothing left to ask
    post(
        client,
        admin,
        "merges",
        {"identities": [identity_of(session, "crm:m1"), identity_of(session, "crm:m2")]},
    )
    open_ids = [item["id"] for item in queue(client, admin)]
    assert marta["id"] not in open_ids
    (closed,) = [i for i in queue(client, admin, status="obsolete") if i["id"] == marta["id"]]
    assert closed["detail"]["closed"] == "the records are one customer now"
    # a second item about the same two customers, as an older release opened them
    jonas = pair_item(client, admin, "crm:j1", "crm:j2")
    namesakes(client, admin, JONAS, "j3")
    post(
        client,
        admin,
        "merges",
        {"identities": [identity_of(session, "crm:j2"), identity_of(session, "crm:j3")]},
    )
    twin = add_item(session, "crm:j1", "crm:j3")
    decide(client, admin, jonas["id"], "keep_apart")  # a person keeps them apart
    assert twin not in [item["id"] for item in queue(client, admin)]
    (closed,) = [i for i in queue(client, admin, status="obsolete") if i["id"] == twin]
    assert closed["detail"]["closed"] == "a decision keeps these customers apart"


def test_a_second_item_about_the_same_customers_is_closed(
    client: FlaskClient, admin: Headers, session: Session
) -> None:
    namesakes(client, admin, MARTA, "1", "2")
    push(client, admin, "shop", record("a", **MARTA))
    first = pair_item(client, admin, "crm:1", "crm:2")
    post(
        client,
        admin,
        "merges",
        {"identities": [identity_of(session, "crm:2"), identity_of(session, "shop:a")]},
    )
    twin = add_item(session, "crm:1", "shop:a")
    ids = [item["id"] for item in queue(client, admin)]
    assert (first["id"] in ids) != (twin in ids)  # one of the two stays
    closed = [i for i in queue(client, admin, status="obsolete") if i["id"] in (first["id"], twin)]
    assert closed[0]["detail"]["closed"] == "another item asks about these two customers"


def test_each_side_says_who_and_which_department(
    client: FlaskClient, admin: Headers, cli: FlaskCliRunner
) -> None:
    push(client, admin, "crm", record("1", **MARTA, email="marta@lindqvist.se"))
    push(client, admin, "shop", record("a", full_name="Marta Lindqvist", city="Uppsala"))
    (item,) = queue(client, admin)
    sides = {item["left"]["source"]: item["left"], item["right"]["source"]: item["right"]}
    assert sides["crm"]["name"] == "Marta Lindqvist"
    assert sides["crm"]["email"] == "marta@lindqvist.se"
    assert sides["shop"]["name"] == "Marta Lindqvist" and sides["shop"]["email"] is None
    listed = cli.invoke(args=["review", "list"]).output
    assert "Marta Lindqvist, marta@lindqvist.se [crm:1 in cus_" in listed


def next_item(client: FlaskClient, headers: Headers, **query: Any) -> dict[str, Any] | None:
    response = client.get("/api/v1/review/items/next", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    found: dict[str, Any] | None = response.get_json()["item"]
    return found


def test_the_next_item_follows_the_queue_and_skips_what_others_hold(
    client: FlaskClient, admin: Headers, cli: FlaskCliRunner
) -> None:
    namesakes(client, admin, MARTA, "m1", "m2")
    namesakes(client, admin, JONAS, "j1", "j2")
    push(client, admin, "crm", record("m3", **MARTA))
    ordered = [item["id"] for item in queue(client, admin)]
    assert len(ordered) >= 3
    top = next_item(client, admin)
    assert top is not None and top["id"] == ordered[0]
    assert next_item(client, admin, after=ordered[0])["id"] == ordered[1]  # type: ignore[index]
    assert next_item(client, admin, after=ordered[1], backwards=True)["id"] == ordered[0]  # type: ignore[index]
    assert next_item(client, admin, after=ordered[0], backwards=True) is None  # the first
    claimed = cli.invoke(args=["review", "claim", str(ordered[0])])  # another admin
    assert claimed.exit_code == 0, claimed.output
    assert next_item(client, admin)["id"] == ordered[1]  # type: ignore[index]
    decide(client, admin, ordered[1], "dismiss")
    assert next_item(client, admin, after=ordered[1])["id"] == ordered[2]  # type: ignore[index]


def test_several_items_decided_at_once_with_one_note(
    client: FlaskClient, admin: Headers, cli: FlaskCliRunner
) -> None:
    namesakes(client, admin, MARTA, "m1", "m2")
    namesakes(client, admin, JONAS, "j1", "j2")
    marta = pair_item(client, admin, "crm:m1", "crm:m2")
    jonas = pair_item(client, admin, "crm:j1", "crm:j2")
    response = client.post(
        "/api/v1/review/decisions",
        json={
            "items": [marta["id"], jonas["id"], 999999],
            "decision": "keep_apart",
            "note": "namesakes, says the branch",
        },
        headers=admin,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [d["item"]["id"] for d in body["decided"]] == [marta["id"], jonas["id"]]
    assert {d["change"]["reason"] for d in body["decided"]} == {"namesakes, says the branch"}
    assert body["refused"] == [{"item": 999999, "detail": "no review item 999999"}]
    assert queue(client, admin) == []
    again = cli.invoke(args=["review", "decide", str(marta["id"]), str(jonas["id"]), "merge"])
    assert again.exit_code == 1
    assert f"item {marta['id']} not decided: item {marta['id']} was already decided" in again.output
