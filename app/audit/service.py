"""Recording and reading the audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry, AuditSubject
from app.db import bulk_insert, bulk_insert_ids, utcnow
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
    bulk_insert(session, AuditSubject.__table__, subjects)  # type: ignore[arg-type]


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
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if identities is not None:
        concerning = select(AuditSubject.entry_id).where(
            AuditSubject.identity_public_id.in_(list(identities))
        )
        query = query.where(AuditEntry.id.in_(concerning))
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(session.scalars(query))
