"""Two admins at once, on PostgreSQL with real commits: deciding the same item, one wins and the
other gets a 409 with nothing applied; merges of overlapping identities run one after the
other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.db import get_db
from app.errors import Conflict
from app.ingest import decisions
from app.ingest import undo as undoing
from app.resolution.runtime import current_matcher
from app.review.models import LinkConstraint, ReviewItem
from app.settings import get_settings
from tests.helpers import add_source, push, record, wait_until_blocked
from tests.review.conftest import JONAS, MARTA, ZOE, Headers, identity_of, namesakes

CLAIM_MINUTES = 30.0


@pytest.fixture
def admin(live_app: Flask) -> Headers:
    """An admin token on the live application, with a CRM and a shop connected."""
    from app.auth import service as tokens  # noqa: PLC0415

    add_source(live_app, "crm")
    add_source(live_app, "shop")
    with live_app.app_context(), get_db(live_app).unit_of_work() as session:
        _, secret = tokens.create(session=session, name="admin", role="admin")
    return {"Authorization": f"Bearer {secret}"}


def open_item(app: Flask, headers: Headers) -> int:
    """Namesakes the matcher cannot tell apart; returns their review item."""
    namesakes(app.test_client(), headers, MARTA, "1", "2")
    with get_db(app).session() as session:
        item_id: int = session.scalars(select(ReviewItem.id)).one()
    return item_id


def in_thread(
    app: Flask, work: Callable[[Session], Any]
) -> tuple[threading.Thread, dict[str, Any]]:
    """Run work in its own session and thread; the outcome lands in the returned dict."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        with app.app_context(), get_db(app).session() as session:
            try:
                outcome["result"] = work(session)
                session.commit()
            except Conflict as error:
                session.rollback()
                outcome["conflict"] = error.detail

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_two_admins_deciding_at_once_one_wins_and_the_other_gets_409(
    live_app: Flask, admin: Headers
) -> None:
    item_id = open_item(live_app, admin)
    barrier = threading.Barrier(2)
    answers: dict[str, tuple[int, Any]] = {}

    def decide(decision: str) -> None:
        client = live_app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/review/items/{item_id}/decision",
            json={"decision": decision, "note": decision},
            headers=admin,
        )
        answers[decision] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=decide, args=(d,)) for d in ("merge", "keep_apart")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(status for status, _ in answers.values()) == [201, 409], answers
    (winner,) = [d for d, (status, _) in answers.items() if status == 201]
    with live_app.app_context(), get_db(live_app).session() as session:
        kinds = set(session.scalars(select(LinkConstraint.kind)))
        decisions = session.scalar(
            select(func.count()).where(AuditEntry.action.in_(("merge", "keep_apart")))
        )
        decided = session.get_one(ReviewItem, item_id).decision
        together = identity_of(session, "crm:1") == identity_of(session, "crm:2")
    assert kinds == {"must" if winner == "merge" else "cannot"}
    assert decisions == 1 and decided == winner
    assert together == (winner == "merge")


def test_the_second_decision_waits_for_the_first_and_writes_nothing(
    live_app: Flask, admin: Headers
) -> None:
    item_id = open_item(live_app, admin)
    with live_app.app_context(), get_db(live_app).session() as first:
        decisions.decide(
            session=first,
            settings=get_settings(live_app),
            matcher=current_matcher(first),
            item_id=item_id,
            decision="merge",
            actor="alice",
            minutes=CLAIM_MINUTES,
        )
        thread, outcome = in_thread(
            live_app,
            lambda session: decisions.decide(
                session=session,
                settings=get_settings(live_app),
                matcher=current_matcher(session),
                item_id=item_id,
                decision="keep_apart",
                actor="bob",
                note="two people",
                minutes=CLAIM_MINUTES,
            ),
        )
        wait_until_blocked(live_app)  # bob waits on the item alice holds
        first.commit()
    thread.join(60)
    assert "already decided (merge) by alice" in outcome["conflict"]
    with get_db(live_app).session() as session:
        assert set(session.scalars(select(LinkConstraint.kind))) == {"must"}
        assert (
            session.scalars(select(AuditEntry.actor).where(AuditEntry.actor == "bob")).all() == []
        )
        assert identity_of(session, "crm:1") == identity_of(session, "crm:2")


def test_merges_of_overlapping_identities_run_one_after_the_other(
    live_app: Flask, admin: Headers
) -> None:
    client = live_app.test_client()
    push(client, admin, "crm", record("m", **MARTA, email="marta@lindqvist.se"))
    push(client, admin, "shop", record("z", **ZOE), record("j", **JONAS, email="jonas@b.se"))
    with get_db(live_app).session() as session:
        marta, zoe, jonas = (identity_of(session, r) for r in ("crm:m", "shop:z", "shop:j"))
    assert marta and zoe and jonas

    def merge(session: Session, ids: list[str], actor: str) -> AuditEntry:
        return decisions.merge(
            session=session,
            settings=get_settings(live_app),
            matcher=current_matcher(session),
            public_ids=ids,
            actor=actor,
        )

    with live_app.app_context(), get_db(live_app).session() as first:
        merge(first, [marta, zoe], "alice")
        thread, outcome = in_thread(live_app, lambda s: merge(s, [zoe, jonas], "bob").id)
        wait_until_blocked(live_app)  # bob waits on zoe, whom alice is merging away
        first.commit()
    thread.join(60)
    assert "conflict" not in outcome, outcome
    with get_db(live_app).session() as session:
        survivors = {identity_of(session, r) for r in ("crm:m", "shop:z", "shop:j")}
        bob = session.get_one(AuditEntry, outcome["result"])
    assert survivors == {marta}  # bob's merge followed zoe to where alice had merged her
    assert bob.before["identities"] == sorted([marta, jonas])
    assert bob.after["members"] == {marta: ["crm:m", "shop:j", "shop:z"]}


def test_two_admins_undoing_the_same_change_one_wins(live_app: Flask, admin: Headers) -> None:
    client = live_app.test_client()
    push(client, admin, "crm", record("m", **MARTA, email="marta@lindqvist.se"))
    push(client, admin, "shop", record("z", **ZOE))
    with get_db(live_app).session() as session:
        marta, zoe = identity_of(session, "crm:m"), identity_of(session, "shop:z")
    merged = client.post(
        "/api/v1/review/merges", json={"identities": [marta, zoe]}, headers=admin
    ).get_json()

    def undo(session: Session, actor: str) -> int:
        entry = undoing.undo_entry(
            session=session,
            settings=get_settings(live_app),
            matcher=current_matcher(session),
            entry_id=merged["id"],
            actor=actor,
        )
        return entry.id

    with live_app.app_context(), get_db(live_app).session() as first:
        undo(first, "alice")
        thread, outcome = in_thread(live_app, lambda s: undo(s, "bob"))
        wait_until_blocked(live_app)  # bob waits on the entry alice is undoing
        first.commit()
    thread.join(60)
    assert "was already undone" in outcome["conflict"]
    with get_db(live_app).session() as session:
        assert identity_of(session, "crm:m") == marta and identity_of(session, "shop:z") == zoe
        undos = session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "undo")).all()
    assert undos == ["alice"]
