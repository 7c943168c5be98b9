"""Recording and reading the audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry, AuditSubject

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


def list_for_identity(*, session: Session, public_id: str) -> list[AuditEntry]:
    """Every entry concerning an identity, oldest first."""
    query = (
        select(AuditEntry)
        .join(AuditSubject)
        .where(AuditSubject.identity_public_id == public_id)
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(query))
