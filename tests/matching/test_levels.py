"""Comparison levels read as words by the people who review and explain matches."""

from __future__ import annotations

import pytest

from app.matching.compare import Comparison
from app.matching.config import load_match_config
from app.matching.levels import describe_level


@pytest.mark.parametrize(
    ("level", "attribute_type", "words"),
    [
        ("exact", None, "the same"),
        ("nickname", "name", "nicknames of each other"),
        ("jaro_winkler>=0.92", "name", "spelled almost alike"),
        ("jaro_winkler>=0.8", "name", "spelled alike in part"),
        ("initial", "name", "an initial and a name it starts"),
        ("edits<=1", "phone", "one digit apart"),
        ("edits<=2", "identifier", "two characters apart"),
        ("suffix9", "phone", "the same last nine digits"),
        ("prefix3", "postcode", "the same first three characters"),
        ("day_month_swapped", "date", "day and month swapped"),
        ("year_off_by_one", "date", "years one apart, same day and month"),
        ("same_local_part", "email", "the same name before the @, at another provider"),
        ("missing", None, "missing on one side"),
        ("exact (swapped)", "name", "the same, first and last name swapped"),
        ("something_new", None, "something_new"),
    ],
)
def test_levels_in_words(level: str, attribute_type: str | None, words: str) -> None:
    assert describe_level(level, attribute_type) == words


def test_every_configured_level_has_words() -> None:
    config = load_match_config()
    for attribute_type, levels in config.levels.items():
        for label in Comparison(attribute_type, attribute_type, levels).labels:
            described = describe_level(label, attribute_type)
            assert "_" not in described and "<=" not in described and ">=" not in described, label
