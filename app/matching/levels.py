"""Comparison levels in words, for the people who read an explanation.

A level keeps a short, stable name (``exact``, ``jaro_winkler>=0.92``, ``edits<=1``,
``suffix9``): edges store it and the model is keyed by it. People read it through
:func:`describe_level`:

>>> describe_level("nickname")
'nicknames of each other'
>>> describe_level("edits<=1", "phone")
'one digit apart'
>>> describe_level("jaro_winkler>=0.92 (swapped)")
'spelled almost alike, first and last name swapped'
"""

from __future__ import annotations

import re

# Words for the levels that read the same whatever the attribute's type.
_WORDS = {
    "exact": "the same",
    "nickname": "nicknames of each other",
    "token_subset": "one holds every word of the other",
    "initial": "an initial and a name it starts",
    "same_local_part": "the same name before the @, at another provider",
    "day_month_swapped": "day and month swapped",
    "year_off_by_one": "years one apart, same day and month",
    "one_component_off": "one of day, month and year differs",
    "different": "different",
    "missing": "missing on one side",
}
# What one edit changes, by the type of the compared values.
_UNITS = {"phone": "digit", "date": "digit", "identifier": "character", "postcode": "character"}
_SWAPPED = " (swapped)"
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def describe_level(level: str, attribute_type: str | None = None) -> str:
    """A level's name in words (its name itself when it is not one the matcher makes)."""
    swapped = level.endswith(_SWAPPED)
    name = level.removesuffix(_SWAPPED)
    words = _WORDS.get(name) or _graded(name, _UNITS.get(attribute_type or "", "character"))
    return f"{words}, first and last name swapped" if swapped else words


def _graded(name: str, unit: str) -> str:
    if found := re.fullmatch(r"jaro_winkler>=([\d.]+)", name):
        similarity = float(found.group(1))
        return "spelled almost alike" if similarity >= 0.9 else "spelled alike in part"
    if found := re.fullmatch(r"(?:edits|levenshtein)<=(\d+)", name):
        return f"{_count(int(found.group(1)), unit)} apart"
    if found := re.fullmatch(r"(prefix|suffix)(\d+)", name):
        end = "first" if found.group(1) == "prefix" else "last"
        return f"the same {end} {_count(int(found.group(2)), unit)}"
    return name


def _count(number: int, unit: str) -> str:
    written = _NUMBERS[number] if number < len(_NUMBERS) else str(number)
    return f"{written} {unit}{'' if number == 1 else 's'}"
