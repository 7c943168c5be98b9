"""Recording and reading the audit trail."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, Text, cast, or_, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry, AuditSubject, ReadEntry, ReadSubject
from app.db import bulk_insert, bulk_insert_ids, chunks, delete_where, utcnow
from app.errors import NotFound

SYSTEM_ACTOR = "system"


def record(
    *,
    session: Session,
    action: str,
    identities: Iterable[str],
    actor: str = SYSTEM_ACTOR,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry concerning the given identity public ids."""
    entry = AuditEntry(
        actor=actor, action=action, reason=reason, before=before or {}, after=after or {}
    )
    entry.subjects = [AuditSubject(identity_public_id=p) for p in sorted(set(identities))]
    session.add(entry)
    return entry


AuditSpec = tuple[str, Sequence[str], dict[str, Any], dict[str, Any]]
"""(action, identity public ids concerned, before, after)."""


def record_many(
    *, session: Session, actor: str, entries: Sequence[AuditSpec], reason: str = ""
) -> None:
    """Add many audit entries at once (resolution writes one per identity it changes)."""
    if not entries:
        return
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    now = utcnow()
    ids = bulk_insert_ids(
        session,
        table,
        [
            {
                "at": now,
                "actor": actor,
                "action": action,
                "reason": reason,
                "before": before,
                "after": after,
            }
            for action, _, before, after in entries
        ],
    )
    subjects = [
        {"entry_id": entry_id, "identity_public_id": public_id}
        for entry_id, (_, identities, _, _) in zip(ids, entries, strict=True)
        for public_id in sorted(set(identities))
    ]
    bulk_insert(session, AuditSubject.__table__, subjects)


def list_for_identity(*, session: Session, public_id: str) -> list[AuditEntry]:
    """Every entry concerning an identity, oldest first."""
    query = (
        select(AuditEntry)
        .join(AuditSubject)
        .where(AuditSubject.identity_public_id == public_id)
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(query))


def get(*, session: Session, entry_id: int) -> AuditEntry:
    """One audit entry, or NotFound."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise NotFound(f"no audit entry {entry_id}")
    return entry


def list_entries(
    *,
    session: Session,
    limit: int,
    identities: Sequence[str] | None = None,
    action: str | None = None,
    actor: str | None = None,
    before: int | None = None,
) -> list[AuditEntry]:
    """Entries newest first, optionally only those concerning some identities (public ids)."""
    query = _newest_first(AuditEntry, AuditSubject, limit, identities, action, actor, before)
    return list(session.scalars(query))


def _newest_first(
    entry: type[AuditEntry] | type[ReadEntry],
    subject: type[AuditSubject] | type[ReadSubject],
    limit: int | None,
    identities: Sequence[str] | None,
    action: str | None,
    actor: str | None,
    before: int | None,
) -> Select[Any]:
    """Entries of the trail (changes or reads) newest first, filtered: about some customers
    (public ids, through the trail's subjects), of an action, by an actor, before an id."""
    query = select(entry).order_by(entry.id.desc()).limit(limit)
    if identities is not None:
        about = select(subject.entry_id).where(subject.identity_public_id.in_(list(identities)))
        query = query.where(entry.id.in_(about))
    if action is not None:
        query = query.where(entry.action == action)
    if actor is not None:
        query = query.where(entry.actor == actor)
    if before is not None:
        query = query.where(entry.id < before)
    return query


# -- reads ------------------------------------------------------------------------------------


def record_read(
    *,
    session: Session,
    actor: str,
    route: str,
    identities: Iterable[str],
    action: str = "read",
    reason: str = "",
) -> ReadEntry:
    """Record that ``actor`` was shown these customers (public ids) by ``route``: a read, or a
    reveal of masked values with its reason."""
    entry = ReadEntry(actor=actor, action=action, route=route, reason=reason)
    entry.subjects = [ReadSubject(identity_public_id=p) for p in sorted(set(identities))]
    session.add(entry)
    return entry


def list_reads(
    *,
    session: Session,
    limit: int | None,
    identities: Sequence[str] | None = None,
    action: str | None = None,
    actor: str | None = None,
    before: int | None = None,
) -> list[ReadEntry]:
    """Reads newest first (``limit`` of them, or all), optionally only those that showed some
    customers (public ids)."""
    return list(
        session.scalars(
            _newest_first(ReadEntry, ReadSubject, limit, identities, action, actor, before)
        )
    )


def delete_reads_before(*, session: Session, cutoff: datetime, dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) the reads recorded before ``cutoff`` (retention)."""
    return delete_where(session, ReadEntry, ReadEntry.at < cutoff, dry_run=dry_run)


# -- erasure ---------------------------------------------------------------------------------

ERASE = "erase"
ERASED = "erased"
"""What an erased person's value becomes in the audit trail."""


def erasures(*, session: Session, public_ids: Sequence[str]) -> list[AuditEntry]:
    """The erasures of these identities, oldest first."""
    return [
        entry
        for entry in list_for_identity_ids(session=session, public_ids=public_ids)
        if entry.action == ERASE
    ]


def list_for_identity_ids(*, session: Session, public_ids: Sequence[str]) -> list[AuditEntry]:
    """Every entry concerning any of these identities, oldest first."""
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.id.in_(
                select(AuditSubject.entry_id).where(
                    AuditSubject.identity_public_id.in_(sorted(set(public_ids)))
                )
            )
        )
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(query))


def _matcher(values: Collection[str]) -> re.Pattern[str] | None:
    words = sorted({v.strip() for v in values if v.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)", re.IGNORECASE)


def _scrubbed(value: Any, references: Collection[str], pattern: re.Pattern[str] | None) -> Any:
    if isinstance(value, dict):
        return {k: _scrubbed(v, references, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, references, pattern) for v in value]
    if isinstance(value, str) and (
        value in references or (pattern is not None and pattern.search(value))
    ):
        return ERASED
    return value


def scrub(
    *,
    session: Session,
    public_ids: Sequence[str],
    references: Collection[str],
    values: Collection[str],
    dry_run: bool = False,
) -> int:
    """Take an erased person's values out of the audit trail, keeping the entries (who did what,
    when): in the entries concerning their identities and in any entry naming one of their
    records (``references``: ``SOURCE:EXTERNAL_ID``), every such reference, and every text
    holding one of ``values`` (names, e-mails, phones), becomes "erased"; so does the reason of
    a reveal of theirs that holds one. Returns the entries changed (that would change, in a dry
    run)."""
    pattern = _matcher(values)
    entries = {e.id: e for e in list_for_identity_ids(session=session, public_ids=public_ids)}
    for chunk in chunks(sorted(set(references)), 200):
        naming = [
            cast(column, Text).contains(reference, autoescape=True)
            for reference in chunk
            for column in (AuditEntry.before, AuditEntry.after)
        ]
        entries.update((e.id, e) for e in session.scalars(select(AuditEntry).where(or_(*naming))))
    changed = 0
    for read in list_reads(session=session, limit=None, identities=public_ids):
        if pattern is not None and pattern.search(read.reason or ""):
            changed += 1
            if not dry_run:
                read.reason = ERASED
    for entry in entries.values():
        before = _scrubbed(entry.before, references, pattern)
        after = _scrubbed(entry.after, references, pattern)
        reason = ERASED if pattern is not None and pattern.search(entry.reason or "") else None
        if before == entry.before and after == entry.after and reason is None:
            continue
        changed += 1
        if not dry_run:
            entry.before, entry.after = before, after
            if reason is not None:
                entry.reason = reason
    return changed
