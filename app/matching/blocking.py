"""Blocking: which records are worth comparing.

Each rule combines fields (``last_name:phonetic`` + ``birth_date:year``); records with equal
values on every field of a rule share the key ``rule:value|value`` and become candidates. A key
shared by more records than the generic cap is *generic* (an office phone, a family e-mail) and
generates no candidates. Real time stores each record's string keys and looks candidates up by
key; batch computes the same keys as integer codes and pairs records inside each key group.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.matching.config import BlockingRule
from app.matching.frame import (
    MISSING,
    BlockedPairs,
    Codes,
    Frame,
    distinct,
    field_value,
    key_part,
    part_texts,
)
from app.matching.types import AttributeName, AttributeType, BlockingKey

Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def expand_rules(
    rules: Sequence[BlockingRule], types: Mapping[AttributeName, AttributeType]
) -> tuple[BlockingRule, ...]:
    """Replace ``@type`` fields by one rule per attribute of that type."""
    expanded: list[BlockingRule] = []
    for rule in rules:
        typed = [f for f in rule.fields if f.startswith("@")]
        if not typed:
            expanded.append(rule)
            continue
        kind = typed[0][1:]
        for attribute in sorted(a for a, t in types.items() if t == kind):
            fields = tuple(attribute if f == typed[0] else f for f in rule.fields)
            expanded.append(BlockingRule(f"{rule.name}.{attribute}", fields, rule.cap))
    return tuple(expanded)


def record_keys(
    rules: Sequence[BlockingRule], values: Mapping[AttributeName, str]
) -> tuple[BlockingKey, ...]:
    """The blocking keys of one record's normalized values, sorted."""
    keys = []
    for rule in rules:
        parts = [field_value(values, f) for f in rule.fields]
        if all(parts):
            keys.append(f"{rule.name}:{'|'.join(p for p in parts if p)}")
    return tuple(sorted(keys))


@dataclass(frozen=True, slots=True)
class RuleCodes:
    """One rule's key per row as a dense code (``-1``: the row has no key for this rule)."""

    rule: BlockingRule
    codes: Codes


def rule_codes(frame: Frame, rule: BlockingRule) -> RuleCodes:
    """Key codes of a rule for every row, equal exactly when the string keys are equal."""
    combined: npt.NDArray[np.int64] | None = None
    present = np.ones(len(frame), dtype=np.bool_)
    for spec in rule.fields:
        attribute, _, transform = spec.partition(":")
        part = key_part(frame, attribute, transform or None)
        present &= part >= 0
        if combined is None:
            combined = part.astype(np.int64)
            continue
        width = int(part.max(initial=0)) + 2
        combined = combined * width + (part.astype(np.int64) + 1)
        # Re-densify so that several wide fields never overflow int64.
        _, inverse = np.unique(combined, return_inverse=True)
        combined = inverse.astype(np.int64)
    assert combined is not None
    codes = np.where(present, combined, MISSING).astype(np.int32)
    if present.any():
        _, dense = np.unique(codes[present], return_inverse=True)
        codes[present] = dense.astype(np.int32)
    return RuleCodes(rule, codes)


@dataclass(frozen=True, slots=True)
class KeyParts:
    """One rule's fields over a frame: a row's key is its fields' texts joined, as
    :func:`record_keys` writes it; a row missing a field has no key of the rule."""

    rule: BlockingRule
    parts: tuple[tuple[Codes, list[str]], ...]

    def keys(self, start: int, stop: int) -> tuple[npt.NDArray[np.intp], list[BlockingKey]]:
        """The rows from ``start`` to ``stop`` that hold a key of the rule, and their keys."""
        present = np.all([codes[start:stop] >= 0 for codes, _ in self.parts], axis=0)
        rows = np.flatnonzero(present) + start
        prefix = f"{self.rule.name}:"
        names = [texts for _, texts in self.parts]
        columns = [codes[rows].tolist() for codes, _ in self.parts]
        if len(columns) == 1:  # rules have one or two fields: no join per key
            return rows, [prefix + names[0][a] for a in columns[0]]
        if len(columns) == 2:
            first, second = names
            return rows, [
                prefix + first[a] + "|" + second[b] for a, b in zip(*columns, strict=True)
            ]
        return rows, [
            prefix + "|".join(n[c] for n, c in zip(names, row, strict=True))
            for row in zip(*columns, strict=True)
        ]


def key_parts(frame: Frame, rule: BlockingRule) -> KeyParts:
    """The fields of a rule over a frame, to write every record's keys from columns."""
    return KeyParts(rule, tuple(_field_texts(frame, spec) for spec in rule.fields))


