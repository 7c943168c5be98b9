"""Survivorship: choose the golden record of one identity from its records, with provenance.

Pure functions over plain data. Every candidate value is ranked by the attribute's rules in
order (see config/survivorship.toml); the winner's provenance names its source record, when
that record was observed, and the first rule that told it from the best competing value.

>>> from datetime import UTC, datetime
>>> from app.matching import load_match_config
>>> from app.settings.customer import SurvivorshipConfig
>>> config = SurvivorshipConfig(("source_priority",), {}, (), frozenset())
>>> at = datetime(2024, 1, 1, tzinfo=UTC)
>>> crm = SourcedRecord(1, "crm", 1, "c-1", {"company": "Acme"}, {}, at, at)
>>> shop = SourcedRecord(2, "shop", 5, "s-9", {"company": "ACME Ltd"}, {}, at, at)
>>> chosen = choose_golden([shop, crm], config, load_match_config()).single["company"]
>>> chosen.value, chosen.source, chosen.rule
('Acme', 'crm', 'source_priority')
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from app.identity.identifiers import normalize_date, normalize_identifier
from app.matching import MatchConfig
from app.matching.normalize import record_region
from app.settings.customer import MultiAttribute, Rule, SurvivorshipConfig

ONLY_VALUE = "only_value"
FIRST_SEEN = "first_seen"
Value = str | dict[str, str]
# How many records give each value (by key); placeholders are not counted.
Counts = dict[str, int]


@dataclass(frozen=True, slots=True)
class SourcedRecord:
    """One live record of the identity, with what survivorship needs to know of its source."""

    record_id: int
    source: str
    priority: int
    external_id: str
    attributes: Mapping[str, str]
    attribute_types: Mapping[str, str]
    observed_at: datetime
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    """One record's value for one golden attribute; ``key`` says which values are the same."""

    value: Value
    key: str
    record: SourcedRecord
    placeholder: bool = False


@dataclass(frozen=True, slots=True)
class Chosen:
    """A golden value with its provenance."""

    value: Value
    source: str
    external_id: str
    observed_at: datetime
    rule: str
    records: int
    rank: int = 1
    shared: bool = False
    """Held by many customers (an office switchboard): it reaches this one through others."""

    def as_json(self) -> dict[str, Any]:
        """The value and its provenance, as the API shows them."""
        return {
            "value": self.value,
            "source": self.source,
            "external_id": self.external_id,
            "observed_at": self.observed_at.isoformat(),
            "rule": self.rule,
            "records": self.records,
            "rank": self.rank,
            "shared": self.shared,
        }


