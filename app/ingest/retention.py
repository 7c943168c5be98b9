"""Retention: what accumulates is kept as long as config/privacy.toml says, then deleted, by
``huella retention apply`` or the scheduler's daily ``huella.retention`` task.

Old events go with a recount of the traits of the customers they named (orders, tickets and
affinities are computed from events); old rejects, reads of the audit and finished jobs simply
go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.customer import service as customers
from app.db import hold_identity_lock, utcnow
from app.event import service as events
from app.settings import Settings
from app.settings.privacy import RETAINED
from app.sync import service as sync


@dataclass(slots=True)
class Retention:
    """What retention deleted (or, in a dry run, would delete), and from before when."""

    events: int = 0
    rejects: int = 0
    reads: int = 0
    jobs: int = 0
    customers: int = 0
    """Customers whose traits were recounted without their deleted events."""
    before: dict[str, str | None] = field(default_factory=dict)
    """Per kind, the cutoff (None: kept for ever)."""
    dry_run: bool = False


def apply_retention(
    *, session: Session, settings: Settings, now: datetime | None = None, dry_run: bool = False
) -> Retention:
    """Delete the events, rejects, reads and finished jobs older than their configured retention."""
    moment = now or utcnow()
    days = settings.privacy.retention_days
    cutoffs = {
        kind: moment - timedelta(days=days[kind]) if days.get(kind) else None for kind in RETAINED
    }
    report = Retention(
        before={kind: c.isoformat() if c else None for kind, c in cutoffs.items()},
        dry_run=dry_run,
    )
    if (cutoff := cutoffs["events"]) is not None:
        if dry_run:  # counting changes nothing: no lock, no reading of whom the events named
            report.events = events.delete_before(session=session, cutoff=cutoff, dry_run=True)
        else:
            hold_identity_lock(session)  # traits change
            records, subjects = events.named_before(session=session, cutoff=cutoff)
            report.events = events.delete_before(session=session, cutoff=cutoff)
            if report.events:
                refreshed = customers.refresh_after_events(
                    session=session, settings=settings, record_ids=records, subjects=subjects
                )
                report.customers = len(refreshed)
    if (cutoff := cutoffs["rejects"]) is not None:
        report.rejects = sync.delete_rejects_before(session=session, cutoff=cutoff, dry_run=dry_run)
    if (cutoff := cutoffs["reads"]) is not None:
        report.reads = audit.delete_reads_before(session=session, cutoff=cutoff, dry_run=dry_run)
    if (cutoff := cutoffs["jobs"]) is not None:
        report.jobs = sync.delete_jobs_before(session=session, cutoff=cutoff, dry_run=dry_run)
    return report
