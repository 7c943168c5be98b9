"""A full resolution writes in bulk what real time writes record by record: the same evidence
(normalized values, blocking keys, lookup identifiers, edges with their explanations), the same
identities, golden records, search keys and traits."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customer.models import CustomerTraits, GoldenRecord, SearchToken
from app.identity.models import RecordIdentifier
from app.ingest import flows
from app.matching import InputRecord, Matcher, load_match_config
from app.matching.blocking import key_parts, record_keys
from app.resolution.bulk import _JsonTexts
from app.resolution.models import BlockingKey, MatchEdge, MatchValues
from app.resolution.runtime import current_matcher
from app.resolution.store import contribution_rows
from app.settings import EXTENSION, get_settings
from app.source.models import Source, SourceRecord
from bench.febrl import EXTRA_TYPES, generate
from connectors.sandbox.people import generate_records
from tests.helpers import add_source, push

Headers = Callable[..., dict[str, str]]


def _records() -> list[InputRecord]:
    """People as departments hold them (full names, e-mails, phones) and FEBRL-like people
    with typos, swapped names and an identifier: every path of normalization and blocking."""
    people = [
        InputRecord(i, r.department, dict(r.attributes))
        for i, r in enumerate(generate_records(600, seed=11))
    ]
    febrl = [InputRecord(1000 + r.record_id, "febrl", r.canonical()) for r in generate(600, 4)]
    return people + febrl


def test_keys_from_columns_are_each_records_own() -> None:
    matcher = Matcher(load_match_config(), EXTRA_TYPES)
    records = _records()
    frame = matcher.build_frame(records)
    held: dict[int, set[str]] = defaultdict(set)
    for rule in matcher.rules:
        rows, keys = key_parts(frame, rule).keys(0, len(frame))
        for row, key in zip(rows.tolist(), keys, strict=True):
            held[row].add(key)
    for row, record in enumerate(records):
        assert held[row] == set(record_keys(matcher.rules, matcher.prepare(record).values))


def test_edges_explained_a_column_at_a_time_read_as_explained_one_by_one() -> None:
    matcher = Matcher(load_match_config(), EXTRA_TYPES)
    edges = matcher.resolve(_records(), train=True).edges
    texts = _JsonTexts().contributions(edges.explain(0, len(edges)))  # type: ignore[attr-defined]
    assert any("(swapped)" in text for text in texts)
    assert [orjson.loads(text) for text in texts] == [contribution_rows(e) for e in edges]


def _snapshot(session: Session) -> dict[str, Any]:
    """Everything resolution derives from the records, keyed by what the records are (source
    and external id), not by ids a run assigns."""
    session.expire_all()
    reference = {
        row.id: f"{row.name}:{row.external_id}"
        for row in session.execute(
            select(SourceRecord.id, Source.name, SourceRecord.external_id).join(Source)
        )
    }
    members: dict[int, set[str]] = defaultdict(set)
    for record_id, identity_id in session.execute(
        select(SourceRecord.id, SourceRecord.identity_id).where(SourceRecord.deleted_at.is_(None))
    ):
        members[identity_id].add(reference[record_id])
    people = {identity: frozenset(refs) for identity, refs in members.items()}
    keys: dict[str, set[str]] = defaultdict(set)
    for record_id, key in session.execute(select(BlockingKey.record_id, BlockingKey.key)):
        keys[reference[record_id]].add(key)
    identifiers: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in session.execute(select(RecordIdentifier)).scalars():
        identifiers[reference[row.record_id]].add((row.kind, row.value))
    tokens: dict[frozenset[str], set[str]] = defaultdict(set)
    for token, identity_id in session.execute(select(SearchToken.token, SearchToken.identity_id)):
        tokens[people[identity_id]].add(token)
    return {
        "identities": set(people.values()),
        "values": {
            reference[v.record_id]: (v.values, v.content_hash)
            for v in session.scalars(select(MatchValues))
        },
        "keys": dict(keys),
        "identifiers": dict(identifiers),
        "edges": {
            (reference[e.left_id], reference[e.right_id]): (
                e.weight,
                e.probability,
                e.contributions,
            )
            for e in session.scalars(select(MatchEdge))
        },
        "golden": {
            people[g.identity_id]: (g.summary, g.search_names)
            for g in session.scalars(select(GoldenRecord))
        },
        "tokens": dict(tokens),
        "traits": {
            people[t.identity_id]: {k: v for k, v in t.traits.items() if k != "as_of"}
            for t in session.scalars(select(CustomerTraits))
        },
    }


@pytest.mark.slow
def test_a_full_resolution_stores_what_real_time_stored(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    # Real time all the way: the store never fits its model meanwhile (which resolves in batch).
    settings = app.extensions[EXTENSION]
    model = dataclasses.replace(settings.match.model, fit_from=10**9)
    app.extensions[EXTENSION] = dataclasses.replace(
        settings, match=dataclasses.replace(settings.match, model=model)
    )
    admin = make_token("admin")
    records = _records()
    for source in sorted({r.source for r in records}):
        add_source(app, source, **(EXTRA_TYPES if source == "febrl" else {}))
    for start in range(0, len(records), 75):  # real time, a page at a time
        page = records[start : start + 75]
        for source in sorted({r.source for r in page}):
            push(
                client,
                admin,
                source,
                *(
                    {"external_id": str(r.id), "attributes": dict(r.attributes)}
                    for r in page
                    if r.source == source
                ),
            )
    real_time = _snapshot(session)
    assert len(real_time["identities"]) < len(records)
    with app.app_context():
        flows.resolve_all(
            session=session, settings=get_settings(), matcher=current_matcher(session)
        )
    batch = _snapshot(session)
    for part in real_time:
        assert batch[part] == real_time[part], part
