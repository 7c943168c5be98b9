"""Ingest: pages of records from a connector (or a push) into the store, resolved as they land."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.matching import Matcher
from app.resolution import service as resolution
from app.source import service as sources
from app.source.models import Source
from app.source.schemas import PushedRecordSchema
from connectors import Page, RecordIn, Reject

_PUSHED = PushedRecordSchema()


@dataclass(slots=True)
class IngestReport:
    """Totals of an ingest, kept up to date page by page."""

    pages: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    identities_created: int = 0
    merges: int = 0
    splits: int = 0

    @property
    def records(self) -> int:
        """Records read, good or bad."""
        return self.created + self.updated + self.deleted + self.unchanged + len(self.rejects)

    def counts(self) -> dict[str, int]:
        """Counts for reports and API responses."""
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "rejected": len(self.rejects),
            "identities_created": self.identities_created,
            "merges": self.merges,
            "splits": self.splits,
        }


def ingest_page(
    *, session: Session, source: Source, page: Page, matcher: Matcher, report: IngestReport
) -> None:
    """Upsert one page's records and resolve what changed, adding the outcome to ``report``."""
    upserted = sources.upsert_records(session=session, source=source, records=page.records)
    resolved = resolution.resolve_records(
        session=session, matcher=matcher, records=upserted.changed
    )
    report.pages += 1
    report.created += len(upserted.created)
    report.updated += len(upserted.updated)
    report.deleted += len(upserted.deleted)
    report.unchanged += upserted.unchanged
    report.rejects.extend(page.rejects)
    report.identities_created += resolved.created
    report.merges += resolved.merged
    report.splits += resolved.split


def run_pages(
    *,
    open_session: Callable[[], Session],
    source_name: str,
    pages: Iterable[Page],
    matcher: Matcher,
    on_page: Callable[[Page, IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest pages one transaction each, so a crash loses nothing that was committed."""
    report = IngestReport()
    for page in pages:
        with open_session() as session, session.begin():
            source = sources.get_by_name(session=session, name=source_name)
            ingest_page(session=session, source=source, page=page, matcher=matcher, report=report)
        if on_page is not None:
            on_page(page, report)
    return report


def _describe(error: ValidationError) -> str:
    messages = error.messages if isinstance(error.messages, dict) else {"record": error.messages}
    return "; ".join(f"{field}: {' '.join(map(str, texts))}" for field, texts in messages.items())


def push_records(
    *,
    session: Session,
    source: Source,
    items: Sequence[Mapping[str, Any]],
    matcher: Matcher,
    batch_max: int,
) -> IngestReport:
    """Ingest records a department pushed; invalid ones are rejected, the rest are kept."""
    if len(items) > batch_max:
        raise InvalidInput(
            f"a push holds at most {batch_max} records", {"records": [f"got {len(items)}"]}
        )
    good, rejects = [], []
    for index, item in enumerate(items):
        try:
            loaded = _PUSHED.load(item)
        except ValidationError as error:
            rejects.append(Reject(str(index), f"invalid record: {_describe(error)}", item))
            continue
        if unknown := sources.unknown_attributes(source, loaded["attributes"]):
            reason = (
                f"unknown attributes {', '.join(unknown)}: map to canonical ones or declare them"
            )
            rejects.append(Reject(str(index), reason, item))
            continue
        good.append(
            RecordIn(
                external_id=loaded["external_id"],
                attributes={k: v for k, v in loaded["attributes"].items() if v is not None},
                raw=loaded["raw"] if loaded["raw"] is not None else item,
                updated_at=loaded["updated_at"],
                deleted=loaded["deleted"],
            )
        )
    if not good:
        raise InvalidInput(
            "no record in the push is valid",
            {"records": {r.position: [r.reason] for r in rejects}},
        )
    report = IngestReport()
    page = Page(state={}, records=good, rejects=rejects)
    ingest_page(session=session, source=source, page=page, matcher=matcher, report=report)
    return report
