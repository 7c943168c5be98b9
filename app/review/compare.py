"""A review item side by side: both records and identities, how each attribute compares (level
and weight), the edges among them, and what a merge would give."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customer import service as customers
from app.db import chunks
from app.matching import Matcher
from app.matching.types import RecordId
from app.resolution import service as resolution
from app.resolution.models import BlockingKey, MatchEdge, ReviewItem
from app.review import changes
from app.source.models import SourceRecord

_HOLDERS_SHOWN = 50


def side_by_side(session: Session, matcher: Matcher, item: ReviewItem) -> dict[str, Any]:
    """An item side by side: both records and their identities, how each attribute compares
    (level and weight), the edges among them, and what a merge would give."""
    result: dict[str, Any] = {
        "left": None,
        "right": None,
        "score": None,
        "edges": [],
        "preview": None,
        "holders": [],
    }
    if item.left_record_id is None or item.right_record_id is None:
        result["holders"] = _holders(session, str(item.detail.get("key", "")))
        return result
    pair = (item.left_record_id, item.right_record_id)
    states = changes.record_states(session, pair)
    result["left"], result["right"] = (_side(session, states[r]) for r in pair)
    result["score"] = _score(session, matcher, *pair)
    identities = sorted({s.identity_id for s in states.values() if s.live and s.identity_id})
    result["edges"] = _edges(session, matcher, [*pair, *changes.live_members(session, identities)])
    if len(identities) == 2:
        result["preview"] = merge_preview(session, identities)
    return result


def _side(session: Session, state: changes.RecordState) -> dict[str, Any]:
    record = session.get_one(SourceRecord, state.id)
    identity = state.identity_id if state.live else None
    members = changes.live_members(session, [identity]) if identity is not None else []
    rows = [
        row
        for chunk in chunks(members)
        for row in session.scalars(select(SourceRecord).where(SourceRecord.id.in_(chunk)))
    ]
    return {
        "reference": state.reference,
        "live": state.live,
        "attributes": record.attributes,
        "identity": changes.public_ids_of(session, [identity]).get(identity) if identity else None,
        "identity_records": sorted(
            (
                {"reference": f"{r.source.name}:{r.external_id}", "attributes": r.attributes}
                for r in rows
            ),
            key=lambda r: str(r["reference"]),
        ),
    }


def _score(session: Session, matcher: Matcher, left: RecordId, right: RecordId) -> dict[str, Any]:
    stored = session.get(MatchEdge, (left, right))
    if stored is not None:
        weight, probability = stored.weight, stored.probability
        contributions = list(stored.contributions)
    else:
        edge = resolution.explain_pair(
            session=session,
            matcher=matcher,
            left=session.get_one(SourceRecord, left),
            right=session.get_one(SourceRecord, right),
        )
        weight, probability = edge.weight, edge.probability
        contributions = [
            {
                "attribute": c.attribute,
                "level": c.level,
                "weight": c.weight,
                "left": c.left,
                "right": c.right,
            }
            for c in edge.contributions
        ]
    config = matcher.config
    verdict = (
        "auto"
        if probability >= config.auto_threshold
        else "review"
        if probability >= config.review_threshold
        else "below"
    )
    return {
        "weight": weight,
        "probability": probability,
        "verdict": verdict,
        "stored": stored is not None,
        "contributions": contributions,
    }


def _edges(
    session: Session, matcher: Matcher, record_ids: Sequence[RecordId]
) -> list[dict[str, Any]]:
    edges = resolution.identity_edges(session=session, record_ids=record_ids)
    references = {i: s.reference for i, s in changes.record_states(session, record_ids).items()}
    return [
        {
            "left": references[e.left_id],
            "right": references[e.right_id],
            "weight": e.weight,
            "probability": e.probability,
            "joins": e.probability >= matcher.config.auto_threshold,
            "contributions": e.contributions,
        }
        for e in edges
    ]


def _holders(session: Session, key: str) -> list[dict[str, Any]]:

    ids = session.scalars(
        select(BlockingKey.record_id)
        .where(BlockingKey.key == key)
        .order_by(BlockingKey.record_id)
        .limit(_HOLDERS_SHOWN)
    ).all()
    states = changes.record_states(session, ids)
    public = changes.public_ids_of(
        session, {s.identity_id for s in states.values() if s.identity_id}
    )
    return [
        {"reference": s.reference, "identity": public.get(s.identity_id or 0)}
        for s in sorted(states.values(), key=lambda s: s.reference)
    ]


def merge_preview(session: Session, identity_ids: Sequence[int]) -> dict[str, Any]:
    # The merge must-links every record, so its outcome is exactly the union, under the oldest
    # identity (the lowest id, as resolution's stable-id rule has it).
    public = changes.public_ids_of(session, identity_ids)
    records = changes.live_members(session, identity_ids)
    rows = {
        r.id: r
        for chunk in chunks(records)
        for r in session.scalars(select(SourceRecord).where(SourceRecord.id.in_(chunk)))
    }
    references = {i: f"{r.source.name}:{r.external_id}" for i, r in rows.items()}
    attributes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for record_id in records:
        for name, value in sorted(rows[record_id].attributes.items()):
            attributes[name][str(value)].append(references[record_id])
    return {
        "identities": [public[i] for i in sorted(identity_ids)],
        "survivor": public[min(identity_ids)],
        "records": sorted(references.values()),
        "golden": _golden_preview(session, records),
        "attributes": {
            name: [{"value": v, "records": refs} for v, refs in sorted(values.items())]
            for name, values in sorted(attributes.items())
        },
    }


def _golden_preview(session: Session, record_ids: Sequence[RecordId]) -> dict[str, Any] | None:
    """The golden record these records would have as one identity, each value with the
    provenance survivorship would give it (nothing is written)."""
    if not record_ids:
        return None
    golden: dict[str, Any] = customers.preview_golden(session=session, record_ids=record_ids)[
        "golden"
    ]
    return golden
