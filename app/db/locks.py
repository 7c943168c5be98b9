"""Locks on the store: what a change to identities holds while it runs (the parts of the store
it touches, or all of it), and claims on a piece of work (a source's sync, one task) that die
with the process holding them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import URL, BigInteger, Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db.base import Base

log = logging.getLogger(__name__)
T = TypeVar("T")

# A fixed advisory lock id: "Huel" in ASCII. Nothing else on the database should take it.
_IDENTITY_LOCK_ID = 0x4875656C
_STATE = "resolution locks"  # session.info: what the current transaction holds
_PLAN = "resolution lock plan"  # session.info: what the next attempt takes from the start
_GLOBAL = {
    "shared": text("SELECT pg_advisory_xact_lock_shared(:lock)"),
    "exclusive": text("SELECT pg_advisory_xact_lock(:lock)"),
}
# Lock names are hashed onto this many stripes for each kind of name (see ``_stripe``), rows of
# ``lock_stripe``: row locks need no room in PostgreSQL's shared lock table (a page of records
# takes thousands), and the table stays small. Two names on one stripe only wait for each
# other needlessly, rarely.
STRIPES = 1 << 20
# Run on a connection of its own in autocommit: the statement is its transaction, and it need
# not wait for the disk (stripes are rows, not data: one lost in a crash is made again).
_ENSURE = text(
    "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true))"
    " INSERT INTO lock_stripe (stripe) SELECT s FROM unnest(CAST(:stripes AS BIGINT[])) AS s, quick"
    " ORDER BY s ON CONFLICT DO NOTHING"
)
_LOCK = {
    True: text(
        "SELECT stripe FROM lock_stripe WHERE stripe = ANY(CAST(:stripes AS BIGINT[]))"
        " ORDER BY stripe FOR UPDATE"
    ),
    False: text(
        "SELECT stripe FROM lock_stripe WHERE stripe = ANY(CAST(:stripes AS BIGINT[]))"
        " ORDER BY stripe FOR UPDATE SKIP LOCKED"
    ),
}
_EXISTING = text("SELECT stripe FROM lock_stripe WHERE stripe = ANY(CAST(:stripes AS BIGINT[]))")
# A deadlock the database detected and broke (it should not happen: see ``hold``), or a
# serialization failure: the transaction is rolled back and tried again.
_RETRIED_STATES = {"40P01", "40001"}


class LockStripe(Base):
    """One stripe of the resolution locks: a row whose lock stands for the names hashed to it."""

    __tablename__ = "lock_stripe"

    stripe: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class Contended(Exception):
    """What a change reached is held by a change in another transaction: roll back and try
    again, taking ``wanted`` from the start (or everything, when ``everything``). Callers run
    such changes through ``retry_contended``; one that escapes is answered 409."""

    def __init__(self, wanted: Iterable[str] = (), *, everything: bool = False) -> None:
        super().__init__("a related change was being made at the same moment; try again")
        self.wanted = frozenset(wanted)
        self.everything = everything


@dataclass(slots=True)
class _Held:
    transaction: object
    mode: str = ""  # "", "shared" or "exclusive"
    names: set[str] = field(default_factory=set)
    top: int = -1  # the highest stripe held: waiting for one below it could deadlock


@dataclass(frozen=True, slots=True)
class _Plan:
    wanted: frozenset[str] = frozenset()
    everything: bool = False


def _held(session: Session) -> _Held | None:
    """What this transaction holds; None on SQLite, where one transaction writes at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    current = session.get_transaction()
    held: _Held | None = session.info.get(_STATE)
    if held is None or held.transaction is not current:
        held = _Held(current)
        session.info[_STATE] = held
    return held


def hold_identity_lock(session: Session) -> None:
    """Wait until no other transaction is changing identities or what is computed of them
    (golden records, traits), then keep them all until this transaction ends (PostgreSQL;
    SQLite lets one transaction write at a time anyway).

    For work on everything at once (batch resolution, fitting, refreshing every customer,
    erasure) and for people's decisions (merges, splits, undos), which are rare: changes as
    records and events arrive lock only what they touch (``hold``, ``reach``). Taken before any
    row lock, so none of them can deadlock with it.
    """
    held = _held(session)
    if held is None or held.mode == "exclusive":
        return
    if held.mode == "shared":
        # Holding part of the store, waiting for all of it could deadlock with another
        # transaction doing the same: start again, holding everything from the start.
        raise Contended(everything=True)
    session.execute(_GLOBAL["exclusive"], {"lock": _IDENTITY_LOCK_ID})
    held.mode = "exclusive"


