"""Identities: the people Huella resolved, with stable public ids."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import WITHOUT_ROWID, Base, utcnow

if TYPE_CHECKING:
    from app.source.models import SourceRecord

PUBLIC_ID_PREFIX = "cus_"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower-case: no i, l, o, u


def new_public_id() -> str:
    """A random, URL-safe public id such as ``cus_7k2m9x4q1c8v3b6n`` (80 random bits)."""
    number = int.from_bytes(secrets.token_bytes(10), "big")
    digits = []
    for _ in range(16):
        number, digit = divmod(number, 32)
        digits.append(_ALPHABET[digit])
    return PUBLIC_ID_PREFIX + "".join(digits)


class Identity(Base):
    """One person. A merged-away identity keeps its id and redirects to the survivor."""

    __tablename__ = "identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity.id", ondelete="SET NULL"), index=True
    )

    merged_into: Mapped[Identity | None] = relationship(remote_side=[id])
    records: Mapped[list[SourceRecord]] = relationship(back_populates="identity")


class RecordIdentifier(Base):
    """A normalized e-mail or phone a live record holds: how agents find people."""

    __tablename__ = "record_identifier"

    # A record's id; no foreign key (see "Derived tables" in app/db/base.py).
    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)

    __table_args__ = (Index("ix_record_identifier_lookup", "kind", "value"), WITHOUT_ROWID)
