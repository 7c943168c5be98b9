"""Search keys and scores for finding customers by name, city, postcode and birth date.

Pure functions. An identity answers to keys (``n:`` a folded name token, ``p:`` its phonetic
code, ``c:`` city, ``z:`` postcode, ``b:`` birth date); a search first narrows to identities
sharing keys with the query through an index, then ranks those few by rapidfuzz.

>>> phonetic("Garcia") == phonetic("Garsía") == phonetic("Garzia")
True
>>> sorted(name_keys("María García"))
['n:garcia', 'n:maria', 'p:KRS', 'p:MR']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache

from rapidfuzz import fuzz

from app.customer.survivorship import fold

TOKEN_MAX = 100
_WORD = re.compile(r"[^\W_]+")
# Letters that sound alike in the languages customers' names come from, by sound class.
_CLASSES = {
    **dict.fromkeys("bpv", "P"),
    **dict.fromkeys("f", "F"),
    **dict.fromkeys("ckq", "K"),
    **dict.fromkeys("g", "K"),
    **dict.fromkeys("sxz", "S"),
    **dict.fromkeys("j", "J"),
    **dict.fromkeys("dt", "T"),
    "l": "L",
    "m": "M",
    "n": "N",
    "r": "R",
}
# Spellings of one sound, rewritten before classing (order matters: longest first).
_SPELLINGS = (
    ("sch", "s"),
    ("tch", "c"),
    ("ph", "f"),
    ("sh", "s"),
    ("ch", "c"),
    ("th", "t"),
    ("ck", "k"),
    ("qu", "k"),
    ("ce", "se"),
    ("ci", "si"),
    ("cy", "sy"),
)
_YEAR_FIRST = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$")
_YEAR_LAST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def words(text: str) -> list[str]:
    """The folded words of a text."""
    return _WORD.findall(fold(text))


def phonetic(word: str) -> str:
    """A coarse sound code of a word: consonant classes, repeats and vowels dropped, so spelling
    variants (Garcia, Garsia, Garzia; Mariya, Maria) share it."""
    text = fold(word)
    for spelling, sound in _SPELLINGS:
        text = text.replace(spelling, sound)
    code: list[str] = []
    for letter in text:
        sound = _CLASSES.get(letter, "")
        if sound and (not code or code[-1] != sound):
            code.append(sound)
        elif not sound and letter in "aeiouy" and not code:
            code.append("A")  # a leading vowel is heard; later ones blur between spellings
    return "".join(code)


def name_keys(name: str) -> set[str]:
    """The keys one name answers to: each word longer than an initial, and its sound."""
    keys: set[str] = set()
    for word in words(name):
        keys |= _word_keys(word)
    return keys


# Names repeat across customers (a store holds far fewer first names and surnames than
# records): a word's keys are made once, not once per record that holds it.
@lru_cache(maxsize=65536)
def _word_keys(word: str) -> frozenset[str]:
    if len(word) <= 1:
        return frozenset()
    code = phonetic(word)
    return frozenset((f"n:{word}"[:TOKEN_MAX], *((f"p:{code}"[:TOKEN_MAX],) if code else ())))


def query_word_keys(query: str) -> list[set[str]]:
    """For each word of a query, the keys that match it."""
    return [keys for word in words(query) if (keys := name_keys(word))]


def postcode_key(postcode: str) -> str:
    """The key of a postcode: folded, without spaces or dashes."""
    return "z:" + "".join(words(postcode))[: TOKEN_MAX - 2]


def city_key(city: str) -> str:
    """The key of a city name."""
    return "c:" + " ".join(words(city))[: TOKEN_MAX - 2]


def birth_date_keys(text: str) -> set[str]:
    """Keys of a birth date; an ambiguous day/month order answers to both readings."""
    text = text.strip()
    readings: list[tuple[str, str, str]] = []
    if match := _YEAR_FIRST.match(text):
        readings.append((match[1], match[2], match[3]))
    elif match := _YEAR_LAST.match(text):
        readings += [(match[3], match[2], match[1]), (match[3], match[1], match[2])]
    found = set()
    for year, month, day in readings:
        try:
            found.add(birth_date_key(date(int(year), int(month), int(day))))
        except ValueError:
            continue
    return found


def birth_date_key(day: date) -> str:
    """The key of a birth date given as a date."""
    return "b:" + day.isoformat()


def record_names(attributes: Mapping[str, str]) -> set[str]:
    """The full names a record gives: its full name, and its first and last name together."""
    names = set()
    if full := attributes.get("full_name"):
        names.add(_spelled(full))
    combined = " ".join(
        part for part in (attributes.get("first_name"), attributes.get("last_name")) if part
    )
    if combined:
        names.add(_spelled(combined))
    return {n for n in names if n}


def record_keys(attributes: Mapping[str, str], names: Iterable[str] | None = None) -> set[str]:
    """Every search key one record gives its identity (``names``: its ``record_names``, when
    the caller has them already)."""
    keys: set[str] = set()
    for name in record_names(attributes) if names is None else names:
        keys |= name_keys(name)
    if city := attributes.get("city"):
        keys.add(_city_key(city))
    if postcode := attributes.get("postcode"):
        keys.add(_postcode_key(postcode))
    if birth := attributes.get("birth_date"):
        keys |= _birth_date_keys(birth)
    return {k for k in keys if len(k) > 2}


# Cities, postcodes and birth dates repeat across records too: their keys, once per value.
@lru_cache(maxsize=65536)
def _spelled(name: str) -> str:
    return " ".join(words(name))


_city_key = lru_cache(maxsize=65536)(city_key)
_postcode_key = lru_cache(maxsize=65536)(postcode_key)


@lru_cache(maxsize=65536)
def _birth_date_keys(text: str) -> frozenset[str]:
    return frozenset(birth_date_keys(text))


def name_score(query: str, names: Iterable[str]) -> float:
    """How well a query matches the best of an identity's names, 0 to 100.

    Word order does not matter; a query naming only part of a name (a surname) still scores
    high, a little under a full match.
    """
    folded = " ".join(words(query))
    best = 0.0
    for name in names:
        best = max(
            best,
            fuzz.token_sort_ratio(folded, name),
            0.95 * fuzz.token_set_ratio(folded, name),
        )
    return round(best, 2)
