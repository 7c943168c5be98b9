"""Decisions people make about identities: a review item decided (merge, keep apart,
dismiss), a manual merge or split. Each is a write path across domains, in one order: take the
item → write link constraints → re-cluster around the records (the same core as automatic
resolution) → refresh customers → review queue → one audit entry for the whole decision.
Undo is :mod:`app.ingest.undo`.

A decision runs inside ``serialized``: it takes the identity lock before reading anything, so
decisions and resolution run one after the other and each reads what the one before committed;
a transaction that loses a race anyway (deadlock, lock timeout) is reported as a Conflict. An
item is taken by a conditional update of its status before anything else is written, so of two
admins deciding at once one wins and the other gets a Conflict with nothing applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.customer import service as customers
from app.db import hold_identity_lock
from app.errors import Conflict, HuellaError, InvalidInput
from app.identity.service import (
    RecordState,
    Snapshot,
    ids_of,
    live_members,
    public_ids_of,
    record_states,
    survivor_ids,
    take_snapshot,
)
from app.ingest.flows import settle
from app.matching import Matcher
from app.matching.types import RecordId
from app.resolution import realtime
from app.review import constraints as links
from app.review import queue
from app.review.models import ReviewItem
from app.review.service import DECISIONS, get_item, live_identity, split_parts, take_item
from app.settings import Settings

# SQLSTATEs of a transaction that lost a race: serialization failure, deadlock, lock timeout.
_LOST_RACE = {"40001", "40P01", "55P03"}


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


@dataclass(frozen=True, slots=True)
class Deciding:
    """Who decides, why, and with what: what every step of one decision is written with."""

    session: Session
    settings: Settings
    matcher: Matcher
    actor: str
    note: str

    def record(
        self,
        action: str,
        before: Snapshot,
        records: Iterable[RecordId],
        constraints: links.ConstraintChange,
        extra: Mapping[str, Any] | None = None,
        recluster: bool = True,
    ) -> AuditEntry:
        """Re-cluster around the records, then write one audit entry for the whole change."""
        session, settings, actor = self.session, self.settings, self.actor
        wanted = sorted(set(records))
        changes: list[audit.AuditSpec] = []
        if recluster:
            report = realtime.recluster(session=session, matcher=self.matcher, record_ids=wanted)
            settle(session=session, settings=settings, report=report, actor=actor, audited=False)
            changes = report.changes.audit
        before_members = dict(before.members)
        named: set[str] = set(before.members)
        for _, subjects, spec_before, _ in changes:
            named.update(subjects)
            for public_id, references in spec_before.get("members", {}).items():
                before_members.setdefault(public_id, references)
        states = record_states(session, wanted).values()
        holding = {s.identity_id for s in states if s.identity_id is not None}
        identity_ids = set(ids_of(session, named).values()) | holding
        after = take_snapshot(session, identity_ids)
        after_members = {p: refs for p, refs in after.members.items() if refs}
        entry = audit.record(
            session=session,
            action=action,
            identities=set(before_members) | set(after.members),
            actor=actor,
            reason=self.note,
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
        queue.stale_priorities(session, [*wanted, *live_members(session, identity_ids)])
        # Golden records, search keys and traits follow every decision (the re-clustering
        # refreshed what it changed as well).
        customers.refresh_identities(session=session, settings=settings, identity_ids=identity_ids)
        return entry


def decide(
    *,
    session: Session,
    settings: Settings,
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
    deciding = Deciding(session, settings, matcher, actor, note)
    with serialized(session):
        item = take_item(
            session=session, item_id=item_id, decision=decision, actor=actor, minutes=minutes
        )
        extra = {"review_item": item.id, "decision": decision}
        entry = _OUTCOMES[decision](deciding, item, extra)
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == item.id)
            .values(change_id=entry.id)
            .execution_options(synchronize_session=False)
        )
        return get_item(session=session, item_id=item.id), entry


@dataclass(frozen=True, slots=True)
class Refusal:
    """An item of a bulk decision that was not decided, and why."""

    item: int
    detail: str


def decide_many(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    item_ids: Sequence[int],
    decision: str,
    actor: str,
    note: str = "",
    minutes: float,
) -> tuple[list[tuple[ReviewItem, AuditEntry]], list[Refusal]]:
    """Decide several items the same way with one note, each as :func:`decide` would, in the
    order given. An item that cannot be decided (decided or claimed meanwhile, its records
    gone, already one customer) is refused with the reason and leaves nothing behind; the
    others are decided."""
    decided: list[tuple[ReviewItem, AuditEntry]] = []
    refused: list[Refusal] = []
    for item_id in dict.fromkeys(item_ids):
        try:
            with session.begin_nested():
                decided.append(
                    decide(
                        session=session,
                        settings=settings,
                        matcher=matcher,
                        item_id=item_id,
                        decision=decision,
                        actor=actor,
                        note=note,
                        minutes=minutes,
                    )
                )
        except HuellaError as error:
            refused.append(Refusal(item_id, error.detail))
    return decided, refused


def _pair(item: ReviewItem) -> list[RecordId]:
    """The records an item is about (one, for a generic value; two, for a pair)."""
    return [r for r in (item.left_record_id, item.right_record_id) if r is not None]


def _pair_states(session: Session, item: ReviewItem) -> tuple[RecordState, RecordState]:
    pair = _pair(item)
    states = record_states(session, pair)
    left, right = (states[r] for r in pair)
    for state in (left, right):
        if not state.live or state.identity_id is None:
            raise Conflict(
                f"{state.reference} is no longer held by any identity; dismiss item {item.id}"
            )
    return left, right


def _merge_item(deciding: Deciding, item: ReviewItem, extra: Mapping[str, Any]) -> AuditEntry:
    left, right = _pair_states(deciding.session, item)
    if left.identity_id == right.identity_id:
        raise Conflict(f"{left.reference} and {right.reference} are one identity already")
    return _merge(deciding, sorted({left.identity_id or 0, right.identity_id or 0}), extra)


def _keep_apart(deciding: Deciding, item: ReviewItem, extra: Mapping[str, Any]) -> AuditEntry:
    session = deciding.session
    left, right = _pair_states(session, item)
    before = take_snapshot(session, {left.identity_id or 0, right.identity_id or 0})
    constraints = links.set_pair(
        session, left.id, right.id, "cannot", deciding.actor, deciding.note
    )
    entry = deciding.record("keep_apart", before, [left.id, right.id], constraints, extra)
    now = record_states(session, [left.id, right.id])
    if now[left.id].identity_id == now[right.id].identity_id:
        raise Conflict(
            f"a merge decision holds {left.reference} and {right.reference} together; split "
            "their identity (or undo that merge) instead"
        )
    return entry


def _dismiss(deciding: Deciding, item: ReviewItem, extra: Mapping[str, Any]) -> AuditEntry:
    pair = _pair(item)
    states = record_states(deciding.session, pair)
    identity_ids = {s.identity_id for s in states.values() if s.live and s.identity_id}
    before = take_snapshot(deciding.session, identity_ids)
    return deciding.record(
        "dismiss", before, pair, links.ConstraintChange(), extra, recluster=False
    )


# What each decision does to the item's records and identities.
_OUTCOMES = {"merge": _merge_item, "keep_apart": _keep_apart, "dismiss": _dismiss}


def merge(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    public_ids: Sequence[str],
    actor: str,
    note: str = "",
) -> AuditEntry:
    """Merge identities into one (the oldest id survives; the others redirect to it) and keep
    them one: their records are must-linked, cannot-links between them are replaced."""
    with serialized(session):
        identity_ids = survivor_ids(session, list(dict.fromkeys(public_ids)))
        if len(identity_ids) < 2:
            raise Conflict("these ids already name one identity; nothing to merge")
        return _merge(Deciding(session, settings, matcher, actor, note), identity_ids)


def _merge(
    deciding: Deciding, identity_ids: Sequence[int], extra: Mapping[str, Any] | None = None
) -> AuditEntry:
    session = deciding.session
    before = take_snapshot(session, identity_ids)
    records = live_members(session, identity_ids)
    constraints = links.partition(session, [records], deciding.actor, deciding.note)
    survivor = min(identity_ids)
    extra = {"identity": public_ids_of(session, [survivor])[survivor], **(extra or {})}
    return deciding.record("merge", before, records, constraints, extra)


def split(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    public_id: str,
    parts: Sequence[Sequence[str]],
    actor: str,
    note: str = "",
) -> AuditEntry:
    """Split an identity into parts of its records (records not named form one more part) and
    keep them apart: must-links inside each part, cannot-links between parts. The largest part
    keeps the id."""
    deciding = Deciding(session, settings, matcher, actor, note)
    with serialized(session):
        identity_id = live_identity(session, public_id)
        groups = split_parts(session, identity_id, parts)
        before = take_snapshot(session, [identity_id])
        constraints = links.partition(session, groups, actor, note)
        records = [r for g in groups for r in g]
        entry = deciding.record("split", before, records, constraints)
        queue.settle_items_between(session, groups, actor, entry)
        return entry
