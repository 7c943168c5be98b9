"""What resolution keeps between runs: normalized values and blocking keys to find and score
candidates, scored edges, the decisions people made, review items, and trained models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class BlockingKey(Base):
    """A key a live record generates; records sharing a key are compared."""

    __tablename__ = "blocking_key"
    # Holders are read by key: with the record id in the index, without visiting the table.
    __table_args__ = (Index("ix_blocking_key_key_record_id", "key", "record_id"),)

    # A record's id; no foreign key (see "Derived tables" in app/db/base.py).
    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)


class MatchValues(Base):
    """A live record's normalized values, as the matcher prepared them (scored without
    normalizing again)."""

    __tablename__ = "match_values"

    # A record's id and its source's; no foreign keys (see "Derived tables" in app/db/base.py).
    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # The record's source, next to its values: candidates are read with it, without reaching
    # for their (wide) source_record rows.
    source_id: Mapped[int]
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The record's content hash when it was prepared: a record whose hash moved on is pending.
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class MatchEdge(Base):
    """Scored evidence between two records (``left_id < right_id``), with its explanation."""

    __tablename__ = "match_edge"
    __table_args__ = (
        CheckConstraint("left_id < right_id", name="ordered"),
        Index("ix_match_edge_left_probability", "left_id", "probability"),
        Index("ix_match_edge_right_probability", "right_id", "probability"),
    )

    # Records' ids; no foreign keys (see "Derived tables" in app/db/base.py).
    left_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    right_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    weight: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    contributions: Mapped[list[Any]] = mapped_column(default=list)


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


class ModelVersion(Base):
    """A trained match model; the newest active one scores every pair."""

    __tablename__ = "model_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)
    model: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
