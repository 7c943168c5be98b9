"""How a decision changes identities: reading records and identities, writing link
constraints, and recording one audit entry per change with the members and redirects of the
identities before and after (what an undo puts back).

A decision runs inside ``serialized``: it takes the identity lock before reading anything, so
decisions and resolution run one after the other and each reads what the one before committed;
a transaction that loses a race anyway (deadlock, lock timeout) is reported as a Conflict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.customer import service as customers
from app.db import chunks, hold_identity_lock
from app.errors import Conflict, NotFound
from app.identity.models import Identity
from app.matching import Matcher
from app.matching.types import RecordId
from app.resolution import service as resolution
from app.resolution.models import LinkConstraint, ReviewItem
from app.source.models import Source, SourceRecord

Members = dict[str, list[str]]
"""Identity public id -> references (``SOURCE:EXTERNAL_ID``) of its live records."""

# SQLSTATEs of a transaction that lost a race: serialization failure, deadlock, lock timeout.
_LOST_RACE = {"40001", "40P01", "55P03"}


@dataclass(frozen=True, slots=True)
class RecordState:
    """A record as a decision sees it."""

    id: RecordId
    reference: str
    identity_id: int | None
    live: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Identities' live members, and the identities redirecting into them."""

    members: Members
    redirects: dict[str, str]


@dataclass(slots=True)
class ConstraintChange:
    """The link constraints a decision added and the ones it replaced (an undo reverses both)."""

    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: ConstraintChange) -> None:
        """Fold another change into this one."""
        self.added.extend(other.added)
        self.removed.extend(other.removed)

    def as_json(self) -> dict[str, Any]:
        """The change as stored in an audit entry."""
        return {"added": self.added, "removed": self.removed}


@contextmanager
def serialized(session: Session) -> Iterator[None]:
    """Run a change to identities one at a time with every other (resolution included), and
    report a transaction that lost a race with another change as a Conflict.

    The right to change identities is taken before anything else is written: a decision that
    marked its review item first, then waited, could wait for real time while real time waits
    to mark the same item obsolete."""
    try:
        hold_identity_lock(session)
        yield
    except DBAPIError as error:
        state = getattr(error.orig, "sqlstate", None)
        if state in _LOST_RACE or "database is locked" in str(error.orig):
            raise Conflict(
                "another change to these identities ran at the same time; try again"
            ) from error
        raise


def record_states(session: Session, ids: Iterable[RecordId]) -> dict[RecordId, RecordState]:
    """Records by id: reference, identity, whether the source still holds them."""
    found: dict[RecordId, RecordState] = {}
    for chunk in chunks(sorted(set(ids))):
        query = (
            select(
                SourceRecord.id,
                Source.name,
                SourceRecord.external_id,
                SourceRecord.identity_id,
                SourceRecord.deleted_at,
            )
            .join(Source, SourceRecord.source_id == Source.id)
            .where(SourceRecord.id.in_(chunk))
        )
        for row in session.execute(query):
            found[row.id] = RecordState(
                row.id, f"{row.name}:{row.external_id}", row.identity_id, row.deleted_at is None
            )
    return found


def records_by_reference(session: Session, references: Iterable[str]) -> dict[str, RecordState]:
    """Records by their ``SOURCE:EXTERNAL_ID`` reference (unknown references are left out)."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for reference in sorted(set(references)):
        source, _, external_id = reference.partition(":")
        by_source[source].append(external_id)
    ids: list[RecordId] = []
    for source, external_ids in by_source.items():
        for chunk in chunks(external_ids):
            ids.extend(
                session.scalars(
                    select(SourceRecord.id)
                    .join(Source, SourceRecord.source_id == Source.id)
                    .where(Source.name == source, SourceRecord.external_id.in_(chunk))
                )
            )
    return {state.reference: state for state in record_states(session, ids).values()}


def live_members(session: Session, identity_ids: Iterable[int]) -> list[RecordId]:
    """The live records these identities hold, by id."""
    found: list[RecordId] = []
    for chunk in chunks(sorted(set(identity_ids))):
        found.extend(
            session.scalars(
                select(SourceRecord.id).where(
                    SourceRecord.identity_id.in_(chunk), SourceRecord.deleted_at.is_(None)
                )
            )
        )
    return sorted(found)


def public_ids_of(session: Session, identity_ids: Iterable[int]) -> dict[int, str]:
    """Identity id -> public id."""
    found: dict[int, str] = {}
    for chunk in chunks(sorted(set(identity_ids))):
        found.update(
            (row.id, row.public_id)
            for row in session.execute(
                select(Identity.id, Identity.public_id).where(Identity.id.in_(chunk))
            )
        )
    return found


def ids_of(session: Session, public_ids: Iterable[str]) -> dict[str, int]:
    """Public id -> identity id (unknown public ids are left out)."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(public_ids))):
        found.update(
            (row.public_id, row.id)
            for row in session.execute(
                select(Identity.id, Identity.public_id).where(Identity.public_id.in_(chunk))
            )
        )
    return found


