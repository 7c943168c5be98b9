"""The footprint: interactions (orders, tickets, e-mail opens, page views, ...) of customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Event(Base):
    """One interaction, tied to the source record of the customer who made it."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_event_source_external"),
        Index("ix_event_record_time", "record_id", "occurred_at"),
        Index("ix_event_source_customer", "source_id", "customer_external_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE")
    )
    # The source's id of the customer, kept so an event that arrives before its customer's
    # record is linked when the record lands.
    customer_external_id: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(50))
    occurred_at: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
