"""Event flows: queued event batches written to the timeline, and anonymous visitors stitched
to a customer; each holds only what its events touch, then refreshes those customers."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from app.db import hold
from app.event import intake
from app.event.service import (
    anonymous_key,
    check_own_record,
    identities_of_subjects,
    subject_of,
)
from app.ingest.flows import refresh_subjects
from app.ingest.screen import open_screen, screen_subjects
from app.settings import Settings
from app.source import service as sources
from app.source.models import Source


def record_queued_events(*, session: Session, settings: Settings, events: int) -> int:
    """Write the oldest queued event batches, about ``events`` events, to the timeline in one
    transaction, keep what came of each, and refresh the traits of the customers they name;
    returns how many events were taken (0: nothing was queued).

    Queued batches are taken under row locks other workers skip, so workers write different
    batches at the same time. Only what the events touch is held: their subjects and the
    identities those belong to (see ``app.db.hold``).
    """
    batches = intake.take_batches(session=session, events=events)
    if not batches:
        return 0
    screen = open_screen(session=session, settings=settings)
    own = {s.id: s for s in sources.list_sources(session=session)}
    source_ids = {source.name: source.id for source in own.values()}
    loads = [
        intake.load_events(
            session=session,
            settings=settings,
            source=own[batch.source_id],
            items=intake.batch_items(batch),
            only_records_of=own[batch.source_id] if batch.only_own else None,
            suppressed=lambda subjects: screen_subjects(screen, subjects),
            source_ids=source_ids,
        )
        for batch in batches
    ]
    subjects = {subject for loaded in loads for _, _, subject in loaded.events}
    hold(
        session,
        [
            *(f"identity:{i}" for i in identities_of_subjects(session=session, subjects=subjects)),
            *(name for loaded in loads for name in loaded.lock_names()),
        ],
    )
    changed: set[str] = set()
    for queued, loaded in zip(batches, loads, strict=True):
        report = intake.store_events(session=session, loaded=loaded)
        intake.finish_batch(queued, report)
        changed |= report.subjects
    refresh_subjects(session=session, settings=settings, subjects=changed)
    return sum(batch.queued for batch in batches)


def identify(
    *,
    session: Session,
    settings: Settings,
    anonymous_id: str,
    reference: Mapping[str, str],
    source: Source,
    only_records_of: Source | None = None,
) -> None:
    """Stitch a source's anonymous visitor to an identifier: their events join that
    customer's. ``only_records_of``: the only source whose records the reference may name.
    Nothing is answered: a connector learns no identity, nor whether the identifier was erased
    (then nothing is linked)."""
    check_own_record(reference, only_records_of)
    screen = open_screen(session=session, settings=settings)
    subject = subject_of(session=session, settings=settings, reference=reference)
    if screen_subjects(screen, [subject]):
        return
    visitor = anonymous_key(source.id, anonymous_id)
    linked = intake.linked_subject(session=session, anonymous_id=visitor)
    # Stitching moves the visitor's events from whoever they were linked to, to the customer
    # the identifier names: both are held, not the whole store.
    involved = {subject, f"anonymous:{visitor}", *([linked] if linked else [])}
    hold(
        session,
        [
            *(f"identity:{i}" for i in identities_of_subjects(session=session, subjects=involved)),
            *(f"subject:{s}" for s in involved),
        ],
    )
    before = intake.link_anonymous(
        session=session, anonymous_id=visitor, subject=subject, source_id=source.id
    )
    affected = [subject] + ([before] if before else [])
    refresh_subjects(session=session, settings=settings, subjects=affected)
