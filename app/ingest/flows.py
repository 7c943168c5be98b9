"""Flows: every write path that crosses domains, each in one visible order.

A page of records (a connector's, a push, an import) runs: suppression check → upsert records →
consents → events → resolve → refresh customers → audit → review queue. Events pushed over the
API and anonymous stitching run: suppression check → events → refresh customers
(:mod:`app.ingest.event_flows`). Erasure, the other way round, is :mod:`app.ingest.erasure`.
Views, CLI commands and jobs call these; domain services never call each other upward, and
none of them commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.customer import service as customers
from app.db import bulk_load, chunks, hold, hold_identity_lock, reach, refresh_statistics
from app.event import intake
from app.event.models import Event
from app.event.service import (
    identities_of_subjects,
    record_subject,
)
from app.identity.service import identity_ids_of, public_ids_of
from app.ingest.screen import open_screen, screen_page
from app.matching import Matcher
from app.matching.pipeline import Pipeline
from app.matching.types import RecordId
from app.privacy import service as privacy
from app.privacy.models import Consent
from app.progress import QUIET, Progress
from app.resolution import batch, realtime
from app.resolution import service as resolution
from app.resolution.service import RESOLVED_TABLES as RESOLUTION_TABLES
from app.resolution.service import ResolutionReport
from app.review import queue
from app.settings import Settings
from app.source import push
from app.source import service as sources
from app.source.models import Source, SourceRecord
from app.sync import service as sync
from app.sync.models import RecordReject
from connectors import Page, Reject

# What ingesting a page writes to, and what resolving writes to (the customer view included);
# bulk writers refresh their statistics afterwards.
INGESTED_TABLES = (
    SourceRecord.__table__,
    Event.__table__,
    Consent.__table__,
    RecordReject.__table__,
)
RESOLVED_TABLES = RESOLUTION_TABLES + customers.VIEW_TABLES
DETACHED = "record deleted at its source"


@dataclass(slots=True)
class IngestReport:
    """Totals of an ingest, kept up to date page by page."""

    pages: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    suppressed: int = 0
    """Records, events and rejects dropped because they carry an erased person's identifier."""
    rejects: list[Reject] = field(default_factory=list)
    problems: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Values kept as written but not comparable, by (attribute, why): data-quality warnings."""
    events: int = 0
    identities_created: int = 0
    merges: int = 0
    splits: int = 0
    fitted: resolution.Fit | None = None
    """The model fitted to the store when this ingest made it outgrow the last one."""
    newest: int = 0
    """The highest id of a record this ingest created (0: it created none)."""

    @property
    def records(self) -> int:
        """Records read, good or bad (suppressed ones too)."""
        return (
            self.created
            + self.updated
            + self.deleted
            + self.unchanged
            + len(self.rejects)
            + self.suppressed
        )

    def add(self, other: IngestReport) -> None:
        """Fold another report (a page's) into this one."""
        for counter in fields(self):
            # Every count adds up; ``newest`` is an id (its max follows, as the lists and the fit).
            if counter.type == "int" and counter.name != "newest":
                name = counter.name
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejects.extend(other.rejects)
        self.problems.update(other.problems)
        self.fitted = other.fitted or self.fitted
        self.newest = max(self.newest, other.newest)

    def counts(self) -> dict[str, int]:
        """Counts for reports and API responses."""
        return {
            "pages": self.pages,
            "records": self.records,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "rejected": len(self.rejects),
            "suppressed": self.suppressed,
            "warnings": sum(self.problems.values()),
            "events": self.events,
            "identities_created": self.identities_created,
            "merges": self.merges,
            "splits": self.splits,
        }


# -- records ---------------------------------------------------------------------------------


def ingest_page(
    *,
    session: Session,
    settings: Settings,
    source: Source,
    page: Page,
    matcher: Matcher | None,
    report: IngestReport,
    stream: str = "records",
    run_id: int | None = None,
    pipeline: Pipeline | None = None,
) -> Page:
    """Store one page and resolve what changed (unless ``matcher`` is None: resolve later).

    Values that cannot be compared are flagged by the matcher's pipeline (``pipeline`` when
    there is no matcher). What carries an erased person's identifier is dropped first. Adds the
    outcome to ``report``; returns the page as stored, whose state is the one to keep (without
    an erased person's ids).
    """
    page, suppressed = screen_page(open_screen(session=session, settings=settings), source, page)
    report.suppressed += suppressed
    pipeline = matcher.pipeline if matcher is not None else pipeline
    if matcher is not None or page.events:
        # Resolving and refreshing traits change what identities hold: the page holds its
        # records and their identities before its first row lock (resolution then holds the
        # blocking keys and identifiers it touches, and reaches further identities).
        hold(session, page_locks(session, source, page))
    upserted = sources.upsert_records(
        session=session,
        source=source,
        records=page.records,
        check=None if pipeline is None else pipeline.problems,
    )
    report.problems.update(upserted.problems)
    if upserted.created:
        intake.link_waiting_events(session, source, [r.external_id for r in upserted.created])
    consents = {r.external_id: r for r in page.records if r.consents}
    if consents:
        privacy.upsert_consents(
            session=session,
            choices=(
                (r.id, consents[r.external_id].consents, r.source_updated_at)
                for r in upserted.created + upserted.updated
                if r.external_id in consents
            ),
        )
    report.events += intake.upsert_source_events(session, source, page.events)
    sync.keep_rejects(session, source, page.rejects, stream, run_id)
    report.pages += 1
    report.created += len(upserted.created)
    report.newest = max([report.newest, *(r.id for r in upserted.created)])
    report.updated += len(upserted.updated)
    report.deleted += len(upserted.deleted)
    report.unchanged += upserted.unchanged
    report.rejects.extend(page.rejects)
    if matcher is not None:
        resolved = resolve_records(
            session=session, settings=settings, matcher=matcher, record_ids=upserted.changed_ids
        )
        report.identities_created += resolved.created
        report.merges += resolved.merged
        report.splits += resolved.split
    if page.events:
        # The footprint changed: orders, tickets and e-mail engagement feed the traits.
        subjects = {
            record_subject(source.id, e.customer_external_id)
            for e in page.events
            if e.customer_external_id
        }
        refresh_subjects(session=session, settings=settings, subjects=subjects)
    return page


def page_locks(session: Session, source: Source, page: Page) -> list[str]:
    """What a page holds before it writes: its records (two pages bringing one record wait for
    each other), and the identities that its records and the customers its events name
    belong to now."""
    records = [r.external_id for r in page.records]
    customers_named = [e.customer_external_id for e in page.events if e.customer_external_id]
    held = sources.identities_of(
        session=session, source=source, external_ids=records + customers_named
    )
    return [f"record:{source.id}:{external_id}" for external_id in records] + [
        f"identity:{identity}" for identity in held.values() if identity is not None
    ]


def refresh_subjects(*, session: Session, settings: Settings, subjects: Iterable[str]) -> None:
    """Refresh the traits of the identities these subjects name now, after taking those
    identities (a change found them on its way: see ``app.db.reach``); one lookup for both."""
    session.flush()
    identity_ids = identities_of_subjects(session=session, subjects=subjects)
    reach(session, (f"identity:{i}" for i in identity_ids))
    customers.refresh_traits(session=session, settings=settings, identity_ids=identity_ids)


def push_records(
    *,
    session: Session,
    settings: Settings,
    source: Source,
    items: Sequence[Mapping[str, Any]],
    matcher: Matcher,
    batch_max: int,
    fit: bool = True,
) -> IngestReport:
    """Ingest records a department pushed; invalid ones are rejected, the rest are kept (a
    record holding a value over the settings' ``max_value_length`` characters is rejected).
    When the store has outgrown its model, it is fitted here, unless ``fit`` is False (the
    caller hands that to a worker: see ``app.ingest.worker.fit_later``)."""
    page = push.parse_push(
        source=source,
        items=items,
        batch_max=batch_max,
        max_value_length=settings.max_value_length,
    )
    report = IngestReport()
    ingest_page(
        session=session,
        settings=settings,
        source=source,
        page=page,
        matcher=matcher,
        report=report,
    )
    if fit:
        fit_after(session=session, settings=settings, matcher=matcher, report=report, newest=True)
    return report


def fit_after(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    report: IngestReport,
    newest: bool = False,
) -> None:
    """After an ingest: fit the model when the store has outgrown it (see ``fit_when_due``),
    and add what re-resolving with it changed to the report. ``newest``: judge by the newest
    record the ingest created (see ``resolution.fit_due``), not by the store's."""
    refit = fit_when_due(
        session=session,
        settings=settings,
        matcher=matcher,
        newest=report.newest if newest else None,
    )
    if refit is None:
        return
    report.fitted, resolved = refit
    report.identities_created += resolved.created
    report.merges += resolved.merged
    report.splits += resolved.split


# -- resolution ------------------------------------------------------------------------------


def settle(
    *,
    session: Session,
    settings: Settings,
    report: ResolutionReport,
    actor: str,
    audited: bool = True,
    progress: Progress = QUIET,
) -> None:
    """What a resolution calls for next, in order: refresh the customers whose identities
    changed, record the audit entries (unless the caller records its own: ``audited``
    False), and bring the review queue up to date."""
    changes = report.changes
    customers.refresh_identities(
        session=session,
        settings=settings,
        identity_ids=changes.refresh,
        fresh=changes.fresh,
        known=changes.known,
        progress=progress,
    )
    # Written after refreshing (which reads first, and would wait for them).
    if audited:
        audit.record_many(session=session, actor=actor, entries=changes.audit)
        audit.record_many(session=session, actor=actor, entries=changes.detached, reason=DETACHED)
    report.review_items += queue.update_queue(session=session, findings=report.findings)


def resolve_records(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    record_ids: Sequence[RecordId],
    actor: str = audit.SYSTEM_ACTOR,
) -> ResolutionReport:
    """Real time: resolve these changed records, and settle what that changed."""
    report = realtime.resolve_records(session=session, matcher=matcher, record_ids=record_ids)
    settle(session=session, settings=settings, report=report, actor=actor)
    return report


def recluster(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    record_ids: Sequence[RecordId],
    actor: str,
) -> ResolutionReport:
    """Re-cluster around these records and their identities (after their constraints changed),
    and settle what that changed."""
    report = realtime.recluster(session=session, matcher=matcher, record_ids=record_ids)
    settle(session=session, settings=settings, report=report, actor=actor)
    return report


def resolve_all(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    actor: str = audit.SYSTEM_ACTOR,
    fit: bool = False,
    progress: Progress = QUIET,
) -> ResolutionReport:
    """Batch: resolve every live record from scratch (after fitting the model to them when
    ``fit``), and settle what that changed."""
    with bulk_load(session):
        report = batch.resolve_all(session=session, matcher=matcher, fit=fit, progress=progress)
        settle(session=session, settings=settings, report=report, actor=actor, progress=progress)
    refresh_statistics(session, RESOLVED_TABLES)  # all rewritten
    return report


def fit_when_due(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    actor: str = audit.SYSTEM_ACTOR,
    progress: Progress = QUIET,
    newest: int | None = None,
) -> tuple[resolution.Fit, ResolutionReport] | None:
    """When the store has outgrown its model (a first bulk load, or doubled since), fit a new
    one to it and re-resolve everything with it; None when not due (``newest``: see
    ``resolution.fit_due``)."""
    if not resolution.fit_due(session=session, matcher=matcher, newest=newest):
        return None
    report = resolve_all(
        session=session,
        settings=settings,
        matcher=matcher,
        actor=actor,
        fit=True,
        progress=progress,
    )
    assert report.fitted is not None
    return report.fitted, report


def resolve_pending(
    *,
    session: Session,
    settings: Settings,
    matcher: Matcher,
    actor: str = audit.SYSTEM_ACTOR,
    progress: Progress = QUIET,
) -> ResolutionReport:
    """Resolve what changed since it was last resolved (after syncs with --no-resolve, or
    imports): in batch when that is a large share of the store, else in real time. When the
    store has outgrown its model, it is fitted again first, and everything re-resolved. It
    holds the whole store: what is pending may touch any of it."""
    hold_identity_lock(session)
    refit = fit_when_due(
        session=session, settings=settings, matcher=matcher, actor=actor, progress=progress
    )
    if refit is not None:
        return refit[1]
    pending = batch.pending_records(session=session)
    if batch.goes_batch(session=session, pending=pending):
        return resolve_all(
            session=session, settings=settings, matcher=matcher, actor=actor, progress=progress
        )
    report = ResolutionReport()
    # Pages keep each round's working set small; the outcome does not depend on the order.
    with progress.phase("resolving changed records", total=len(pending)) as bar:
        for chunk in chunks(pending, 1000):
            report.add(
                resolve_records(
                    session=session,
                    settings=settings,
                    matcher=matcher,
                    record_ids=chunk,
                    actor=actor,
                )
            )
            bar.advance(len(chunk))
    return report


@dataclass(frozen=True, slots=True)
class Removal:
    """What removing a department did: how many live records it held, and their re-resolution."""

    records: int
    report: ResolutionReport

    def counts(self) -> dict[str, int]:
        """The re-resolution's counts, ``records`` being the records removed."""
        return {**self.report.counts(), "records": self.records}


def remove_source(
    *, session: Session, settings: Settings, matcher: Matcher, source: Source, actor: str
) -> Removal:
    """Remove a department: its records go (tombstoned, then re-resolved, so every identity
    they were part of is re-clustered and its golden record and traits refreshed without
    them), one audit entry names the identities it touched, then the source and all it held
    (events, runs, cursors, rejects, its tokens) are deleted."""
    hold_identity_lock(session)
    record_ids = sources.live_record_ids(session=session, source=source)
    held = {i for i in identity_ids_of(session, record_ids).values() if i is not None}
    sources.mark_deleted(session=session, record_ids=record_ids)
    report = resolve_records(
        session=session, settings=settings, matcher=matcher, record_ids=record_ids, actor=actor
    )
    audit.record(
        session=session,
        action="remove_source",
        identities=sorted(public_ids_of(session, held).values()),
        actor=actor,
        after={"source": source.name, "kind": source.kind, "records": len(record_ids)},
    )
    sources.delete(session=session, source=source)
    # Its events went with it: the traits of the customers it held follow.
    customers.refresh_traits(session=session, settings=settings, identity_ids=held)
    return Removal(len(record_ids), report)
