"""The matcher on the store: real time equals batch, constraints hold, generic values are
listed, training versions the model, explanations show their evidence."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingest import flows
from app.resolution import batch, explain
from app.resolution.models import ModelVersion
from app.resolution.runtime import current_matcher
from app.review import constraints as links
from app.review.models import ReviewItem
from app.settings import EXTENSION, get_settings
from app.source.models import SourceRecord
from connectors.sandbox.people import generate_records
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]


def partition(session: Session) -> set[frozenset[str]]:
    """The identities as sets of SOURCE:ID, independent of their ids."""
    session.expire_all()
    groups: dict[int, set[str]] = {}
    for row in session.execute(
        select(SourceRecord.identity_id, SourceRecord.external_id).where(
            SourceRecord.deleted_at.is_(None)
        )
    ):
        groups.setdefault(row.identity_id, set()).add(row.external_id)
    return {frozenset(g) for g in groups.values()}


@pytest.fixture
def people(app: Flask) -> list[dict[str, object]]:
    """Records of a few hundred synthetic people, all pushed to one source."""
    add_source(app, "all")
    return [
        {"external_id": f"{r.department}-{r.external_id}", "attributes": dict(r.attributes)}
        for r in generate_records(240, seed=5)
    ]


def test_arrival_order_does_not_change_the_partition(
    app: Flask,
    client: FlaskClient,
    make_token: Headers,
    session: Session,
    people: list[dict[str, object]],
) -> None:
    admin = make_token("admin")
    shuffled = list(people)
    random.Random(3).shuffle(shuffled)
    for start in range(0, len(shuffled), 17):  # uneven pages, one transaction each
        push(client, admin, "all", *shuffled[start : start + 17])
    real_time = partition(session)
    with app.app_context():
        flows.resolve_all(
            session=session, settings=get_settings(), matcher=current_matcher(session)
        )
    assert partition(session) == real_time
    assert len(real_time) < len(people)  # some people were held by several departments


def test_a_cannot_link_keeps_two_records_apart_through_every_resolution(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session, cli: FlaskCliRunner
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    ana = {"first_name": "Ana", "last_name": "Ruiz", "birth_date": "1990-04-12"}
    push(client, admin, "crm", record("1", email="ana@example.com", **ana))
    push(client, admin, "crm", record("2", email="ana@example.com", **ana))
    one, two = session.scalars(select(SourceRecord).order_by(SourceRecord.external_id)).all()
    assert one.identity_id == two.identity_id
    with app.app_context():
        links.set_pair(session, one.id, two.id, "cannot", "test", "twins")
        flows.recluster(
            session=session,
            settings=get_settings(),
            matcher=current_matcher(session),
            record_ids=[one.id, two.id],
            actor="test",
        )
        session.commit()
    session.expire_all()
    assert one.identity_id != two.identity_id
    for command in (["resolve", "--full"], ["train"]):
        assert cli.invoke(args=command).exit_code == 0
        session.expire_all()
        assert one.identity_id != two.identity_id
    push(client, admin, "crm", record("2", email="ana@example.com", phone="+34600111222", **ana))
    session.expire_all()
    assert one.identity_id != two.identity_id


def test_train_stores_a_new_active_model_version(
    client: FlaskClient,
    make_token: Headers,
    cli: FlaskCliRunner,
    session: Session,
    people: list[dict[str, object]],
) -> None:
    push(client, make_token("admin"), "all", *people)
    before = partition(session)
    first = cli.invoke(args=["train"])
    second = cli.invoke(args=["train", "--seed", "1"])
    assert first.exit_code == second.exit_code == 0, first.output
    versions = session.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()
    assert [v.active for v in versions] == [False, True]
    assert versions[-1].summary["records"] == len(people)
    assert "identities in all" in second.output
    after = partition(session)
    # A model fitted to the data changes some decisions; most identities stay as they were.
    assert len(after & before) >= 0.8 * len(before)


def test_generic_values_are_listed(
    app: Flask, client: FlaskClient, make_token: Headers, cli: FlaskCliRunner
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    office = [
        record(f"e{n}", first_name=f"Given{n}", last_name=f"Worker{n}", phone="+1 415 555 0100")
        for n in range(55)
    ]
    push(client, admin, "crm", *office)
    listed = client.get("/api/v1/admin/generic-values", headers=admin).get_json()
    phone_keys = [v for v in listed["data"] if "14155550100" in v["key"]]
    assert phone_keys and phone_keys[0]["records"] == 55
    assert listed["cap"] == phone_keys[0]["cap"] < 55
    output = cli.invoke(args=["generic-values"]).output
    assert f"55\t{listed['cap']}\t" in output and "14155550100" in output
    assert (
        client.get("/api/v1/admin/generic-values", headers=make_token("agent")).status_code == 403
    )


def test_explain_shows_the_evidence_of_an_identity_and_of_any_pair(
    app: Flask, client: FlaskClient, make_token: Headers, cli: FlaskCliRunner
) -> None:
    add_source(app, "crm")
    add_source(app, "desk")
    admin = make_token("admin")
    push(
        client,
        admin,
        "crm",
        record("1", first_name="Ana", last_name="Ruiz", email="ana@example.com"),
    )
    push(client, admin, "desk", record("9", full_name="Ana Ruiz", email="ANA@example.com"))
    push(client, admin, "desk", record("7", full_name="Bo Berg", email="bo@example.com"))
    found = client.get("/api/v1/customers/lookup/crm:1", headers=admin).get_json()
    body = client.get(
        f"/api/v1/identities/{found['data'][0]['id']}/explain", headers=admin
    ).get_json()
    assert sorted(r["reference"] for r in body["records"]) == ["crm:1", "desk:9"]
    (edge,) = body["edges"]
    assert edge["joins"] is True
    levels = {c["attribute"]: c["level"] for c in edge["contributions"]}
    assert levels["email"] == "exact"
    # Where each record comes from is compared too (it weighs nothing before fitting).
    (source,) = [c for c in edge["contributions"] if c["attribute"] == "source"]
    assert (source["left"], source["right"], source["weight"]) == ("crm", "desk", 0.0)
    words = {c["attribute"]: c["described"] for c in edge["contributions"]}
    assert words["email"] == "the same"
    pair = cli.invoke(args=["explain", "crm:1", "desk:7"])
    assert pair.exit_code == 0, pair.output
    assert "email" in pair.output and "not a match" in pair.output and "not linked" in pair.output
    # levels read as words, not as the matcher's names for them
    assert "different" in pair.output and "jaro_winkler" not in pair.output
    missing = cli.invoke(args=["explain", "crm:1", "desk:404"])
    assert missing.exit_code == 1 and "holds no record '404'" in missing.output


def test_a_possible_match_becomes_a_review_item(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    marta = {"first_name": "Marta", "last_name": "Lindqvist", "city": "Uppsala"}
    push(client, admin, "crm", record("1", **marta), record("2", **marta))
    one, two = session.scalars(select(SourceRecord).order_by(SourceRecord.external_id)).all()
    with app.app_context():
        matcher = current_matcher(session)
        edge = explain.explain_pair(session=session, matcher=matcher, left=one, right=two)
    assert matcher.is_review(edge), "the namesakes should land between the two thresholds"
    assert one.identity_id != two.identity_id
    item = session.scalars(select(ReviewItem)).one()
    assert (item.kind, item.status) == ("possible_match", "open")
    assert (item.left_record_id, item.right_record_id) == (one.id, two.id)
    assert item.probability == pytest.approx(edge.probability)


def test_resolve_picks_up_what_changed_without_resolution(
    app: Flask, cli: FlaskCliRunner, session: Session, tmp_path: object
) -> None:
    from pathlib import Path  # noqa: PLC0415

    path = Path(str(tmp_path)) / "people.csv"
    path.write_text(
        "id,first_name,last_name,email\n"
        "1,Ana,Ruiz,ana@example.com\n2,Ana,Ruiz,ANA@example.com\n3,Bo,Berg,bo@example.com\n"
    )
    args = ["import", str(path), "--source", "crm", "--id-column", "id"]
    assert cli.invoke(args=[*args, "--no-resolve"]).exit_code == 0
    with app.app_context():
        assert len(batch.pending_records(session=session)) == 3
    assert "2 identities in all" in cli.invoke(args=["resolve"]).output
    path.write_text(
        "id,first_name,last_name,email\n"
        "1,Ana,Ruiz,ana@example.com\n2,Ana,Ruiz,ANA@example.com\n3,Bo,Berg,ana@example.com\n"
    )
    assert cli.invoke(args=[*args, "--no-resolve"]).exit_code == 0
    with app.app_context():
        pending = batch.pending_records(session=session)
    assert len(pending) == 1
    assert "resolved 1 records" in cli.invoke(args=["resolve"]).output
    with app.app_context():
        assert batch.pending_records(session=session) == []


def test_a_rule_with_its_own_cap_turns_its_values_generic_there_in_real_time_and_batch(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    settings = get_settings(app)
    phones_at_five = tuple(
        dataclasses.replace(rule, cap=5) if rule.name.startswith("phone") else rule
        for rule in settings.match.blocking_rules
    )
    app.extensions[EXTENSION] = dataclasses.replace(
        settings, match=dataclasses.replace(settings.match, blocking_rules=phones_at_five)
    )
    add_source(app, "crm")
    admin = make_token("admin")
    office = "+1 415 555 0100"
    pair = [record(f"p{n}", birth_date="1980-02-03", phone=office) for n in (1, 2)]
    push(client, admin, "crm", *pair)
    assert len(partition(session)) == 1, "under the phone rules' cap the pair is one person"
    # Four more: six hold the phone, over the phone rules' cap of 5, far under the default cap.
    staff = [
        record(f"e{n}", first_name=f"Given{n}", last_name=f"Worker{n}", phone=office)
        for n in range(4)
    ]
    push(client, admin, "crm", *staff)
    real_time = partition(session)
    assert frozenset({"p1", "p2"}) not in real_time
    listed = client.get("/api/v1/admin/generic-values", headers=admin).get_json()
    phone_keys = [v for v in listed["data"] if "14155550100" in v["key"]]
    assert phone_keys and {(v["records"], v["cap"]) for v in phone_keys} == {(6, 5)}
    with app.app_context():
        flows.resolve_all(
            session=session, settings=get_settings(), matcher=current_matcher(session)
        )
    assert partition(session) == real_time


def test_a_value_turning_generic_mid_page_stops_joining_its_holders_as_batch_does(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    office = "+1 415 555 0100"
    # Two records whose only shared keys come from the office phone, then the rest of the office.
    pair = [record(f"p{n}", birth_date="1980-02-03", phone=office) for n in (1, 2)]
    staff = [
        record(f"e{n}", first_name=f"Given{n}", last_name=f"Worker{n}", phone=office)
        for n in range(60)
    ]
    push(client, admin, "crm", *pair)
    assert len(partition(session)) == 1  # a rare shared phone and a birth date: one person
    for start in range(0, len(staff), 25):  # the phone passes the cap inside the third page
        push(client, admin, "crm", *staff[start : start + 25])
    real_time = partition(session)
    assert frozenset({"p1", "p2"}) not in real_time
    with app.app_context():
        flows.resolve_all(
            session=session, settings=get_settings(), matcher=current_matcher(session)
        )
    assert partition(session) == real_time
