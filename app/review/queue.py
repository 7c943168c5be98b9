"""The review queue's upkeep: items opened for what a resolution found (possible matches it
left apart, conflicts its guards cut, values that became too common to block on), closed when
they no longer hold, and settled or re-weighed when people decide. The one place review items
are created.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, aliased

from app.audit.models import AuditEntry
from app.db import Reused, among_parameter, bulk_insert, chunks, read_rows, utcnow
from app.identity.service import identity_ids_of
from app.matching.types import Clustering, Conflict, RecordId, ScoredEdge
from app.review.models import LinkConstraint, ReviewItem
from app.source.models import SourceRecord


@dataclass(slots=True)
class Findings:
    """What a resolution found for people to review."""

    # Possible-match edges (between the review and auto thresholds) in the re-clustered part.
    possible: list[ScoredEdge] = field(default_factory=list)
    clustering: Clustering | None = None
    # Must-links people set there: a conflict between records a person joined is not asked.
    decided: frozenset[tuple[RecordId, RecordId]] = frozenset()
    # Blocking keys now generic, with their counts (None: no key crossed the cap).
    generic: dict[str, int] | None = None
    # Keys no longer generic; None after a full run: every key not in ``generic``.
    released: set[str] | None = None


def update_queue(*, session: Session, findings: Findings) -> int:
    """Open, close and retire items after a resolution; returns items opened."""
    opened = 0
    # Real time (``released`` known) found the keys before it clustered: their items come first.
    if findings.generic is not None and findings.released is not None:
        opened += track_generic_values(
            session=session, generic=findings.generic, released=findings.released
        )
    if findings.clustering is not None:
        opened += update_pairs(session, findings.possible, findings.clustering, findings.decided)
    if findings.generic is not None and findings.released is None:
        opened += track_generic_values(session=session, generic=findings.generic)
    return opened


IdentityPair = tuple[Any, Any]
"""Two identities (ordered), or a record's own id when it holds none yet: what one possible
match asks about. However many of their records' pairs scored in doubt, one item asks."""


def _identity_pair(left: Any, right: Any) -> IdentityPair:
    return (left, right) if str(left) <= str(right) else (right, left)


def update_pairs(
    session: Session,
    review_edges: Sequence[ScoredEdge],
    clustering: Clustering,
    decided: frozenset[tuple[RecordId, RecordId]] = frozenset(),
) -> int:
    """Open review items for possible matches left apart and conflicts the guards split;
    close the possible matches the clustering has since joined. Returns items opened.

    One possible match is asked per pair of identities, about the strongest pair of their
    records, and not while another item asks about them or a person keeps them apart. A
    conflict between records a person joined (``decided`` must-links) is their decision, not a
    question: it is not queued."""
    identity_of = identity_ids_of(session, {r for e in review_edges for r in (e.left, e.right)})
    existing = _open_or_decided_pairs(session, review_edges)
    now = utcnow()
    strongest: dict[IdentityPair, ScoredEdge] = {}
    joined: list[tuple[RecordId, RecordId]] = []
    for edge in review_edges:
        pair = (edge.left, edge.right)
        apart = identity_of.get(edge.left) != identity_of.get(edge.right)
        status = existing.get(pair)
        if apart and status is None:
            key = _identity_pair(
                identity_of.get(edge.left) or f"r{edge.left}",
                identity_of.get(edge.right) or f"r{edge.right}",
            )
            if key not in strongest or edge.probability > strongest[key].probability:
                strongest[key] = edge
        elif not apart and status == "open":
            joined.append(pair)
    _close_pairs(session, joined, "the records are one customer now", now)
    asked = _asked_identity_pairs(
        session, {i for key in strongest for i in key if isinstance(i, int)}
    )
    new_items: list[dict[str, Any]] = [
        {
            "kind": "possible_match",
            "status": "open",
            "left_record_id": edge.left,
            "right_record_id": edge.right,
            "probability": edge.probability,
            "detail": {"weight": edge.weight},
            "created_at": now,
            "updated_at": now,
        }
        for key, edge in sorted(strongest.items(), key=lambda item: str(item[0]))
        if key not in asked
    ]
    new_items += _new_conflicts(
        session,
        [c for c in clustering.conflicts if tuple(sorted(c.records)) not in decided],
        now,
    )
    bulk_insert(session, ReviewItem.__table__, new_items)
    return len(new_items)


def _close_pairs(
    session: Session, pairs: Sequence[tuple[RecordId, RecordId]], why: str, now: datetime
) -> None:
    """Close the open possible matches about these pairs of records, saying why."""
    for chunk in chunks(sorted(set(pairs))):
        lefts = sorted({left for left, _ in chunk})
        for item in session.scalars(
            select(ReviewItem).where(
                ReviewItem.kind == "possible_match",
                ReviewItem.status == "open",
                ReviewItem.left_record_id.in_(lefts),
            )
        ):
            if (item.left_record_id, item.right_record_id) in chunk:
                item.status, item.updated_at = "obsolete", now
                item.detail = {**item.detail, "closed": why}


