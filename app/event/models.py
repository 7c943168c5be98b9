"""The footprint: interactions (orders, tickets, e-mail opens, page views, ...) of customers.

How events follow their identity through merges and splits: nothing is re-pointed. An event
names its customer in one of two ways, and both are resolved when the timeline is read:

- ``record_id``: the source record of the customer (connector events). The record's identity
  changes on merge and split, and the event follows it for free.
- ``subject``: an identifier, for events pushed over the API (``email:<normalized>``,
  ``phone:<E.164>``, ``record:<source id>:<external id>``) or a source's anonymous visitor
  (``anonymous:<source id>:<id>``: each source's visitors are its own). An identity's events
  are those of its records and of the identifiers its live records hold (the
  ``record_identifier`` lookup table resolution keeps current), plus those of the anonymous
  ids linked to any of them (``anonymous_link``, by identify).

So a merge, a split or an undo moves no event row: the cost is paid at read time by a handful
of indexed, keyset-limited lookups (one per record and per identifier), and an event whose
identifier later belongs to someone else moves with the identifier, as it should.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Event(Base):
    """One interaction, tied to a customer's source record or to an identifier (``subject``)."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_event_source_external"),
        Index("ix_event_record_time", "record_id", "occurred_at"),
        Index("ix_event_source_customer", "source_id", "customer_external_id"),
        Index("ix_event_subject_time", "subject", "occurred_at", "id"),
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
    # Set instead of record_id when the event names its customer by an identifier.
    subject: Mapped[str | None] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(50))
    occurred_at: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnonymousLink(Base):
    """A source's anonymous visitor (cookie or device id) stitched to an identifier by an
    identify call.

    One anonymous id of a source names one person: a later identify with another identifier
    re-links it. Another source's visitor of the same id is another visitor.
    """

    __tablename__ = "anonymous_link"

    # The source's id, a colon, then the visitor's id as the source gave it.
    anonymous_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventBatch(Base):
    """A batch of events a site or department sent, queued until a worker writes it to the
    timeline (``POST /api/v1/events`` answers once it is committed here), then what came of it.

    The events are kept as the JSON text that came in, read only by the worker: queueing does
    not parse them twice. Once written, the text goes and the outcome stays.
    """

    __tablename__ = "event_batch"
    __table_args__ = (Index("ix_event_batch_status", "status", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    # A connector's batch names only its own source's records.
    only_own: Mapped[bool] = mapped_column(default=False)
    items: Mapped[str | None] = mapped_column(Text)
    queued: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
