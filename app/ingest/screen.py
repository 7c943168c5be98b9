"""The suppression check: the first step of every write path (sync pages of every connector,
pushes, imports, events, identify). Whatever carries an erased person's identifier (a record id
of theirs, an e-mail or phone they held) is dropped before anything is stored, not even kept
as a reject, and counted as suppressed.

The check holds the suppression lock (shared) until its transaction ends, so an erasure never
slips between the check and the write (see ``hold_suppression_lock``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import hold_suppression_lock
from app.errors import InvalidInput
from app.event.service import Subject
from app.identity.identifiers import normalize_identifier
from app.matching.lookup import LOOKUP_KINDS
from app.privacy import suppression
from app.privacy.suppression import Checker, Identifier
from app.settings import Settings
from app.source.models import Source
from app.sync.service import without_ids
from connectors import Page

K = TypeVar("K", bound=Hashable)


def record_identifier(source_name: str, external_id: str) -> Identifier:
    """The identifier of one department's record."""
    return ("record", f"{source_name}:{external_id}")


def attribute_identifiers(
    *, settings: Settings, attributes: Mapping[str, Any], declared: Mapping[str, str]
) -> set[Identifier]:
    """The normalized e-mails and phones of a record's attributes, canonical and declared
    (``declared``: its source's extra attribute types)."""
    types = {**settings.match.attributes, **declared}
    found: set[Identifier] = set()
    for name, value in attributes.items():
        kind = types.get(name)
        if kind in LOOKUP_KINDS and value is not None and str(value).strip():
            normalized = normalize_identifier(kind, str(value), settings.match)
            if normalized:
                found.add((kind, normalized))
    return found


def identifier_of(*, settings: Settings, reference: str) -> Identifier:
    """The identifier a ``TYPE:VALUE`` reference names: ``email:...``, ``phone:...`` (read as
    the matcher reads them) or ``SOURCE:EXTERNAL_ID``; InvalidInput when it names none."""
    kind, separator, value = reference.partition(":")
    if not separator or not kind or not value:
        raise InvalidInput(
            "name an identifier", {"reference": ["email:..., phone:... or SOURCE:EXTERNAL_ID"]}
        )
    if kind not in LOOKUP_KINDS:
        return record_identifier(kind, value)
    normalized = normalize_identifier(kind, value, settings.match)
    if normalized is None:
        raise InvalidInput(f"not a valid {kind}", {"reference": [f"not a valid {kind}"]})
    return (kind, normalized)


def subject_identifier(subject: Subject, source_names: Mapping[int, str]) -> Identifier | None:
    """The identifier an event's subject names (None for an anonymous visitor)."""
    kind, _, value = subject.partition(":")
    if kind in LOOKUP_KINDS:
        return (kind, value)
    if kind == "record":
        source_id, _, external_id = value.partition(":")
        name = source_names.get(int(source_id))
        return record_identifier(name, external_id) if name is not None else None
    return None


@dataclass(frozen=True, slots=True)
class Screen:
    """The suppression list as one transaction checks it."""

    session: Session
    settings: Settings
    checker: Checker

    @property
    def active(self) -> bool:
        """Whether the list holds anything (an empty list costs nothing to check)."""
        return self.checker.active

    def blocked(self, items: Mapping[K, Iterable[Identifier]]) -> set[K]:
        """The items (each with its identifiers) that carry a suppressed identifier."""
        if not self.active:
            return set()
        digests = {key: self.checker.digests(identifiers) for key, identifiers in items.items()}
        every = {d for found in digests.values() for d in found}
        listed = suppression.suppressed_among(session=self.session, digests=every)
        return {key for key, found in digests.items() if listed.intersection(found)}

    def source_names(self) -> dict[int, str]:
        """Every source's name by id (record subjects name sources by id)."""
        return {
            int(i): str(name) for i, name in self.session.execute(select(Source.id, Source.name))
        }


def open_screen(*, session: Session, settings: Settings) -> Screen:
    """Take the suppression lock (shared) and read whether the list holds anything."""
    hold_suppression_lock(session)
    privacy = settings.privacy
    checker = suppression.open_checker(
        session=session, key=privacy.suppression_key, key_env=privacy.key_env
    )
    return Screen(session, settings, checker)


def screen_page(screen: Screen, source: Source, page: Page) -> tuple[Page, int]:
    """The page without what the list suppresses (records, their events, rejects holding an
    erased person's values, and their ids in the page's state), and how many items went."""
    if not screen.active:
        return page, 0
    settings, declared = screen.settings, source.attribute_types
    items: dict[tuple[str, int | str], set[Identifier]] = {}
    for index, record in enumerate(page.records):
        items["record", index] = {
            record_identifier(source.name, record.external_id),
            *attribute_identifiers(
                settings=settings, attributes=record.attributes, declared=declared
            ),
        }
    for index, event in enumerate(page.events):
        if event.customer_external_id:
            items["event", index] = {record_identifier(source.name, event.customer_external_id)}
    for index, reject in enumerate(page.rejects):
        if reject.raw is not None:
            items["reject", index] = reject_identifiers(settings, source.name, reject.raw)
    # A cursor may keep the ids of the last records read (an erased person's among them).
    for value in set(_leaves(page.state)):
        items["state", value] = {record_identifier(source.name, value)}
    blocked = screen.blocked(items)
    if not blocked:
        return page, 0
    gone = {
        kind: {key for k, key in blocked if k == kind} for kind in ("record", "event", "reject")
    }
    kept = replace(
        page,
        state=without_ids(page.state, {str(key) for kind, key in blocked if kind == "state"}),
        records=[r for i, r in enumerate(page.records) if i not in gone["record"]],
        events=[e for i, e in enumerate(page.events) if i not in gone["event"]],
        rejects=[r for i, r in enumerate(page.rejects) if i not in gone["reject"]],
    )
    return kept, sum(map(len, gone.values()))


def screen_subjects(screen: Screen, subjects: Iterable[Subject]) -> set[Subject]:
    """The subjects (of events, of an identify call) that name a suppressed identifier."""
    if not screen.active:
        return set()
    names = screen.source_names()
    named = {
        subject: [identifier]
        for subject in set(subjects)
        if (identifier := subject_identifier(subject, names)) is not None
    }
    return screen.blocked(named)


def reject_identifiers(settings: Settings, source_name: str, raw: Any) -> set[Identifier]:
    """Every identifier a reject's content (of this source) could carry: each value read as
    the source's record id, as an e-mail and as a phone. Rejects are few: thorough, not fast."""
    found: set[Identifier] = set()
    for value in _leaves(raw):
        found.add(record_identifier(source_name, value))
        for kind in LOOKUP_KINDS:
            if normalized := normalize_identifier(kind, value, settings.match):
                found.add((kind, normalized))
    return found


def _leaves(raw: Any) -> Iterable[str]:
    if isinstance(raw, Mapping):
        for value in raw.values():
            yield from _leaves(value)
    elif isinstance(raw, list | tuple):
        for value in raw:
            yield from _leaves(value)
    elif raw is not None and str(raw).strip():
        yield str(raw).strip()
