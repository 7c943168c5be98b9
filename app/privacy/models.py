"""What customers allowed: consent per purpose, as each department records it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Consent(Base):
    """A department's record of whether a customer allows a purpose (e.g. email_marketing)."""

    __tablename__ = "consent"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(50), primary_key=True)
    granted: Mapped[bool]
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
