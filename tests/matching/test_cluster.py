"""Clustering guards: constraints, exclusive identifiers, weak bridges; order independence."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from app.matching import Constraints, InputRecord, MatchConfig, Matcher, ScoredEdge
from app.matching.cluster import Guards, PairEvidence, cluster_component

STRONG = ScoredEdge(0, 0, 40.0, 1.0)


def _edge(a: int, b: int, weight: float = 40.0) -> ScoredEdge:
    return ScoredEdge(min(a, b), max(a, b), weight, 1.0 / (1.0 + 2.0**-weight))


def _partition(clusters: object) -> set[frozenset[int]]:
    return {frozenset(c) for c in clusters}  # type: ignore[attr-defined]


def test_auto_edges_join_and_review_edges_do_not(matcher: Matcher) -> None:
    edges = [_edge(1, 2), _edge(2, 3, 1.0)]
    clustering = matcher.cluster([1, 2, 3], edges)
    assert _partition(clustering.clusters) == {frozenset({1, 2}), frozenset({3})}


def test_must_link_joins_records_without_edges(matcher: Matcher) -> None:
    clustering = matcher.cluster([1, 2], [], Constraints(must_link=frozenset({(1, 2)})))
    assert _partition(clustering.clusters) == {frozenset({1, 2})}


def test_cannot_link_splits_along_the_weakest_cut(matcher: Matcher) -> None:
    # 1-2-3 strongly tied, 3-4 weaker, 4-5 strong: the cut between 1 and 5 is 3-4.
    edges = [_edge(1, 2), _edge(2, 3), _edge(1, 3), _edge(3, 4, 15.0), _edge(4, 5)]
    clustering = matcher.cluster(range(1, 6), edges, Constraints(cannot_link=frozenset({(1, 5)})))
    assert _partition(clustering.clusters) == {frozenset({1, 2, 3}), frozenset({4, 5})}
    assert [c.kind for c in clustering.conflicts] == ["cannot_link"]


def test_cannot_link_loses_to_must_link(matcher: Matcher) -> None:
    constraints = Constraints(must_link=frozenset({(1, 2)}), cannot_link=frozenset({(1, 2)}))
    clustering = matcher.cluster([1, 2], [], constraints)
    assert _partition(clustering.clusters) == {frozenset({1, 2})}
    assert clustering.conflicts[0].kind == "cannot_link"


def test_weak_bridge_between_two_groups_is_cut(matcher: Matcher) -> None:
    edges = [_edge(1, 2), _edge(3, 4), _edge(2, 3, 9.0)]
    clustering = matcher.cluster([1, 2, 3, 4], edges)
    assert _partition(clustering.clusters) == {frozenset({1, 2}), frozenset({3, 4})}
    assert clustering.conflicts[0].kind == "weak_bridge"
    assert clustering.conflicts[0].records == (2, 3)


@pytest.mark.parametrize(
    "edges",
    [
        [_edge(1, 2), _edge(3, 4), _edge(2, 3, 30.0)],  # strong bridge
        [_edge(1, 2), _edge(2, 3, 9.0)],  # a single record hanging on a weak edge
        [_edge(1, 2), _edge(3, 4), _edge(2, 3, 9.0), _edge(1, 4, 9.0)],  # two weak links
    ],
)
def test_links_that_are_not_weak_bridges_hold(matcher: Matcher, edges: list[ScoredEdge]) -> None:
    records = sorted({r for e in edges for r in (e.left, e.right)})
    clustering = matcher.cluster(records, edges)
    assert _partition(clustering.clusters) == {frozenset(records)}


def test_exclusive_identifier_separates_two_people(config: MatchConfig) -> None:
    matcher = Matcher(
        dataclasses.replace(config, exclusive=frozenset({"soc_sec_id"})),
        {"soc_sec_id": "identifier"},
    )
    records = [
        matcher.prepare(InputRecord(1, "a", {"soc_sec_id": "1234567"})),
        matcher.prepare(InputRecord(2, "a", {})),
        matcher.prepare(InputRecord(3, "a", {"soc_sec_id": "7654321"})),
    ]
    clustering = matcher.cluster(records, [_edge(1, 2, 30.0), _edge(2, 3, 20.0)])
    assert _partition(clustering.clusters) == {frozenset({1, 2}), frozenset({3})}
    assert clustering.conflicts[0].kind == "exclusive"


def test_clustering_ignores_input_order(matcher: Matcher) -> None:
    edges = [_edge(1, 2), _edge(2, 3), _edge(3, 4, 9.0), _edge(4, 5), _edge(5, 6, 15.0)]
    constraints = Constraints(cannot_link=frozenset({(1, 6)}))
    expected = matcher.cluster(range(1, 7), edges, constraints)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = edges[:]
        rng.shuffle(shuffled)
        records = list(range(1, 7))
        rng.shuffle(records)
        assert matcher.cluster(records, shuffled, constraints) == expected


def _resolve_live(matcher: Matcher, people: list[dict[str, str]]) -> set[frozenset[int]]:
    """Cluster records the way real time does: every pair scored, PreparedRecords passed."""
    records = [matcher.prepare(InputRecord(i, "crm", p)) for i, p in enumerate(people, 1)]
    edges = [matcher.compare(a, b) for i, a in enumerate(records) for b in records[i + 1 :]]
    return _partition(matcher.cluster(records, edges).clusters)


COUPLE = {"last_name": "Taylor", "email": "taylors@example.com", "postcode": "90032"}


def test_a_couple_sharing_an_email_stays_two_people(matcher: Matcher) -> None:
    sarah = {**COUPLE, "first_name": "Sarah", "phone": "415 272 9431"}
    robert = {**COUPLE, "first_name": "Robert", "phone": "773 230 1949"}
    edge = matcher.compare(
        matcher.prepare(InputRecord(1, "crm", sarah)),
        matcher.prepare(InputRecord(2, "crm", robert)),
    )
    assert not matcher.is_auto(edge)
    assert _resolve_live(matcher, [sarah, sarah, robert]) == {frozenset({1, 2}), frozenset({3})}


def test_a_record_that_could_be_either_partner_joins_neither(matcher: Matcher) -> None:
    sarah = {**COUPLE, "first_name": "Sarah", "birth_date": "1970-02-01"}
    robert = {**COUPLE, "first_name": "Robert", "birth_date": "1968-05-09"}
    nameless = dict(COUPLE)
    partition = _resolve_live(matcher, [sarah, sarah, robert, robert, nameless])
    assert partition == {frozenset({1, 2}), frozenset({3, 4}), frozenset({5})}


def test_one_differing_birth_date_does_not_make_two_people(matcher: Matcher) -> None:
    # One person's records disagree on a birth date often enough (a typo, a default): alone it
    # is evidence against, not a veto.
    common = {"first_name": "Robert", "last_name": "Lee", "email": "robertlee@example.com"}
    older = {**common, "birth_date": "1972-10-12"}
    younger = {**common, "birth_date": "1980-02-15"}
    partition = _resolve_live(matcher, [older, dict(common), younger])
    assert partition == {frozenset({1, 2, 3})}


def test_records_disagreeing_on_two_personal_attributes_are_kept_apart(
    matcher: Matcher,
) -> None:
    # A father and son sharing a name and a street: the given names agree, but their birth
    # dates and their identifiers disagree, so no record links them together.
    common = {"first_name": "Robert", "last_name": "Lee", "address_line1": "12 Oak Street"}
    father = {**common, "birth_date": "1950-10-12", "soc_sec_id": "4471932"}
    son = {**common, "birth_date": "1980-02-15", "soc_sec_id": "9036214"}
    records = [
        matcher.prepare(InputRecord(i, "crm", p)) for i, p in enumerate([father, common, son], 1)
    ]
    assert matcher.compare(records[0], records[2]).probability < 0.5
    clustering = matcher.cluster(records, [_edge(1, 2), _edge(2, 3)])
    assert frozenset({1, 2, 3}) not in _partition(clustering.clusters)
    assert {c.kind for c in clustering.conflicts} <= {"personal", "ambiguous"}
    assert clustering.conflicts


def test_a_pair_whose_own_evidence_says_one_person_is_not_vetoed(matcher: Matcher) -> None:
    # A mistyped identifier and a changed given name, with the same birth date, family name,
    # e-mail and street: the personal attributes disagree twice, but the pair's own evidence
    # says one person, so they are not vetoed.
    base = {
        "first_name": "Amber",
        "last_name": "Blackwell",
        "birth_date": "1986-03-25",
        "email": "amber.blackwell@example.com",
        "address_line1": "25 Thomson St",
        "soc_sec_id": "5701396",
    }
    retyped = {**base, "first_name": "Ambre", "soc_sec_id": "5701369"}
    renamed = {**base, "first_name": "Mia", "soc_sec_id": "2016958"}
    records = [
        matcher.prepare(InputRecord(i, "crm", p)) for i, p in enumerate([base, retyped, renamed], 1)
    ]
    pair = matcher.compare(records[1], records[2])
    assert matcher.scorer.conflicts(np.array([[c.weight for c in pair.contributions]])).all(), (
        "two personal attributes disagree"
    )
    assert matcher.is_auto(pair)
    assert _resolve_live(matcher, [base, retyped, renamed]) == {frozenset({1, 2, 3})}


def test_one_strong_coincidence_does_not_join_two_namesakes(matcher: Matcher) -> None:
    turner = {"first_name": "John", "last_name": "Turner"}
    first = {**turner, "email": "jturner@eircom.example", "phone": "213 555 0101"}
    second = {**turner, "email": "jturner@ironbark.example", "phone": "305 555 0199"}
    records = [
        matcher.prepare(InputRecord(i, "crm", p))
        for i, p in enumerate([first, first, second, second], 1)
    ]
    clustering = matcher.cluster(records, [_edge(1, 2), _edge(3, 4), _edge(2, 3, 20.0)])
    assert _partition(clustering.clusters) == {frozenset({1, 2}), frozenset({3, 4})}
    assert [c.records for c in clustering.conflicts] == [(2, 3)]


def test_a_lone_family_name_on_a_family_email_is_no_more_than_the_email(
    matcher: Matcher,
) -> None:
    # The lone "Nguyen" may be either partner's family name: agreeing with the other record's
    # family name adds nothing to the family e-mail they both show.
    family = "nguyen.family@example.com"
    lone = matcher.prepare(InputRecord(1, "shop", {"full_name": "Nguyen", "email": family}))
    straight = matcher.prepare(InputRecord(2, "shop", {"last_name": "Nguyen", "email": family}))
    cuong = matcher.prepare(
        InputRecord(3, "crm", {"first_name": "Cuong", "last_name": "Nguyen", "email": family})
    )
    crossed = matcher.compare(lone, cuong)
    assert any("(swapped)" in c.level for c in crossed.contributions)
    assert not matcher.is_auto(crossed)
    assert crossed.weight == pytest.approx(matcher.compare(straight, cuong).weight)


def test_equal_weights_are_taken_in_the_order_of_content_not_of_ids() -> None:
    # Two equally strong edges, and a conflict between their far ends: whichever is taken
    # first wins. Which one must follow the records' content, whatever ids they arrived with.
    content = {"bridge": 101, "left": 202, "right": 303}

    def clusters(ids: dict[str, int]) -> set[frozenset[str]]:
        name = {number: key for key, number in ids.items()}
        edges = {
            tuple(sorted((ids["bridge"], ids["left"]))): 10.0,
            tuple(sorted((ids["bridge"], ids["right"]))): 10.0,
        }
        conflict = tuple(sorted((ids["left"], ids["right"])))
        parts, _ = cluster_component(
            tuple(sorted(ids.values())),
            edges,  # type: ignore[arg-type]
            must_link=(),
            cannot_link=(),
            exclusive={},
            guards=Guards(),
            evidence=PairEvidence({}, frozenset({conflict})),  # type: ignore[arg-type]
            digests={ids[key]: digest for key, digest in content.items()},
        )
        return {frozenset(name[r] for r in part) for part in parts}

    one = clusters({"bridge": 1, "left": 2, "right": 3})
    other = clusters({"bridge": 1, "left": 3, "right": 2})
    assert one == other == {frozenset({"bridge", "left"}), frozenset({"right"})}
