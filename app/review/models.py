"""Review: what the matcher is unsure about (review items) and what people decided about pairs
of records (link constraints, which every resolution honours)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

LINK_KINDS = ("must", "cannot")


class LinkConstraint(Base):
    """A decision a person made about two records: they must, or must never, be one identity.
    Every resolution, real time and batch, honours it."""

    __tablename__ = "link_constraint"
    __table_args__ = (
        UniqueConstraint("left_id", "right_id", name="uq_link_constraint_pair"),
        CheckConstraint("left_id < right_id", name="ordered"),
        Index("ix_link_constraint_right", "right_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    left_id: Mapped[int] = mapped_column(ForeignKey("source_record.id", ondelete="CASCADE"))
    right_id: Mapped[int] = mapped_column(ForeignKey("source_record.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


REVIEW_KINDS = ("possible_match", "conflict", "generic_value")


REVIEW_STATUSES = ("open", "decided", "obsolete")


class ReviewItem(Base):
    """Something the matcher is unsure about, for a person to decide."""

    __tablename__ = "review_item"
    __table_args__ = (
        Index("ix_review_item_status_kind", "status", "kind"),
        Index("ix_review_item_pair", "left_record_id", "right_record_id"),
        Index("ix_review_item_queue", "status", "priority", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    left_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE")
    )
    right_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE")
    )
    probability: Mapped[float | None] = mapped_column(Float)
    # Kind-specific facts: the records a conflict split apart, a generic key and its count.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How much a decision matters (higher first); None until the review queue computes it.
    priority: Mapped[float | None] = mapped_column(Float)
    # A claim keeps two admins from deciding the same item; it lapses after a while.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    # The audit entry of the decision: its note, the identities before and after, its undo.
    change_id: Mapped[int | None] = mapped_column(ForeignKey("audit_entry.id", ondelete="SET NULL"))
