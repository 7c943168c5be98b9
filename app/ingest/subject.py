"""One person as Huella holds them, for erasure and subject access: their identity and the
identities merged into it, their records (the deleted ones that held one of their e-mails or
phones too), the identifiers and subjects that name them; and the export of everything held
about them (``GET /api/v1/customers/{id}/export``, ``huella export subject``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry, ReadEntry
from app.customer import profiles
from app.customer import service as customers
from app.customer.records import live_records_where
from app.db import utcnow
from app.event import service as events
from app.event.models import AnonymousLink
from app.event.service import Footprint, Subject, record_subject
from app.identity import service as identities
from app.ingest.screen import attribute_identifiers, record_identifier
from app.matching.lookup import LOOKUP_KINDS
from app.privacy import service as privacy
from app.privacy.consent import Choice, in_force
from app.privacy.suppression import Identifier
from app.settings import Settings
from app.source import service as sources
from app.source.models import Source, SourceRecord


@dataclass(slots=True)
class Person:
    """Everything Huella holds of one person, as erasure and export find it."""

    identities: dict[int, str] = field(default_factory=dict)
    """Id -> public id of their identity and of those merged into it."""
    survivor: str | None = None
    """The public id of their identity (None: only deleted records hold them)."""
    records: list[SourceRecord] = field(default_factory=list)

    def add(self, records: Iterable[SourceRecord]) -> None:
        known = {r.id for r in self.records}
        self.records.extend(r for r in records if r.id not in known)


def person_of_identity(session: Session, identity_id: int) -> Person:
    """The person an identity is (following its redirects): the identity, those merged into
    it, and their records."""
    survivor, public_id = identities.survivor_of(session, identity_id)
    person = Person(identities=identities.with_merged(session, survivor), survivor=public_id)
    person.add(sources.records_of_identities(session=session, identity_ids=list(person.identities)))
    return person


def with_tombstones(
    session: Session,
    settings: Settings,
    person: Person,
    names: Mapping[int, Source],
    identifiers: set[Identifier] | None = None,
) -> Person:
    """The person with the deleted records (tombstones) that held one of their e-mails or
    phones (or of ``identifiers``): a deletion at the source kept the values, and erasure
    and export take them too."""
    wanted = identifiers if identifiers is not None else identifiers_of(settings, person, names)
    contact = {i for i in wanted if i[0] in LOOKUP_KINDS}
    if not contact:
        return person
    person.add(
        tombstone
        for tombstone in sources.iter_tombstones(session=session)
        if contact
        & attribute_identifiers(
            settings=settings,
            attributes=tombstone.attributes,
            declared=names[tombstone.source_id].attribute_types,
        )
    )
    return person


def identifiers_of(
    settings: Settings, person: Person, names: Mapping[int, Source]
) -> set[Identifier]:
    """Every identifier of the person's records: record ids, e-mails, phones."""
    found: set[Identifier] = set()
    for record in person.records:
        source = names[record.source_id]
        found.add(record_identifier(source.name, record.external_id))
        found |= attribute_identifiers(
            settings=settings, attributes=record.attributes, declared=source.attribute_types
        )
    return found


def subjects_of(person: Person, held: set[Identifier]) -> set[Subject]:
    """How events and anonymous links name the person."""
    found = {record_subject(r.source_id, r.external_id) for r in person.records}
    found |= {f"{kind}:{value}" for kind, value in held if kind in LOOKUP_KINDS}
    return found


# -- subject access ----------------------------------------------------------------------------

EXPORT_FORMAT = "huella.subject-export"
EXPORT_VERSION = 1


