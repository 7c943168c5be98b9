"""Real time: re-resolve the part of the identity graph that changed records touch.

A changed record is scored against the records sharing one of its blocking keys (found in the
stored keys); then only the connected part of the graph around it is re-clustered. Clustering is
a function of one connected component, and scoring a function of the pair and the stored model,
so real time and batch give the same partition whatever order records arrived in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import String, cast, delete, null, select, tuple_, union_all
from sqlalchemy.orm import Session

from app.db import (
    Reused,
    among,
    among_parameter,
    chunks,
    hold,
    hold_identity_lock,
    reach,
    reach_everything,
    read_rows,
)
from app.identity.clustering import RecordRow, apply_clustering
from app.identity.service import detach
from app.matching import Matcher
from app.matching.types import Clustering, PreparedRecord, RecordId, ScoredEdge
from app.resolution.models import MatchEdge, MatchValues
from app.resolution.service import ResolutionReport
from app.resolution.store import (
    Evidence,
    Limit,
    LiveRecord,
    edges_touching,
    forget_evidence,
    identity_members,
    key_census,
    key_holders,
    keys_of,
    live_record,
    prepare,
    record_rows,
    store_edges,
    store_evidence,
    stored_pairs,
    stored_prepared,
)
from app.review import constraints as links
from app.review.models import LinkConstraint
from app.review.queue import Findings
from app.source.models import Source, SourceRecord
from app.source.service import LOADED_COLUMNS


def resolve_records(
    *,
    session: Session,
    matcher: Matcher,
    record_ids: Sequence[RecordId],
) -> ResolutionReport:
    """Real time: re-resolve the part of the graph that the changed records touch.

    ``record_ids`` are records that were created, changed or deleted (tombstoned) since they
    were last resolved. Runs inside the caller's transaction; the report says what else the
    change calls for (golden records, audit entries, review items: see ``app.flows``).
    """
    changed = sorted(set(record_ids))
    if not changed:
        return ResolutionReport()
    rows, known, live = _changed_records(session, changed)
    # New records hold no evidence yet: only records resolved before have any to forget.
    old_keys = keys_of(session, known)
    evidence = prepare(matcher, live)
    # Records that share a blocking key are candidates of each other, and records that share
    # an identifier name the same customer's events: changes touching one wait for each other.
    hold(session, _touched(old_keys, evidence))
    forget_evidence(session, known)
    prepared = {p.id: p for p in evidence.prepared}
    # A page moves a key's count by at most the number of its records that hold or held it:
    # reading to past the cap by that much still tells whether the key crossed it, and how
    # many hold it then.
    moves = Counter(k for keys in old_keys.values() for k in keys)
    moves.update(k for p in prepared.values() for k in set(p.keys))
    stored = key_census(
        session,
        {
            key: Limit(matcher.key_cap(key) + moved + 1, matcher.key_cap(key))
            for key, moved in moves.items()
        },
    )
    census = stored.with_records(prepared.values(), matcher.key_cap)
    pairs = _candidate_pairs(prepared, census.holders)
    pool = stored_prepared(session, matcher, {r for pair in pairs for r in pair} - prepared.keys())
    pool.update(prepared)
    # Nothing read so far needed the page's own evidence: stored now, it is written while the
    # candidates are scored (bulk_insert writes behind), before anything reads again.
    store_evidence(session, evidence)
    edges = matcher.score_pairs(
        [(pool[a], pool[b]) for a, b in pairs], minimum=matcher.config.review_threshold
    )
    # Before the page's own edges are stored: only earlier edges can have lost their key.
    affected, crossed = follow_cap_crossings(session, matcher, old_keys, prepared, census.counts)
    store_edges(session, edges)
    seeds = set(prepared) | affected | identity_members(session, rows.values())
    # Identities whose records changed in place need their golden record recomputed too.
    updated = {r.identity_id for r in rows.values() if r.identity_id and r.id in prepared}
    report = _recluster(session, matcher, seeds, updated, known=pool, rows=rows)
    if crossed is not None:
        report.findings.generic, report.findings.released = crossed
    gone = [row for row in rows.values() if row.id not in prepared and row.identity_id is not None]
    for row in gone:
        entry = detach(session, row.id, row.reference, row.identity_id)
        report.changes.refresh.add(row.identity_id or 0)
        report.changes.detached.extend([entry] if entry is not None else [])
    report.changes.moved += len(gone)
    report.records = len(changed)
    return report


def _touched(old_keys: Mapping[RecordId, set[str]], evidence: Evidence) -> set[str]:
    """The blocking keys that changed records held or hold, and the identifiers they hold."""
    names = {f"key:{key}" for keys in old_keys.values() for key in keys}
    names.update(f"key:{row['key']}" for row in evidence.keys)
    names.update(f"subject:{row['kind']}:{row['value']}" for row in evidence.identifiers)
    return names


_CHANGED = Reused(
    lambda dialect: (
        select(
            *LOADED_COLUMNS,
            SourceRecord.source_id,
            SourceRecord.content_hash,
            SourceRecord.deleted_at,
            MatchValues.record_id.label("evidence"),
        )
        .join(Source, SourceRecord.source_id == Source.id)
        .outerjoin(MatchValues, MatchValues.record_id == SourceRecord.id)
        .where(among_parameter(dialect, SourceRecord.id, "ids"))
        .order_by(SourceRecord.id)
    )
)


def _changed_records(
    session: Session, ids: Sequence[RecordId]
) -> tuple[dict[RecordId, RecordRow], list[RecordId], list[LiveRecord]]:
    """In one read: the changed records' rows, those holding evidence of an earlier
    resolution, and the live ones."""
    rows: dict[RecordId, RecordRow] = {}
    evidence: list[RecordId] = []
    found: list[LiveRecord] = []
    for chunk in chunks(ids):
        for row in read_rows(session, _CHANGED(session), {"ids": chunk}):
            reference = f"{row.name}:{row.external_id}"
            if row.evidence is not None:
                evidence.append(row.id)
            loaded = None
            if row.deleted_at is None:
                found.append(live_record(row))
                loaded = row
            rows[row.id] = RecordRow(row.id, reference, row.identity_id, loaded)
    return rows, evidence, found


def follow_cap_crossings(
    session: Session,
    matcher: Matcher,
    old_keys: Mapping[RecordId, set[str]],
    prepared: Mapping[RecordId, PreparedRecord],
    counts: Mapping[str, int],
) -> tuple[set[RecordId], tuple[dict[str, int], set[str]] | None]:
    """Keep stored edges equal to what batch would score when keys cross the generic cap.

    A key that just became generic stops justifying the edges between its holders; a key that
    fell back under the cap makes its holders candidates again. Returns the records whose
    edges changed, and the keys that became generic (with their counts) and that no longer
    are (None when no key crossed the cap).
    """
    delta: dict[str, int] = defaultdict(int)
    for keys in old_keys.values():
        for key in keys:
            delta[key] -= 1
    for record in prepared.values():
        for key in record.keys:
            delta[key] += 1
    rising, falling = set(), set()
    for key, change in delta.items():
        now, before = counts.get(key, 0), counts.get(key, 0) - change
        if matcher.is_generic(key, now) and not matcher.is_generic(key, before):
            rising.add(key)
        elif matcher.is_generic(key, before) and not matcher.is_generic(key, now):
            falling.add(key)
    if not rising and not falling:
        return set(), None
    # Holders of a key that crossed the cap gain or lose edges wherever they are.
    reach_everything(session)
    crossed = ({k: counts[k] for k in rising}, falling)
    holders = key_holders(session, rising | falling)
    affected: set[RecordId] = set()
    if rising:
        affected |= _drop_unjustified_edges(session, matcher, holders, rising)
    if falling:
        affected |= _score_released_pairs(session, matcher, holders, falling, set(prepared))
    return affected, crossed


def _drop_unjustified_edges(
    session: Session, matcher: Matcher, holders: Mapping[str, Sequence[RecordId]], rising: set[str]
) -> set[RecordId]:
    members = {r for key in rising for r in holders[key]}
    records = stored_prepared(session, matcher, members, with_keys=True)
    keys = {k for p in records.values() for k in p.keys}
    counts = key_census(session, {k: Limit(matcher.key_cap(k) + 1, 0) for k in keys}).counts
    unjustified: list[tuple[RecordId, RecordId]] = []
    for chunk in chunks(sorted(members)):
        query = select(MatchEdge.left_id, MatchEdge.right_id).where(
            among(session, MatchEdge.left_id, chunk)
        )
        unjustified.extend(
            (left, right)
            for left, right in read_rows(session, query)
            if right in members
            and not matcher.shares_specific_key(records[left], records[right], counts)
        )
    for pairs in chunks(unjustified):
        session.execute(
            delete(MatchEdge)
            .where(tuple_(MatchEdge.left_id, MatchEdge.right_id).in_(pairs))
            .execution_options(synchronize_session=False)
        )
    return {r for pair in unjustified for r in pair}


def _score_released_pairs(
    session: Session,
    matcher: Matcher,
    holders: Mapping[str, Sequence[RecordId]],
    falling: set[str],
    changed: set[RecordId],
) -> set[RecordId]:
    # Pairs with a changed record are scored with the changed records' candidates.
    members = {r for key in falling for r in holders[key]} - changed
    records = stored_prepared(session, matcher, members)
    existing = stored_pairs(session, members)
    pairs = {
        (a, b)
        for key in falling
        for a, b in combinations(sorted(set(holders[key]) - changed), 2)
        if (a, b) not in existing
    }
    edges = matcher.score_pairs(
        [(records[a], records[b]) for a, b in sorted(pairs)],
        minimum=matcher.config.review_threshold,
    )
    store_edges(session, edges)
    return {r for e in edges for r in (e.left, e.right)}


def _candidate_pairs(
    prepared: Mapping[RecordId, PreparedRecord], holders: Mapping[str, Sequence[RecordId]]
) -> list[tuple[RecordId, RecordId]]:
    """Every pair of a changed record and a record sharing a non-generic key with it, each
    once, smaller id first, even when both records changed in this page.

    ``holders`` lists the holders of every non-generic key, and of no other."""
    return sorted(
        {
            (record.id, other) if record.id < other else (other, record.id)
            for record in prepared.values()
            for key in record.keys
            for other in holders.get(key, ())
            if other != record.id
        }
    )


@dataclass(slots=True)
class _Component:
    """Records joined by auto-match edges, must-links or shared identities, with the edges
    that join them, the possible-match edges that touch them, the constraints people set on
    them and the rows read on the way."""

    members: set[RecordId]
    auto: list[ScoredEdge]
    possible: list[ScoredEdge]
    constraints: list[tuple[RecordId, RecordId, str]]
    rows: dict[RecordId, RecordRow]


def _component(
    session: Session,
    matcher: Matcher,
    seeds: set[RecordId],
    rows: Mapping[RecordId, RecordRow] | None = None,
    *,
    lock: bool = True,
) -> _Component:
    """The component around ``seeds`` (``rows``: records already read, the changed ones).

    With ``lock``, the identities it reaches are taken (``reach``) before anything is written
    to them; when it reached identities it did not hold, what it read of them may have been
    changed meanwhile, so it is read again, now held.
    """
    while True:
        component = _walk(session, matcher, seeds, rows)
        if not lock or not _reach(session, component, rows or {}):
            return component


def _reach(session: Session, component: _Component, ours: Mapping[RecordId, RecordRow]) -> bool:
    """Take the identities of the component and of the records its possible matches lead to
    (their review items change too); returns whether any was not held before."""
    outside = {r for e in component.possible for r in (e.left, e.right)} - component.rows.keys()
    found = [*component.rows.values(), *record_rows(session, outside).values()]
    if any(row.identity_id is None and row.id not in ours for row in found):
        reach_everything(session)  # records not resolved yet: only resolve --full may
    return reach(session, {f"identity:{r.identity_id}" for r in found if r.identity_id})


def _walk(
    session: Session,
    matcher: Matcher,
    seeds: set[RecordId],
    rows: Mapping[RecordId, RecordRow] | None = None,
) -> _Component:
    members = set(seeds)
    frontier = set(seeds)
    auto: dict[tuple[RecordId, RecordId], ScoredEdge] = {}
    possible: dict[tuple[RecordId, RecordId], ScoredEdge] = {}
    constraints: set[tuple[RecordId, RecordId, str]] = set()
    known_rows = dict(rows or {})
    while frontier:
        reached: set[RecordId] = set()
        edges, links_found = _touching(session, sorted(frontier), matcher.config.review_threshold)
        for edge in edges:
            if matcher.is_auto(edge):
                auto[(edge.left, edge.right)] = edge
                reached.update((edge.left, edge.right))
            else:
                possible[(edge.left, edge.right)] = edge
        for left, right, kind in links_found:
            constraints.add((left, right, kind))
            if kind == "must":
                reached.update((left, right))
        new_rows = record_rows(session, reached - members - known_rows.keys())
        known_rows.update(new_rows)
        reached |= identity_members(
            session, [known_rows[i] for i in reached - members if i in known_rows]
        )
        frontier = reached - members
        members |= reached
    return _Component(
        members,
        list(auto.values()),
        [possible[p] for p in sorted(possible)],
        sorted(constraints),
        known_rows,
    )


# A step of the walk reads the edges and people's links around its frontier in one statement
# (links are rare; a second statement for them cost as much as the edges' own): the edges
# carry no kind, the links no weight.
_TOUCHING = Reused(
    lambda dialect: union_all(
        select(
            MatchEdge.left_id,
            MatchEdge.right_id,
            MatchEdge.weight,
            MatchEdge.probability,
            cast(null(), String).label("kind"),
        ).where(edges_touching(dialect)),
        select(
            LinkConstraint.left_id, LinkConstraint.right_id, null(), null(), LinkConstraint.kind
        ).where(links.links_touching(dialect)),
    )
)


def _touching(
    session: Session, ids: Sequence[RecordId], floor: float
) -> tuple[list[ScoredEdge], list[tuple[RecordId, RecordId, str]]]:
    """The stored edges at or above ``floor`` with an end among ``ids`` (no explanations),
    and every must- and cannot-link with an end among them."""
    edges: list[ScoredEdge] = []
    found: list[tuple[RecordId, RecordId, str]] = []
    for chunk in chunks(ids):
        parameters = {"lefts": chunk, "rights": chunk, "floor": floor}
        for left, right, weight, probability, kind in read_rows(
            session, _TOUCHING(session), parameters
        ):
            if kind is None:
                edges.append(ScoredEdge(left, right, weight, probability))
            else:
                found.append((left, right, kind))
    return edges, found


def _recluster(
    session: Session,
    matcher: Matcher,
    seeds: set[RecordId],
    updated: Iterable[int] = (),
    known: Mapping[RecordId, PreparedRecord] | None = None,
    rows: Mapping[RecordId, RecordRow] | None = None,
) -> ResolutionReport:
    """Re-cluster the component around ``seeds``. ``known`` are live records already prepared
    in this transaction and ``rows`` records already read: neither is read back."""
    component = _component(session, matcher, seeds, rows)
    known = known or {}
    live = {i: known[i] for i in component.members if i in known}
    live.update(stored_prepared(session, matcher, component.members - live.keys()))
    constraints = links.within(component.constraints, set(live))
    clustering = matcher.cluster([live[i] for i in sorted(live)], component.auto, constraints)
    live_rows = {i: component.rows[i] for i in live if i in component.rows}
    live_rows.update(record_rows(session, live.keys() - live_rows.keys()))
    changes = apply_clustering(session, clustering, live_rows, updated)
    findings = Findings(component.possible, clustering, constraints.must_link)
    return ResolutionReport(changes=changes, findings=findings)


def recluster(
    *, session: Session, matcher: Matcher, record_ids: Iterable[RecordId]
) -> ResolutionReport:
    """Re-cluster the part of the graph around these records and their identities, after people
    changed constraints or memberships."""
    hold_identity_lock(session)
    wanted = set(record_ids)
    seeds = wanted | identity_members(session, record_rows(session, wanted).values())
    return _recluster(session, matcher, seeds)


def clustering_around(
    *, session: Session, matcher: Matcher, record_ids: Iterable[RecordId]
) -> Clustering:
    """How the component around these records clusters now, with the guards' refusals:
    what real time would decide, read only (nothing is written)."""
    component = _component(session, matcher, set(record_ids), lock=False)
    live = stored_prepared(session, matcher, component.members)
    constraints = links.within(component.constraints, set(live))
    return matcher.cluster([live[i] for i in sorted(live)], component.auto, constraints)
