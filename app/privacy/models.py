"""What customers allowed (consent per purpose, as each department records it), and what
erasure keeps so that an erased person stays erased (the suppression list)."""

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


SUPPRESSED_KINDS = ("record", "email", "phone")


class Suppression(Base):
    """A keyed digest of an erased person's identifier: a record's ``SOURCE:EXTERNAL_ID``, a
    normalized e-mail or phone. Ingest drops whatever carries one, before storing anything.

    No personal data: the digest is an HMAC whose key is kept outside the database, so without
    the key a digest names nobody and cannot be reversed by trying e-mails.
    """

    __tablename__ = "suppression"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    # A fingerprint of the key that made the digest: a changed key is noticed, not obeyed.
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    # The erasure (its audit entry) that added the digest.
    erasure_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit_entry.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