def export_subject(*, session: Session, settings: Settings, public_id: str) -> dict[str, Any]:
    """Everything Huella holds about the customer an id names (a merged-away id names its
    survivor), as one JSON document: every department's records with their raw values and
    times (deleted ones too), the golden record with provenance, consents, events, anonymous
    visitors linked to them, traits and how they are computed, the history of changes to their
    identity (merges, splits, decisions) and who read their data. NotFound for an unknown id.
    """
    identity_id, _ = profiles.identity_of(session=session, public_id=public_id)
    names = {s.id: s for s in session.scalars(select(Source))}
    person = with_tombstones(session, settings, person_of_identity(session, identity_id), names)
    held = identifiers_of(settings, person, names)
    subjects = subjects_of(person, held)
    visitors = events.visitor_links(session=session, subjects=subjects)
    public_ids = sorted(person.identities.values())
    survivor = person.survivor or public_id
    recorded = privacy.choices_of(session=session, record_ids=[r.id for r in person.records])
    changes = audit.list_for_identity_ids(session=session, public_ids=public_ids)
    reads = audit.list_reads(session=session, limit=None, identities=public_ids)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": utcnow().isoformat(),
        "customer": {
            "id": survivor,
            "merged": [p for p in public_ids if p != survivor],
        },
        "records": [_record(r, names, recorded.get(r.id, [])) for r in person.records],
        "golden": _golden(session, settings, person),
        "consents": in_force(
            (
                Choice(purpose, granted, when, names[r.source_id].name, r.external_id)
                for r in person.records
                if r.is_live
                for purpose, granted, when in recorded.get(r.id, [])
            ),
            settings.privacy.purposes,
        ),
        "events": _events(session, person, subjects, visitors),
        "anonymous_visitors": [
            {
                "source": names[link.source_id].name if link.source_id in names else None,
                "anonymous_id": link.anonymous_id.partition(":")[2],
                "linked_at": link.linked_at.isoformat(),
            }
            for link in visitors
        ],
        "traits": {
            "values": customers.stored_traits(session=session, identity_id=identity_id),
            "computed": _how_traits_are_computed(settings),
        },
        "history": [_change(entry) for entry in changes],
        "reads": [_read(entry) for entry in reversed(reads)],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _record(
    record: SourceRecord,
    names: Mapping[int, Source],
    recorded: Sequence[tuple[str, bool, datetime]],
) -> dict[str, Any]:
    return {
        "source": names[record.source_id].name,
        "external_id": record.external_id,
        "deleted_at": _iso(record.deleted_at),
        "first_seen_at": record.first_seen_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "source_updated_at": _iso(record.source_updated_at),
        "attributes": dict(record.attributes),
        "raw": dict(record.raw),
        "problems": dict(record.problems or {}),
        "consents": [
            {"purpose": purpose, "granted": granted, "observed_at": when.isoformat()}
            for purpose, granted, when in sorted(recorded)
        ],
    }


def _golden(session: Session, settings: Settings, person: Person) -> dict[str, Any]:
    live = [r.id for r in person.records if r.is_live]
    loaded = live_records_where(session, SourceRecord.id.in_(live)) if live else []
    return customers.golden_document(loaded, settings, verbose=True) if loaded else {}


def _events(
    session: Session, person: Person, subjects: set[Subject], visitors: Sequence[AnonymousLink]
) -> list[dict[str, Any]]:
    named = subjects | {f"anonymous:{link.anonymous_id}" for link in visitors}
    footprint = Footprint(records={r.id for r in person.records}, subjects=named)
    found = events.events_of(session=session, prints={0: footprint})
    return [
        {
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "source": e.source,
            "external_id": e.external_id,
            "properties": dict(e.properties),
        }
        for e in sorted(found, key=lambda e: (e.occurred_at, e.source or "", e.external_id or ""))
    ]


def _how_traits_are_computed(settings: Settings) -> dict[str, Any]:
    """The rules the traits follow (config/traits.toml, config/privacy.toml)."""
    traits = settings.customer.traits
    return {
        "orders": {"event_types": sorted(traits.orders)},
        "tickets": {
            "event_types": sorted(traits.tickets),
            "closed_statuses": sorted(traits.closed_ticket_statuses),
        },
        "email": {
            "sent": sorted(traits.email_sends),
            "opened": sorted(traits.email_opens),
            "clicked": sorted(traits.email_clicks),
            "window_days": traits.email_window_days,
        },
        "affinities": {
            "needs_consent": settings.privacy.affinities_purpose,
            "weights": dict(sorted(traits.affinity_weights.items())),
            "half_life_days": traits.half_life_days,
            "saturation": traits.saturation,
            "how": "each event with a category adds its type's weight, halved every "
            "half_life_days since it happened; a category's score is shown as a percent of "
            "saturation",
        },
    }


def _read(entry: ReadEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "route": entry.route,
        "reason": entry.reason,
    }


def _change(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "reason": entry.reason,
        "identities": [s.identity_public_id for s in entry.subjects],
        "before": entry.before,
        "after": entry.after,
    }