def take_snapshot(session: Session, identity_ids: Iterable[int]) -> Snapshot:
    """The live members of these identities and what redirects into them, right now."""
    wanted = sorted(set(identity_ids))
    public = public_ids_of(session, wanted)
    members: Members = {public[i]: [] for i in wanted}
    states = record_states(session, live_members(session, wanted))
    for state in sorted(states.values(), key=lambda s: s.reference):
        if state.identity_id is not None:
            members[public[state.identity_id]].append(state.reference)
    redirects: dict[str, str] = {}
    for chunk in chunks(wanted):
        query = select(Identity.public_id, Identity.merged_into_id).where(
            Identity.merged_into_id.in_(chunk)
        )
        for public_id, target in session.execute(query):
            if target is not None:
                redirects[public_id] = public[target]
    return Snapshot(members, redirects)


def survivor_ids(session: Session, public_ids: Sequence[str]) -> list[int]:
    """The live identity each public id stands for (following redirects), without repeats."""
    rows = {
        row.public_id: (row.id, row.merged_into_id)
        for row in session.execute(
            select(Identity.id, Identity.public_id, Identity.merged_into_id).where(
                Identity.public_id.in_(list(public_ids))
            )
        )
    }
    missing = [p for p in public_ids if p not in rows]
    if missing:
        raise NotFound(f"no identity {', '.join(repr(p) for p in missing)}")
    survivors: list[int] = []
    for public_id in public_ids:
        identity_id, target = rows[public_id]
        for _ in range(10):  # redirects are kept one hop long; a few hops are a stale read
            if target is None:
                break
            identity_id, target = (
                target,
                session.scalar(select(Identity.merged_into_id).where(Identity.id == target)),
            )
        if identity_id not in survivors:
            survivors.append(identity_id)
    return survivors