def _asked_identity_pairs(session: Session, identity_ids: set[int]) -> set[IdentityPair]:
    """Pairs of these identities that an open possible match already asks about, or that a
    person keeps apart."""
    asked = _kept_apart_pairs(session, identity_ids)
    asked.update(pair for _, _, pair in _open_matches_about(session, identity_ids))
    return asked


def _open_matches_about(
    session: Session, identity_ids: set[int]
) -> Iterator[tuple[int, float | None, IdentityPair]]:
    """The open possible matches with a record in one of these identities: id, probability,
    and the pair of identities each asks about."""
    left, right = aliased(SourceRecord), aliased(SourceRecord)
    for chunk in chunks(sorted(identity_ids)):
        # Their records first, by the identity index: the queue is not joined to every record.
        held = select(SourceRecord.id).where(SourceRecord.identity_id.in_(chunk))
        query = (
            select(ReviewItem.id, ReviewItem.probability, left.identity_id, right.identity_id)
            .join(left, left.id == ReviewItem.left_record_id)
            .join(right, right.id == ReviewItem.right_record_id)
            .where(
                ReviewItem.kind == "possible_match",
                ReviewItem.status == "open",
                or_(ReviewItem.left_record_id.in_(held), ReviewItem.right_record_id.in_(held)),
            )
        )
        for item_id, probability, a, b in session.execute(query):
            yield item_id, probability, _identity_pair(a, b)


def close_settled(*, session: Session, item_ids: Iterable[int]) -> int:
    """Close those of these open items that no longer ask anything: their records are one
    customer now (someone merged them), a person keeps their customers apart, a record was
    deleted, or another open item asks about the same two customers (the strongest stays).
    Returns the items closed; each says why in its detail's ``closed``.

    It looks only at the items named (the page a person is about to see) and the items about
    their customers: the queue as a whole is never read."""
    left, right = aliased(SourceRecord), aliased(SourceRecord)
    rows: list[Any] = []
    for chunk in chunks(sorted(set(item_ids))):
        rows += session.execute(
            select(
                ReviewItem.id,
                ReviewItem.kind,
                left.identity_id.label("left_identity"),
                right.identity_id.label("right_identity"),
                (left.deleted_at.is_not(None) | right.deleted_at.is_not(None)).label("deleted"),
            )
            .join(left, left.id == ReviewItem.left_record_id)
            .join(right, right.id == ReviewItem.right_record_id)
            .where(
                ReviewItem.id.in_(chunk),
                ReviewItem.status == "open",
                ReviewItem.kind.in_(("possible_match", "conflict")),
            )
        ).all()
    identities = {i for r in rows for i in (r.left_identity, r.right_identity) if i is not None}
    apart = _kept_apart_pairs(session, identities)
    # The item that stays for each pair of customers: the strongest, the oldest among equals.
    strongest: dict[IdentityPair, tuple[float, int]] = {}
    for item_id, probability, pair in _open_matches_about(session, identities):
        rank = (-(probability or 0.0), item_id)
        strongest[pair] = min(strongest.get(pair, rank), rank)
    closed: dict[int, str] = {}
    for row in rows:
        pair = _identity_pair(row.left_identity, row.right_identity)
        if row.deleted:
            closed[row.id] = "a record was deleted at its source"
        elif row.left_identity is not None and row.left_identity == row.right_identity:
            closed[row.id] = "the records are one customer now"
        elif pair in apart:
            closed[row.id] = "a decision keeps these customers apart"
        elif row.kind == "possible_match" and strongest.get(pair, (0.0, row.id))[1] != row.id:
            closed[row.id] = "another item asks about these two customers"
    now = utcnow()
    for item in session.scalars(select(ReviewItem).where(ReviewItem.id.in_(sorted(closed)))):
        item.status = "obsolete"
        item.updated_at = now
        item.detail = {**item.detail, "closed": closed[item.id]}
    return len(closed)


def _kept_apart_pairs(session: Session, identity_ids: set[int]) -> set[IdentityPair]:
    """Pairs of these identities between whose records a person set a cannot-link."""
    left, right = aliased(SourceRecord), aliased(SourceRecord)
    pairs: set[IdentityPair] = set()
    for chunk in chunks(sorted(identity_ids)):
        query = (
            select(left.identity_id, right.identity_id)
            .select_from(LinkConstraint)
            .join(left, left.id == LinkConstraint.left_id)
            .join(right, right.id == LinkConstraint.right_id)
            .where(
                LinkConstraint.kind == "cannot",
                or_(left.identity_id.in_(chunk), right.identity_id.in_(chunk)),
            )
        )
        pairs.update(_identity_pair(a, b) for a, b in session.execute(query))
    return pairs


