"""The review queue as people work it: items weighed and listed, claimed and released, taken
when decided; what merges and splits would give, previewed.

A decision becomes link constraints (must / cannot) that real-time and batch resolution honour
from then on (:mod:`app.review.constraints`); carrying it out crosses domains, so it is a flow
(:mod:`app.ingest.decisions`). Items are opened and closed by :mod:`app.review.queue`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session

from app.customer.survivorship import display_name
from app.db import among, chunks, delete_where, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.models import Identity
from app.identity.service import live_members, public_ids_of, record_states, survivor_ids
from app.matching import Matcher
from app.matching.types import RecordId
from app.review.compare import merge_preview
from app.review.models import LinkConstraint, ReviewItem
from app.review.queue import close_settled
from app.settings import Settings
from app.source.models import Source, SourceRecord

DECISIONS = ("merge", "keep_apart", "dismiss")
# Items read at a time to find the first ones still asking something (see ``_unsettled``).
SETTLED_WINDOW = 50


# -- the queue ---------------------------------------------------------------------------------


def _closeness(probability: float | None, matcher: Matcher) -> float:
    """How near the auto-match threshold a score is, 0 at the review threshold, 1 at auto (a
    conflict or a generic value has no score: the matcher was sure of an edge it had to cut)."""
    if probability is None:
        return 1.0
    low, high = matcher.config.review_threshold, matcher.config.auto_threshold
    return min(max((probability - low) / (high - low), 0.0), 1.0)


def _identity_sizes(session: Session, identity_ids: Iterable[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for chunk in chunks(sorted(set(identity_ids))):
        query = (
            select(SourceRecord.identity_id, func.count())
            .where(SourceRecord.identity_id.in_(chunk), SourceRecord.deleted_at.is_(None))
            .group_by(SourceRecord.identity_id)
        )
        sizes.update(
            (identity_id, count)
            for identity_id, count in session.execute(query)
            if identity_id is not None
        )
    return sizes


def refresh_priorities(*, session: Session, matcher: Matcher, status: str | None = None) -> int:
    """Weigh the items (of a status) not weighed yet, new ones and those whose identities
    changed: closeness to the auto-match threshold times log2(1 + records of the identities
    involved). Returns the items weighed."""
    query = select(
        ReviewItem.id,
        ReviewItem.kind,
        ReviewItem.left_record_id,
        ReviewItem.right_record_id,
        ReviewItem.probability,
        ReviewItem.detail,
    ).where(ReviewItem.priority.is_(None))
    if status is not None:
        query = query.where(ReviewItem.status == status)
    rows = session.execute(query).all()
    if not rows:
        return 0
    states = record_states(
        session, {r for row in rows for r in (row.left_record_id, row.right_record_id) if r}
    )
    sizes = _identity_sizes(session, {s.identity_id for s in states.values() if s.identity_id})
    weighed = []
    for row in rows:
        if row.kind == "generic_value":
            size = int(row.detail.get("records", 0))
        else:
            held = [states[r] for r in (row.left_record_id, row.right_record_id) if r in states]
            identities = {s.identity_id for s in held if s.identity_id is not None}
            size = sum(sizes.get(i, 0) for i in identities) + sum(
                1 for s in held if s.identity_id is None
            )
        closeness = _closeness(row.probability, matcher)
        weighed.append({"item_id": row.id, "weight": round(closeness * math.log2(1 + size), 6)})
    table = ReviewItem.__table__
    session.execute(
        update(table)  # type: ignore[arg-type]
        .where(table.c.id == bindparam("item_id"))
        .values(priority=bindparam("weight")),
        weighed,
    )
    return len(weighed)


def list_items(
    *,
    session: Session,
    matcher: Matcher,
    limit: int,
    kind: str | None = None,
    source: str | None = None,
    status: str | None = "open",
    after: tuple[float, int] | None = None,
) -> list[ReviewItem]:
    """Review items, the ones whose decision matters most first (``after``: the priority and
    id of the last item of the previous page). Items of the first page that no longer ask
    anything are closed first (see :func:`app.review.queue.close_settled`)."""
    refresh_priorities(session=session, matcher=matcher, status=status)
    query = _filtered(kind, source, status).order_by(
        ReviewItem.priority.desc(), ReviewItem.id.desc()
    )
    if after is not None:
        priority, item_id = after
        query = query.where(
            or_(
                ReviewItem.priority < priority,
                and_(ReviewItem.priority == priority, ReviewItem.id < item_id),
            )
        )
    if after is not None or status not in (None, "open"):
        return list(session.scalars(query.limit(limit)))
    return _unsettled(session, query, limit)


def _unsettled(session: Session, query: Select[Any], limit: int) -> list[ReviewItem]:
    """The first ``limit`` items the query finds, once those of them that no longer ask
    anything are closed: the queue is settled only where people look, a page at a time."""
    window = max(limit, SETTLED_WINDOW)
    while True:
        items = list(session.scalars(query.limit(window)))
        if not close_settled(session=session, item_ids=[i.id for i in items if i.status == "open"]):
            return items[:limit]


def _filtered(kind: str | None, source: str | None, status: str | None) -> Select[Any]:
    """The weighed items of a kind, a source and a status (None: any)."""
    query = select(ReviewItem).where(
        ReviewItem.priority.is_not(None)  # one weighed meanwhile shows on the next list
    )
    if kind is not None:
        query = query.where(ReviewItem.kind == kind)
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if source is not None:
        query = query.where(
            exists(
                select(SourceRecord.id)
                .join(Source, SourceRecord.source_id == Source.id)
                .where(
                    Source.name == source,
                    or_(
                        SourceRecord.id == ReviewItem.left_record_id,
                        SourceRecord.id == ReviewItem.right_record_id,
                    ),
                )
            )
        )
    return query


def next_item(
    *,
    session: Session,
    matcher: Matcher,
    actor: str,
    minutes: float,
    after: int | None = None,
    backwards: bool = False,
    kind: str | None = None,
    source: str | None = None,
) -> ReviewItem | None:
    """The open item to work on next: the most important one nobody else holds, or the one
    that follows item ``after`` in the queue's order (``backwards``: the one before it). An
    item decided meanwhile has left the queue, so its next is the queue's first."""
    refresh_priorities(session=session, matcher=matcher, status="open")
    query = _filtered(kind, source, "open").where(_free_for(actor, utcnow(), minutes))
    current = session.get(ReviewItem, after) if after is not None else None
    if current is not None and current.priority is not None and current.status == "open":
        here, order = (current.priority, current.id), ReviewItem.priority
        if backwards:
            query = query.where(
                or_(order > here[0], and_(order == here[0], ReviewItem.id > here[1]))
            ).order_by(order.asc(), ReviewItem.id.asc())
        else:
            query = query.where(
                or_(order < here[0], and_(order == here[0], ReviewItem.id < here[1]))
            ).order_by(order.desc(), ReviewItem.id.desc())
    else:
        query = query.where(ReviewItem.id != (after or 0)).order_by(
            ReviewItem.priority.desc(), ReviewItem.id.desc()
        )
    found = _unsettled(session, query, 1)
    return found[0] if found else None