@dataclass(slots=True)
class Golden:
    """The golden record: one value per single-valued attribute, ranked lists for the others,
    and every candidate value (ranked, best first) for the verbose view."""

    single: dict[str, Chosen] = field(default_factory=dict)
    multi: dict[str, list[Chosen]] = field(default_factory=dict)
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)

    def plain(self) -> dict[str, Any]:
        """Values only: what an agent reads (values many customers share under ``shared``)."""
        values: dict[str, Any] = {name: c.value for name, c in sorted(self.single.items())}
        values.update((name, [c.value for c in chosen]) for name, chosen in self.multi.items())
        shared = {
            name: [c.value for c in chosen if c.shared] for name, chosen in self.multi.items()
        }
        if any(shared.values()):
            values["shared"] = {name: found for name, found in shared.items() if found}
        return values

    def detailed(self) -> dict[str, Any]:
        """Every golden value with its provenance."""
        values: dict[str, Any] = {name: c.as_json() for name, c in sorted(self.single.items())}
        values.update((name, [c.as_json() for c in chosen]) for name, chosen in self.multi.items())
        return values

    def all_values(self) -> dict[str, list[dict[str, Any]]]:
        """Every record's value of every attribute, ranked, marking the ones kept."""
        kept = {
            (name, c.source, c.external_id)
            for name, chosen in [*((n, [c]) for n, c in self.single.items()), *self.multi.items()]
            for c in chosen
        }
        return {
            name: [
                {
                    "value": c.value,
                    "source": c.record.source,
                    "external_id": c.record.external_id,
                    "observed_at": c.record.observed_at.isoformat(),
                    "chosen": (name, c.record.source, c.record.external_id) in kept,
                    **({"ignored": "placeholder"} if c.placeholder else {}),
                }
                for c in candidates
            ]
            for name, candidates in sorted(self.candidates.items())
        }


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case-, accent- and space-insensitive form of a text, for telling equal values apart."""
    if text.isascii():  # nothing to decompose, no accent to drop (most values of most stores)
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


_NAME_PARTS = 2


def written_forward(name: str) -> str:
    """A full name as people read it: "Mueller, Renate" (a directory's order) becomes "Renate
    Mueller"; any other name is kept as written.

    >>> written_forward("Mueller, Renate"), written_forward("Renate Mueller")
    ('Renate Mueller', 'Renate Mueller')
    """
    parts = [part.strip() for part in name.split(",")]
    if len(parts) != _NAME_PARTS or not all(parts) or any(c.isdigit() for c in name):
        return name
    family, given = parts
    return f"{given} {family}"


def display_name(values: Mapping[str, Any]) -> str | None:
    """The name to show for a record's attributes or a golden record: the full name (written
    forward), else the first and last names; None when there is neither.

    >>> display_name({"full_name": "Mueller, Renate"}), display_name({"first_name": "Ana"})
    ('Renate Mueller', 'Ana')
    """
    full = written_forward(str(values.get("full_name") or "")).strip()
    given = " ".join(
        str(values[k]).strip() for k in ("first_name", "last_name") if values.get(k)
    ).strip()
    return full or given or None


def _is_placeholder(text: str, placeholders: frozenset[str]) -> bool:
    return text.strip().casefold() in placeholders


def _rule_key(rule: Rule, candidate: Candidate, counts: Counts) -> Any:
    """Lower is better."""
    if rule == "source_priority":
        return candidate.record.priority
    if rule == "most_recent":
        return -candidate.record.observed_at.timestamp()
    if rule == "most_frequent":
        return -counts.get(candidate.key, 0)
    if rule == "most_complete":
        if isinstance(candidate.value, dict):
            return (-len(candidate.value), -sum(map(len, candidate.value.values())))
        return -len(candidate.value.strip())
    raise ValueError(f"not a ranking rule: {rule}")


@lru_cache(maxsize=256)
def _ranking(rules: tuple[Rule, ...]) -> tuple[tuple[Rule, ...], bool]:
    """The rules that rank, and whether placeholders are ignored."""
    return tuple(rule for rule in rules if rule != "ignore_empty"), "ignore_empty" in rules


def _ranked(
    candidates: Sequence[Candidate], rules: tuple[Rule, ...], placeholders: frozenset[str]
) -> tuple[list[Candidate], tuple[Rule, ...], Counts]:
    """Candidates best first (placeholders last when ignored), and the ranking rules used."""
    ranking, drop = _ranking(rules)
    marked = [
        Candidate(c.value, c.key, c.record, True)
        if drop and _placeholder_value(c.value, placeholders)
        else c
        for c in candidates
    ]
    counts: Counts = {}
    for candidate in marked:
        if not candidate.placeholder:
            counts[candidate.key] = counts.get(candidate.key, 0) + 1
    if len(marked) == 1:  # most attributes of most identities: nothing to rank
        return marked, ranking, counts
    order = _order(ranking, counts)
    return sorted(marked, key=lambda c: (c.placeholder, *order(c))), ranking, counts


def _placeholder_value(value: Value, placeholders: frozenset[str]) -> bool:
    if isinstance(value, dict):
        return all(_is_placeholder(v, placeholders) for v in value.values())
    return _is_placeholder(value, placeholders)


def _deciding_rule(
    winner: Candidate, other: Candidate | None, ranking: Sequence[Rule], counts: Counts
) -> str:
    if other is None:
        return ONLY_VALUE
    for rule in ranking:
        if _rule_key(rule, winner, counts) != _rule_key(rule, other, counts):
            return rule
    return FIRST_SEEN


def _chosen(candidate: Candidate, rule: str, counts: Counts, rank: int = 1) -> Chosen:
    record = candidate.record
    return Chosen(
        candidate.value,
        record.source,
        record.external_id,
        record.observed_at,
        rule,
        counts[candidate.key],
        rank,
    )


def choose_single(
    candidates: Sequence[Candidate], rules: tuple[Rule, ...], placeholders: frozenset[str]
) -> tuple[Chosen | None, list[Candidate]]:
    """The winning value of a single-valued attribute (None when all are ignored), and the
    candidates ranked."""
    ranked, ranking, counts = _ranked(candidates, rules, placeholders)
    live = [c for c in ranked if not c.placeholder]
    if not live:
        return None, ranked
    winner = live[0]
    other = next((c for c in live if c.key != winner.key), None)
    return _chosen(winner, _deciding_rule(winner, other, ranking, counts), counts), ranked


def choose_multi(
    candidates: Sequence[Candidate], rules: tuple[Rule, ...], placeholders: frozenset[str]
) -> tuple[list[Chosen], list[Candidate]]:
    """Every distinct value, ranked; each value's rule is the one that set it apart from its
    neighbour in the ranking (the next value; for the last, the one before)."""
    ranked, ranking, counts = _ranked(candidates, rules, placeholders)
    distinct: dict[str, Candidate] = {}
    for candidate in ranked:
        if not candidate.placeholder:
            distinct.setdefault(candidate.key, candidate)
    best = list(distinct.values())
    chosen = []
    for index, candidate in enumerate(best):
        neighbour = best[index + 1] if index + 1 < len(best) else None
        if neighbour is None and index > 0:
            neighbour = best[index - 1]
        rule = _deciding_rule(candidate, neighbour, ranking, counts)
        chosen.append(_chosen(candidate, rule, counts, rank=index + 1))
    return chosen, ranked


def _identifier_key(kind: str, text: str, match: MatchConfig, region: str | None = None) -> str:
    return normalize_identifier(kind, text, match, region) or fold(text)


def _multi_candidates(
    spec: MultiAttribute, records: Sequence[SourcedRecord], match: MatchConfig
) -> list[Candidate]:
    found = []
    for record in records:
        if spec.type == "address":
            parts = {p: record.attributes[p] for p in spec.parts if record.attributes.get(p)}
            if parts:
                key = "|".join(fold(parts.get(p, "")) for p in spec.parts)
                found.append(Candidate(parts, key, record))
            continue
        if spec.type not in record.attributes and spec.type not in record.attribute_types.values():
            continue  # no value of this type (most records hold no phone, or no e-mail)
        region = record_region(record.attributes) if spec.type == "phone" else None
        for name, text in sorted(record.attributes.items()):
            if name == spec.type or record.attribute_types.get(name) == spec.type:
                key = _identifier_key(spec.type, text, match, region)
                found.append(Candidate(text, key, record))
    return found


def _consumed_by_multi(multi: Sequence[MultiAttribute]) -> Callable[[SourcedRecord, str], bool]:
    """Whether a record's attribute feeds a multi-valued golden attribute (an address part, an
    e-mail, a phone) rather than a single-valued one of its own."""
    parts = {p for spec in multi for p in spec.parts}
    kinds = {spec.type for spec in multi if spec.type != "address"}

    def consumed(record: SourcedRecord, name: str) -> bool:
        return name in parts or name in kinds or record.attribute_types.get(name) in kinds

    return consumed


def identifier_keys(
    records: Sequence[SourcedRecord], config: SurvivorshipConfig, match: MatchConfig
) -> set[tuple[str, str]]:
    """The (type, normalized value) of every e-mail and phone these records hold that could be
    shared (see ``MultiAttribute.shared_by``): what to count customers of."""
    kinds = {spec.type for spec in config.multi if spec.shared_by and spec.type != "address"}
    return {
        (spec.type, candidate.key)
        for spec in config.multi
        if spec.type in kinds
        for candidate in _multi_candidates(spec, records, match)
    }


def _addresses_that_say_more(chosen: list[Chosen]) -> list[Chosen]:
    """Leave out an address whose every part another address repeats (a city alone, beside a
    full address in that city); ranks follow."""
    kept = _saying_more([entry.value for entry in chosen])
    return [replace(chosen[i], rank=rank) for rank, i in enumerate(kept, start=1)]


def _saying_more(addresses: list[Value]) -> list[int]:
    """Where the addresses are that no other address repeats every part of, in their order."""
    if len(addresses) < 2:  # nothing to compare it with
        return list(range(len(addresses)))
    folded = [
        {name: fold(text) for name, text in value.items()} if isinstance(value, dict) else {}
        for value in addresses
    ]

    def says_less(index: int) -> bool:
        mine = folded[index]
        return any(
            other != index
            and len(folded[other]) > len(mine)
            and all(folded[other].get(name) == text for name, text in mine.items())
            for other in range(len(addresses))
        )

    return [index for index in range(len(addresses)) if not says_less(index)]


def _shared_last(
    spec: MultiAttribute,
    chosen: list[Chosen],
    shared: set[tuple[str, str]],
    candidates: Sequence[Candidate],
) -> list[Chosen]:
    """Mark the values many customers hold, and rank them after the customer's own."""
    if not spec.shared_by:
        return chosen
    key_of = {c.value: c.key for c in candidates if isinstance(c.value, str)}
    marked = [
        replace(entry, shared=True)
        if isinstance(entry.value, str) and (spec.type, key_of.get(entry.value, "")) in shared
        else entry
        for entry in chosen
    ]
    ordered = sorted(marked, key=lambda entry: entry.shared)  # stable: own values keep order
    return [replace(entry, rank=rank) for rank, entry in enumerate(ordered, start=1)]


