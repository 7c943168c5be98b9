"""Consent: what each department says a customer allows (the suppression list is
:mod:`app.privacy.suppression`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from app.db import (
    Reused,
    among,
    among_parameter,
    bulk_insert,
    chunks,
    delete_among,
    read_rows,
    utcnow,
)
from app.privacy.models import Consent


def upsert_consents(
    *, session: Session, choices: Iterable[tuple[int, Mapping[str, bool], datetime | None]]
) -> int:
    """Record each (record id, {purpose: granted}, observed at); returns how many changed."""
    wanted = {
        (record_id, purpose): (granted, observed_at or utcnow())
        for record_id, consents, observed_at in choices
        for purpose, granted in consents.items()
    }
    if not wanted:
        return 0
    record_ids = sorted({record_id for record_id, _ in wanted})
    existing = {
        (c.record_id, c.purpose): c
        for c in session.scalars(
            select(Consent).where(among(session, Consent.record_id, record_ids))
        )
    }
    new: list[dict[str, object]] = []
    changed = 0
    for (record_id, purpose), (granted, observed_at) in wanted.items():
        current = existing.get((record_id, purpose))
        if current is None:
            new.append(
                {
                    "record_id": record_id,
                    "purpose": purpose,
                    "granted": granted,
                    "observed_at": observed_at,
                }
            )
        elif current.granted != granted:
            current.granted = granted
            current.observed_at = observed_at
            changed += 1
    # A sync brings consents by the thousand: new ones go in one bulk write.
    bulk_insert(session, Consent.__table__, new)
    return changed + len(new)


def erase_consents(*, session: Session, record_ids: Sequence[int], dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) the consents these records carried."""
    return delete_among(session, Consent, Consent.record_id, record_ids, dry_run=dry_run)


def _choices(dialect: str, *, of_purposes: bool) -> Select[Any]:
    query: Select[Any] = select(  # type: ignore[assignment]
        Consent.record_id, Consent.purpose, Consent.granted, Consent.observed_at
    )
    query = query.where(among_parameter(dialect, Consent.record_id, "ids"))
    if of_purposes:
        query = query.where(Consent.purpose.in_(bindparam("purposes", expanding=True)))
    return query


# Every refresh of a customer reads its records' choices: built once.
_CHOICES = {
    of_purposes: Reused(partial(_choices, of_purposes=of_purposes)) for of_purposes in (False, True)
}


def choices_of(
    *, session: Session, record_ids: Sequence[int], purposes: Sequence[str] | None = None
) -> dict[int, list[tuple[str, bool, datetime]]]:
    """Each record's recorded choices (of these purposes; None: of every one), as (purpose,
    granted, observed at)."""
    found: dict[int, list[tuple[str, bool, datetime]]] = {}
    statement = _CHOICES[purposes is not None](session)
    for chunk in chunks(sorted(set(record_ids))):
        parameters = {"ids": chunk, "purposes": list(purposes or ())}
        for record_id, purpose, granted, observed_at in read_rows(session, statement, parameters):
            found.setdefault(record_id, []).append((purpose, bool(granted), observed_at))
    return found
