"""Sync history and the cursors that let each stream resume where it stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JsonType, utcnow

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "interrupted", "cancelled")
ACTIVE_STATUSES = ("queued", "running")


class SyncRun(Base):
    """One sync of one source: when, how it ended, what it changed."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_source_started", "source_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    full: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # When the run last committed a page (the scheduler tells a dead run from a slow one).
    progress_at: Mapped[datetime | None]
    # Someone asked to stop the run: it stops after the page it is storing.
    cancel_requested_at: Mapped[datetime | None]

    @property
    def duration_seconds(self) -> float | None:
        """How long the run took, None while it runs."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def elapsed_seconds(self) -> float:
        """How long the run has been going (how long it took, once finished)."""
        end = self.finished_at or (utcnow() if self.status == "running" else self.started_at)
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def records_per_second(self) -> float | None:
        """Records read a second, from its start to its end or to now; None before it runs."""
        if self.status == "queued" or not self.elapsed_seconds:
            return None
        return float(self.counts.get("records", 0)) / self.elapsed_seconds


class StreamState(Base):
    """The state after the last page of a stream that was committed."""

    __tablename__ = "stream_state"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordReject(Base):
    """Input a source sent that could not be ingested, with where it was and why."""

    __tablename__ = "record_reject"
    __table_args__ = (Index("ix_record_reject_source", "source_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    stream: Mapped[str] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JsonType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


JOB_STATUSES = ("queued", "running", "succeeded", "failed")


class Job(Base):
    """Work an API request handed to the workers (an erasure, a source's removal), kept so the
    caller can follow it: its status, and what came of it. Nothing personal: a customer's id
    or a source's name names the subject, and the outcome holds counts."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
