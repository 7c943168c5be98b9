"""Batch: re-resolve every live record from scratch, keeping identity ids stable; and what is
pending (changed since it was last resolved), which goes batch when it is a large share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.db import create_indexes, drop_indexes, hold_identity_lock
from app.identity.clustering import apply_clustering
from app.identity.models import RecordIdentifier
from app.identity.service import detach
from app.matching import Matcher
from app.matching.batch import EdgeTable
from app.matching.types import RecordId, ScoredEdge
from app.progress import QUIET, Progress
from app.resolution.bulk import load_frame, store_edge_table
from app.resolution.models import BlockingKey, MatchEdge, MatchValues
from app.resolution.service import Fit, ResolutionReport, count_live_records, keep_model
from app.resolution.store import input_records, record_rows
from app.review import constraints as links
from app.review.models import ReviewItem
from app.review.queue import Findings
from app.source.models import Source, SourceRecord

# Resolving this many pending records at once (or this share of the store) goes batch.
BATCH_AT_LEAST = 5000
BATCH_SHARE = 0.2


def resolve_all(
    *, session: Session, matcher: Matcher, fit: bool = False, progress: Progress = QUIET
) -> ResolutionReport:
    """Batch: re-resolve every live record from scratch, keeping identity ids stable; with
    ``fit``, first fit the model to them (stored as the active version) and score with it.

    Records are read and normalized once, into one frame that fitting and resolving share;
    what real time keeps of each (values, keys, edges) is written in bulk on the way.
    """
    hold_identity_lock(session)
    constraints = links.all_constraints(session=session)
    for table in (MatchEdge, BlockingKey, MatchValues, RecordIdentifier):
        session.execute(delete(table))
    # Real time, the one reader of blocking keys, waits for the identity lock held here.
    dropped = drop_indexes(session, [BlockingKey.__table__])
    frame = load_frame(session, matcher, progress=progress)
    fitted = None
    if fit:
        with progress.step("fitting the model"):
            model, refused = matcher.fit_frame(frame)
        fitted = Fit(model, len(frame), trained=refused is None, refused=refused)
        keep_model(session=session, fitted=fitted)
        matcher = matcher.with_model(model)
    resolution = matcher.resolve_frame(frame, constraints, stages=progress)
    edges = resolution.edges
    assert isinstance(edges, EdgeTable)  # a batch's edges are columns
    store_edge_table(session, edges, progress=progress)
    with progress.step("indexing blocking keys"):
        create_indexes(session, dropped)
    with progress.step("assigning identities"):
        rows = record_rows(
            session,
            session.scalars(select(SourceRecord.id).where(SourceRecord.deleted_at.is_(None))),
        )
        changes = apply_clustering(session, resolution.clustering, rows)
    findings = Findings(
        _possible(edges, matcher),
        resolution.clustering,
        constraints.must_link,
        dict(resolution.generic_keys),
    )
    stale = session.execute(
        select(SourceRecord.id, Source.name, SourceRecord.external_id, SourceRecord.identity_id)
        .join(Source, SourceRecord.source_id == Source.id)
        .where(SourceRecord.deleted_at.is_not(None), SourceRecord.identity_id.is_not(None))
    ).all()
    for row in stale:
        entry = detach(session, row.id, f"{row.name}:{row.external_id}", row.identity_id)
        changes.refresh.add(row.identity_id)
        changes.detached.extend([entry] if entry is not None else [])
    changes.moved += len(stale)
    return ResolutionReport(records=len(rows), changes=changes, findings=findings, fitted=fitted)


def _possible(edges: Sequence[ScoredEdge], matcher: Matcher) -> list[ScoredEdge]:
    """The possible matches among edges (below auto), without explanations; of a batch's
    columnar edge table, only those few become objects."""
    if not isinstance(edges, EdgeTable):
        return [e for e in edges if not matcher.is_auto(e)]
    picked = np.flatnonzero(edges.probabilities < matcher.config.auto_threshold)
    ids = edges.frame.ids
    return [
        ScoredEdge(left, right, weight, probability)
        for left, right, weight, probability in zip(
            ids[edges.left_rows[picked]].tolist(),
            ids[edges.right_rows[picked]].tolist(),
            edges.weights[picked].tolist(),
            edges.probabilities[picked].tolist(),
            strict=True,
        )
    ]


@dataclass(frozen=True, slots=True)
class Preview:
    """What re-resolving every record with another model would change, before it does."""

    records: int
    identities_now: int
    identities_then: int
    merged: int
    """Identities that would be merged into others."""
    split: int
    """Identities that would lose records to other identities."""
    review_now: int
    """Possible matches waiting for review now."""
    review_then: int
    """Possible matches a full resolution would leave for review."""


def preview(*, session: Session, matcher: Matcher) -> Preview:
    """What ``resolve_all`` with this matcher would do to identities and the review queue,
    computed in memory: nothing is written."""
    constraints = links.all_constraints(session=session)
    resolution = matcher.resolve(input_records(session), constraints)
    live = select(SourceRecord.id, SourceRecord.identity_id).where(
        SourceRecord.deleted_at.is_(None)
    )
    identity_of: dict[int, int | None] = {row.id: row.identity_id for row in session.execute(live)}
    clusters_of: dict[int, set[int]] = {}
    merged = 0
    for number, cluster in enumerate(resolution.clustering.clusters):
        held = {i for record in cluster if (i := identity_of.get(record)) is not None}
        merged += max(len(held) - 1, 0)
        for identity in held:
            clusters_of.setdefault(identity, set()).add(number)
    open_now = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .where(ReviewItem.kind == "possible_match", ReviewItem.status == "open")
    )
    possible = _possible(resolution.edges, matcher)
    return Preview(
        records=len(identity_of),
        identities_now=len(set(identity_of.values()) - {None}),
        identities_then=len(resolution.clustering.clusters),
        merged=merged,
        split=sum(len(clusters) > 1 for clusters in clusters_of.values()),
        review_now=open_now or 0,
        review_then=len(possible),
    )


def pending_records(*, session: Session) -> list[RecordId]:
    """Records resolution has not seen as they are now: live records never prepared or
    changed since, and deleted records still holding evidence or an identity."""
    stale = or_(
        MatchValues.record_id.is_(None), MatchValues.content_hash != SourceRecord.content_hash
    )
    live = SourceRecord.deleted_at.is_(None) & stale
    gone = SourceRecord.deleted_at.is_not(None) & (
        MatchValues.record_id.is_not(None) | SourceRecord.identity_id.is_not(None)
    )
    query = (
        select(SourceRecord.id)
        .outerjoin(MatchValues, MatchValues.record_id == SourceRecord.id)
        .where(or_(live, gone))
        .order_by(SourceRecord.id)
    )
    return list(session.scalars(query))


def goes_batch(*, session: Session, pending: Sequence[RecordId]) -> bool:
    """Whether resolving these pending records (after syncs with --no-resolve, or imports) is
    better done as one batch run over everything: much faster than record by record when they
    are a large share of the store, and the same partition."""
    return len(pending) > max(BATCH_AT_LEAST, BATCH_SHARE * count_live_records(session=session))
