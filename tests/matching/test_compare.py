"""Graded comparison levels, per type: table-driven (left, right, expected level)."""

from __future__ import annotations

import json

import pytest

from app.matching import InputRecord, Matcher, ScoredEdge
from app.matching.frame import FrameBuilder


def _compare(matcher: Matcher, left: dict[str, str], right: dict[str, str]) -> ScoredEdge:
    return matcher.compare(
        matcher.prepare(InputRecord(1, "a", left)), matcher.prepare(InputRecord(2, "b", right))
    )


def _level(edge: ScoredEdge, attribute: str) -> str:
    return next(c.level for c in edge.contributions if c.attribute == attribute)


@pytest.mark.parametrize(
    ("attribute", "left", "right", "level"),
    [
        ("first_name", "Robert", "robert", "exact"),
        ("first_name", "Bob", "Robert", "nickname"),
        ("first_name", "Liz", "Elizabeth", "nickname"),
        ("first_name", "Pepe", "José", "nickname"),
        ("first_name", "Maria Jose", "Maria", "token_subset"),
        ("first_name", "Jonathon", "Jonathan", "jaro_winkler>=0.92"),
        ("first_name", "J", "John", "initial"),
        ("first_name", "Alice", "Bob", "different"),
        ("last_name", "García López", "Garcia", "token_subset"),
        ("last_name", "de la Cruz", "Cruz", "exact"),
        ("last_name", "Johnson", "Jonson", "jaro_winkler>=0.92"),
        ("last_name", "Smith", "Smyth", "jaro_winkler>=0.8"),
        ("last_name", "Smith", "Jones", "different"),
        ("email", "ana@example.com", "ANA@example.com", "exact"),
        ("email", "ana.ruiz@example.com", "ana.ruiz@other.org", "same_local_part"),
        ("email", "ana.ruiz@example.com", "ana.ruis@example.com", "jaro_winkler>=0.92"),
        ("email", "ana@example.com", "bob@example.com", "different"),
        ("phone", "(555) 201-3344", "555.201.3344", "exact"),
        ("phone", "555 201 3344", "555 201 3345", "edits<=1"),
        ("phone", "555 201 3344", "555 999 1111", "different"),
        ("phone", "+353 87 865 8469", "087 865 8469", "exact"),
        ("phone", "+33 6 13 25 74 39", "06 13 25 74 39", "exact"),
        ("phone", "+44 7880 515938", "07880 515938", "exact"),
        ("phone", "+1 660 995 5504", "+43 660 995 5504", "suffix9"),
        ("phone", "+34 613 257 439", "06 13 25 74 39", "suffix9"),
        ("birth_date", "1990-04-12", "12 April 1990", "exact"),
        ("birth_date", "1990-04-12", "1990-12-04", "day_month_swapped"),
        ("birth_date", "1990-04-12", "1991-04-12", "year_off_by_one"),
        ("birth_date", "1990-04-12", "1990-04-13", "one_component_off"),
        ("birth_date", "1990-04-12", "1975-09-30", "different"),
        ("address_line1", "12 Main Street", "12 main st.", "exact"),
        ("address_line1", "12 Main Street", "12 Mian Street", "jaro_winkler>=0.92"),
        ("address_line1", "12 Main Street", "21 Main Street", "different"),
        ("postcode", "2000", "2001", "edits<=1"),
        ("postcode", "SW1A 1AA", "SW1A 2BB", "prefix3"),
        ("city", "Springfield", "Springfeild", "jaro_winkler>=0.9"),
        ("soc_sec_id", "1234567", "1234567", "exact"),
        ("soc_sec_id", "1234567", "1234576", "edits<=1"),
        ("soc_sec_id", "1234567", "1243576", "edits<=2"),
        ("soc_sec_id", "1234567", "7654321", "different"),
        ("loyalty_tier", "Gold", "gold", "exact"),
        ("loyalty_tier", "Gold", "Silver", "different"),
        ("email", "ana@example.com", "", "missing"),
    ],
)
def test_level(matcher: Matcher, attribute: str, left: str, right: str, level: str) -> None:
    edge = _compare(matcher, {attribute: left}, {attribute: right})
    assert _level(edge, attribute) == level


def test_swapped_first_and_last_name_agree(matcher: Matcher) -> None:
    edge = _compare(
        matcher,
        {"first_name": "Ana", "last_name": "Ruiz"},
        {"first_name": "Ruiz", "last_name": "Ana"},
    )
    assert _level(edge, "first_name") == "exact (swapped)"
    assert _level(edge, "last_name") == "exact (swapped)"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"full_name": "Hill"}, {"first_name": "John", "last_name": "Hill"}),
        ({"full_name": "Wang Peng"}, {"first_name": "Peng"}),
    ],
)
def test_a_lone_name_is_compared_with_both_names(
    matcher: Matcher, left: dict[str, str], right: dict[str, str]
) -> None:
    edge = _compare(matcher, left, right)
    levels = {_level(edge, "first_name"), _level(edge, "last_name")}
    assert "exact (swapped)" in levels
    assert "different" not in levels


def test_a_lone_name_is_crossed_only_on_an_exact_agreement(matcher: Matcher) -> None:
    edge = _compare(matcher, {"first_name": "Marie"}, {"first_name": "Jean", "last_name": "Martin"})
    assert _level(edge, "first_name") == "different"


def test_a_lone_first_name_is_not_crossed_when_it_agrees(matcher: Matcher) -> None:
    edge = _compare(matcher, {"first_name": "John"}, {"first_name": "John", "last_name": "Hill"})
    assert _level(edge, "first_name") == "exact"


