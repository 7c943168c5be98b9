"""Resolution's own service: the matcher of the store (cached per model version), training,
the report every resolution returns, and what the store's resolution looks like.

Resolving lives beside it: ``store`` (the evidence kept between runs), ``realtime`` (what
changed), ``batch`` (everything), ``explain`` (why records are, or are not, one identity).
Resolution writes identities through ``app.identity`` and reads people's decisions through
``app.review.constraints``; what a change calls for next (golden records, audit entries, review
items) comes back in its report, for the flows of ``app.flows`` to carry out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, true, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.db import Reused, among
from app.identity.clustering import IdentityChanges
from app.identity.models import Identity, RecordIdentifier
from app.matching import MatchConfig, Matcher
from app.matching.lookup import LOOKUP_KINDS
from app.matching.model import MatchModel, TermFrequencies, value_digest
from app.matching.types import AttributeName, AttributeType, RecordId
from app.progress import QUIET, Progress
from app.resolution.models import BlockingKey, MatchEdge, MatchValues, ModelVersion
from app.resolution.store import input_records
from app.review.queue import Findings
from app.source.models import Source, SourceRecord

# What resolving writes to (with what the flows refresh after it); bulk writers refresh their
# statistics afterwards.
RESOLVED_TABLES = (
    BlockingKey.__table__,
    MatchValues.__table__,
    MatchEdge.__table__,
    RecordIdentifier.__table__,
    Identity.__table__,
    SourceRecord.__table__,
)


@dataclass(slots=True)
class ResolutionReport:
    """What a resolution did to identities, and what it found for people to review."""

    records: int = 0
    review_items: int = 0
    changes: IdentityChanges = field(default_factory=IdentityChanges)
    findings: Findings = field(default_factory=Findings)
    fitted: Fit | None = None
    """The model fitted to the store first, when the resolution fitted one."""

    @property
    def created(self) -> int:
        """Identities created."""
        return self.changes.created

    @property
    def merged(self) -> int:
        """Identities merged away."""
        return self.changes.merged

    @property
    def split(self) -> int:
        """Identities split."""
        return self.changes.split

    def counts(self) -> dict[str, int]:
        """Counts for reports."""
        return {
            "records": self.records,
            "identities_created": self.changes.created,
            "merges": self.changes.merged,
            "splits": self.changes.split,
            "records_moved": self.changes.moved,
            "review_items": self.review_items,
        }

    def add(self, other: ResolutionReport) -> None:
        """Fold another report's counts and changes into this one."""
        self.records += other.records
        self.review_items += other.review_items
        self.changes.add(other.changes)


# -- the matcher of the store ----------------------------------------------------------------


def _matcher_inputs(_dialect: str) -> Select[Any]:
    """The active model version (id and time) beside each source's declared attributes: one
    row a source, or a single row with no attributes when there is none."""
    active = (
        select(ModelVersion.id, ModelVersion.created_at)
        .where(ModelVersion.active)
        .order_by(ModelVersion.id.desc())
        .limit(1)
        .subquery()
    )
    one = select(literal(1).label("one")).subquery()
    return (
        select(active.c.id, active.c.created_at, Source.attribute_types)
        .select_from(one)
        .outerjoin(Source, true())
        .outerjoin(active, true())
        .order_by(Source.id)
    )


# Read by every request and job that resolves (see ``build_matcher``): built once, and one
# statement, not one for the model and one for the attributes.
_MATCHER_INPUTS = Reused(_matcher_inputs)


def active_model(*, session: Session) -> ModelVersion | None:
    """The newest active trained model, None before any training."""
    return session.scalar(
        select(ModelVersion).where(ModelVersion.active).order_by(ModelVersion.id.desc()).limit(1)
    )


_MatcherKey = tuple[int, int | None, str | None, tuple[tuple[str, str], ...]]
# The configuration is held with its matcher, so its id is not reused while cached.
_matchers: dict[_MatcherKey, tuple[MatchConfig, Matcher]] = {}
_MATCHERS_KEPT = 8


def build_matcher(*, session: Session, config: MatchConfig) -> Matcher:
    """A matcher with the store's declared attributes and its active trained model.

    One matcher per configuration, model version and declared attributes, built once per
    process: models never change once stored, and building one (parsing the model, compiling
    comparisons and rules) cost more than a page of real time's own queries.
    """
    rows = session.execute(_MATCHER_INPUTS(session)).all()
    version_id, created_at = rows[0].id, rows[0].created_at
    declared: dict[str, AttributeType] = {}
    for row in rows:
        declared.update(row.attribute_types or {})
    key = (
        id(config),
        version_id,
        created_at.isoformat() if created_at is not None else None,
        tuple(sorted(declared.items())),
    )
    cached = _matchers.get(key)
    if cached is not None:
        return cached[1]
    if len(_matchers) >= _MATCHERS_KEPT:
        _matchers.clear()
    version = session.get(ModelVersion, version_id) if version_id is not None else None
    model = MatchModel.from_json(version.model) if version is not None else None
    matcher = Matcher(config, attribute_types=declared, model=model)
    _matchers[key] = (config, matcher)
    return matcher


# -- fitting the model to the store -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fit:
    """A model fitted to the store's live records, and how it went."""

    model: MatchModel
    records: int
    trained: bool
    refused: str | None = None
    """Why training's model was refused (the calibrated one stands), None if it was not."""


def live_record_count(session: Session) -> int:
    """Live records in the store."""
    return (
        session.scalar(
            select(func.count()).select_from(SourceRecord).where(SourceRecord.deleted_at.is_(None))
        )
        or 0
    )


