"""The identity lock: changes to identities run one at a time."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# A fixed advisory lock id: "Huel" in ASCII. Nothing else on the database should take it.
_IDENTITY_LOCK_ID = 0x4875656C
_HELD_IN = "identity lock held in"  # session.info: the transaction that took it
_TAKE_IDENTITY_LOCK = text("SELECT pg_advisory_xact_lock(:lock)")


def hold_identity_lock(session: Session) -> None:
    """Wait until no other transaction is changing identities or what is computed of them
    (golden records, traits), then keep that right until this transaction ends (PostgreSQL;
    SQLite lets one transaction write at a time anyway).

    Real time compares a record with the records stored before it. Two transactions resolving
    at once would each miss the other's new records: two pushes of one person, at the same
    moment, would stay two identities. Resolution, review decisions, merges, splits, undos,
    event intake and refreshes take this first, before any row lock, so they run one after
    the other in commit order and cannot deadlock among themselves.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    current = session.get_transaction()
    if current is not None and session.info.get(_HELD_IN) is current:
        return  # already held: a page that resolves takes it before writing, then resolves
    session.execute(_TAKE_IDENTITY_LOCK, {"lock": _IDENTITY_LOCK_ID})
    session.info[_HELD_IN] = session.get_transaction()
