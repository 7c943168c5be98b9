"""Plain data that flows through the matching pipeline: records in, edges and clusters out.

Everything here is immutable and JSON-friendly so the service layer can store what the core
computes (normalized values, blocking keys, edges) and hand it back later.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, get_args

if TYPE_CHECKING:
    from app.matching.model import MatchModel

RecordId = int
"""The store's primary key of a source record."""

AttributeName = str
BlockingKey = str
"""``rule:value``, e.g. ``email:ana@example.com``; records sharing a key are candidates."""

AttributeType = Literal[
    "name",
    "email",
    "phone",
    "date",
    "address",
    "city",
    "postcode",
    "region",
    "country",
    "identifier",
    "text",
    "category",
]
# The same names at run time, for validating what a user declares.
ATTRIBUTE_TYPES: tuple[AttributeType, ...] = get_args(AttributeType)

ComparisonKind = AttributeType | Literal["source"]
"""What a comparison compares: an attribute of a type, or the records' sources."""

SOURCE: AttributeName = "source"
"""The comparison of the two records' sources (the departments that hold them), and the frame
column it reads: not an attribute of the record, but where the record comes from."""

NormalizedValue = str
"""A normalized value: lower-case text, ISO date, E.164 phone, ..."""


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One source record as mapped by its source: canonical and declared attributes, raw text."""

    id: RecordId
    source: str
    attributes: Mapping[AttributeName, str]


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """A record after normalization, with the blocking keys it generates."""

    id: RecordId
    source: str
    values: Mapping[AttributeName, NormalizedValue]
    keys: tuple[BlockingKey, ...]


@dataclass(frozen=True, slots=True)
class Contribution:
    """How one compared attribute moved the score of a pair."""

    attribute: AttributeName
    level: str
    weight: float
    left: NormalizedValue | None = None
    right: NormalizedValue | None = None


@dataclass(frozen=True, slots=True)
class ScoredEdge:
    """Evidence between two records; ``left < right`` always."""

    left: RecordId
    right: RecordId
    weight: float
    probability: float
    contributions: tuple[Contribution, ...] = ()


@dataclass(frozen=True, slots=True)
class Constraints:
    """Decisions people made: pairs that must, or must never, share an identity."""

    must_link: frozenset[tuple[RecordId, RecordId]] = frozenset()
    cannot_link: frozenset[tuple[RecordId, RecordId]] = frozenset()


NO_CONSTRAINTS = Constraints()


ConflictKind = Literal["cannot_link", "exclusive", "personal", "ambiguous", "weak_bridge"]
"""Why clustering kept records apart: a cannot-link decision, two values of an exclusive
attribute, records whose personal attributes disagree (two people sharing an e-mail), a record
that matches two people equally well, or too little evidence between two groups (one weak
edge, or records that mostly disagree)."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """A place where clustering refused to join records that the edges connect."""

    kind: ConflictKind
    records: tuple[RecordId, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class Clustering:
    """Clusters of record ids (each set is one person, ordered by smallest id) and conflicts.

    Batch returns a lazy sequence (a label per record) so a million clusters cost two arrays.
    """

    clusters: Sequence[frozenset[RecordId]]
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of a batch run over every record.

    ``edges`` holds every scored pair at or above the review threshold (batch: a columnar
    :class:`~app.matching.batch.EdgeTable`); ``generic_keys`` the keys over the cap with their
    record counts; ``model`` the model trained for this run (``resolve(..., train=True)``).
    """

    clustering: Clustering
    edges: Sequence[ScoredEdge]
    generic_keys: Mapping[BlockingKey, int] = field(default_factory=dict)
    model: MatchModel | None = None


class Meter(Protocol):
    """How far one stage of long work has got (a progress bar, or nothing)."""

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more units done."""


class Stages(Protocol):
    """Where a batch reports its stages (block, score, cluster) with their counts: the caller's
    progress display. The core knows nothing of how, or whether, they are shown."""

    def phase(
        self, label: str, *, total: int | None = None, unit: str = "records"
    ) -> AbstractContextManager[Meter]:
        """A meter for one stage, closed when the stage ends."""


class _Unreported:
    def advance(self, count: int = 1) -> None:
        pass


class _Silent:
    @contextmanager
    def phase(
        self, label: str, *, total: int | None = None, unit: str = "records"
    ) -> Iterator[Meter]:
        yield _Unreported()


UNREPORTED: Stages = _Silent()
"""Stages reported nowhere: the default."""