def _constraint_json(row: LinkConstraint, references: Mapping[RecordId, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "left": row.left_id,
        "right": row.right_id,
        "records": [references.get(row.left_id), references.get(row.right_id)],
        "actor": row.actor,
        "reason": row.reason,
        "created_at": row.created_at.isoformat(),
    }


def _constraints_touching(session: Session, ids: set[RecordId]) -> list[LinkConstraint]:
    found: dict[int, LinkConstraint] = {}
    for chunk in chunks(sorted(ids)):
        for row in session.scalars(
            select(LinkConstraint).where(
                or_(LinkConstraint.left_id.in_(chunk), LinkConstraint.right_id.in_(chunk))
            )
        ):
            if row.left_id in ids and row.right_id in ids:
                found[row.id] = row
    return [found[i] for i in sorted(found)]


def _write_constraints(
    session: Session,
    remove: Sequence[LinkConstraint],
    add: Iterable[tuple[RecordId, RecordId, str]],
    actor: str,
    reason: str,
) -> ConstraintChange:
    """Replace constraints: remove some, add new pairs; returns what changed, for the audit."""
    added_rows = [
        LinkConstraint(left_id=low, right_id=high, kind=kind, actor=actor, reason=reason)
        for low, high, kind in add
    ]
    records = {r for row in [*remove, *added_rows] for r in (row.left_id, row.right_id)}
    references = {i: s.reference for i, s in record_states(session, records).items()}
    change = ConstraintChange(removed=[_constraint_json(row, references) for row in remove])
    for chunk in chunks([row.id for row in remove]):
        session.execute(delete(LinkConstraint).where(LinkConstraint.id.in_(chunk)))
    session.add_all(added_rows)
    session.flush()
    change.added = [_constraint_json(row, references) for row in added_rows]
    return change


def partition_constraints(
    session: Session, parts: Sequence[Sequence[RecordId]], actor: str, reason: str
) -> ConstraintChange:
    """Constraints that make these parts exactly as many identities, whatever the evidence: a
    must-link from each part's first record to every other record of the part, a cannot-link
    between the first records of every two parts. Constraints saying otherwise are replaced."""
    part_of = {r: index for index, part in enumerate(parts) for r in part}
    existing = _constraints_touching(session, set(part_of))
    contradicting = [
        row
        for row in existing
        if (row.kind == "must") != (part_of[row.left_id] == part_of[row.right_id])
    ]
    kept = {(row.left_id, row.right_id) for row in existing if row not in contradicting}
    anchors = [min(part) for part in parts]
    wanted = [
        (min(anchor, r), max(anchor, r), "must")
        for part, anchor in zip(parts, anchors, strict=True)
        for r in sorted(part)
        if r != anchor
    ]
    wanted.extend((low, high, "cannot") for low, high in combinations(sorted(anchors), 2))
    new = [(low, high, kind) for low, high, kind in wanted if (low, high) not in kept]
    return _write_constraints(session, contradicting, new, actor, reason)


def pair_constraint(
    session: Session, left: RecordId, right: RecordId, kind: str, actor: str, reason: str
) -> ConstraintChange:
    """A must- or cannot-link between two records, replacing the other kind if the pair had it."""
    low, high = sorted((left, right))
    existing = [
        row
        for row in _constraints_touching(session, {low, high})
        if (row.left_id, row.right_id) == (low, high)
    ]
    if any(row.kind == kind for row in existing):
        return ConstraintChange()
    return _write_constraints(session, existing, [(low, high, kind)], actor, reason)


def revert_constraints(session: Session, recorded: Mapping[str, Any]) -> ConstraintChange:
    """Take back what a decision did to constraints: remove what it added (if still there),
    put back what it replaced (unless a later decision covers the pair)."""
    added_ids = [int(c["id"]) for c in recorded.get("added", [])]
    still_there = [
        row
        for chunk in chunks(added_ids)
        for row in session.scalars(select(LinkConstraint).where(LinkConstraint.id.in_(chunk)))
    ]
    records = {int(c[side]) for c in recorded.get("removed", []) for side in ("left", "right")}
    taken = {(row.left_id, row.right_id) for row in _constraints_touching(session, records)}
    taken -= {(row.left_id, row.right_id) for row in still_there}
    change = _write_constraints(session, still_there, [], "", "")
    for old in recorded.get("removed", []):
        pair = (int(old["left"]), int(old["right"]))
        if pair in taken:
            continue
        row = LinkConstraint(
            left_id=pair[0],
            right_id=pair[1],
            kind=old["kind"],
            actor=old["actor"],
            reason=old["reason"],
            created_at=datetime.fromisoformat(old["created_at"]),
        )
        session.add(row)
        session.flush()
        change.added.append({**old, "id": row.id})
    return change


def _refresh_customer_view(session: Session, identity_ids: set[int]) -> None:
    """Recompute what is derived from these identities' records: golden records, search keys
    and traits follow every merge, split, decision and undo (the automatic re-clustering those
    trigger refreshes through resolution as well)."""
    customers.refresh_identities(session=session, identity_ids=identity_ids)


def _stale_priorities(session: Session, record_ids: Iterable[RecordId]) -> None:
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


def record_change(
    session: Session,
    matcher: Matcher,
    *,
    action: str,
    actor: str,
    note: str,
    before: Snapshot,
    records: Iterable[RecordId],
    constraints: ConstraintChange,
    extra: Mapping[str, Any] | None = None,
    recluster: bool = True,
) -> AuditEntry:
    """Re-cluster around the records, then write one audit entry for the whole change."""
    wanted = sorted(set(records))
    changes: list[audit.AuditSpec] = []
    if recluster:
        _, changes = resolution.recluster(
            session=session, matcher=matcher, record_ids=wanted, actor=actor
        )
    before_members = dict(before.members)
    named: set[str] = set(before.members)
    for _, subjects, spec_before, _ in changes:
        named.update(subjects)
        for public_id, references in spec_before.get("members", {}).items():
            before_members.setdefault(public_id, references)
    now_holding = {s.identity_id for s in record_states(session, wanted).values()}
    identity_ids = set(ids_of(session, named).values()) | {i for i in now_holding if i is not None}
    after = take_snapshot(session, identity_ids)
    after_members = {p: refs for p, refs in after.members.items() if refs}
    entry = audit.record(
        session=session,
        action=action,
        identities=set(before_members) | set(after.members),
        actor=actor,
        reason=note,
        before={
            "identities": sorted(before_members),
            "members": before_members,
            "redirects": before.redirects,
        },
        after={
            "identities": sorted(after_members),
            "members": after_members,
            "constraints": constraints.as_json(),
            **(extra or {}),
        },
    )
    session.flush()
    _stale_priorities(session, [*wanted, *live_members(session, identity_ids)])
    _refresh_customer_view(session, identity_ids)
    return entry


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
