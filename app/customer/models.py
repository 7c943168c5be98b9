"""What the customer view keeps per identity, recomputed whenever the identity changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import WITHOUT_ROWID, Base, utcnow


class GoldenRecord(Base):
    """An identity's golden record, stored ready to serve: a profile read is one indexed query.

    ``summary`` is what the profile shows (golden values, records per department). The verbose
    view (every value with its provenance) is computed from the records when asked for.
    """

    __tablename__ = "golden_record"

    # An identity's id; no foreign key (see "Derived tables" in app/db/base.py).
    identity_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    summary: Mapped[dict[str, Any]]
    # Folded full names, one a line, for scoring name searches without parsing documents.
    search_names: Mapped[str] = mapped_column(Text, default="")
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerTraits(Base):
    """An identity's traits (first/last seen, orders, tickets, e-mail, affinities) as of a time."""

    __tablename__ = "customer_traits"

    # An identity's id; no foreign key (see "Derived tables" in app/db/base.py).
    identity_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    traits: Mapped[dict[str, Any]]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchToken(Base):
    """A search key an identity answers to: ``n:`` name token, ``p:`` its phonetic code,
    ``c:`` city, ``z:`` postcode, ``b:`` birth date. Narrows a fuzzy search to a few candidates."""

    __tablename__ = "search_token"
    __table_args__ = (WITHOUT_ROWID,)

    token: Mapped[str] = mapped_column(String(100), primary_key=True)
    # An identity's id; no foreign key (see "Derived tables" in app/db/base.py).
    identity_id: Mapped[int] = mapped_column(primary_key=True, index=True)
