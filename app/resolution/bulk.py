"""A whole store's evidence written at once, for batch resolution: every live record read and
normalized once into a frame while its stored values and lookup identifiers are written, then
every record's blocking keys from the frame's columns, and the scored edges explained and
written a column at a time.

Real time writes the same rows record by record (:mod:`app.resolution.store`): what batch
stores must equal what real time would, and tests hold them equal. Rows go to the store as
plain tuples in chunks (:func:`app.db.insert_rows`): never a dictionary or an object per row,
never more than a chunk of them at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy.orm import Session

from app.db import insert_rows, json_text
from app.identity.models import RecordIdentifier
from app.matching import Matcher
from app.matching.batch import EdgeTable
from app.matching.blocking import key_parts
from app.matching.frame import Frame
from app.matching.lookup import record_identifiers
from app.matching.scorer import ContributionColumn
from app.progress import QUIET, Bar, Progress
from app.resolution.models import BlockingKey, MatchEdge, MatchValues
from app.resolution.service import count_live_records
from app.resolution.store import live_records

# Rows of each kind held at once before they are written: memory stays bounded at any size.
RECORDS_AT_ONCE = 20_000
EDGES_AT_ONCE = 50_000
_VALUES = ("record_id", "source_id", "values", "content_hash")
_IDENTIFIERS = ("record_id", "kind", "value")
_KEYS = ("record_id", "key")
_EDGES = ("left_id", "right_id", "weight", "probability", "contributions")


def load_frame(session: Session, matcher: Matcher, *, progress: Progress = QUIET) -> Frame:
    """Every live record in one frame (rows in record id order), each normalized once; its
    normalized values, lookup identifiers and blocking keys are stored on the way, as
    :func:`app.resolution.store.prepare` would store them one record at a time."""
    builder = matcher.frame_builder()
    normalize = matcher.pipeline.cached_normalize()
    values: list[tuple[object, ...]] = []
    identifiers: list[tuple[object, ...]] = []
    live = count_live_records(session=session)
    with progress.phase("reading records", total=live) as bar:
        for record in bar.iterate(live_records(session)):
            normalized = normalize(record.record.attributes)
            builder.add(record.record.id, normalized, record.record.source)
            values.append(
                (record.record.id, record.source_id, json_text(normalized), record.content_hash)
            )
            identifiers.extend(
                (record.record.id, kind, value)
                for kind, value in sorted(record_identifiers(normalized, matcher.types))
            )
            if len(values) == RECORDS_AT_ONCE:
                _write_values(session, values, identifiers)
                values, identifiers = [], []
        _write_values(session, values, identifiers)
    frame = builder.build()
    with progress.phase("writing blocking keys", total=len(frame)) as bar:
        _write_keys(session, matcher, frame, bar)
    return frame


def _write_values(
    session: Session, values: list[tuple[object, ...]], identifiers: list[tuple[object, ...]]
) -> None:
    insert_rows(session, MatchValues.__table__, _VALUES, values)
    insert_rows(session, RecordIdentifier.__table__, _IDENTIFIERS, identifiers)


def _write_keys(session: Session, matcher: Matcher, frame: Frame, bar: Bar) -> None:
    """Every record's blocking keys, written a chunk of records at a time in record order
    (the order of the table's primary key, cheapest to insert)."""
    rules = [key_parts(frame, rule) for rule in matcher.rules]
    for start in range(0, len(frame), RECORDS_AT_ONCE):
        stop = min(start + RECORDS_AT_ONCE, len(frame))
        rows: list[npt.NDArray[np.intp]] = []
        keys: list[str] = []
        for rule in rules:
            held, texts = rule.keys(start, stop)
            rows.append(held)
            keys.extend(texts)
        order = np.argsort(np.concatenate(rows), kind="stable")
        ids = frame.ids[np.concatenate(rows)[order]].tolist()
        insert_rows(
            session,
            BlockingKey.__table__,
            _KEYS,
            list(zip(ids, [keys[i] for i in order.tolist()], strict=True)),
        )
        bar.advance(stop - start)


def store_edge_table(session: Session, edges: EdgeTable, *, progress: Progress = QUIET) -> None:
    """Store a batch's edges with their explanations, a chunk at a time: each chunk explained
    a column per attribute, never an object per edge (per edge, explaining took a third of a
    full resolution's time)."""
    texts = _JsonTexts()
    ids = edges.frame.ids
    with progress.phase("storing edges", total=len(edges), unit="edges") as bar:
        for start in range(0, len(edges), EDGES_AT_ONCE):
            stop = min(start + EDGES_AT_ONCE, len(edges))
            rows = zip(
                ids[edges.left_rows[start:stop]].tolist(),
                ids[edges.right_rows[start:stop]].tolist(),
                edges.weights[start:stop].tolist(),
                edges.probabilities[start:stop].tolist(),
                texts.contributions(edges.explain(start, stop)),
                strict=True,
            )
            insert_rows(session, MatchEdge.__table__, _EDGES, list(rows))
            bar.advance(stop - start)


class _JsonTexts:
    """Contributions as JSON text, reading back as :func:`app.resolution.store.contribution_rows`
    stored through the JSON column does, put together from pieces: a value's text is made
    once, however many edges show it."""

    def __init__(self) -> None:
        self._values: dict[int, npt.NDArray[np.object_]] = {}

    def contributions(self, columns: Sequence[ContributionColumn]) -> list[str]:
        """Each pair's contributions as a JSON list, in the order of ``columns``."""
        parts = [self._column(column) for column in columns]
        return ["[" + ",".join(edge) + "]" for edge in zip(*parts, strict=True)]

    def _column(self, column: ContributionColumn) -> list[str]:
        labels = [
            f'{{"attribute":{_json(column.attribute)},"level":{_json(label)},"weight":'
            for label in column.labels
        ]
        heads = np.array(labels, dtype=object)[column.levels].tolist()
        weights = _json_floats(column.weights)
        if (
            (column.left < 0).all()
            and (column.right < 0).all()
            and len(set(zip(heads, weights, strict=True))) < 2
        ):
            # An attribute none of these records holds (most of a store's, in most stores).
            return [
                f'{head}{weight},"left":null,"right":null}}'
                for head, weight in zip(heads[:1], weights[:1], strict=True)
            ] * len(heads)
        values = self._texts(column.values, column.left, column.right)
        return [
            f'{head}{weight},"left":{left},"right":{right}}}'
            for head, weight, left, right in zip(
                heads,
                weights,
                values[column.left].tolist(),
                values[column.right].tolist(),
                strict=True,
            )
        ]

    def _texts(
        self, values: Sequence[str], *codes: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.object_]:
        """JSON of the values these codes name; code -1 (missing, the last entry) is null."""
        known = self._values.get(id(values))
        if known is None or len(known) != len(values) + 1:
            known = np.full(len(values) + 1, None, dtype=object)
            known[-1] = "null"
            self._values[id(values)] = known
        wanted = np.unique(np.concatenate(codes))
        wanted = wanted[wanted >= 0]
        todo = wanted[known[wanted] == None]  # noqa: E711 (elementwise, on an object array)
        known[todo] = [_json(values[code]) for code in todo.tolist()]
        return known


def _json(value: str) -> str:
    return orjson.dumps(value).decode()


def _json_floats(weights: npt.NDArray[np.float64]) -> list[str]:
    """Floats as JSON numbers (the shortest text that reads back the same float); null where
    not finite, as the JSON columns store them."""
    texts = list(map(repr, weights.tolist()))
    if not np.isfinite(weights).all():
        texts = [t if np.isfinite(w) else "null" for t, w in zip(texts, weights, strict=True)]
    return texts
