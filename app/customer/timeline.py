"""A customer's timeline: the events of every department and of the anonymous visits stitched
to them, newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.event import service as events
from app.source.models import Source


def source_ids(*, session: Session, names: Sequence[str]) -> list[int]:
    """The ids of sources named; an unknown name is a 422."""
    if not names:
        return []
    found = dict(
        session.execute(select(Source.name, Source.id).where(Source.name.in_(names))).all()
    )
    unknown = sorted(set(names) - set(found))
    if unknown:
        raise InvalidInput(
            "unknown source", {"source": [f"no source named {n!r}" for n in unknown]}
        )
    return [found[n] for n in names]


def page(
    *,
    session: Session,
    identity_id: int,
    limit: int,
    types: Sequence[str] = (),
    sources: Sequence[str] = (),
    before: tuple[datetime, int] | None = None,
) -> tuple[list[events.TimelineEvent], tuple[datetime, int] | None]:
    """A page of an identity's timeline, newest first, and the key to resume after."""
    footprint = events.footprints(session=session, identity_ids=[identity_id])[identity_id]
    found = events.timeline(
        session=session,
        footprint=footprint,
        limit=limit + 1,
        types=types,
        source_ids=source_ids(session=session, names=sources),
        before=before,
    )
    shown = found[:limit]
    more = len(found) > limit
    return shown, ((shown[-1].occurred_at, shown[-1].id) if more else None)