def test_a_local_part_shared_by_namesakes_adds_nothing_to_agreeing_names(
    matcher: Matcher,
) -> None:
    namesakes = _compare(
        matcher,
        {"first_name": "John", "last_name": "Turner", "email": "jturner@eircom.net"},
        {"first_name": "John", "last_name": "Turner", "email": "jturner@ironbark.example"},
    )
    email = next(c for c in namesakes.contributions if c.attribute == "email")
    assert email.level == "same_local_part"
    assert email.weight == 0
    nameless = _compare(
        matcher,
        {"first_name": "John", "email": "jturner@eircom.net"},
        {"last_name": "Turner", "email": "jturner@ironbark.example"},
    )
    assert next(c for c in nameless.contributions if c.attribute == "email").weight > 0


def test_explanation_carries_weights_and_values(matcher: Matcher) -> None:
    edge = _compare(
        matcher,
        {"email": "ana@example.com", "first_name": "Ana"},
        {"email": "ANA@example.com", "first_name": "Anna"},
    )
    email = next(c for c in edge.contributions if c.attribute == "email")
    assert (email.left, email.right) == ("ana@example.com", "ana@example.com")
    assert email.weight > 10
    assert edge.weight == pytest.approx(
        matcher.model.prior_weight + sum(c.weight for c in edge.contributions)
    )


def test_compare_is_symmetric(matcher: Matcher) -> None:
    a = matcher.prepare(InputRecord(5, "a", {"first_name": "Jon", "last_name": "Smith"}))
    b = matcher.prepare(InputRecord(3, "b", {"first_name": "John", "last_name": "Smyth"}))
    assert matcher.compare(a, b) == matcher.compare(b, a)
    assert matcher.compare(a, b).left == 3


@pytest.mark.parametrize(
    ("left", "right", "decision"),
    [
        (
            {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.com"},
            {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.com"},
            "auto",
        ),
        (
            {"first_name": "Bob", "last_name": "Smith", "birth_date": "1970-01-02"},
            {"first_name": "Robert", "last_name": "Smith", "birth_date": "1970-01-02"},
            "auto",
        ),
        (
            {"first_name": "John", "last_name": "Smith"},
            {"first_name": "John", "last_name": "Smith"},
            "none",
        ),
        (
            {"first_name": "Ana", "last_name": "Ruiz", "birth_date": "1990-04-12"},
            {"first_name": "Ana", "last_name": "Ruiz", "birth_date": "1991-07-30"},
            "none",
        ),
    ],
)
def test_default_model_decides_sensibly(
    matcher: Matcher, left: dict[str, str], right: dict[str, str], decision: str
) -> None:
    edge = _compare(matcher, left, right)
    got = "auto" if matcher.is_auto(edge) else "review" if matcher.is_review(edge) else "none"
    assert got == decision


PAGE = [
    {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.com", "phone": "555 201 3344"},
    {"full_name": "Ruiz, Ana", "email": "ANA@example.com"},
    {"first_name": "Bob", "last_name": "Smith", "birth_date": "1970-01-02"},
    {"first_name": "Robert", "last_name": "Smith", "birth_date": "02/01/1970"},
    {"first_name": "Ruiz", "last_name": "Ana", "phone": "+1 555 201 3344"},
]


def test_score_pairs_gives_every_pair_what_compare_gives(matcher: Matcher) -> None:
    records = [matcher.prepare(InputRecord(10 - i, "crm", p)) for i, p in enumerate(PAGE)]
    pairs = [(a, b) for a in records for b in records if a.id != b.id]
    edges = matcher.score_pairs(pairs)
    assert edges == [matcher.compare(a, b) for a, b in pairs]
    assert all(e.left < e.right for e in edges)
    strong = matcher.score_pairs(pairs, minimum=matcher.config.review_threshold)
    assert strong == [e for e in edges if e.probability >= matcher.config.review_threshold]
    assert strong


def test_a_frame_built_a_page_at_a_time_equals_one_built_record_by_record() -> None:
    # First and last names share one vocabulary, so a value new in one column is known in the
    # other; later pages reuse earlier codes.
    pages = [
        [(1, {"first": "ana", "last": "ruiz"}), (2, {"first": "ruiz"}), (3, {"last": "li"})],
        [(4, {"first": "li", "last": "ana", "city": "vigo"}), (5, {}), (6, {"city": "vigo"})],
    ]
    by_page = FrameBuilder(["first", "last", "city"], shared=["first", "last"])
    one_by_one = FrameBuilder(["first", "last", "city"], shared=["first", "last"])
    for page in pages:
        by_page.extend(page)
        for record_id, values in page:
            one_by_one.add(record_id, values)
    built, expected = by_page.build(), one_by_one.build()
    assert list(built.ids) == list(expected.ids) == [1, 2, 3, 4, 5, 6]
    for name, column in expected.columns.items():
        assert list(built.columns[name].codes) == list(column.codes)
        assert built.columns[name].vocabulary.values == column.vocabulary.values
    assert [built.values(row) for row in range(6)] == [v for page in pages for _, v in page]


def test_a_record_restored_from_stored_json_scores_the_same(matcher: Matcher) -> None:
    first, second = (matcher.prepare(InputRecord(i, "crm", p)) for i, p in enumerate(PAGE[:2]))
    stored = json.loads(json.dumps({"values": first.values, "keys": list(first.keys)}))
    restored = matcher.restore(first.id, first.source, stored["values"], stored["keys"])
    assert restored == first
    assert matcher.restore(first.id, first.source, stored["values"]) == first
    assert matcher.compare(restored, second) == matcher.compare(first, second)
