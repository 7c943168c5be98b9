"""Undo: a merge, split or decision taken back, the identities getting back their ids,
members and redirects exactly.

The members are put back and the part of the graph re-clustered (in a savepoint); when the
evidence pulls them elsewhere again (an automatic merge had its reasons), the restored
identities are held with constraints and put back once more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry, AuditSubject
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.identity.models import Identity
from app.identity.service import (
    Members,
    RecordState,
    ids_of,
    live_members,
    public_ids_of,
    record_states,
    records_by_reference,
    take_snapshot,
)
from app.ingest.decisions import Deciding, serialized
from app.ingest.flows import settle
from app.matching import Matcher
from app.matching.types import RecordId
from app.resolution import realtime
from app.review import constraints as links
from app.review import queue
from app.review.models import ReviewItem
from app.settings import Settings
from app.source.models import SourceRecord

UNDOABLE = ("merge", "split", "keep_apart", "dismiss")


def undo_entry(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    entry_id: int,
    actor: str,
    note: str = "",
) -> AuditEntry:
    """Undo a merge, split or decision: the identities get back their ids, members and
    redirects, and the decision's constraints are taken back. If the evidence would undo the
    undo (an automatic merge), the restored identities are held with constraints as well."""
    with serialized(session):
        entry = session.scalar(
            select(AuditEntry)
            .where(AuditEntry.id == entry_id)
            .execution_options(populate_existing=True)
        )
        if entry is None:
            raise NotFound(f"no audit entry {entry_id}")
        before_members = _undoable(entry)
        after_members = _after_members(entry)
        references = {
            r for refs in [*before_members.values(), *after_members.values()] for r in refs
        }
        records = records_by_reference(session, references)
        identity_ids = ids_of(session, set(before_members) | set(after_members))
        _check_nothing_later(session, entry, after_members)
        _check_still_as_left(session, records, after_members, identity_ids)
        before = take_snapshot(session, identity_ids.values())
        constraints = links.revert(session, entry.after.get("constraints", {}))
        item = entry.after.get("review_item")
        _reopen_items(session, entry)
        pins, pinned = _restore(
            session,
            settings,
            matcher,
            entry,
            records,
            before_members,
            after_members,
            identity_ids,
            actor,
            note,
        )
        constraints.extend(pins)
        change = Deciding(session, settings, matcher, actor, note).record(
            "undo",
            before,
            [s.id for s in records.values() if s.live],
            constraints,
            {"undoes": entry.id, **({"review_item": item} if item is not None else {})},
            recluster=False,
        )
        entry.undone_by_id = change.id
        queue.settle_items_between(session, pinned, actor, change)
        session.flush()
        return change


def _after_members(entry: AuditEntry) -> Members:
    members = entry.after.get("members")
    if members is not None:
        return {str(k): list(v) for k, v in members.items()}
    if "identity" in entry.after and "records" in entry.after:
        return {str(entry.after["identity"]): list(entry.after["records"])}
    return {}


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
                now = public_ids_of(session, [state.identity_id] if state.identity_id else [])
                raise Conflict(
                    f"{reference} has moved from {public_id} to "
                    f"{now.get(state.identity_id or 0, 'no identity')} since; undo the later "
                    "change first"
                )


def _reopen_items(session: Session, entry: AuditEntry) -> None:
    """The items the change decided go back to the queue, but for the conflicts its own cut
    opened: those are gone with the cut (resolution opens them anew if the evidence still has
    them)."""
    decided_here = ReviewItem.change_id == entry.id
    own = ReviewItem.id == int(entry.after.get("review_item") or 0)
    by_its_cut = (ReviewItem.kind == "conflict") & ~own
    for which, status in ((decided_here & by_its_cut, "obsolete"), (decided_here, "open")):
        session.execute(
            update(ReviewItem)
            .where(which)
            .values(
                status=status,
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


def _restore(
    session: Session,
    settings: Settings,
    matcher: Matcher,
    entry: AuditEntry,
    records: Mapping[str, RecordState],
    before_members: Members,
    after_members: Members,
    identity_ids: Mapping[str, int],
    actor: str,
    note: str,
) -> tuple[links.ConstraintChange, list[list[RecordId]]]:
    """Put the members back and re-cluster; when the evidence pulls them elsewhere again, hold
    them with constraints and put them back once more. Returns the constraints and the parts
    they hold apart (none when the evidence agreed)."""
    live = [s.id for s in records.values() if s.live]
    savepoint = session.begin_nested()
    try:
        _put_back(session, entry, records, after_members, identity_ids)
        _recluster(session, settings, matcher, live, actor)
        held = _restored(session, records, before_members, identity_ids)
    except BaseException:
        savepoint.rollback()
        raise
    if held:
        savepoint.commit()
        return links.ConstraintChange(), []
    savepoint.rollback()
    session.expire_all()
    parts = _pinned_parts(session, records, before_members, after_members, identity_ids)
    constraints = links.partition(session, parts, actor, note or f"undo of entry {entry.id}")
    _put_back(session, entry, records, after_members, identity_ids)
    _recluster(session, settings, matcher, live, actor)
    if not _restored(session, records, before_members, identity_ids):
        raise Conflict(f"entry {entry.id} cannot be undone: its records no longer fit apart")
    return constraints, parts


def _recluster(
    session: Session, settings: Settings, matcher: Matcher, records: list[RecordId], actor: str
) -> None:
    """Re-cluster around the restored records; the undo records its own audit entry."""
    report = realtime.recluster(session=session, matcher=matcher, record_ids=records)
    settle(session=session, settings=settings, report=report, actor=actor, audited=False)


def _put_back(
    session: Session,
    entry: AuditEntry,
    records: Mapping[str, RecordState],
    after_members: Members,
    identity_ids: Mapping[str, int],
) -> None:
    """Move the records back to the identities they had, and the redirects back to where they
    pointed."""
    before_members = {str(k): list(v) for k, v in entry.before.get("members", {}).items()}
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
        if public_id not in identity_ids or live_members(session, [identity_ids[public_id]]):
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
    ids = ids_of(session, set(redirects) | set(redirects.values()))
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
    now = record_states(session, [s.id for s in records.values()])
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
            own = set(live_members(session, [identity_ids[public_id]])) - snapshot
            parts.append(sorted(own))
    return [p for p in parts if p]
