"""Erasure: a person removed from every table that holds personal data, and kept out.

One flow, in order: the suppression lock (exclusive: no ingest is between its check and its
write meanwhile) and the identity lock → write out the events still queued for the workers (their
text may name the person) → find the person (their identity, the identities merged
into it, their records, the deleted records that held their e-mails or phones) → remove their
events and anonymous links, consents, review items and decisions, rejects holding their values,
their ids in stream cursors, their values in stored models, resolution's evidence, the customer
view, the records and the identities → scrub their values from earlier audit entries → record
the erasure (who, which identity, when, why, how many records per source; nothing personal) →
add the digests of their identifiers to the suppression list, which every ingest checks first.

A dry run walks the same steps and counts instead of removing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.customer import service as customers
from app.db import hold_identity_lock, hold_suppression_lock
from app.errors import Conflict, InvalidInput, NotFound
from app.event import service as events
from app.identity import service as identities
from app.identity.identifiers import normalize_identifier
from app.identity.models import Identity
from app.ingest import event_flows
from app.ingest.screen import record_identifier, reject_identifiers
from app.ingest.subject import (
    Person,
    identifiers_of,
    person_of_identity,
    subjects_of,
    with_tombstones,
)
from app.matching import Matcher
from app.matching.lookup import LOOKUP_KINDS
from app.matching.types import InputRecord
from app.privacy import service as privacy
from app.privacy import suppression
from app.privacy.suppression import Identifier
from app.resolution import service as resolution
from app.resolution import store
from app.review import service as review
from app.settings import Settings
from app.source import service as sources
from app.source.models import Source
from app.sync import service as sync

# Written names, e-mails and phones: what an audit text or a reason may hold of a person.
_NAMED = ("first_name", "last_name", "full_name")
# External ids shorter than this are too likely to occur in an unrelated text to look for.
_ID_IN_TEXT_MIN = 6
# Queued events written a round while an erasure writes out the queue before it looks.
_EVENTS_A_ROUND = 5000


@dataclass(slots=True)
class Erasure:
    """What an erasure removed (or, in a dry run, would remove), table by table."""

    reference: str
    identity: str | None = None
    merged: list[str] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    """Records per source."""
    tables: dict[str, int] = field(default_factory=dict)
    """Rows per table (for the audit trail: entries whose values were scrubbed)."""
    suppressed: int = 0
    """Digests added to the suppression list."""
    also_held_by: list[str] = field(default_factory=list)
    """Other customers holding an e-mail or phone of the person: their records that carry it
    will be suppressed from now on too."""
    dry_run: bool = False
    status: str = "erased"
    """``erased``, ``would_erase`` (dry run) or ``already_erased``."""
    erased_at: datetime | None = None
    entry_id: int | None = None
    """The audit entry of the erasure."""


def erase(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    reference: str,
    actor: str,
    reason: str,
    dry_run: bool = False,
) -> Erasure:
    """Erase the person a reference names: a customer's id (``cus_...``, a merged-away one
    names its survivor), ``email:...``, ``phone:...`` or ``SOURCE:EXTERNAL_ID``.

    NotFound when nothing names them; Conflict when an e-mail or phone is held by several
    customers (erase each by id); InvalidInput when the reason holds their data. Erasing an
    erased person answers ``already_erased``.
    """
    key = settings.privacy.require_key()
    _require_reason(reason)
    hold_suppression_lock(session, exclusive=True)
    hold_identity_lock(session)
    if not dry_run:
        _write_queued_events(session, settings)
    found = _find(session, settings, reference)
    if isinstance(found, Erasure):
        return found
    person, held, names = _examined(session, settings, found, reason)
    report = Erasure(
        reference=reference,
        identity=person.survivor,
        merged=sorted(p for p in person.identities.values() if p != person.survivor),
        records=dict(sorted(Counter(names[r.source_id].name for r in person.records).items())),
        dry_run=dry_run,
        status="would_erase" if dry_run else "erased",
    )
    report.also_held_by = _also_held_by(session, person, held)
    report.tables = _remove(session, settings, matcher, person, held, names, dry_run)
    known = suppression.suppressed_among(
        session=session, digests=[suppression.digest(key, i) for i in held]
    )
    if dry_run:
        report.suppressed = len(held) - len(known)
        return report
    entry = audit.record(
        session=session,
        action=audit.ERASE,
        identities=sorted(person.identities.values()),
        actor=actor,
        reason=reason,
        after={"records": report.records, "tables": report.tables},
    )
    session.flush()
    report.suppressed = suppression.add(
        session=session, key=key, identifiers=held, erasure_id=entry.id
    )
    entry.after = {**entry.after, "suppressed": report.suppressed}
    report.entry_id, report.erased_at = entry.id, entry.at
    # Identities still holding one of the person's identifiers lost the events it named.
    customers.refresh_after_events(
        session=session, settings=settings, subjects=subjects_of(person, held)
    )
    return report


def check(*, session: Session, settings: Settings, reference: str, reason: str) -> Erasure | None:
    """What a request checks before it hands an erasure to the workers, reading only: None
    when it can go ahead, the answer when the person was erased already. Raises what
    ``erase`` would (no key, no reason or one naming the person, nobody by that reference)."""
    settings.privacy.require_key()
    _require_reason(reason)
    found = _find(session, settings, reference)
    if isinstance(found, Erasure):
        return found
    _examined(session, settings, found, reason)
    return None


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("say why", {"reason": ["an erasure needs a reason"]})


def _examined(
    session: Session, settings: Settings, found: Person, reason: str
) -> tuple[Person, set[Identifier], dict[int, Source]]:
    """The person with their deleted records, their identifiers and the sources, once the
    reason is known not to name them."""
    names = {s.id: s for s in session.scalars(select(Source))}
    person = with_tombstones(session, settings, found, names)
    held = identifiers_of(settings, person, names)
    _refuse_personal(reason, _texts(person, held))
    return person, held, names


def _write_queued_events(session: Session, settings: Settings) -> None:
    """Write out the events still queued for the workers: a queued batch keeps its events'
    text, which may name the person, until it is written. Written now, the person's events are
    erased with the rest. No worker is writing a batch meanwhile: each holds the suppression
    lock (shared) while it writes, and this transaction holds it exclusively."""
    while event_flows.record_queued_events(
        session=session, settings=settings, events=_EVENTS_A_ROUND
    ):
        pass


# -- finding the person ----------------------------------------------------------------------


def _find(session: Session, settings: Settings, reference: str) -> Person | Erasure:
    """The person a reference names, or the answer that they were erased already."""
    kind, separator, value = reference.partition(":")
    if not separator:
        return _by_public_id(session, reference)
    if not kind or not value:
        raise InvalidInput(
            "name whom to erase",
            {"reference": ["a customer id, email:..., phone:... or SOURCE:EXTERNAL_ID"]},
        )
    if kind in LOOKUP_KINDS:
        identifier = (kind, _normalized(kind, value, settings))
        return _by_identifier(session, settings, reference, identifier)
    try:
        record = sources.get_record(session=session, source_name=kind, external_id=value)
    except NotFound:
        return _erased_before(session, settings, reference, record_identifier(kind, value))
    if record.identity_id is not None:
        return person_of_identity(session, record.identity_id)
    person = Person()
    person.add([record])
    return person


def _normalized(kind: str, value: str, settings: Settings) -> str:
    normalized = normalize_identifier(kind, value, settings.match)
    if normalized is None:
        raise InvalidInput(f"not a valid {kind}", {"reference": [f"not a valid {kind}"]})
    return normalized


def _by_public_id(session: Session, public_id: str) -> Person | Erasure:
    identity_id = session.scalar(select(Identity.id).where(Identity.public_id == public_id))
    if identity_id is not None:
        return person_of_identity(session, identity_id)
    entries = audit.erasures(session=session, public_ids=[public_id])
    if not entries:
        raise NotFound(f"no customer {public_id!r}")
    return _already(public_id, entries[0])


def _by_identifier(
    session: Session, settings: Settings, reference: str, identifier: Identifier
) -> Person | Erasure:
    kind, value = identifier
    holders = sorted(events.identities_of_subjects(session=session, subjects=[f"{kind}:{value}"]))
    survivors = sorted({identities.survivor_of(session, i)[1] for i in holders})
    if len(survivors) > 1:
        raise Conflict(
            f"{len(survivors)} customers hold this {kind}: erase each by its id "
            f"({', '.join(survivors)})"
        )
    if holders:
        return person_of_identity(session, holders[0])
    names = {s.id: s for s in session.scalars(select(Source))}
    person = with_tombstones(session, settings, Person(), names, {identifier})
    if person.records:
        return person
    return _erased_before(session, settings, reference, identifier)


def _erased_before(
    session: Session, settings: Settings, reference: str, identifier: Identifier
) -> Erasure:
    """The answer for an identifier nothing holds: erased already when it is suppressed."""
    digest = suppression.digest(settings.privacy.require_key(), identifier)
    try:
        entry = suppression.get(session=session, value=digest)
    except NotFound:
        raise NotFound(f"nothing holds {reference!r}") from None
    erasure = session.get(AuditEntry, entry.erasure_id) if entry.erasure_id else None
    if erasure is None:
        return Erasure(reference=reference, status="already_erased", erased_at=entry.created_at)
    return _already(reference, erasure)


def _already(reference: str, entry: AuditEntry) -> Erasure:
    public_ids = sorted(s.identity_public_id for s in entry.subjects)
    return Erasure(
        reference=reference,
        identity=public_ids[0] if public_ids else None,
        merged=public_ids[1:],
        records=dict(entry.after.get("records") or {}),
        status="already_erased",
        erased_at=entry.at,
        entry_id=entry.id,
    )


def _texts(person: Person, held: set[Identifier]) -> set[str]:
    """The person's values as a text may hold them: names, e-mails and phones as written and
    normalized, longer external ids, record references."""
    found = {value for kind, value in held}
    for record in person.records:
        attributes = record.attributes
        found |= {str(attributes[n]) for n in _NAMED if attributes.get(n)}
        if attributes.get("first_name") and attributes.get("last_name"):
            found.add(f"{attributes['first_name']} {attributes['last_name']}")
        found |= {str(v) for n, v in attributes.items() if n in ("email", "phone") and v}
        if len(record.external_id) >= _ID_IN_TEXT_MIN:
            found.add(record.external_id)
    return {text for text in found if len(text.strip()) >= 3}


def _refuse_personal(reason: str, texts: set[str]) -> None:
    """An erasure's reason stays in the audit trail: it must not name the person."""
    words = sorted(texts, key=len, reverse=True)
    if words and re.search(
        r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)", reason, re.IGNORECASE
    ):
        raise InvalidInput(
            "the reason holds the person's data",
            {
                "reason": [
                    "it stays in the audit trail after the erasure: say why without their "
                    "name, e-mail, phone or ids (e.g. 'request 4711 of 2 March')"
                ]
            },
        )


