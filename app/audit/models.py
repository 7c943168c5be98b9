"""Who did what to which identity, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow


class AuditEntry(Base):
    """One change to identities, automatic or manual."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text, default="")
    # Identity public ids and record references before and after the change.
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when a person undid this change: the entry of the undo.
    undone_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit_entry.id", ondelete="SET NULL")
    )

    subjects: Mapped[list[AuditSubject]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", lazy="selectin"
    )


class AuditSubject(Base):
    """An identity an audit entry concerns, so an identity's story is one indexed query."""

    __tablename__ = "audit_subject"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("audit_entry.id", ondelete="CASCADE"), primary_key=True
    )
    identity_public_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)

    entry: Mapped[AuditEntry] = relationship(back_populates="subjects")
