"""The matcher's parts, built once from the config: normalize → block → compare.

A :class:`Pipeline` holds everything that depends on the configuration and the declared
attributes but not on the model: the normalizer, the comparisons, the blocking rules and their
caps. Batch, training and real time all take one, with a :class:`~app.matching.model.MatchModel`
to score by, so no stage reaches into another.

>>> from app.matching import InputRecord, load_match_config
>>> pipeline = Pipeline.build(load_match_config())
>>> pipeline.prepare(InputRecord(1, "crm", {"email": " Ana.Ruiz@Gmail.com"})).values
{'email': 'anaruiz@gmail.com'}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.matching.blocking import expand_rules, record_keys
from app.matching.cluster import Guards
from app.matching.compare import (
    Comparison,
    Levels,
    Nicknames,
    Rows,
    build_comparisons,
    compares_sources,
)
from app.matching.compare import compare_frame as _compare_frame
from app.matching.config import BlockingRule, MatchConfig
from app.matching.frame import Frame, FrameBuilder
from app.matching.normalize import Normalizer, normalize_attributes, record_region
from app.matching.types import (
    AttributeName,
    AttributeType,
    BlockingKey,
    InputRecord,
    PreparedRecord,
    RecordId,
)

# Attribute types whose raw values repeat enough to be worth a normalization cache in batch.
_UNCACHED = frozenset({"email", "phone", "address"})


@dataclass(frozen=True)
class Pipeline:
    """Normalization, comparisons and blocking of one config and its declared attributes."""

    config: MatchConfig
    attribute_types: Mapping[AttributeName, AttributeType]
    types: Mapping[AttributeName, AttributeType]
    normalizer: Normalizer
    nicknames: Nicknames
    comparisons: tuple[Comparison, ...]
    rules: tuple[BlockingRule, ...]
    caps: Mapping[str, int]
    """Each rule's generic cap: its own, or the config's."""

    @classmethod
    def build(
        cls,
        config: MatchConfig,
        attribute_types: Mapping[AttributeName, AttributeType] | None = None,
    ) -> Pipeline:
        """The parts for ``config``, with extra attributes declared by the store's sources."""
        extra = dict(attribute_types or {})
        types = {**config.attributes, **extra}
        rules = expand_rules(config.blocking_rules, types)
        return cls(
            config=config,
            attribute_types=extra,
            types=types,
            normalizer=Normalizer(config),
            nicknames=Nicknames(config.normalization.nicknames),
            comparisons=build_comparisons(config, extra),
            rules=rules,
            caps={
                rule.name: config.generic_key_cap if rule.cap is None else rule.cap
                for rule in rules
            },
        )

    @property
    def swap(self) -> tuple[AttributeName, ...]:
        """The attributes also compared crossed (first and last name)."""
        return tuple(self.config.swap)

    @property
    def guards(self) -> Guards:
        """The clustering guards' knobs."""
        config = self.config
        return Guards(
            config.weak_bridge_weight,
            config.weak_bridge_min_side,
            config.linkage_probability,
            config.ambiguity_margin,
        )

    # -- normalize -------------------------------------------------------------------------

    def normalize(self, attributes: Mapping[AttributeName, str]) -> dict[AttributeName, str]:
        """Normalized values of a record's attributes (missing ones left out)."""
        return normalize_attributes(self.normalizer, self.types, attributes)

    def problems(self, attributes: Mapping[AttributeName, str]) -> dict[AttributeName, str]:
        """The values of a record that cannot be compared, and why (``"not a date"``): the
        store keeps them as written and flags them; matching treats them as missing.

        >>> from app.matching import load_match_config
        >>> Pipeline.build(load_match_config()).problems({"birth_date": "1955-11-92"})
        {'birth_date': 'not a date'}
        """
        found = {}
        for name, raw in attributes.items():
            kind = self.types.get(name)
            reason = None if kind is None or raw is None else self.normalizer.problem(kind, raw)
            if reason is not None:
                found[name] = reason
        return found

    def prepare(self, record: InputRecord) -> PreparedRecord:
        """Normalize a record's values and derive its blocking keys."""
        values = self.normalize(record.attributes)
        return PreparedRecord(record.id, record.source, values, record_keys(self.rules, values))

    def restore(
        self,
        record_id: RecordId,
        source: str,
        values: Mapping[AttributeName, str],
        keys: Iterable[BlockingKey] | None = None,
    ) -> PreparedRecord:
        """Rebuild a prepared record from what the service stored (values and keys, as JSON).

        No normalization runs: stored values are already normalized. Without ``keys`` they
        are derived from the values (after a change of blocking rules, say). The record holds
        ``values`` as given, not a copy: a page restores thousands of candidates.
        """
        stored = record_keys(self.rules, values) if keys is None else tuple(sorted(keys))
        return PreparedRecord(record_id, source, values, stored)

    # -- frames ----------------------------------------------------------------------------

    def frame_builder(self) -> FrameBuilder:
        """An empty columnar frame for this pipeline's attributes (and the records' sources,
        when they are compared)."""
        return FrameBuilder(
            self.types, shared=self.swap, sources=compares_sources(self.config, self.types)
        )

    def frame(self, records: Sequence[PreparedRecord]) -> Frame:
        """The frame of prepared records, in the order given."""
        builder = self.frame_builder()
        builder.extend(
            [(record.id, record.values) for record in records],
            [record.source for record in records],
        )
        return builder.build()

    def build_frame(self, records: Iterable[InputRecord]) -> Frame:
        """Normalize a stream of records into a frame (caching repeated raw values)."""
        builder = self.frame_builder()
        normalize = self.cached_normalize()
        for record in records:
            builder.add(record.id, normalize(record.attributes), record.source)
        return builder.build()

    def cached_normalize(
        self,
    ) -> Callable[[Mapping[AttributeName, str]], dict[AttributeName, str]]:
        """:meth:`normalize` for a stream of many records: a raw value repeated across them
        (a city, a given name) is normalized once."""
        cache: dict[tuple[AttributeName, str], str | None] = {}
        cached = {n for n, t in self.types.items() if t not in _UNCACHED}

        def normalize(attributes: Mapping[AttributeName, str]) -> dict[AttributeName, str]:
            if attributes.get("full_name"):
                return self.normalize(attributes)
            region = record_region(attributes)
            values: dict[AttributeName, str] = {}
            for name, raw in attributes.items():
                kind = self.types.get(name)
                if kind is None or not raw:
                    continue
                if name in cached:
                    key = (name, raw)
                    if key not in cache:
                        cache[key] = self.normalizer.value(kind, raw)
                    value = cache[key]
                else:  # a phone is read in the record's country
                    value = self.normalizer.value(kind, raw, region)
                if value is not None:
                    values[name] = value
            return values

        return normalize

    # -- compare ---------------------------------------------------------------------------

    def levels(self, frame: Frame, left: Rows, right: Rows) -> tuple[Levels, npt.NDArray[np.bool_]]:
        """Comparison levels of row pairs (pairs x comparisons) and the crossed-name mask."""
        return _compare_frame(
            self.comparisons, frame, left, right, nicknames=self.nicknames, swap=self.swap
        )

    # -- blocking --------------------------------------------------------------------------

    def key_cap(self, key: BlockingKey) -> int:
        """How many records may hold a blocking key before it is generic (its rule's cap)."""
        return self.caps.get(key.partition(":")[0], self.config.generic_key_cap)

    def is_generic(self, key: BlockingKey, count: int) -> bool:
        """Whether a blocking key held by ``count`` records is generic (finds no candidates)."""
        return count > self.key_cap(key)
