"""What resolution keeps between runs: normalized values and blocking keys to find and score
candidates, scored edges, and trained models (review items and the decisions people made
are the review domain's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import WITHOUT_ROWID, Base, utcnow


class BlockingKey(Base):
    """A key a live record generates; records sharing a key are compared."""

    __tablename__ = "blocking_key"
    # Holders are read by key: with the record id in the index, without visiting the table.
    __table_args__ = (
        Index("ix_blocking_key_key_record_id", "key", "record_id"),
        WITHOUT_ROWID,
    )

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


REVIEW_KINDS = ("possible_match", "conflict", "generic_value")


class ModelVersion(Base):
    """A trained match model; the newest active one scores every pair."""

    __tablename__ = "model_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)
    model: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