_PAIR_STATUS = Reused(
    lambda dialect: select(
        ReviewItem.left_record_id, ReviewItem.right_record_id, ReviewItem.status
    ).where(
        ReviewItem.kind == "possible_match",
        ReviewItem.status != "obsolete",
        among_parameter(dialect, ReviewItem.left_record_id, "lefts"),
    )
)


def _open_or_decided_pairs(
    session: Session, edges: Sequence[ScoredEdge]
) -> dict[tuple[RecordId, RecordId], str]:
    lefts = sorted({e.left for e in edges})
    status: dict[tuple[RecordId, RecordId], str] = {}
    for chunk in chunks(lefts):
        for left, right, state in read_rows(session, _PAIR_STATUS(session), {"lefts": chunk}):
            if left is not None and right is not None:
                status[(left, right)] = state
    return status


_CONFLICTS_ASKED = Reused(
    lambda dialect: select(ReviewItem.detail).where(
        ReviewItem.kind == "conflict",
        ReviewItem.status != "obsolete",
        among_parameter(dialect, ReviewItem.left_record_id, "lefts"),
    )
)


def _new_conflicts(
    session: Session, conflicts: Sequence[Conflict], now: datetime
) -> list[dict[str, Any]]:
    """Review items for the conflicts not asked about yet (a decided one is not asked again),
    each once."""
    asked: set[tuple[str, tuple[RecordId, ...]]] = set()
    for chunk in chunks(sorted({min(c.records) for c in conflicts})):
        for (detail,) in read_rows(session, _CONFLICTS_ASKED(session), {"lefts": chunk}):
            asked.add((detail.get("conflict"), tuple(detail.get("records") or ())))
    items: list[dict[str, Any]] = []
    for conflict in conflicts:
        records = sorted(conflict.records)
        if (conflict.kind, tuple(records)) in asked:
            continue
        asked.add((conflict.kind, tuple(records)))
        items.append(
            {
                "kind": "conflict",
                "status": "open",
                "left_record_id": records[0],
                "right_record_id": records[-1],
                "probability": None,
                "detail": {"conflict": conflict.kind, "records": records, "why": conflict.detail},
                "created_at": now,
                "updated_at": now,
            }
        )
    return items


def track_generic_values(
    *, session: Session, generic: Mapping[str, int], released: Iterable[str] | None = None
) -> int:
    """Open a generic-value review item for each key that became generic (unless one is open or
    decided) and retire open items of keys no longer generic: ``released``, or, after a full
    run (None), every key not in ``generic``. Returns items opened."""
    query = select(ReviewItem).where(
        ReviewItem.kind == "generic_value", ReviewItem.status != "obsolete"
    )
    if released is not None:  # real time: only the items of the keys that crossed the cap
        released = set(released)
        crossed = sorted(set(generic) | released)
        query = query.where(ReviewItem.detail["key"].as_string().in_(crossed))
    known = {str(item.detail.get("key")): item for item in session.scalars(query)}
    opened = 0
    for key, count in sorted(generic.items()):
        item = known.get(key)
        if item is None:
            session.add(ReviewItem(kind="generic_value", detail={"key": key, "records": count}))
            opened += 1
        elif item.status == "open" and item.detail.get("records") != count:
            item.detail = {**item.detail, "records": count}
            item.priority = None
    retired = set(known) - set(generic) if released is None else set(released)
    for key in sorted(retired & set(known)):
        if known[key].status == "open":
            known[key].status = "obsolete"
            known[key].updated_at = utcnow()
    return opened


def stale_priorities(session: Session, record_ids: Iterable[RecordId]) -> None:
    """Open items about these records weigh differently now that identities changed size."""
    for chunk in chunks(sorted(set(record_ids))):
        session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.status == "open",
                or_(ReviewItem.left_record_id.in_(chunk), ReviewItem.right_record_id.in_(chunk)),
            )
            .values(priority=None)
            .execution_options(synchronize_session=False)
        )


def settle_items_between(
    session: Session, parts: Sequence[Sequence[RecordId]], actor: str, entry: AuditEntry
) -> int:
    """Mark open items between records a decision put in different parts as kept apart by it
    (possible matches, and the conflicts its own cut opened): a person just said so, the queue
    need not ask again. Returns items settled."""
    part_of = {r: index for index, part in enumerate(parts) for r in part}
    settled: list[int] = []
    for chunk in chunks(sorted(part_of)):
        for item_id, left, right in session.execute(
            select(ReviewItem.id, ReviewItem.left_record_id, ReviewItem.right_record_id).where(
                ReviewItem.status == "open",
                ReviewItem.kind.in_(("possible_match", "conflict")),
                ReviewItem.left_record_id.in_(chunk),
            )
        ):
            if right in part_of and part_of[right] != part_of.get(left or 0):
                settled.append(item_id)
    for chunk in chunks(settled):
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.id.in_(chunk))
            .values(
                status="decided",
                decision="keep_apart",
                decided_by=actor,
                decided_at=entry.at,
                change_id=entry.id,
                updated_at=entry.at,
            )
            .execution_options(synchronize_session=False)
        )
    return len(settled)