def _field_texts(frame: Frame, spec: str) -> tuple[Codes, list[str]]:
    """One blocking field's code per row and the text of each code, as :func:`field_value`
    reads it: an empty text is no value."""
    attribute, _, transform = spec.partition(":")
    if "|" in attribute:
        return _either_order_texts(frame, attribute.split("|"), transform or None)
    codes = key_part(frame, attribute, transform or None)
    column = frame.columns.get(attribute)
    # A derived value is never empty (derived vocabularies leave it out); a value may be.
    empty = None if column is None or transform else column.vocabulary.index.get("")
    if empty is not None:
        codes = np.where(codes == empty, MISSING, codes).astype(np.int32)
    return codes, part_texts(frame, attribute, transform or None)


def _either_order_texts(
    frame: Frame, attributes: list[AttributeName], transform: str | None
) -> tuple[Codes, list[str]]:
    parts = [_field_texts(frame, f"{a}:{transform}" if transform else a) for a in attributes]
    present = np.all([codes >= 0 for codes, _ in parts], axis=0)
    rows = np.flatnonzero(present)
    codes = np.full(len(frame), MISSING, dtype=np.int32)
    if not len(rows):
        return codes, []
    stacked = np.stack([part[rows] for part, _ in parts], axis=1)
    distinct_pairs, dense = np.unique(stacked, axis=0, return_inverse=True)
    texts = [
        "|".join(sorted(names[code] for code, (_, names) in zip(pair, parts, strict=True)))
        for pair in distinct_pairs.tolist()
    ]
    # Two orders of one pair of values are one key.
    vocabulary: dict[str, int] = {}
    remap = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in texts], dtype=np.int32)
    codes[rows] = remap[dense.ravel()]
    return codes, list(vocabulary)


def key_string(frame: Frame, rule: BlockingRule, row: int) -> BlockingKey:
    """The string key of a rule for one row (used to name generic keys)."""
    values = frame.values(row)
    parts = [field_value(values, f) or "" for f in rule.fields]
    return f"{rule.name}:{'|'.join(parts)}"


def group_pairs(codes: Codes, cap: int) -> Iterator[Pairs]:
    """All row pairs inside each key group of at most ``cap`` rows, ``left < right``."""
    rows = np.flatnonzero(codes >= 0)
    if not len(rows):
        return
    order = rows[np.argsort(codes[rows], kind="stable")]
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    for size in np.unique(sizes):
        if size < 2 or size > cap:
            continue
        group_starts = starts[sizes == size]
        members = order[group_starts[:, None] + np.arange(size)]
        upper, lower = np.triu_indices(int(size), 1)
        a = members[:, upper].ravel()
        b = members[:, lower].ravel()
        yield np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)


def generic_groups(codes: Codes, cap: int) -> Iterator[tuple[int, int]]:
    """(first row, size) of every key group larger than ``cap``."""
    rows = np.flatnonzero(codes >= 0)
    if not len(rows):
        return
    _, first, counts = np.unique(codes[rows], return_index=True, return_counts=True)
    for index in np.flatnonzero(counts > cap):
        yield int(rows[first[index]]), int(counts[index])


def blocked_pairs(
    frame: Frame, rules: Sequence[BlockingRule], caps: Mapping[str, int]
) -> BlockedPairs:
    """:func:`candidate_pairs` of a frame, each pair with the lower record id on the left,
    found once and kept on the frame: fitting a model and resolving with it read the same."""
    key = (tuple(rules), tuple(sorted(caps.items())), len(frame))
    if frame.blocked is None or frame.blocked.key != key:
        (left, right), generic = candidate_pairs(frame, rules, caps)
        swap = frame.ids[left] > frame.ids[right]
        frame.blocked = BlockedPairs(
            key, np.where(swap, right, left), np.where(swap, left, right), generic
        )
    return frame.blocked


def candidate_pairs(
    frame: Frame, rules: Sequence[BlockingRule], caps: Mapping[str, int]
) -> tuple[Pairs, dict[BlockingKey, int]]:
    """Unique candidate row pairs over every rule, and the generic keys with their counts.

    ``caps`` gives each rule's generic cap, by rule name (``Matcher.caps``)."""
    n = max(len(frame), 1)
    merged = np.empty(0, dtype=np.int64)
    generic: dict[BlockingKey, int] = {}
    for rule in rules:
        codes = rule_codes(frame, rule).codes
        rule_cap = caps[rule.name]
        # Within one rule a pair shares at most one key, so its pairs are already distinct;
        # one sorted merge per rule keeps the union exact without re-sorting every chunk.
        found = [a * n + b for a, b in group_pairs(codes, rule_cap)]
        if found:
            merged = distinct(np.concatenate([merged, *found]))
        for row, count in generic_groups(codes, rule_cap):
            generic[key_string(frame, rule, row)] = count
    return (merged // n, merged % n), generic
