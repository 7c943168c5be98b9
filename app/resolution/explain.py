"""Why records are, or are not, one identity: a pair scored attribute by attribute, the stored
edges that hold an identity together, and a review item side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import among, chunks
from app.identity.service import RecordState, live_members, public_ids_of, record_states
from app.matching import Matcher
from app.matching.types import InputRecord, RecordId, ScoredEdge
from app.resolution import realtime
from app.resolution.models import BlockingKey, MatchEdge
from app.resolution.store import contribution_rows
from app.review import service as review
from app.review.compare import merge_preview
from app.review.models import ReviewItem
from app.settings import Settings
from app.source.models import SourceRecord

_HOLDERS_SHOWN = 50


def explain_pair(
    *, session: Session, matcher: Matcher, left: SourceRecord, right: SourceRecord
) -> ScoredEdge:
    """How the matcher scores two records now, attribute by attribute (linked or not)."""
    first, second = (
        matcher.prepare(InputRecord(r.id, r.source.name, r.attributes)) for r in (left, right)
    )
    return matcher.compare(first, second)


def why_apart(*, session: Session, matcher: Matcher, left: RecordId, right: RecordId) -> str | None:
    """Which guard keeps two records in different identities although auto-match edges
    connect them, and why; None when they are one identity or no auto edge connects them."""
    clustering = realtime.clustering_around(
        session=session, matcher=matcher, record_ids=[left, right]
    )
    cluster_of = {record: number for number, c in enumerate(clustering.clusters) for record in c}
    sides = {cluster_of.get(left), cluster_of.get(right)}
    if len(sides) < 2 or None in sides:
        return None
    for conflict in clustering.conflicts:
        if {cluster_of.get(record) for record in conflict.records[:2]} == sides:
            return f"{_GUARDS[conflict.kind]}: {conflict.detail}"
    return None


# What each guard is called where it is explained.
_GUARDS = {
    "cannot_link": "a person kept them apart",
    "exclusive": "the exclusive-attribute guard",
    "personal": "the personal-conflict guard",
    "ambiguous": "the ambiguity guard",
    "weak_bridge": "the weak-link guard",
}


def explain_identity(
    *, session: Session, matcher: Matcher, public_id: str, records: Sequence[SourceRecord]
) -> dict[str, Any]:
    """An identity's records and the stored edges between them, with their explanations."""
    references = {r.id: f"{r.source.name}:{r.external_id}" for r in records}
    edges = identity_edges(session=session, record_ids=list(references))
    return {
        "identity": public_id,
        "records": [{"reference": references[r.id], "attributes": r.attributes} for r in records],
        "edges": [edge_json(e, references, matcher) for e in edges],
    }


def edge_json(
    edge: MatchEdge, references: Mapping[RecordId, str], matcher: Matcher
) -> dict[str, Any]:
    """A stored edge as explanations show it: its records, score, whether it joins them, and
    each attribute's contribution."""
    return {
        "left": references[edge.left_id],
        "right": references[edge.right_id],
        "weight": edge.weight,
        "probability": edge.probability,
        "joins": edge.probability >= matcher.config.auto_threshold,
        "contributions": edge.contributions,
    }


def identity_edges(*, session: Session, record_ids: Sequence[RecordId]) -> list[MatchEdge]:
    """The stored edges between records of one identity: the evidence that holds it together."""
    members = set(record_ids)
    edges = [
        edge
        for chunk in chunks(sorted(members))
        for edge in session.scalars(
            select(MatchEdge).where(among(session, MatchEdge.left_id, chunk))
        )
        if edge.right_id in members
    ]
    return sorted(edges, key=lambda e: (-e.probability, e.left_id, e.right_id))


# -- a review item side by side ----------------------------------------------------------


def compare_item(
    *, session: Session, settings: Settings, matcher: Matcher, item_id: int, minutes: float
) -> dict[str, Any]:
    """An item side by side: both records and their identities, how each attribute compares
    (level and weight), the edges among them, and what a merge would give."""
    item = review.get_item(session=session, item_id=item_id)
    (described,) = review.describe_items(session=session, items=[item], minutes=minutes)
    return {
        "item": described,
        **side_by_side(session=session, settings=settings, matcher=matcher, item=item),
    }


def side_by_side(
    *, session: Session, settings: Settings, matcher: Matcher, item: ReviewItem
) -> dict[str, Any]:
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
    states = record_states(session, pair)
    result["left"], result["right"] = (_side(session, states[r]) for r in pair)
    result["score"] = _score(session, matcher, *pair)
    identities = sorted({s.identity_id for s in states.values() if s.live and s.identity_id})
    result["edges"] = _edges(session, matcher, [*pair, *live_members(session, identities)])
    if len(identities) == 2:
        result["preview"] = merge_preview(session, settings, identities)
    return result


def _side(session: Session, state: RecordState) -> dict[str, Any]:
    record = session.get_one(SourceRecord, state.id)
    identity = state.identity_id if state.live else None
    members = live_members(session, [identity]) if identity is not None else []
    rows = [
        row
        for chunk in chunks(members)
        for row in session.scalars(select(SourceRecord).where(SourceRecord.id.in_(chunk)))
    ]
    return {
        "reference": state.reference,
        "live": state.live,
        "attributes": record.attributes,
        "identity": public_ids_of(session, [identity]).get(identity) if identity else None,
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
        edge = explain_pair(
            session=session,
            matcher=matcher,
            left=session.get_one(SourceRecord, left),
            right=session.get_one(SourceRecord, right),
        )
        weight, probability = edge.weight, edge.probability
        contributions = contribution_rows(edge)
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
    edges = identity_edges(session=session, record_ids=record_ids)
    references = {i: s.reference for i, s in record_states(session, record_ids).items()}
    return [edge_json(e, references, matcher) for e in edges]


def _holders(session: Session, key: str) -> list[dict[str, Any]]:

    ids = session.scalars(
        select(BlockingKey.record_id)
        .where(BlockingKey.key == key)
        .order_by(BlockingKey.record_id)
        .limit(_HOLDERS_SHOWN)
    ).all()
    states = record_states(session, ids)
    public = public_ids_of(session, {s.identity_id for s in states.values() if s.identity_id})
    return [
        {"reference": s.reference, "identity": public.get(s.identity_id or 0)}
        for s in sorted(states.values(), key=lambda s: s.reference)
    ]
