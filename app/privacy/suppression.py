"""The suppression list: keyed digests of erased people's identifiers, which ingest checks first.

An identifier is a (kind, value) pair: ``("record", "sales:1017")`` (a source's name and its id
for the record), ``("email", "ana@example.com")`` or ``("phone", "+34600111222")``, normalized as
the matcher normalizes them. Its digest is HMAC-SHA256 under a key that lives outside the
database (see config/privacy.toml), so the list holds no personal data and cannot be reversed by
hashing guesses without the key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.db import ArrayText, Reused, bulk_insert, chunks, read_rows, utcnow
from app.errors import ConfigError, InvalidInput, NotFound
from app.privacy.models import SUPPRESSED_KINDS, Suppression

Identifier = tuple[str, str]
"""(kind, value): ``record`` and ``SOURCE:EXTERNAL_ID``, ``email`` or ``phone`` and the
normalized value."""


def digest(key: bytes, identifier: Identifier) -> str:
    """The keyed digest of an identifier (64 hexadecimal characters).

    >>> digest(b"k" * 32, ("email", "ana@example.com"))[:16]
    'a8ff736fb272ac11'
    """
    kind, value = identifier
    if kind not in SUPPRESSED_KINDS:
        raise ValueError(f"unknown kind of identifier {kind!r}")
    keyed = _keyed(key).copy()
    keyed.update(f"{kind}:{value}".encode())
    return keyed.hexdigest()


@functools.lru_cache(maxsize=4)
def _keyed(key: bytes) -> hmac.HMAC:
    """The HMAC with its key set up once: a sync page digests thousands of identifiers, and
    copying a keyed HMAC takes half the time of keying a new one each time."""
    return hmac.new(key, digestmod=hashlib.sha256)


def key_id(key: bytes) -> str:
    """A fingerprint of the key, kept beside each digest: it tells keys apart, never the key."""
    return hmac.new(key, b"huella.suppression.key", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Checker:
    """The list as one transaction checks it: whether it holds anything, and with which key."""

    key: bytes | None
    active: bool

    def digests(self, identifiers: Iterable[Identifier]) -> dict[str, Identifier]:
        """Digest -> identifier, for identifiers to look up (none when the list is empty)."""
        if not self.active or self.key is None:
            return {}
        key = self.key
        return {digest(key, identifier): identifier for identifier in identifiers}


_PROBE = Reused(
    lambda _dialect: select(
        select(Suppression.digest).limit(1).scalar_subquery(),
        select(Suppression.key_id)
        .where(Suppression.key_id != bindparam("mine"))
        .limit(1)
        .scalar_subquery(),
    )
)


def open_checker(*, session: Session, key: bytes | None, key_env: str) -> Checker:
    """A checker for this transaction. ConfigError when the list holds digests but the key is
    missing or another one: ingest must stop rather than let erased people back in."""
    # One round trip a page: whether the list holds anything, and any digest of another key.
    mine = key_id(key) if key is not None else ""
    any_digest, other_key = session.execute(_PROBE(session), {"mine": mine}).one()
    if any_digest is None:
        return Checker(key, active=False)
    if key is None:
        raise ConfigError(
            f"the suppression list holds erased people but {key_env} is not set: "
            "nothing is ingested until it is set to the key the list was made with"
        )
    if other_key is not None:
        raise ConfigError(
            f"the suppression list was made with another key than {key_env} holds: "
            "nothing is ingested until it holds that key again"
        )
    return Checker(key, active=True)


# Every page of every sync asks this with thousands of digests. On PostgreSQL they are joined
# as a set: ``digest = ANY(array)`` compares each row with the whole array in turn, and took
# seconds a page once the list held ten thousand digests.
_LISTED = Reused(
    lambda dialect: (
        text(
            "SELECT s.digest FROM suppression AS s"
            " JOIN unnest(CAST(:digests AS VARCHAR[])) AS asked(digest) ON s.digest = asked.digest"
        ).bindparams(bindparam("digests", type_=ArrayText()))
        if dialect == "postgresql"
        else select(Suppression.digest).where(
            Suppression.digest.in_(bindparam("digests", expanding=True))
        )
    )
)


def suppressed_among(*, session: Session, digests: Collection[str]) -> set[str]:
    """Which of these digests are on the list."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(digests))):
        found.update(
            digest for (digest,) in read_rows(session, _LISTED(session), {"digests": chunk})
        )
    return found


def add(
    *, session: Session, key: bytes, identifiers: Iterable[Identifier], erasure_id: int | None
) -> int:
    """Put identifiers on the list (those already there stay as they are); returns how many
    were new."""
    wanted = {digest(key, identifier): identifier[0] for identifier in identifiers}
    known = suppressed_among(session=session, digests=list(wanted))
    now, fingerprint = utcnow(), key_id(key)
    rows = [
        {
            "digest": value,
            "kind": kind,
            "key_id": fingerprint,
            "erasure_id": erasure_id,
            "created_at": now,
        }
        for value, kind in sorted(wanted.items())
        if value not in known
    ]
    bulk_insert(session, Suppression.__table__, rows)
    return len(rows)


def get(*, session: Session, value: str) -> Suppression:
    """One entry by its digest, or NotFound."""
    entry = session.get(Suppression, value)
    if entry is None:
        raise NotFound(f"no suppression {value!r}: nothing to lift")
    return entry


LIFT = "lift_suppression"


def lift(*, session: Session, value: str, actor: str, reason: str) -> Suppression:
    """Take a digest off the list (the person consented again), audited under the identity
    whose erasure added it; NotFound when it is not on the list."""
    if not reason.strip():
        raise InvalidInput("say why", {"reason": ["lifting a suppression needs a reason"]})
    entry = get(session=session, value=value)
    erasure = session.get(AuditEntry, entry.erasure_id) if entry.erasure_id else None
    audit.record(
        session=session,
        action=LIFT,
        identities=[s.identity_public_id for s in erasure.subjects] if erasure else [],
        actor=actor,
        reason=reason,
        after={"digest": value, "kind": entry.kind},
    )
    session.execute(delete(Suppression).where(Suppression.digest == value))
    return entry


def is_digest(text: str) -> bool:
    """Whether a text is written as a digest (64 hexadecimal characters)."""
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def count_by_kind(*, session: Session) -> dict[str, int]:
    """How many digests the list holds, per kind."""
    rows = session.execute(
        select(Suppression.kind, func.count()).group_by(Suppression.kind).order_by(Suppression.kind)
    )
    return {str(kind): int(count) for kind, count in rows}