def _single_candidate(name: str, text: str, record: SourcedRecord, match: MatchConfig) -> Candidate:
    """A record's value as the golden record shows it: a full name in reading order, a date in
    one format (ISO, whichever way each department wrote it; the same day is one value)."""
    if name == "full_name":
        text = written_forward(text)
    elif (record.attribute_types.get(name) or match.attributes.get(name)) == "date":
        day = normalize_date(text, match)
        if day is not None:
            return Candidate(day, day, record)
    return Candidate(text, fold(text), record)


def choose_golden(
    records: Sequence[SourcedRecord],
    config: SurvivorshipConfig,
    match: MatchConfig,
    shared: set[tuple[str, str]] | None = None,
) -> Golden:
    """The golden record of an identity holding these live records; e-mails and phones are
    told apart as the matcher's configuration ``match`` normalizes them. ``shared``: the
    (type, normalized value) of e-mails and phones many customers hold (see
    :func:`identifier_keys`)."""
    golden = Golden()
    single: dict[str, list[Candidate]] = {}
    consumed = _consumed_by_multi(config.multi)
    for record in records:
        for name, text in record.attributes.items():
            if not consumed(record, name):
                single.setdefault(name, []).append(_single_candidate(name, text, record, match))
    for name, candidates in single.items():
        chosen, ranked = choose_single(candidates, config.rules_for(name), config.placeholders)
        golden.candidates[name] = ranked
        if chosen is not None:
            golden.single[name] = chosen
    for spec in config.multi:
        candidates = _multi_candidates(spec, records, match)
        values, ranked = choose_multi(candidates, spec.rules, config.placeholders)
        if spec.type == "address":
            values = _addresses_that_say_more(values)
        else:
            values = _shared_last(spec, values, shared or set(), candidates)
        golden.multi[spec.name] = values
        if ranked:
            golden.candidates[spec.name] = ranked
    return golden


