"""Link constraints: what people decided about pairs of records (must, or must never, be one
identity). Resolution reads them; decisions write them, each change kept for the audit (an
undo reverses it). The one place constraints are read and written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from app.db import among_parameter, chunks
from app.identity.service import record_states
from app.matching.types import Constraints, RecordId
from app.review.models import LinkConstraint

# -- reading, for resolution ---------------------------------------------------------------------


def links_touching(dialect: str) -> ColumnElement[bool]:
    """Every must- and cannot-link with an end among the parameters ``lefts`` and ``rights``
    (the same list), in a statement for ``dialect``: real time reads them with the edges."""
    return or_(
        among_parameter(dialect, LinkConstraint.left_id, "lefts"),
        among_parameter(dialect, LinkConstraint.right_id, "rights"),
    )


def within(links: Iterable[tuple[RecordId, RecordId, str]], ids: set[RecordId]) -> Constraints:
    """The constraints between two of ``ids``."""
    must: set[tuple[RecordId, RecordId]] = set()
    cannot: set[tuple[RecordId, RecordId]] = set()
    for left, right, kind in links:
        if left in ids and right in ids:
            (must if kind == "must" else cannot).add((left, right))
    return Constraints(frozenset(must), frozenset(cannot))


def all_constraints(*, session: Session) -> Constraints:
    """Every decision people made, for a batch run."""
    must: set[tuple[RecordId, RecordId]] = set()
    cannot: set[tuple[RecordId, RecordId]] = set()
    for left, right, kind in session.execute(
        select(LinkConstraint.left_id, LinkConstraint.right_id, LinkConstraint.kind)
    ):
        (must if kind == "must" else cannot).add((left, right))
    return Constraints(frozenset(must), frozenset(cannot))


# -- writing, for decisions ----------------------------------------------------------------------


@dataclass(slots=True)
class ConstraintChange:
    """The link constraints a decision added and the ones it replaced (an undo reverses both)."""

    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: ConstraintChange) -> None:
        """Fold another change into this one."""
        self.added.extend(other.added)
        self.removed.extend(other.removed)

    def as_json(self) -> dict[str, Any]:
        """The change as stored in an audit entry."""
        return {"added": self.added, "removed": self.removed}


def _constraint_json(row: LinkConstraint, references: Mapping[RecordId, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "left": row.left_id,
        "right": row.right_id,
        "records": [references.get(row.left_id), references.get(row.right_id)],
        "actor": row.actor,
        "reason": row.reason,
        "created_at": row.created_at.isoformat(),
    }


def _rows_between(session: Session, ids: set[RecordId]) -> list[LinkConstraint]:
    """The constraint rows with both ends among ``ids``, by id."""
    found: dict[int, LinkConstraint] = {}
    for chunk in chunks(sorted(ids)):
        for row in session.scalars(
            select(LinkConstraint).where(
                or_(LinkConstraint.left_id.in_(chunk), LinkConstraint.right_id.in_(chunk))
            )
        ):
            if row.left_id in ids and row.right_id in ids:
                found[row.id] = row
    return [found[i] for i in sorted(found)]


def _write_constraints(
    session: Session,
    remove: Sequence[LinkConstraint],
    add: Iterable[tuple[RecordId, RecordId, str]],
    actor: str,
    reason: str,
) -> ConstraintChange:
    """Replace constraints: remove some, add new pairs; returns what changed, for the audit."""
    added_rows = [
        LinkConstraint(left_id=low, right_id=high, kind=kind, actor=actor, reason=reason)
        for low, high, kind in add
    ]
    records = {r for row in [*remove, *added_rows] for r in (row.left_id, row.right_id)}
    references = {i: s.reference for i, s in record_states(session, records).items()}
    change = ConstraintChange(removed=[_constraint_json(row, references) for row in remove])
    for chunk in chunks([row.id for row in remove]):
        session.execute(delete(LinkConstraint).where(LinkConstraint.id.in_(chunk)))
    session.add_all(added_rows)
    session.flush()
    change.added = [_constraint_json(row, references) for row in added_rows]
    return change


def partition(
    session: Session, parts: Sequence[Sequence[RecordId]], actor: str, reason: str
) -> ConstraintChange:
    """Constraints that make these parts exactly as many identities, whatever the evidence: a
    must-link from each part's first record to every other record of the part, a cannot-link
    between the first records of every two parts. Constraints saying otherwise are replaced."""
    part_of = {r: index for index, part in enumerate(parts) for r in part}
    existing = _rows_between(session, set(part_of))
    contradicting = [
        row
        for row in existing
        if (row.kind == "must") != (part_of[row.left_id] == part_of[row.right_id])
    ]
    kept = {(row.left_id, row.right_id) for row in existing if row not in contradicting}
    anchors = [min(part) for part in parts]
    wanted = [
        (min(anchor, r), max(anchor, r), "must")
        for part, anchor in zip(parts, anchors, strict=True)
        for r in sorted(part)
        if r != anchor
    ]
    wanted.extend((low, high, "cannot") for low, high in combinations(sorted(anchors), 2))
    new = [(low, high, kind) for low, high, kind in wanted if (low, high) not in kept]
    return _write_constraints(session, contradicting, new, actor, reason)


def set_pair(
    session: Session, left: RecordId, right: RecordId, kind: str, actor: str, reason: str
) -> ConstraintChange:
    """A must- or cannot-link between two records, replacing the other kind if the pair had it."""
    low, high = sorted((left, right))
    existing = [
        row
        for row in _rows_between(session, {low, high})
        if (row.left_id, row.right_id) == (low, high)
    ]
    if any(row.kind == kind for row in existing):
        return ConstraintChange()
    return _write_constraints(session, existing, [(low, high, kind)], actor, reason)


def revert(session: Session, recorded: Mapping[str, Any]) -> ConstraintChange:
    """Take back what a decision did to constraints: remove what it added (if still there),
    put back what it replaced (unless a later decision covers the pair)."""
    added_ids = [int(c["id"]) for c in recorded.get("added", [])]
    still_there = [
        row
        for chunk in chunks(added_ids)
        for row in session.scalars(select(LinkConstraint).where(LinkConstraint.id.in_(chunk)))
    ]
    records = {int(c[side]) for c in recorded.get("removed", []) for side in ("left", "right")}
    taken = {(row.left_id, row.right_id) for row in _rows_between(session, records)}
    taken -= {(row.left_id, row.right_id) for row in still_there}
    change = _write_constraints(session, still_there, [], "", "")
    for old in recorded.get("removed", []):
        pair = (int(old["left"]), int(old["right"]))
        if pair in taken:
            continue
        row = LinkConstraint(
            left_id=pair[0],
            right_id=pair[1],
            kind=old["kind"],
            actor=old["actor"],
            reason=old["reason"],
            created_at=datetime.fromisoformat(old["created_at"]),
        )
        session.add(row)
        session.flush()
        change.added.append({**old, "id": row.id})
    return change
