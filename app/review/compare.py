"""What a merge would give, for a reviewer to see before deciding."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customer import service as customers
from app.db import chunks
from app.identity.service import live_members, public_ids_of
from app.matching.types import RecordId
from app.settings import Settings
from app.source.models import SourceRecord


def merge_preview(
    session: Session, settings: Settings, identity_ids: Sequence[int]
) -> dict[str, Any]:
    """What merging these identities would give, written nowhere."""
    # The merge must-links every record, so its outcome is exactly the union, under the oldest
    # identity (the lowest id, as resolution's stable-id rule has it).
    public = public_ids_of(session, identity_ids)
    records = live_members(session, identity_ids)
    rows = {
        r.id: r
        for chunk in chunks(records)
        for r in session.scalars(select(SourceRecord).where(SourceRecord.id.in_(chunk)))
    }
    references = {i: f"{r.source.name}:{r.external_id}" for i, r in rows.items()}
    attributes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for record_id in records:
        for name, value in sorted(rows[record_id].attributes.items()):
            attributes[name][str(value)].append(references[record_id])
    return {
        "identities": [public[i] for i in sorted(identity_ids)],
        "survivor": public[min(identity_ids)],
        "records": sorted(references.values()),
        "golden": _golden_preview(session, settings, records),
        "attributes": {
            name: [{"value": v, "records": refs} for v, refs in sorted(values.items())]
            for name, values in sorted(attributes.items())
        },
    }


def _golden_preview(
    session: Session, settings: Settings, record_ids: Sequence[RecordId]
) -> dict[str, Any] | None:
    """The golden record these records would have as one identity, each value with the
    provenance survivorship would give it (nothing is written)."""
    if not record_ids:
        return None
    golden: dict[str, Any] = customers.preview_golden(
        session=session, settings=settings, record_ids=record_ids
    )["golden"]
    return golden
