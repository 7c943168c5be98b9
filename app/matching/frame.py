"""Columnar records: each attribute is an array of integer codes into its unique values.

Batch and real time share this one representation, so a pair is compared by the same code
whether it is one of ten million blocked pairs or one candidate of a record that just arrived.
Comparisons then run on unique value pairs, vectorised, without a Python object per pair.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

from app.matching.normalize import derive
from app.matching.types import SOURCE, AttributeName, RecordId

Codes = npt.NDArray[np.int32]
MISSING = -1


@dataclass(slots=True)
class Vocabulary:
    """Unique values of one or more columns (first and last name share one, to cross them)."""

    values: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    _derived: dict[str, tuple[list[str], Codes]] = field(default_factory=dict)
    _arrays: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    def code(self, value: str) -> int:
        """The code of a value, adding it when new."""
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.values)
            self.values.append(value)
        return code

    def objects(self) -> npt.NDArray[np.object_]:
        """The values as a numpy object array, for fancy indexing into rapidfuzz calls."""
        if "objects" not in self._arrays:
            self._arrays["objects"] = np.array([*self.values, ""], dtype=object)[:-1]
        return self._arrays["objects"]

    def derived(self, transform: str) -> tuple[list[str], Codes]:
        """Unique derived values (phonetic code, year, ...) and each value's code into them."""
        if transform not in self._derived:
            vocabulary = Vocabulary()
            codes = np.fromiter(
                (
                    vocabulary.code(d) if (d := derive(v, transform)) else MISSING
                    for v in self.values
                ),
                dtype=np.int32,
                count=len(self.values),
            )
            self._derived[transform] = (vocabulary.values, codes)
        return self._derived[transform]

    def feature(self, name: str) -> npt.NDArray[Any]:
        """A numeric feature per value (length, first letter, date parts, ...), cached.

        One extra entry (the feature of an empty value) ends the array, so that indexing with
        the missing code ``-1`` is safe.
        """
        if name not in self._arrays:
            self._arrays[name] = _feature([*self.values, ""], name)
        return self._arrays[name]

    def cached(self, key: str) -> Any:
        """What :meth:`cache` kept under ``key`` for this vocabulary, None at first."""
        return self._arrays.get(f"cached:{key}")

    def cache(self, key: str, value: Any) -> None:
        """Keep a value computed from this vocabulary (callers check it still fits)."""
        self._arrays[f"cached:{key}"] = value

    def digests(self, attribute: AttributeName) -> npt.NDArray[np.uint64]:
        """:func:`value_digest` of every value as ``attribute``, with 0 (missing) appended."""
        key = f"digest:{attribute}"
        if key not in self._arrays:
            self._arrays[key] = np.fromiter(
                (value_digest(attribute, v) for v in (*self.values, None)),
                dtype=np.uint64,
                count=len(self.values) + 1,
            )
        return self._arrays[key]


def _feature(values: list[str], name: str) -> npt.NDArray[Any]:
    if name == "length":
        return np.fromiter((len(v) for v in values), dtype=np.int32, count=len(values))
    if name == "first_char":
        return np.fromiter((ord(v[0]) if v else 0 for v in values), np.int32, len(values))
    if name == "has_numbers":
        return np.fromiter((any(c.isdigit() for c in v) for v in values), np.bool_, len(values))
    if name == "plus":
        return np.fromiter((v.startswith("+") for v in values), np.bool_, len(values))
    if name == "has_space":
        return np.fromiter((" " in v for v in values), dtype=np.bool_, count=len(values))
    if name in ("year", "month", "day"):
        start, stop = {"year": (0, 4), "month": (5, 7), "day": (8, 10)}[name]
        return np.fromiter(
            (int(v[start:stop]) if len(v) >= stop else -1 for v in values), np.int32, len(values)
        )
    if name == "numbers":
        numbers = Vocabulary()
        return np.fromiter(
            (numbers.code(" ".join(t for t in v.split() if t.isdigit())) for v in values),
            dtype=np.int32,
            count=len(values),
        )
    if name == "local_part":
        locals_ = Vocabulary()
        return np.fromiter(
            (locals_.code(v.rpartition("@")[0]) for v in values), np.int32, len(values)
        )
    raise ValueError(f"unknown feature {name!r}")


