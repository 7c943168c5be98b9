"""Search keys and name scores: spelling variants meet, better matches score higher."""

from __future__ import annotations

import pytest

from app.customer.search import birth_date_keys, name_score, phonetic, record_keys


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Garcia", "Garsía"),
        ("Mariya", "Maria"),
        ("Schmidt", "Smith"),
        ("Christine", "Kristine"),
        ("Philippe", "Felipe"),
        ("Youssef", "Yusuf"),
    ],
)
def test_spelling_variants_share_a_sound(left: str, right: str) -> None:
    assert phonetic(left) == phonetic(right)


@pytest.mark.parametrize(("left", "right"), [("Garcia", "Lopez"), ("Maria", "Marta")])
def test_different_names_do_not(left: str, right: str) -> None:
    assert phonetic(left) != phonetic(right)


def test_a_record_answers_to_its_names_city_postcode_and_birth_date() -> None:
    keys = record_keys(
        {
            "first_name": "María",
            "last_name": "García López",
            "city": "Madrid",
            "postcode": "28 013",
            "birth_date": "03/04/1984",
        }
    )
    assert {"n:maria", "n:garcia", "n:lopez", "p:KRS", "c:madrid", "z:28013"} <= keys
    assert {"b:1984-04-03", "b:1984-03-04"} <= keys  # day and month order are ambiguous


def test_impossible_dates_give_no_key() -> None:
    assert birth_date_keys("31/31/1984") == set()


def test_scores_rank_exact_over_partial_over_misspelt() -> None:
    names = ["maria garcia lopez"]
    exact = name_score("Maria Garcia Lopez", names)
    partial = name_score("maria garcia", names)
    misspelt = name_score("mraia garcia lopez", names)
    other = name_score("maria gomez", names)
    assert exact == 100
    assert exact > partial > other
    assert misspelt > other
