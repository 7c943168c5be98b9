"""Real time equals batch: records arriving one by one, in any order, with changes, deletions
and blocking keys crossing the generic cap, end in the partition ``resolve()`` computes."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.matching import Constraints, IncrementalResolver, InputRecord, MatchConfig, Matcher
from app.matching.config import BlockingRule

PEOPLE = [
    {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.com",
     "birth_date": "1990-04-12", "postcode": "28001", "city": "Madrid"},
    {"first_name": "Luis", "last_name": "Ruiz", "email": "ruizfamily@example.com",
     "birth_date": "1988-11-02", "postcode": "28001", "city": "Madrid"},
    {"first_name": "Robert", "last_name": "Smith", "email": "rob@example.com",
     "birth_date": "1970-01-02", "postcode": "10001", "city": "New York"},
    {"first_name": "Roberta", "last_name": "Smith", "email": "ruizfamily@example.com",
     "birth_date": "1972-01-02", "postcode": "10001", "city": "New York"},
    {"first_name": "Mei", "last_name": "Chen", "email": "mei.chen@example.com",
     "birth_date": "1995-07-30", "postcode": "94105", "city": "San Francisco"},
]  # fmt: skip
OFFICE_PHONE = "+1 212 555 0100"
FIELDS = ("first_name", "last_name", "email", "birth_date", "postcode", "city")
NICKNAMES = {"Robert": "Bob", "Ana": "Anita", "Luis": "Lucho"}

variant = st.fixed_dictionaries(
    {
        "person": st.integers(0, len(PEOPLE) - 1),
        "drop": st.sets(st.sampled_from(FIELDS), max_size=3),
        "office_phone": st.booleans(),
        "nickname": st.booleans(),
        "swap_names": st.booleans(),
        "source": st.sampled_from(("crm", "shop")),
    }
)
operation = st.tuples(st.integers(1, 9), st.one_of(st.none(), variant))


def _record(record_id: int, spec: dict[str, object]) -> InputRecord:
    person = dict(PEOPLE[int(spec["person"])])  # type: ignore[call-overload]
    for field in spec["drop"]:  # type: ignore[attr-defined]
        person.pop(field, None)
    if spec["office_phone"]:
        person["phone"] = OFFICE_PHONE
    if spec["nickname"] and person.get("first_name") in NICKNAMES:
        person["first_name"] = NICKNAMES[person["first_name"]]
    if spec["swap_names"] and "first_name" in person and "last_name" in person:
        person["first_name"], person["last_name"] = person["last_name"], person["first_name"]
    return InputRecord(record_id, str(spec.get("source", "crm")), person)


@pytest.fixture(scope="module")
def small_cap(config: MatchConfig) -> Matcher:
    """A matcher whose generic caps are easy to cross with a handful of records: 3, and 2 for
    the rules built from names alone (a rule's own cap)."""
    names_only = {"names", "names_sound", "initial_sur", "sur_year", "sur_dob", "dob_initial"}
    rules = tuple(
        dataclasses.replace(rule, cap=2) if rule.name in names_only else rule
        for rule in config.blocking_rules
    )
    assert sum(rule.cap == 2 for rule in rules) == len(names_only)
    small = dataclasses.replace(
        config, generic_key_cap=3, blocking_rules=rules, weak_bridge_weight=30.0
    )
    matcher = Matcher(small)
    # Sources weigh as a store of departments measures them (one -4 bits, two +0.5), so that
    # real time and batch must agree on where each record comes from too.
    parameters = tuple(
        dataclasses.replace(p, m=(0.02, 0.98), u=(1 / 3, 2 / 3)) if p.attribute == "source" else p
        for p in matcher.model.parameters
    )
    return matcher.with_model(dataclasses.replace(matcher.model, parameters=parameters))


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    operations=st.lists(operation, min_size=1, max_size=24),
    cannot=st.sets(st.tuples(st.integers(1, 9), st.integers(1, 9)), max_size=2),
    must=st.sets(st.tuples(st.integers(1, 9), st.integers(1, 9)), max_size=1),
)
def test_incremental_partition_equals_batch(
    small_cap: Matcher,
    operations: list[tuple[int, dict[str, object] | None]],
    cannot: set[tuple[int, int]],
    must: set[tuple[int, int]],
) -> None:
    constraints = Constraints(
        must_link=frozenset((min(a, b), max(a, b)) for a, b in must if a != b),
        cannot_link=frozenset((min(a, b), max(a, b)) for a, b in cannot if a != b),
    )
    live = IncrementalResolver(small_cap, constraints)
    final: dict[int, InputRecord] = {}
    for record_id, spec in operations:
        if spec is None:
            if record_id in final:
                live.delete(record_id)
                del final[record_id]
            continue
        final[record_id] = _record(record_id, spec)
        live.upsert(final[record_id])

    batch = small_cap.resolve(final.values(), constraints)

    assert live.partition() == set(batch.clustering.clusters)
    assert {(e.left, e.right): e.weight for e in live.edges.values()} == {
        (e.left, e.right): e.weight for e in batch.edges
    }


def test_key_crossing_the_cap_drops_the_edges_it_alone_justified(small_cap: Matcher) -> None:
    live = IncrementalResolver(small_cap)
    phone_only = {"phone": OFFICE_PHONE, "first_name": "Ana", "last_name": "Ruiz"}
    for record_id in (1, 2, 3):
        live.upsert(InputRecord(record_id, "crm", phone_only))
    assert live.edges, "under the cap, the shared phone finds candidates"
    live.upsert(InputRecord(4, "crm", phone_only))
    assert not live.edges, "over the cap, the phone is generic and finds none"
    live.delete(4)
    assert len(live.edges) == 3, "back under the cap, the pairs are scored again"


def test_a_rule_with_its_own_cap_turns_generic_at_that_cap(config: MatchConfig) -> None:
    names_only = BlockingRule("names", ("first_name", "last_name"), cap=2)
    matcher = Matcher(dataclasses.replace(config, blocking_rules=(names_only,)))
    # One person three times: only the name blocks them, the e-mail makes them a match.
    ana = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.com"}
    namesakes = [InputRecord(n, "crm", ana) for n in (1, 2, 3)]
    two = matcher.resolve(namesakes[:2])
    assert len(two.edges) == 1 and not two.generic_keys
    three = matcher.resolve(namesakes)
    assert not three.edges, "held by 3 records, over the rule's cap of 2, the name is generic"
    assert len(three.clustering.clusters) == 3
    assert three.generic_keys == {"names:ana|ruiz": 3}
    live = IncrementalResolver(matcher)
    for record in namesakes:
        live.upsert(record)
    assert not live.edges