@dataclass(slots=True)
class Column:
    """One attribute over every row: codes into its vocabulary, ``-1`` for missing."""

    vocabulary: Vocabulary
    codes: Codes

    def value(self, row: int) -> str | None:
        """The normalized value of a row, None when missing."""
        code = int(self.codes[row])
        return None if code < 0 else self.vocabulary.values[code]


@dataclass(slots=True)
class BlockedPairs:
    """Blocking's candidate pairs of a frame (rows, the lower record id on the left) and its
    generic keys; with their levels once fitting has compared every pair."""

    key: object
    """What they were found with (rules, caps, frame size): a change finds them again."""
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    generic: dict[str, int]
    levels: npt.NDArray[np.int8] | None = None
    crossed: npt.NDArray[np.bool_] | None = None


@dataclass(slots=True)
class Frame:
    """Prepared records as columns; row ``i`` is the record ``ids[i]``."""

    ids: npt.NDArray[np.int64]
    columns: dict[AttributeName, Column]
    blocked: BlockedPairs | None = None
    """Kept by :func:`app.matching.blocking.blocked_pairs`: fitting a model to a frame and
    resolving the frame with it block and compare the same pairs, once."""
    sourced: bool = False
    """Whether the column :data:`SOURCE` holds the records' sources (not an attribute of that
    name: a store whose records declare one does not compare sources)."""

    def __len__(self) -> int:
        return len(self.ids)

    def values(self, row: int) -> dict[AttributeName, str]:
        """The normalized values of one row."""
        return {name: v for name, c in self.columns.items() if (v := c.value(row)) is not None}

    def digests(self) -> npt.NDArray[np.uint64]:
        """:func:`record_digest` of every row: what orders records by content, not by id.

        The source is not content: a prepared record's digest is of its values alone."""
        total = np.zeros(len(self), dtype=np.uint64)
        for name, column in self.columns.items():
            if not (self.sourced and name == SOURCE):
                total += column.vocabulary.digests(name)[column.codes]
        return total


def value_digest(attribute: AttributeName, value: str | None) -> int:
    """A 64-bit digest of one attribute's value (0 when missing): an order, not a secret."""
    if value is None:
        return 0
    data = f"{attribute}\0{value}".encode()
    return (zlib.crc32(data) << 32) | zlib.crc32(data[::-1])


def record_digest(values: Mapping[AttributeName, str]) -> int:
    """A digest of a record's values that does not depend on its id or when it arrived: ties
    between equal match weights are broken by it, so that the partition depends on what the
    records say, never on the order they were stored in."""
    return sum(value_digest(name, value) for name, value in values.items()) % (1 << 64)


