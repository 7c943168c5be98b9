"""Connected department systems and the customer records each one holds."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

if TYPE_CHECKING:
    from app.identity.models import Identity


class Source(Base):
    """One connected department system: its kind, settings and survivorship priority."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Extra attributes this source declares, with their type: {"loyalty_id": "identifier"}.
    attribute_types: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Lower wins when survivorship rules rank sources.
    priority: Mapped[int] = mapped_column(default=100)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How often the scheduler syncs it ("15m", or a cron expression); None: when asked only.
    schedule: Mapped[str | None] = mapped_column(String(100))
    # When the scheduler queues its next sync (later than the schedule says while it fails).
    next_sync_at: Mapped[datetime | None] = mapped_column(index=True)
    # Syncs that failed in a row: the scheduler backs off further after each.
    consecutive_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    # A paused source is neither synced (by hand or on schedule) nor pushed to.
    paused: Mapped[bool] = mapped_column(default=False, server_default=sa_false())


class SourceRecord(Base):
    """One customer as one source holds it; deleted at the source means a tombstone, not a gap."""

    __tablename__ = "source_record"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_source_record_source_external"),
        Index("ix_source_record_identity_live", "identity_id", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Attributes whose value cannot be compared (kept as written), each with why.
    problems: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    content_hash: Mapped[str] = mapped_column(String(64))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the source itself last changed the record, as far as it tells.
    source_updated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    source: Mapped[Source] = relationship(lazy="joined", innerjoin=True)
    identity: Mapped[Identity | None] = relationship(back_populates="records")

    @property
    def is_live(self) -> bool:
        """Whether the source still holds the record."""
        return self.deleted_at is None