def _also_held_by(session: Session, person: Person, held: set[Identifier]) -> list[str]:
    contact = [f"{kind}:{value}" for kind, value in sorted(held) if kind in LOOKUP_KINDS]
    others = events.identities_of_subjects(session=session, subjects=contact) - set(
        person.identities
    )
    return sorted(identities.public_ids_of(session, others).values())


# -- removing --------------------------------------------------------------------------------


def _remove(
    session: Session,
    settings: Settings,
    matcher: Matcher,
    person: Person,
    held: set[Identifier],
    names: Mapping[int, Source],
    dry_run: bool,
) -> dict[str, int]:
    """Remove (or count) the person's rows table by table; rows per table."""
    record_ids = [r.id for r in person.records]
    external_ids: dict[int, list[str]] = defaultdict(list)
    for record in person.records:
        external_ids[record.source_id].append(record.external_id)
    subjects = subjects_of(person, held)
    subjects |= events.linked_visitors(session=session, subjects=subjects)
    tables: dict[str, int] = {}
    tables.update(
        events.erase_events(
            session=session,
            record_ids=record_ids,
            subjects=subjects,
            customers=external_ids,
            dry_run=dry_run,
        )
    )
    tables["consent"] = privacy.erase_consents(
        session=session, record_ids=record_ids, dry_run=dry_run
    )
    tables.update(review.erase_for_records(session=session, record_ids=record_ids, dry_run=dry_run))
    tables["record_reject"] = sync.erase_rejects(
        session=session, ids=_rejects_holding(session, settings, held, names), dry_run=dry_run
    )
    tables["stream_state"] = sync.scrub_states(
        session=session, external_ids=external_ids, dry_run=dry_run
    )
    tables["model_version"] = resolution.forget_values(
        session=session,
        matcher=matcher,
        values=_normalized_values(matcher, person, names),
        excluding=record_ids,
        dry_run=dry_run,
    )
    tables.update(store.erase_evidence(session, record_ids, dry_run=dry_run))
    tables.update(
        customers.erase_view(session=session, identity_ids=list(person.identities), dry_run=dry_run)
    )
    tables["source_record"] = sources.erase_records(
        session=session, record_ids=record_ids, dry_run=dry_run
    )
    tables["identity"] = identities.erase_identities(
        session=session, identity_ids=list(person.identities), dry_run=dry_run
    )
    tables["audit_entry"] = audit.scrub(
        session=session,
        public_ids=sorted(person.identities.values()),
        references=[f"{names[r.source_id].name}:{r.external_id}" for r in person.records],
        values=_texts(person, held),
        dry_run=dry_run,
    )
    return dict(sorted(tables.items()))


def _rejects_holding(
    session: Session, settings: Settings, held: set[Identifier], names: Mapping[int, Source]
) -> list[int]:
    """The kept rejects whose content holds one of the person's identifiers."""
    return [
        reject_id
        for reject_id, source_id, raw in sync.iter_rejects(session=session)
        if held & reject_identifiers(settings, names[source_id].name, raw)
    ]


def _normalized_values(
    matcher: Matcher, person: Person, names: Mapping[int, Source]
) -> dict[str, set[str]]:
    """The person's values as the matcher normalized them, per attribute."""
    values: dict[str, set[str]] = defaultdict(set)
    for record in person.records:
        prepared = matcher.prepare(
            InputRecord(record.id, names[record.source_id].name, record.attributes)
        )
        for name, value in prepared.values.items():
            values[name].add(value)
    return dict(values)