def get_item(*, session: Session, item_id: int) -> ReviewItem:
    """A review item as stored now, or NotFound."""
    item = session.scalar(
        select(ReviewItem).where(ReviewItem.id == item_id).execution_options(populate_existing=True)
    )
    if item is None:
        raise NotFound(f"no review item {item_id}")
    return item


def claim_expiry(item: ReviewItem, minutes: float) -> datetime | None:
    """When the item's claim lapses; None when nobody holds it."""
    if item.claimed_by is None or item.claimed_at is None or item.status != "open":
        return None
    expiry = item.claimed_at + timedelta(minutes=minutes)
    return expiry if expiry > utcnow() else None


def _free_for(actor: str, now: datetime, minutes: float) -> Any:
    return or_(
        ReviewItem.claimed_by.is_(None),
        ReviewItem.claimed_by == actor,
        ReviewItem.claimed_at < now - timedelta(minutes=minutes),
    )


def _refusal(item: ReviewItem, minutes: float) -> Conflict:
    if item.status == "decided":
        return Conflict(
            f"item {item.id} was already decided ({item.decision}) by {item.decided_by} at "
            f"{item.decided_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if item.status != "open":
        return Conflict(f"item {item.id} is {item.status}: the evidence behind it has changed")
    expiry = claim_expiry(item, minutes)
    return Conflict(
        f"item {item.id} is claimed by {item.claimed_by} until {expiry:%Y-%m-%d %H:%M:%S} UTC"
        if expiry
        else f"item {item.id} changed meanwhile; try again"
    )


def claim(*, session: Session, item_id: int, actor: str, minutes: float) -> ReviewItem:
    """Claim an open item for a while, so other admins leave it alone (claiming again renews)."""
    now = utcnow()
    return _write_if_free(session, item_id, actor, minutes, now, claimed_by=actor, claimed_at=now)


def _write_if_free(
    session: Session, item_id: int, actor: str, minutes: float, now: datetime, **values: Any
) -> ReviewItem:
    """Write these values to the item if it is open and nobody else holds it, in one
    statement (of two admins racing, one wins); the item as stored now, or the Conflict that
    says why it was refused."""
    won = session.scalar(
        update(ReviewItem)
        .where(
            ReviewItem.id == item_id, ReviewItem.status == "open", _free_for(actor, now, minutes)
        )
        .values(**values)
        .returning(ReviewItem.id)
        .execution_options(synchronize_session=False)
    )
    item = get_item(session=session, item_id=item_id)
    if won is None:
        raise _refusal(item, minutes)
    return item


def release(*, session: Session, item_id: int, actor: str, minutes: float) -> ReviewItem:
    """Give up one's claim on an item."""
    item = get_item(session=session, item_id=item_id)
    if item.claimed_by not in (None, actor) and claim_expiry(item, minutes) is not None:
        raise Conflict(f"item {item_id} is claimed by {item.claimed_by}, not by {actor}")
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item_id)
        .values(claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return get_item(session=session, item_id=item_id)


def describe_items(
    *, session: Session, items: Sequence[ReviewItem], minutes: float
) -> list[dict[str, Any]]:
    """Items as the queue shows them: records by reference, the identities holding them now."""
    states = record_states(
        session,
        {r for i in items for r in (i.left_record_id, i.right_record_id) if r},
        attributes=True,
    )
    public = public_ids_of(session, {s.identity_id for s in states.values() if s.identity_id})

    def side(record_id: int | None) -> dict[str, Any] | None:
        state = states.get(record_id or 0)
        if state is None:
            return None
        identity = public.get(state.identity_id or 0) if state.live else None
        written = state.attributes or {}  # who the record is, as its department wrote it
        return {
            "reference": state.reference,
            "identity": identity,
            "live": state.live,
            "source": state.reference.partition(":")[0],
            "name": display_name(written),
            "email": written.get("email") or None,
        }

    return [
        {
            "id": item.id,
            "kind": item.kind,
            "status": item.status,
            "priority": item.priority,
            "probability": item.probability,
            "left": side(item.left_record_id),
            "right": side(item.right_record_id),
            "detail": item.detail,
            "created_at": item.created_at,
            "updated_at": item.updated_at,
            "claimed_by": item.claimed_by if claim_expiry(item, minutes) else None,
            "claim_expires_at": claim_expiry(item, minutes),
            "decision": item.decision,
            "decided_by": item.decided_by,
            "decided_at": item.decided_at,
            "change": item.change_id,
        }
        for item in items
    ]


# -- decisions ---------------------------------------------------------------------------------


def take_item(
    *, session: Session, item_id: int, decision: str, actor: str, minutes: float
) -> ReviewItem:
    """Mark an open item decided, before anything else of the decision is written: the loser
    of a race stops here (Conflict), having written nothing."""
    item = get_item(session=session, item_id=item_id)
    if item.kind == "generic_value" and decision != "dismiss":
        raise InvalidInput(
            "a generic value can only be dismissed",
            {"decision": ["a generic value joins or separates nobody: dismiss it"]},
        )
    now = utcnow()
    # Written before anything else: the loser of a race stops here, having written nothing.
    return _write_if_free(
        session,
        item_id,
        actor,
        minutes,
        now,
        status="decided",
        decision=decision,
        decided_by=actor,
        decided_at=now,
        claimed_by=actor,
        claimed_at=now,
        updated_at=now,
    )


# -- manual merges and splits ------------------------------------------------------------------


def preview_merge(
    *, session: Session, settings: Settings, public_ids: Sequence[str]
) -> dict[str, Any]:
    """What merging these identities would give, written nowhere: the identities and records
    it joins, the id that survives, and the resulting golden record."""
    identity_ids = survivor_ids(session, list(dict.fromkeys(public_ids)))
    if len(identity_ids) < 2:
        raise Conflict("these ids already name one identity; nothing to merge")
    return merge_preview(session, settings, identity_ids)


def split_parts(
    session: Session, identity_id: int, parts: Sequence[Sequence[str]]
) -> list[list[RecordId]]:
    """Validate a split: parts of the identity's live records; those left out form one more."""
    live = record_states(session, live_members(session, [identity_id]))
    by_reference = {s.reference: s.id for s in live.values()}
    errors: list[str] = []
    seen: set[str] = set()
    groups: list[list[RecordId]] = []
    for part in parts:
        group = []
        for reference in part:
            if reference not in by_reference:
                errors.append(f"{reference} is not a live record of this identity")
            elif reference in seen:
                errors.append(f"{reference} is in more than one part")
            else:
                group.append(by_reference[reference])
            seen.add(reference)
        if group:
            groups.append(sorted(group))
    if errors:
        raise InvalidInput("the parts do not split this identity", {"parts": errors})
    rest = sorted(by_reference[r] for r in set(by_reference) - seen)
    if rest:
        groups.append(rest)
    if len(groups) < 2:
        raise InvalidInput(
            "a split needs at least two non-empty parts",
            {"parts": ["name the records of at least one part, leaving some out or in another"]},
        )
    return groups


def live_identity(session: Session, public_id: str) -> int:
    """The id of an identity that was not merged away (a Conflict names its survivor)."""
    row = session.execute(
        select(Identity.id, Identity.merged_into_id).where(Identity.public_id == public_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no identity {public_id!r}")
    if row.merged_into_id is not None:
        survivor = public_ids_of(session, [row.merged_into_id])[row.merged_into_id]
        raise Conflict(f"{public_id} was merged into {survivor}; split {survivor} instead")
    return int(row.id)


def preview_split(
    *, session: Session, public_id: str, parts: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """What a split would give, written nowhere: the parts and which one keeps the id."""
    identity_id = live_identity(session, public_id)
    groups = split_parts(session, identity_id, parts)
    references = {
        i: s.reference for i, s in record_states(session, [r for g in groups for r in g]).items()
    }
    # resolution's rule: the part with most records keeps the id (ties: the lowest record id)
    keeper = max(range(len(groups)), key=lambda i: (len(groups[i]), -groups[i][0]))
    return {
        "identity": public_id,
        "parts": [
            {
                "identity": public_id if index == keeper else None,
                "records": sorted(references[r] for r in group),
            }
            for index, group in enumerate(groups)
        ],
    }


# -- erasure ---------------------------------------------------------------------------------


def erase_for_records(
    *, session: Session, record_ids: Sequence[RecordId], dry_run: bool = False
) -> dict[str, int]:
    """Remove (or, in a dry run, count) the review items and link constraints about these
    records, conflicts that name one of them among their records included; rows per table."""
    wanted = sorted(set(record_ids))
    if not wanted:
        return {"review_item": 0, "link_constraint": 0}
    named = set(wanted)
    conflicts = [
        item_id
        for item_id, detail in session.execute(
            select(ReviewItem.id, ReviewItem.detail).where(ReviewItem.kind == "conflict")
        )
        if named.intersection(detail.get("records") or ())
    ]
    items = [
        or_(
            among(session, ReviewItem.left_record_id, chunk),
            among(session, ReviewItem.right_record_id, chunk),
        )
        for chunk in chunks(wanted)
    ]
    items += [among(session, ReviewItem.id, chunk) for chunk in chunks(conflicts)]
    links = [
        or_(
            among(session, LinkConstraint.left_id, chunk),
            among(session, LinkConstraint.right_id, chunk),
        )
        for chunk in chunks(wanted)
    ]
    return {
        "review_item": delete_where(session, ReviewItem, or_(*items), dry_run=dry_run),
        "link_constraint": delete_where(session, LinkConstraint, or_(*links), dry_run=dry_run),
    }