class FrameBuilder:
    """Appends records one at a time into compact arrays; never keeps the raw records.

    With ``sources``, the frame also holds each record's source in a column named
    :data:`SOURCE` (missing where none was given)."""

    def __init__(
        self,
        attributes: Iterable[AttributeName],
        shared: Iterable[str] = (),
        *,
        sources: bool = False,
    ) -> None:
        shared_vocabulary = Vocabulary()
        shared_names = set(shared)
        self._vocabularies = {
            name: shared_vocabulary if name in shared_names else Vocabulary() for name in attributes
        }
        self._codes = {name: array("i") for name in self._vocabularies}
        self._ids = array("q")
        self._sources = Vocabulary() if sources else None
        self._source_codes = array("i")

    def add(
        self, record_id: RecordId, values: Mapping[AttributeName, str], source: str | None = None
    ) -> None:
        """Append one record's normalized values (and its source)."""
        self._ids.append(record_id)
        for name, codes in self._codes.items():
            value = values.get(name)
            codes.append(MISSING if value is None else self._vocabularies[name].code(value))
        if self._sources is not None:
            self._source_codes.append(MISSING if not source else self._sources.code(source))

    def extend(
        self,
        records: Sequence[tuple[RecordId, Mapping[AttributeName, str]]],
        sources: Sequence[str] | None = None,
    ) -> None:
        """Append many records' values a column at a time: what ``add`` does for each, at a
        fraction of the calls (real time builds a frame of a few thousand records a page);
        ``sources``: each record's source, in the same order."""
        self._ids.extend(record_id for record_id, _ in records)
        if self._sources is not None:
            named = self._sources
            self._source_codes.extend(
                named.code(source) if source else MISSING
                for source in (sources if sources is not None else [""] * len(records))
            )
        for name, codes in self._codes.items():
            vocabulary = self._vocabularies[name]
            index, known = vocabulary.index, len(vocabulary.index)
            # A new value takes the next code: the index's size as setdefault is called.
            codes.extend(
                MISSING if (v := row.get(name)) is None else index.setdefault(v, len(index))
                for _, row in records
            )
            # Dicts keep insertion order: the new values are the last ones, read from the end.
            added = list(islice(reversed(index), len(index) - known))
            vocabulary.values.extend(reversed(added))

    def build(self) -> Frame:
        """The frame of every record added so far."""
        columns = {
            name: Column(self._vocabularies[name], np.frombuffer(codes, dtype=np.int32).copy())
            for name, codes in self._codes.items()
        }
        if self._sources is not None:
            codes = np.frombuffer(self._source_codes, dtype=np.int32).copy()
            columns[SOURCE] = Column(self._sources, codes)
        ids = np.frombuffer(self._ids, dtype=np.int64).copy()
        return Frame(ids, columns, sourced=self._sources is not None)


def distinct(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sorted distinct values of an integer array, by sorting (numpy's hash-based unique is
    many times slower on millions of mostly distinct values)."""
    ordered = np.sort(values, kind="stable")
    if not len(ordered):
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def key_part(frame: Frame, attribute: AttributeName, transform: str | None) -> Codes:
    """Per-row codes of one blocking field (an attribute, optionally transformed).

    ``first_name|last_name`` is both values in either order: records whose names were
    entered swapped share it.
    """
    if "|" in attribute:
        return _either_order(frame, attribute.split("|"), transform)
    column = frame.columns.get(attribute)
    if column is None:
        return np.full(len(frame), MISSING, dtype=np.int32)
    if transform is None:
        return column.codes
    _, derived = column.vocabulary.derived(transform)
    # The appended MISSING is what code -1 (a missing value) reads.
    return np.append(derived, np.int32(MISSING)).astype(np.int32)[column.codes]


def _either_order(frame: Frame, attributes: list[AttributeName], transform: str | None) -> Codes:
    """Codes of several attributes' values taken as a sorted tuple (every one present)."""
    vocabulary = Vocabulary()
    parts = [key_part(frame, attribute, transform) for attribute in attributes]
    texts = [part_texts(frame, attribute, transform) for attribute in attributes]
    present = np.all([part >= 0 for part in parts], axis=0)
    codes = np.full(len(frame), MISSING, dtype=np.int32)
    for row in np.flatnonzero(present).tolist():
        key = "|".join(sorted(text[part[row]] for text, part in zip(texts, parts, strict=True)))
        codes[row] = vocabulary.code(key)
    return codes


def part_texts(frame: Frame, attribute: AttributeName, transform: str | None) -> list[str]:
    """The strings that :func:`key_part`'s codes of one attribute stand for."""
    column = frame.columns.get(attribute)
    if column is None:
        return []
    if transform is None:
        return column.vocabulary.values
    return column.vocabulary.derived(transform)[0]


def field_value(values: Mapping[AttributeName, str], field_spec: str) -> str | None:
    """The blocking field of one record's values, as a string (real-time side of key_part)."""
    attribute, _, transform = field_spec.partition(":")
    if "|" in attribute:
        parts = [
            field_value(values, f"{a}:{transform}" if transform else a)
            for a in attribute.split("|")
        ]
        return "|".join(sorted(p for p in parts if p)) if all(parts) else None
    value = values.get(attribute)
    if value is None:
        return None
    return (derive(value, transform) or None) if transform else value


__all__ = [
    "MISSING",
    "Column",
    "Frame",
    "FrameBuilder",
    "Vocabulary",
    "distinct",
    "field_value",
    "record_digest",
    "value_digest",
]