def fit_due(*, session: Session, matcher: Matcher, newest: int | None = None) -> bool:
    """Whether the store has outgrown its model: never fitted and holding ``fit_from``
    records, or doubled since it was last fitted.

    ``newest``: the highest record id the caller just created (0 when it created none), for
    callers that ask after each write of theirs (a push): the write that creates the record
    whose id reaches the threshold is the one that finds the store outgrown, and no other
    needs to read the store's highest id. None: read it."""
    model = matcher.model
    threshold = 2 * model.calibrated_on or matcher.config.model.fit_from
    # Ids only grow, so a store whose highest id is below the threshold holds fewer records:
    # most calls need no count.
    if newest is None:
        newest = session.scalar(select(func.max(SourceRecord.id))) or 0
    return newest >= threshold and live_record_count(session) >= threshold


def fit(
    *,
    session: Session,
    matcher: Matcher,
    seed: int = 0,
    train: bool = True,
    progress: Progress = QUIET,
) -> Fit:
    """Fit a model to every live record: measure u, the prior and the value tables, and train
    m unless ``train`` is False (a model training refuses leaves the calibrated one)."""
    live = count_live_records(session=session)
    with progress.phase("reading records for the model", total=live) as bar:
        records = list(bar.iterate(input_records(session)))
    with progress.step("fitting the model"):
        model, refused = matcher.fit(records, seed=seed, train=train)
    return Fit(model, len(records), trained=train and refused is None, refused=refused)


def keep_model(*, session: Session, fitted: Fit, seed: int = 0) -> ModelVersion:
    """Store a fitted model as the active version; the store scores with it from now on."""
    session.execute(update(ModelVersion).values(active=False))
    version = ModelVersion(
        model=fitted.model.to_json(),
        active=True,
        summary={
            "records": fitted.records,
            "seed": seed,
            "trained": fitted.trained,
            "refused": fitted.refused,
            "duplicates": fitted.model.duplicates,
            "prior": fitted.model.prior,
        },
    )
    session.add(version)
    session.flush()
    return version


# -- reading results ----------------------------------------------------------------------


def count_live_records(*, session: Session) -> int:
    """Live records in the store."""
    live = session.scalar(
        select(func.count()).select_from(SourceRecord).where(SourceRecord.deleted_at.is_(None))
    )
    return live or 0


def count_identities(*, session: Session) -> int:
    """Identities that hold at least one live record."""
    return (
        session.scalar(
            select(func.count(func.distinct(SourceRecord.identity_id))).where(
                SourceRecord.deleted_at.is_(None)
            )
        )
        or 0
    )


def generic_values(*, session: Session, matcher: Matcher) -> list[tuple[str, int]]:
    """Blocking values shared by more records than their rule's cap, most shared first."""
    lowest = min(matcher.caps.values(), default=matcher.config.generic_key_cap)
    query = (
        select(BlockingKey.key, func.count().label("records"))
        .group_by(BlockingKey.key)
        .having(func.count() > lowest)
        .order_by(func.count().desc(), BlockingKey.key)
    )
    return [(key, count) for key, count in session.execute(query) if matcher.is_generic(key, count)]


# -- erasure ----------------------------------------------------------------------------------


def _holders(
    session: Session,
    name: AttributeName,
    kind: AttributeType | None,
    values: Collection[str],
    excluding: Collection[RecordId],
) -> dict[str, int]:
    """How many live records other than ``excluding`` hold each value of an attribute."""
    value: ColumnElement[Any] | InstrumentedAttribute[str]
    if kind in LOOKUP_KINDS:
        # E-mails and phones are indexed for lookups.
        value, holder = RecordIdentifier.value, RecordIdentifier.record_id
        query = select(value, func.count(func.distinct(holder))).where(
            RecordIdentifier.kind == kind, among(session, value, sorted(values))
        )
    else:
        # Names and postcodes are not: one pass over the stored values (erasures are rare).
        value, holder = MatchValues.values[name].as_string(), MatchValues.record_id
        query = select(value, func.count()).where(value.in_(sorted(values)))
    if excluding:
        query = query.where(holder.not_in(sorted(excluding)))
    rows = session.execute(query.group_by(value))
    return {str(found): int(count) for found, count in rows}


def forget_values(
    *,
    session: Session,
    matcher: Matcher,
    values: Mapping[AttributeName, Collection[str]],
    excluding: Collection[RecordId],
    dry_run: bool = False,
) -> int:
    """Take an erased person's normalized values out of the value tables of every stored model
    (term frequencies, the digests of shared e-mails and phones), unless fewer than the model's
    minimum count of other live records (all but ``excluding``) still hold them: a common
    surname stays, one only this person bore goes. Returns the model versions changed (that
    would change, in a dry run)."""
    floor = matcher.config.model.tf_min_count
    changed = 0
    for version in session.scalars(select(ModelVersion).order_by(ModelVersion.id)):
        model = MatchModel.from_json(version.model)
        tables = dict(model.term_frequencies)
        for name, table in model.term_frequencies.items():
            key = value_digest if table.shared else str
            held = {value for value in values.get(name, ()) if key(value) in table.values}
            if not held:
                continue
            others = _holders(session, name, matcher.types.get(name), held, excluding)
            dropped = {key(value) for value in held if others.get(value, 0) < floor}
            if dropped:
                kept = {k: f for k, f in table.values.items() if k not in dropped}
                tables[name] = TermFrequencies(kept, shared=table.shared)
        if tables != dict(model.term_frequencies):
            changed += 1
            if not dry_run:
                version.model = replace(model, term_frequencies=tables).to_json()
    return changed
