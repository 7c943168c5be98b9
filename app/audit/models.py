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


READ_ACTIONS = ("read", "reveal")


class ReadEntry(Base):
    """A read of customers' data by a role whose reads are audited (an agent, by default):
    who, when, which route, and for a reveal of masked values, why. Kept apart from the changes:
    reads are many, and a customer's history of changes stays short to read."""

    __tablename__ = "read_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    # The route's rule (``GET /api/v1/customers/<public_id>``), never its values.
    route: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text, default="")

    subjects: Mapped[list[ReadSubject]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", lazy="selectin"
    )


class ReadSubject(Base):
    """A customer a read showed, so who read a customer is one indexed query."""

    __tablename__ = "read_subject"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("read_entry.id", ondelete="CASCADE"), primary_key=True
    )
    identity_public_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)

    entry: Mapped[ReadEntry] = relationship(back_populates="subjects")
