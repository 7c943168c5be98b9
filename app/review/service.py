"""The review workflow: the queue of what the matcher is unsure about, people's decisions,
manual merges and splits, and undo.

A decision becomes link constraints (must / cannot) that real-time and batch resolution honour
from then on; the part of the graph around it is then re-clustered by the same core as automatic
resolution. One audit entry records each decision with the members and redirects of the
identities before and after: that is what an undo puts back.

Concurrency: an item is taken by a conditional update of its status before anything else is
written, so of two admins deciding at once one wins and the other gets a Conflict with nothing
applied; identities are locked (``SELECT ... FOR UPDATE``, in id order) before they change, so
concurrent merges of overlapping identities run one after the other.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry, AuditSubject
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.identity.models import Identity
from app.matching import Matcher
from app.matching.types import RecordId
from app.resolution import service as resolution
from app.resolution.models import LinkConstraint, MatchEdge, ReviewItem
from app.source.models import Source, SourceRecord

T = TypeVar("T")
Members = dict[str, list[str]]
"""Identity public id -> references (``SOURCE:EXTERNAL_ID``) of its live records."""

DECISIONS = ("merge", "keep_apart", "dismiss")
UNDOABLE = ("merge", "split", "keep_apart", "dismiss")
_IN_CHUNK = 500
_LOCK_ATTEMPTS = 5
_HOLDERS_SHOWN = 50
# SQLSTATEs of a transaction that lost a race: serialization failure, deadlock, lock timeout.
_LOST_RACE = {"40001", "40P01", "55P03"}


def _chunks(items: Sequence[T], size: int = _IN_CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


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
def _serialized() -> Iterator[None]:
    """Report a transaction that lost a race with another change as a Conflict."""
    try:
        yield
    except DBAPIError as error:
        state = getattr(error.orig, "sqlstate", None)
        if state in _LOST_RACE or "database is locked" in str(error.orig):
            raise Conflict(
                "another change to these identities ran at the same time; try again"
            ) from error
        raise


# -- reading records and identities ----------------------------------------------------------


def _record_states(session: Session, ids: Iterable[RecordId]) -> dict[RecordId, RecordState]:
    found: dict[RecordId, RecordState] = {}
    for chunk in _chunks(sorted(set(ids))):
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


def _records_by_reference(session: Session, references: Iterable[str]) -> dict[str, RecordState]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for reference in sorted(set(references)):
        source, _, external_id = reference.partition(":")
        by_source[source].append(external_id)
    ids: list[RecordId] = []
    for source, external_ids in by_source.items():
        for chunk in _chunks(external_ids):
            ids.extend(
                session.scalars(
                    select(SourceRecord.id)
                    .join(Source, SourceRecord.source_id == Source.id)
                    .where(Source.name == source, SourceRecord.external_id.in_(chunk))
                )
            )
    return {state.reference: state for state in _record_states(session, ids).values()}


def _live_members(session: Session, identity_ids: Iterable[int]) -> list[RecordId]:
    found: list[RecordId] = []
    for chunk in _chunks(sorted(set(identity_ids))):
        found.extend(
            session.scalars(
                select(SourceRecord.id).where(
                    SourceRecord.identity_id.in_(chunk), SourceRecord.deleted_at.is_(None)
                )
            )
        )
    return sorted(found)


def _public_ids(session: Session, identity_ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(set(identity_ids))):
        found.update(
            (row.id, row.public_id)
            for row in session.execute(
                select(Identity.id, Identity.public_id).where(Identity.id.in_(chunk))
            )
        )
    return found


def _identity_ids(session: Session, public_ids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(public_ids))):
        found.update(
            (row.public_id, row.id)
            for row in session.execute(
                select(Identity.id, Identity.public_id).where(Identity.public_id.in_(chunk))
            )
        )
    return found


def _snapshot(session: Session, identity_ids: Iterable[int]) -> Snapshot:
    """The live members of these identities and what redirects into them, right now."""
    wanted = sorted(set(identity_ids))
    public = _public_ids(session, wanted)
    members: Members = {public[i]: [] for i in wanted}
    states = _record_states(session, _live_members(session, wanted))
    for state in sorted(states.values(), key=lambda s: s.reference):
        if state.identity_id is not None:
            members[public[state.identity_id]].append(state.reference)
    redirects: dict[str, str] = {}
    for chunk in _chunks(wanted):
        query = select(Identity.public_id, Identity.merged_into_id).where(
            Identity.merged_into_id.in_(chunk)
        )
        for public_id, target in session.execute(query):
            if target is not None:
                redirects[public_id] = public[target]
    return Snapshot(members, redirects)


def _survivor_ids(session: Session, public_ids: Sequence[str]) -> list[int]:
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


def _lock(session: Session, identity_ids: Iterable[int]) -> None:
    """Hold these identities until the transaction ends (in id order: no deadlock between us)."""
    wanted = sorted({i for i in identity_ids if i is not None})
    if wanted:
        session.execute(
            select(Identity.id)
            .where(Identity.id.in_(wanted))
            .order_by(Identity.id)
            .with_for_update()
        ).all()


def _lock_survivors(session: Session, public_ids: Sequence[str]) -> list[int]:
    """Lock the live identities behind these public ids; a merge that committed meanwhile is
    followed to its survivor."""
    for _ in range(_LOCK_ATTEMPTS):
        survivors = _survivor_ids(session, public_ids)
        _lock(session, survivors)
        if _survivor_ids(session, public_ids) == survivors:
            return survivors
    raise Conflict("these identities kept changing while the change waited; try again")


def _lock_identities_of(
    session: Session, record_ids: Iterable[RecordId]
) -> dict[RecordId, RecordState]:
    """Lock the identities holding these records, reading the records again once locked."""
    wanted = set(record_ids)
    for _ in range(_LOCK_ATTEMPTS):
        states = _record_states(session, wanted)
        _lock(session, (s.identity_id for s in states.values() if s.identity_id is not None))
        again = _record_states(session, wanted)
        if again == states:
            return again
    raise Conflict("these records kept changing identity while the change waited; try again")


# -- constraints -----------------------------------------------------------------------------


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
    for chunk in _chunks(sorted(ids)):
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
    references = {i: s.reference for i, s in _record_states(session, records).items()}
    change = ConstraintChange(removed=[_constraint_json(row, references) for row in remove])
    for chunk in _chunks([row.id for row in remove]):
        session.execute(delete(LinkConstraint).where(LinkConstraint.id.in_(chunk)))
    session.add_all(added_rows)
    session.flush()
    change.added = [_constraint_json(row, references) for row in added_rows]
    return change


def _partition_constraints(
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


def _pair_constraint(
    session: Session, left: RecordId, right: RecordId, kind: str, actor: str, reason: str
) -> ConstraintChange:
    low, high = sorted((left, right))
    existing = [
        row
        for row in _constraints_touching(session, {low, high})
        if (row.left_id, row.right_id) == (low, high)
    ]
    if any(row.kind == kind for row in existing):
        return ConstraintChange()
    return _write_constraints(session, existing, [(low, high, kind)], actor, reason)


def _revert_constraints(session: Session, recorded: Mapping[str, Any]) -> ConstraintChange:
    """Take back what a decision did to constraints: remove what it added (if still there),
    put back what it replaced (unless a later decision covers the pair)."""
    added_ids = [int(c["id"]) for c in recorded.get("added", [])]
    still_there = [
        row
        for chunk in _chunks(added_ids)
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


# -- recording a change ----------------------------------------------------------------------


def _refresh_customer_view(session: Session, identity_ids: set[int]) -> None:
    """Recompute what is derived from these identities' records.

    ISSUE 5 HOOK, the one call site for manual changes: when the customer view lands, call
    ``app.customer.service.refresh_identities(session=session, identity_ids=identity_ids)``
    here, so golden records, search keys and traits follow every merge, split, decision and
    undo (the automatic re-clustering those trigger refreshes through resolution as well).
    """


def _stale_priorities(session: Session, record_ids: Iterable[RecordId]) -> None:
    """Open items about these records weigh differently now that identities changed size."""
    for chunk in _chunks(sorted(set(record_ids))):
        session.execute(
            update(ReviewItem)
            .where(
                ReviewItem.status == "open",
                or_(ReviewItem.left_record_id.in_(chunk), ReviewItem.right_record_id.in_(chunk)),
            )
            .values(priority=None)
            .execution_options(synchronize_session=False)
        )


def _record_change(
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
    now_holding = {s.identity_id for s in _record_states(session, wanted).values()}
    identity_ids = set(_identity_ids(session, named).values()) | {
        i for i in now_holding if i is not None
    }
    after = _snapshot(session, identity_ids)
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
    _stale_priorities(session, [*wanted, *_live_members(session, identity_ids)])
    _refresh_customer_view(session, identity_ids)
    return entry


# -- manual merges and splits ----------------------------------------------------------------


def merge(
    *, session: Session, matcher: Matcher, public_ids: Sequence[str], actor: str, note: str = ""
) -> AuditEntry:
    """Merge identities into one (the oldest id survives; the others redirect to it) and keep
    them one: their records are must-linked, cannot-links between them are replaced."""
    with _serialized():
        identity_ids = _lock_survivors(session, list(dict.fromkeys(public_ids)))
        if len(identity_ids) < 2:
            raise Conflict("these ids already name one identity; nothing to merge")
        return _merge(session, matcher, identity_ids, actor, note)


def _merge(
    session: Session,
    matcher: Matcher,
    identity_ids: Sequence[int],
    actor: str,
    note: str,
    extra: Mapping[str, Any] | None = None,
) -> AuditEntry:
    before = _snapshot(session, identity_ids)
    records = _live_members(session, identity_ids)
    constraints = _partition_constraints(session, [records], actor, note)
    entry = _record_change(
        session,
        matcher,
        action="merge",
        actor=actor,
        note=note,
        before=before,
        records=records,
        constraints=constraints,
        extra={
            "identity": _public_ids(session, [min(identity_ids)])[min(identity_ids)],
            **(extra or {}),
        },
    )
    return entry


def preview_merge(*, session: Session, public_ids: Sequence[str]) -> dict[str, Any]:
    """What merging these identities would give, written nowhere: the identities and records
    it joins, the id that survives, and the resulting golden record."""
    identity_ids = _survivor_ids(session, list(dict.fromkeys(public_ids)))
    if len(identity_ids) < 2:
        raise Conflict("these ids already name one identity; nothing to merge")
    return _merge_preview(session, identity_ids)


def _merge_preview(session: Session, identity_ids: Sequence[int]) -> dict[str, Any]:
    # The merge must-links every record, so its outcome is exactly the union, under the oldest
    # identity (the lowest id, as resolution's stable-id rule has it).
    public = _public_ids(session, identity_ids)
    records = _live_members(session, identity_ids)
    rows = {
        r.id: r
        for chunk in _chunks(records)
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
    """The golden record these records would have as one identity.

    ISSUE 5 HOOK: return ``app.customer.service.preview_golden(session=session,
    record_ids=record_ids)`` once the customer view is on main; until then the preview shows
    the merged records' attributes only.
    """
    return None


def _split_parts(
    session: Session, identity_id: int, parts: Sequence[Sequence[str]]
) -> list[list[RecordId]]:
    """Validate a split: parts of the identity's live records; those left out form one more."""
    live = _record_states(session, _live_members(session, [identity_id]))
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


