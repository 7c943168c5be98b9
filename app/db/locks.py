"""Locks on the store: the identity lock that orders changes to identities, and claims on a
piece of work (a source's sync, one task) that die with the process holding them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
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


def lock_key(name: str) -> int:
    """The advisory lock id of a name: 64 bits of its digest."""
    digest = hashlib.blake2b(f"huella.{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Claim:
    """The outcome of trying to claim a piece of work: true when this process holds it."""

    def __init__(self, connection: Connection | None, claimed: bool) -> None:
        self._connection = connection
        self._claimed = claimed

    def __bool__(self) -> bool:
        return self._claimed

    def confirm(self) -> None:
        """Check that the claim still holds, for holders that keep one for long: raises when
        the connection holding it was lost (and the claim with it)."""
        if self._connection is not None:
            self._connection.execute(text("SELECT 1"))


@contextmanager
def claim(engine: Engine, name: str) -> Iterator[Claim]:
    """Try to claim ``name`` for the duration of the block; yields whether it was claimed.

    On PostgreSQL a session advisory lock on a connection of its own, outside any transaction:
    it is released when the block ends, and by the server when the process holding it dies
    (even by SIGKILL), so a claim never outlives its holder. SQLite serves one machine, whose
    writes are serialized anyway: every claim succeeds.
    """
    if engine.dialect.name != "postgresql":
        yield Claim(None, True)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        key = lock_key(name)
        claimed = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        try:
            yield Claim(connection, claimed)
        finally:
            if claimed and not connection.closed and not connection.invalidated:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


# "Supp" in ASCII: the suppression list's lock, distinct from the identity lock.
_SUPPRESSION_LOCK_ID = 0x53757070
_SUPPRESSION_HELD_IN = "suppression lock held in"
_TAKE_SUPPRESSION_LOCK = {
    False: text("SELECT pg_advisory_xact_lock_shared(:lock)"),
    True: text("SELECT pg_advisory_xact_lock(:lock)"),
}


def hold_suppression_lock(session: Session, *, exclusive: bool = False) -> None:
    """Keep the suppression list as this transaction read it until the transaction ends
    (PostgreSQL; SQLite writes one transaction at a time anyway).

    Ingest holds it shared from its suppression check to its commit, so that an erasure
    (which holds it exclusively) cannot slip between the check and the write: either the page
    commits first and the erasure then removes what it stored, or the erasure commits first and
    the page's check sees the new digests. Pages do not wait for each other. Taken before the
    identity lock, by ingest and erasure alike, so the two cannot deadlock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    current = session.get_transaction()
    held = session.info.get(_SUPPRESSION_HELD_IN)
    if current is not None and held is not None and held[0] is current and held[1] >= exclusive:
        return
    session.execute(_TAKE_SUPPRESSION_LOCK[exclusive], {"lock": _SUPPRESSION_LOCK_ID})
    session.info[_SUPPRESSION_HELD_IN] = (session.get_transaction(), exclusive)