def hold(session: Session, names: Iterable[str]) -> None:
    """Wait for the named parts of the store (``record:``, ``identity:``, ``key:``,
    ``subject:`` and what they name), then keep them until this transaction ends.

    Unrelated changes run at the same time; changes that touch a name in common run one after
    the other, the second seeing what the first committed. Every change holds the whole store
    shared first (so that work on everything waits for changes in flight, and they for it),
    then waits for stripes only in increasing order: records and identities before blocking
    keys and identifiers, each in stripe order. A stripe below one it holds is only tried (as
    ``reach`` does): waiting for it could close a circle. So no two changes ever wait for each
    other in a circle; one that cannot have what it needs rolls back and starts again
    (``retry_contended``), holding it from the start.
    """
    held = _held(session)
    if held is None:
        return
    plan: _Plan = session.info.pop(_PLAN, _Plan())
    if plan.everything:
        hold_identity_lock(session)
    if held.mode == "exclusive":
        return
    if not held.mode:
        session.execute(_GLOBAL["shared"], {"lock": _IDENTITY_LOCK_ID})
        held.mode = "shared"
    wanted = (set(names) | plan.wanted) - held.names
    below = {name for name in wanted if _stripe(name) <= held.top}
    if below and not _lock_stripes(session, below, wait=False):
        raise Contended(below)
    if (above := wanted - below) and not _lock_stripes(session, above, wait=True):
        raise Contended(above)
    held.names |= wanted
    held.top = max(held.top, *map(_stripe, wanted)) if wanted else held.top


def reach(session: Session, names: Iterable[str]) -> bool:
    """Take the named parts of the store that this transaction found on its way, without
    waiting; returns whether it took any it did not hold (what it read of them before may be
    stale). Raises Contended when another transaction holds one of them."""
    held = _held(session)
    if held is None or held.mode == "exclusive":
        return False
    wanted = set(names) - held.names
    if not wanted:
        return False
    if not held.mode:
        raise Contended(wanted)  # nothing held: it should have called hold first
    if not _lock_stripes(session, wanted, wait=False):
        raise Contended(wanted)
    held.names |= wanted
    held.top = max(held.top, *map(_stripe, wanted))
    return True


def reach_everything(session: Session) -> None:
    """What this transaction found calls for the whole store (a blocking value crossing its
    cap, records not resolved yet): unless it holds it, start again holding everything."""
    held = _held(session)
    if held is not None and held.mode != "exclusive":
        raise Contended(everything=True)


# Records and identities are locked first, blocking keys and identifiers after: each on
# stripes of its own, so that stripe order is that order too.
_FIRST = ("record:", "identity:")


def _stripe(name: str) -> int:
    return lock_key(name) % STRIPES + (0 if name.startswith(_FIRST) else STRIPES)


def _lock_stripes(session: Session, names: set[str], *, wait: bool) -> bool:
    """Lock the stripes of ``names`` in their order; without ``wait``, take none of those
    another transaction holds. Returns whether every one was taken."""
    stripes = sorted({_stripe(name) for name in names})
    made = _made_stripes(session)
    # Stripes this process has not seen made are made first (one statement, on a connection of
    # its own), so that the lock below finds every row: a new customer brings new names.
    _ensure(session, [s for s in stripes if not made[s >> 3] & (1 << (s & 7))], made)
    taken = set(_lock(session, stripes, wait=wait))
    missing = [s for s in stripes if s not in taken]
    if not missing:
        return True  # the usual case: one statement
    # Without waiting, held by others; or stripes gone since this process saw them made (a
    # store dropped and made again): make the absent ones, then take them.
    existing = set(session.execute(_EXISTING, {"stripes": missing}).scalars())
    _ensure(session, [s for s in missing if s not in existing], made)
    highest = max(taken, default=-1)
    # Waiting only above every stripe taken keeps the order; below, only try.
    taken.update(_lock(session, [s for s in missing if wait and s > highest], wait=True))
    taken.update(_lock(session, [s for s in missing if not (wait and s > highest)], wait=False))
    return len(taken) == len(stripes)


def _lock(session: Session, stripes: list[int], *, wait: bool) -> list[int]:
    if not stripes:
        return []
    return list(session.execute(_LOCK[wait], {"stripes": stripes}).scalars())


# The stripes each database (by URL) is known to hold, one bit a stripe (2 x STRIPES bits: 256
# KiB a database), as this process made or found them: rows are never deleted, so a known one
# needs no statement to make it.
_made: dict[URL, bytearray] = {}


def _made_stripes(session: Session) -> bytearray:
    url = session.get_bind().engine.url
    made = _made.get(url)
    if made is None:
        made = _made[url] = bytearray(2 * STRIPES // 8)
    return made


def _ensure(session: Session, stripes: list[int], made: bytearray) -> None:
    """Make stripe rows, on a connection of their own, committed at once (a row this
    transaction inserted would be invisible to others' locking until it commits), and note
    them made."""
    if not stripes:
        return
    engine = session.get_bind().engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as side:
        side.execute(_ENSURE, {"stripes": stripes})
    for stripe in stripes:
        made[stripe >> 3] |= 1 << (stripe & 7)


def retry_contended(session: Session, work: Callable[[], T], *, attempts: int = 4) -> T:
    """Run ``work`` (which writes through ``session`` and does not commit); when it meets a
    change it must not wait for (``Contended``), roll back and run it again, holding what it
    wanted from the start; the last attempt holds the whole store."""
    plan = _Plan()
    for attempt in range(1, attempts + 1):
        if attempt == attempts:
            plan = _Plan(plan.wanted, everything=True)
        session.info[_PLAN] = plan
        try:
            return work()
        except Contended as contended:
            session.rollback()
            plan = _Plan(plan.wanted | contended.wanted, plan.everything or contended.everything)
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) not in _RETRIED_STATES:
                raise
            log.warning("retrying after %s", type(error.orig).__name__)
            session.rollback()
        finally:
            session.info.pop(_PLAN, None)
    raise AssertionError("unreachable: the last attempt holds the whole store")


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