def split(
    *,
    session: Session,
    matcher: Matcher,
    public_id: str,
    parts: Sequence[Sequence[str]],
    actor: str,
    note: str = "",
) -> AuditEntry:
    """Split an identity into parts of its records (records not named form one more part) and
    keep them apart: must-links inside each part, cannot-links between parts. The largest part
    keeps the id."""
    with _serialized():
        identity_id = _live_identity(session, public_id)
        _lock(session, [identity_id])
        groups = _split_parts(session, identity_id, parts)
        before = _snapshot(session, [identity_id])
        constraints = _partition_constraints(session, groups, actor, note)
        return _record_change(
            session,
            matcher,
            action="split",
            actor=actor,
            note=note,
            before=before,
            records=[r for g in groups for r in g],
            constraints=constraints,
        )


def _live_identity(session: Session, public_id: str) -> int:
    row = session.execute(
        select(Identity.id, Identity.merged_into_id).where(Identity.public_id == public_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no identity {public_id!r}")
    if row.merged_into_id is not None:
        survivor = _public_ids(session, [row.merged_into_id])[row.merged_into_id]
        raise Conflict(f"{public_id} was merged into {survivor}; split {survivor} instead")
    return int(row.id)


def preview_split(
    *, session: Session, public_id: str, parts: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """What a split would give, written nowhere: the parts and which one keeps the id."""
    identity_id = _live_identity(session, public_id)
    groups = _split_parts(session, identity_id, parts)
    references = {
        i: s.reference for i, s in _record_states(session, [r for g in groups for r in g]).items()
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


# -- undo ------------------------------------------------------------------------------------


def _after_members(entry: AuditEntry) -> Members:
    members = entry.after.get("members")
    if members is not None:
        return {str(k): list(v) for k, v in members.items()}
    if "identity" in entry.after and "records" in entry.after:
        return {str(entry.after["identity"]): list(entry.after["records"])}
    return {}


def undo(
    *, session: Session, matcher: Matcher, entry_id: int, actor: str, note: str = ""
) -> AuditEntry:
    """Undo a merge, split or decision: the identities get back their ids, members and
    redirects, and the decision's constraints are taken back. If the evidence would undo the
    undo (an automatic merge), the restored identities are held with constraints as well."""
    with _serialized():
        entry = session.scalar(
            select(AuditEntry)
            .where(AuditEntry.id == entry_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if entry is None:
            raise NotFound(f"no audit entry {entry_id}")
        before_members = _undoable(entry)
        after_members = _after_members(entry)
        references = {
            r for refs in [*before_members.values(), *after_members.values()] for r in refs
        }
        records = _records_by_reference(session, references)
        identity_ids = _identity_ids(session, set(before_members) | set(after_members))
        _lock(session, identity_ids.values())
        _check_nothing_later(session, entry, after_members)
        _check_still_as_left(session, records, after_members, identity_ids)
        before = _snapshot(session, identity_ids.values())
        constraints = _revert_constraints(session, entry.after.get("constraints", {}))
        item = _reopen_item(session, entry)
        constraints.extend(
            _restore(
                session,
                matcher,
                entry,
                records,
                before_members,
                after_members,
                identity_ids,
                actor,
                note,
            )
        )
        change = _record_change(
            session,
            matcher,
            action="undo",
            actor=actor,
            note=note,
            before=before,
            records=[s.id for s in records.values() if s.live],
            constraints=constraints,
            extra={"undoes": entry.id, **({"review_item": item} if item is not None else {})},
            recluster=False,
        )
        entry.undone_by_id = change.id
        session.flush()
        return change


def _undoable(entry: AuditEntry) -> Members:
    if entry.action not in UNDOABLE:
        raise Conflict(
            f"entry {entry.id} is a {entry.action!r}; only merges, splits and decisions "
            "(keep apart, dismiss) can be undone"
        )
    if entry.undone_by_id is not None:
        raise Conflict(f"entry {entry.id} was already undone (entry {entry.undone_by_id})")
    members = entry.before.get("members")
    if members is None and entry.action in ("merge", "split"):
        raise Conflict(f"entry {entry.id} was recorded without its members; it cannot be undone")
    return {str(k): list(v) for k, v in (members or {}).items()}


def _check_nothing_later(session: Session, entry: AuditEntry, after_members: Members) -> None:
    """Refuse while a later merge or split of these identities stands: undo that first."""
    later = session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.id > entry.id,
            AuditEntry.undone_by_id.is_(None),
            AuditEntry.action.in_(("merge", "split")),
            AuditEntry.id.in_(
                select(AuditSubject.entry_id).where(
                    AuditSubject.identity_public_id.in_(list(after_members))
                )
            ),
        )
        .order_by(AuditEntry.id)
        .limit(1)
    )
    if later is not None:
        raise Conflict(
            f"entry {later.id} ({later.action} by {later.actor}) changed these identities "
            "since; undo the later change first"
        )


def _check_still_as_left(
    session: Session,
    records: Mapping[str, RecordState],
    after_members: Members,
    identity_ids: Mapping[str, int],
) -> None:
    """Refuse when a later change moved records the change left in place: undo that first."""
    for public_id, references in sorted(after_members.items()):
        for reference in references:
            state = records.get(reference)
            if state is None or not state.live:
                continue  # deleted at its source since: nothing to put back
            if state.identity_id != identity_ids.get(public_id):
                now = _public_ids(session, [state.identity_id] if state.identity_id else [])
                raise Conflict(
                    f"{reference} has moved from {public_id} to "
                    f"{now.get(state.identity_id or 0, 'no identity')} since; undo the later "
                    "change first"
                )


def _reopen_item(session: Session, entry: AuditEntry) -> int | None:
    item_id = entry.after.get("review_item")
    if item_id is None:
        return None
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == int(item_id), ReviewItem.change_id == entry.id)
        .values(
            status="open",
            decision=None,
            decided_by=None,
            decided_at=None,
            claimed_by=None,
            claimed_at=None,
            change_id=None,
            priority=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return int(item_id)


def _restore(
    session: Session,
    matcher: Matcher,
    entry: AuditEntry,
    records: Mapping[str, RecordState],
    before_members: Members,
    after_members: Members,
    identity_ids: Mapping[str, int],
    actor: str,
    note: str,
) -> ConstraintChange:
    """Put the members back and re-cluster; when the evidence pulls them elsewhere again, hold
    them with constraints (returned) and put them back once more."""
    live = [s.id for s in records.values() if s.live]
    savepoint = session.begin_nested()
    try:
        _put_back(session, entry, records, after_members, identity_ids)
        resolution.recluster(session=session, matcher=matcher, record_ids=live, actor=actor)
        held = _restored(session, records, before_members, identity_ids)
    except BaseException:
        savepoint.rollback()
        raise
    if held:
        savepoint.commit()
        return ConstraintChange()
    savepoint.rollback()
    session.expire_all()
    parts = _pinned_parts(session, records, before_members, after_members, identity_ids)
    constraints = _partition_constraints(session, parts, actor, note or f"undo of entry {entry.id}")
    _put_back(session, entry, records, after_members, identity_ids)
    resolution.recluster(session=session, matcher=matcher, record_ids=live, actor=actor)
    if not _restored(session, records, before_members, identity_ids):
        raise Conflict(f"entry {entry.id} cannot be undone: its records no longer fit apart")
    return constraints


def _put_back(
    session: Session,
    entry: AuditEntry,
    records: Mapping[str, RecordState],
    after_members: Members,
    identity_ids: Mapping[str, int],
) -> None:
    before_members = {str(k): list(v) for k, v in entry.before.get("members", {}).items()}
    """Move the records back to the identities they had, and the redirects back to where they
    pointed."""
    moves = [
        {"record_id": records[r].id, "identity_id": identity_ids[public_id]}
        for public_id, references in before_members.items()
        for r in references
        if r in records and records[r].live and public_id in identity_ids
    ]
    if moves:
        table = SourceRecord.__table__
        session.execute(
            update(table)  # type: ignore[arg-type]
            .where(table.c.id == bindparam("record_id"))
            .values(identity_id=bindparam("identity_id")),
            moves,
        )
    restored = [identity_ids[p] for p in before_members if p in identity_ids]
    session.execute(
        update(Identity)
        .where(Identity.id.in_(restored))
        .values(merged_into_id=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _restore_redirects(session, entry.before.get("redirects", {}))
    # Identities the change created (a split's new part) redirect to where their records went.
    for public_id in set(after_members) - set(before_members):
        if public_id not in identity_ids or _live_members(session, [identity_ids[public_id]]):
            continue
        homes = Counter(
            p for p, refs in before_members.items() for r in refs if r in after_members[public_id]
        )
        if homes:
            target = identity_ids[homes.most_common(1)[0][0]]
            session.execute(
                update(Identity)
                .where(Identity.id == identity_ids[public_id])
                .values(merged_into_id=target, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )


def _restore_redirects(session: Session, redirects: Mapping[str, str]) -> None:
    ids = _identity_ids(session, set(redirects) | set(redirects.values()))
    for source, target in sorted(redirects.items()):
        if source in ids and target in ids:
            session.execute(
                update(Identity)
                .where(Identity.id == ids[source])
                .values(merged_into_id=ids[target])
                .execution_options(synchronize_session=False)
            )


def _restored(
    session: Session,
    records: Mapping[str, RecordState],
    before_members: Members,
    identity_ids: Mapping[str, int],
) -> bool:
    now = _record_states(session, [s.id for s in records.values()])
    return all(
        now[records[r].id].identity_id == identity_ids.get(public_id)
        for public_id, references in before_members.items()
        for r in references
        if r in records and now[records[r].id].live
    )


def _pinned_parts(
    session: Session,
    records: Mapping[str, RecordState],
    before_members: Members,
    after_members: Members,
    identity_ids: Mapping[str, int],
) -> list[list[RecordId]]:
    """The restored identities as parts to hold apart: each identity before the change, and any
    other identity the change had moved records into (with the records it holds of its own)."""
    parts = [
        sorted(records[r].id for r in refs if r in records and records[r].live)
        for refs in before_members.values()
    ]
    snapshot = {records[r].id for refs in after_members.values() for r in refs if r in records}
    for public_id in sorted(set(after_members) - set(before_members)):
        if public_id in identity_ids:
            own = set(_live_members(session, [identity_ids[public_id]])) - snapshot
            parts.append(sorted(own))
    return [p for p in parts if p]


# -- the queue -------------------------------------------------------------------------------


def _closeness(probability: float | None, matcher: Matcher) -> float:
    """How near the auto-match threshold a score is, 0 at the review threshold, 1 at auto (a
    conflict or a generic value has no score: the matcher was sure of an edge it had to cut)."""
    if probability is None:
        return 1.0
    low, high = matcher.config.review_threshold, matcher.config.auto_threshold
    return min(max((probability - low) / (high - low), 0.0), 1.0)


def _identity_sizes(session: Session, identity_ids: Iterable[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for chunk in _chunks(sorted(set(identity_ids))):
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


def refresh_priorities(*, session: Session, matcher: Matcher) -> int:
    """Weigh the items not weighed yet (new ones, and those whose identities changed): closeness
    to the auto-match threshold times log2(1 + records of the identities involved)."""
    rows = session.execute(
        select(
            ReviewItem.id,
            ReviewItem.kind,
            ReviewItem.left_record_id,
            ReviewItem.right_record_id,
            ReviewItem.probability,
            ReviewItem.detail,
        ).where(ReviewItem.priority.is_(None))
    ).all()
    if not rows:
        return 0
    states = _record_states(
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
    id of the last item of the previous page)."""
    refresh_priorities(session=session, matcher=matcher)
    query = (
        select(ReviewItem)
        .where(ReviewItem.priority.is_not(None))  # one weighed meanwhile shows on the next list
        .order_by(ReviewItem.priority.desc(), ReviewItem.id.desc())
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
    if after is not None:
        priority, item_id = after
        query = query.where(
            or_(
                ReviewItem.priority < priority,
                and_(ReviewItem.priority == priority, ReviewItem.id < item_id),
            )
        )
    return list(session.scalars(query.limit(limit)))


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
    won = session.scalar(
        update(ReviewItem)
        .where(
            ReviewItem.id == item_id, ReviewItem.status == "open", _free_for(actor, now, minutes)
        )
        .values(claimed_by=actor, claimed_at=now)
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
    states = _record_states(
        session, {r for i in items for r in (i.left_record_id, i.right_record_id) if r}
    )
    public = _public_ids(session, {s.identity_id for s in states.values() if s.identity_id})

    def side(record_id: int | None) -> dict[str, Any] | None:
        state = states.get(record_id or 0)
        if state is None:
            return None
        identity = public.get(state.identity_id or 0) if state.live else None
        return {"reference": state.reference, "identity": identity, "live": state.live}

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


# -- the side-by-side comparison -------------------------------------------------------------


def compare(*, session: Session, matcher: Matcher, item_id: int, minutes: float) -> dict[str, Any]:
    """An item side by side: both records and their identities, how each attribute compares
    (level and weight), the edges among them, and what a merge would give."""
    item = get_item(session=session, item_id=item_id)
    (described,) = describe_items(session=session, items=[item], minutes=minutes)
    result: dict[str, Any] = {
        "item": described,
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
    states = _record_states(session, pair)
    result["left"], result["right"] = (_side(session, states[r]) for r in pair)
    result["score"] = _score(session, matcher, *pair)
    identities = sorted({s.identity_id for s in states.values() if s.live and s.identity_id})
    result["edges"] = _edges(session, matcher, [*pair, *_live_members(session, identities)])
    if len(identities) == 2:
        result["preview"] = _merge_preview(session, identities)
    return result


def _side(session: Session, state: RecordState) -> dict[str, Any]:
    record = session.get_one(SourceRecord, state.id)
    identity = state.identity_id if state.live else None
    members = _live_members(session, [identity]) if identity is not None else []
    rows = [session.get_one(SourceRecord, r) for r in members]
    return {
        "reference": state.reference,
        "live": state.live,
        "attributes": record.attributes,
        "identity": _public_ids(session, [identity]).get(identity) if identity else None,
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
    references = {i: s.reference for i, s in _record_states(session, record_ids).items()}
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
    from app.resolution.models import BlockingKey  # noqa: PLC0415

    ids = session.scalars(
        select(BlockingKey.record_id)
        .where(BlockingKey.key == key)
        .order_by(BlockingKey.record_id)
        .limit(_HOLDERS_SHOWN)
    ).all()
    states = _record_states(session, ids)
    public = _public_ids(session, {s.identity_id for s in states.values() if s.identity_id})
    return [
        {"reference": s.reference, "identity": public.get(s.identity_id or 0)}
        for s in sorted(states.values(), key=lambda s: s.reference)
    ]


# -- decisions -------------------------------------------------------------------------------


def decide(
    *,
    session: Session,
    matcher: Matcher,
    item_id: int,
    decision: str,
    actor: str,
    note: str = "",
    minutes: float,
) -> tuple[ReviewItem, AuditEntry]:
    """Decide an open item: merge its identities (must-link), keep its records apart
    (cannot-link) or dismiss it. The item is taken first, so a second admin deciding at the
    same time gets a Conflict and nothing of theirs is written."""
    if decision not in DECISIONS:
        raise InvalidInput("unknown decision", {"decision": [f"one of {', '.join(DECISIONS)}"]})
    with _serialized():
        item = _take(session, item_id, decision, actor, minutes)
        extra = {"review_item": item.id, "decision": decision}
        if decision == "dismiss":
            entry = _dismiss(session, matcher, item, actor, note, extra)
        elif decision == "merge":
            entry = _merge_item(session, matcher, item, actor, note, extra)
        else:
            entry = _keep_apart(session, matcher, item, actor, note, extra)
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == item.id)
            .values(change_id=entry.id)
            .execution_options(synchronize_session=False)
        )
        return get_item(session=session, item_id=item.id), entry


def _take(session: Session, item_id: int, decision: str, actor: str, minutes: float) -> ReviewItem:
    item = get_item(session=session, item_id=item_id)
    if item.kind == "generic_value" and decision != "dismiss":
        raise InvalidInput(
            "a generic value can only be dismissed",
            {"decision": ["a generic value joins or separates nobody: dismiss it"]},
        )
    now = utcnow()
    # Written before anything else: the loser of a race stops here, having written nothing.
    won = session.scalar(
        update(ReviewItem)
        .where(
            ReviewItem.id == item_id, ReviewItem.status == "open", _free_for(actor, now, minutes)
        )
        .values(
            status="decided",
            decision=decision,
            decided_by=actor,
            decided_at=now,
            claimed_by=actor,
            claimed_at=now,
            updated_at=now,
        )
        .returning(ReviewItem.id)
        .execution_options(synchronize_session=False)
    )
    item = get_item(session=session, item_id=item_id)
    if won is None:
        raise _refusal(item, minutes)
    return item


def _pair_states(session: Session, item: ReviewItem) -> tuple[RecordState, RecordState]:
    pair = [r for r in (item.left_record_id, item.right_record_id) if r is not None]
    states = _lock_identities_of(session, pair)
    left, right = (states[r] for r in pair)
    for state in (left, right):
        if not state.live or state.identity_id is None:
            raise Conflict(
                f"{state.reference} is no longer held by any identity; item {item.id} is moot"
            )
    return left, right


def _merge_item(
    session: Session,
    matcher: Matcher,
    item: ReviewItem,
    actor: str,
    note: str,
    extra: Mapping[str, Any],
) -> AuditEntry:
    left, right = _pair_states(session, item)
    if left.identity_id == right.identity_id:
        raise Conflict(f"{left.reference} and {right.reference} are one identity already")
    identity_ids = sorted({left.identity_id or 0, right.identity_id or 0})
    return _merge(session, matcher, identity_ids, actor, note, extra)


def _keep_apart(
    session: Session,
    matcher: Matcher,
    item: ReviewItem,
    actor: str,
    note: str,
    extra: Mapping[str, Any],
) -> AuditEntry:
    left, right = _pair_states(session, item)
    identity_ids = {left.identity_id or 0, right.identity_id or 0}
    before = _snapshot(session, identity_ids)
    constraints = _pair_constraint(session, left.id, right.id, "cannot", actor, note)
    entry = _record_change(
        session,
        matcher,
        action="keep_apart",
        actor=actor,
        note=note,
        before=before,
        records=[left.id, right.id],
        constraints=constraints,
        extra=extra,
    )
    now = _record_states(session, [left.id, right.id])
    if now[left.id].identity_id == now[right.id].identity_id:
        raise Conflict(
            f"a merge decision holds {left.reference} and {right.reference} together; split "
            "their identity (or undo that merge) instead"
        )
    return entry


def _dismiss(
    session: Session,
    matcher: Matcher,
    item: ReviewItem,
    actor: str,
    note: str,
    extra: Mapping[str, Any],
) -> AuditEntry:
    pair = [r for r in (item.left_record_id, item.right_record_id) if r is not None]
    states = _record_states(session, pair)
    identity_ids = {s.identity_id for s in states.values() if s.live and s.identity_id}
    return _record_change(
        session,
        matcher,
        action="dismiss",
        actor=actor,
        note=note,
        before=_snapshot(session, identity_ids),
        records=pair,
        constraints=ConstraintChange(),
        extra=extra,
        recluster=False,
    )