def plain_golden(
    records: Sequence[SourcedRecord],
    config: SurvivorshipConfig,
    match: MatchConfig,
    shared: set[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """``choose_golden(records, ...).plain()``: the golden values alone. An identity of one
    record (most of a store's) takes the short path: its values as the golden record shows them
    (a name in reading order, a date in one format), placeholders left out where the rules
    ignore them; nothing to rank, unless it holds a value many customers share. An identity of
    several records holding none takes the winners without ranking every candidate."""
    if shared and identifier_keys(records, config, match) & shared:
        return choose_golden(records, config, match, shared).plain()
    if len(records) != 1:
        return _plain_of_several(records, config, match)
    record = records[0]
    consumed = _consumed_by_multi(config.multi)
    values: dict[str, Any] = {}
    for name, text in sorted(record.attributes.items()):
        if consumed(record, name):
            continue
        if not (_ranking(config.rules_for(name))[1] and _is_placeholder(text, config.placeholders)):
            values[name] = _single_candidate(name, text, record, match).value
    for spec in config.multi:
        candidates = _multi_candidates(spec, records, match)
        if len(candidates) > 1:  # two e-mails of one record: ranked as usual
            values[spec.name] = [
                c.value for c in choose_multi(candidates, spec.rules, config.placeholders)[0]
            ]
            continue
        drop = _ranking(spec.rules)[1]
        values[spec.name] = [
            c.value
            for c in candidates
            if not (drop and _placeholder_value(c.value, config.placeholders))
        ]
    return values


def _plain_of_several(
    records: Sequence[SourcedRecord], config: SurvivorshipConfig, match: MatchConfig
) -> dict[str, Any]:
    """``choose_golden(records, ...).plain()`` of records holding no value many customers
    share, without what only the verbose view shows: the winner of each attribute is the best
    of its candidates (no full ranking, no deciding rule, no provenance)."""
    consumed = _consumed_by_multi(config.multi)
    single: dict[str, list[Candidate]] = {}
    for record in records:
        for name, text in record.attributes.items():
            if not consumed(record, name):
                single.setdefault(name, []).append(_single_candidate(name, text, record, match))
    values: dict[str, Any] = {}
    for name in sorted(single):
        winner = _best(single[name], config.rules_for(name), config.placeholders)
        if winner is not None:
            values[name] = winner.value
    for spec in config.multi:
        candidates = _multi_candidates(spec, records, match)
        distinct = _distinct_ranked(candidates, spec.rules, config.placeholders)
        if spec.type == "address":
            distinct = [distinct[i] for i in _saying_more(distinct)]
        values[spec.name] = distinct
    return values


def _live(
    candidates: Sequence[Candidate], rules: tuple[Rule, ...], placeholders: frozenset[str]
) -> tuple[list[Candidate], tuple[Rule, ...], Counts]:
    """The candidates that rank (placeholders left out where the rules ignore them), the
    ranking rules, and how many records give each value: as ``_ranked`` counts them."""
    ranking, drop = _ranking(rules)
    live = [c for c in candidates if not (drop and _placeholder_value(c.value, placeholders))]
    counts: Counts = {}
    for candidate in live:
        counts[candidate.key] = counts.get(candidate.key, 0) + 1
    return live, ranking, counts


def _order(ranking: tuple[Rule, ...], counts: Counts) -> Callable[[Candidate], tuple[Any, ...]]:
    """The order of candidates that rank: by the rules, then the oldest record first."""

    def order(c: Candidate) -> tuple[Any, ...]:
        ranks = tuple(_rule_key(rule, c, counts) for rule in ranking)
        return (*ranks, c.record.first_seen_at, c.record.record_id)

    return order


def _best(
    candidates: Sequence[Candidate], rules: tuple[Rule, ...], placeholders: frozenset[str]
) -> Candidate | None:
    """The winner ``choose_single`` would choose (a record gives one candidate of a
    single-valued attribute, so the order has no ties)."""
    live, ranking, counts = _live(candidates, rules, placeholders)
    if len(live) < 2 or all(c.value == live[0].value for c in live):  # nothing to rank
        return live[0] if live else None
    return min(live, key=_order(ranking, counts))


def _distinct_ranked(
    candidates: Sequence[Candidate], rules: tuple[Rule, ...], placeholders: frozenset[str]
) -> list[Value]:
    """The distinct values ``choose_multi`` would choose, best first (the sort is stable, as
    there: a record's candidates that rank alike keep the record's order)."""
    live, ranking, counts = _live(candidates, rules, placeholders)
    if len(live) > 1 and any(c.value != live[0].value for c in live):  # else one value
        live = sorted(live, key=_order(ranking, counts))
    distinct: dict[str, Value] = {}
    for candidate in live:
        distinct.setdefault(candidate.key, candidate.value)
    return list(distinct.values())
