"""What resolution keeps between runs: blocking keys to find candidates, and scored edges."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class BlockingKey(Base):
    """A key a live record generates; records sharing a key are compared."""

    __tablename__ = "blocking_key"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class MatchEdge(Base):
    """Scored evidence between two records (``left_id < right_id``), with its explanation."""

    __tablename__ = "match_edge"

    left_id: Mapped[int] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE"), primary_key=True
    )
    right_id: Mapped[int] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    weight: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    contributions: Mapped[list[Any]] = mapped_column(default=list)
