"""Deterministic synthetic people and the records each department holds about them.

One generator feeds the sandbox servers, the demo data, the tests and the matcher benchmark.
``generate_people`` streams the ground truth (who exists); ``department_records`` turns each
person into the records the sales CRM, the support help desk and the marketing e-mail platform
hold, each with the noise those systems really accumulate: typos, nicknames, dropped accents,
stale e-mails and phones, moved addresses, placeholders, shared family e-mails, shared office
switchboards, twins and duplicate accounts. Every record names its ``person_id``, which is the
ground truth a matcher is scored against.

Everything streams: a million records never sit in memory at once. The same seed always gives
the same output, and every rate that shapes the difficulty is a named, overridable default.

Example::

    >>> from connectors.sandbox.people import DEPARTMENTS, generate_people, generate_records
    >>> records = list(generate_records(100, seed=1))
    >>> len(records), records[0].department in DEPARTMENTS, records[0].person_id
    (100, True, 'p000001')
    >>> next(generate_people(1, seed=1)) == next(generate_people(5, seed=1))
    True
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import random
import sys
import unicodedata
import zlib
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any, Generic, TypeVar

from connectors.sandbox.people_data import (
    BIG_EMPLOYERS,
    CAMPAIGNS,
    COMPANY_TRADES,
    COMPANY_WORDS,
    COUNTRIES,
    CULTURE_WEIGHTS,
    CULTURES,
    KEYBOARD_NEIGHBOURS,
    PLACEHOLDER_DATES,
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_PHONES,
    PLACEHOLDER_TEXT,
    PRODUCT_CATEGORIES,
    STRIPPED_LETTERS,
    TICKET_SUBJECTS,
    TRANSLITERATIONS,
    City,
    Country,
    Culture,
)

DEPARTMENTS: tuple[str, ...] = ("sales", "support", "marketing")

DEPARTMENT_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "sales": (
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "region",
        "country",
        "birth_date",
    ),
    "support": ("full_name", "email", "phone"),
    "marketing": ("email", "first_name", "last_name", "birth_date", "postcode"),
}
"""The canonical attributes each department's system can hold, in its CSV column order."""

EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "sales": ("order", "deal"),
    "support": ("ticket",),
    "marketing": ("email_sent", "email_open", "email_click"),
}

REFERENCE_TIME = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)
"""Records are dated before this instant, so the output never depends on today's date."""

T = TypeVar("T")


# --------------------------------------------------------------------------- ground truth


@dataclass(frozen=True, slots=True)
class Person:
    """One real (synthetic) person: the ground truth every department record points to."""

    person_id: str
    first_name: str
    last_name: str
    birth_date: datetime.date | None
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    address_line1: str
    city: str
    postcode: str
    region: str
    country: str
    company: str | None
    household: str | None
    address_line2: str = ""
    middle_name: str | None = None
    other_names: tuple[str, ...] = ()
    """Given names the person also goes by (an English name, say), besides nicknames."""
    former_last_name: str | None = None
    """The surname before marriage, still on old records."""
    gender: str = ""
    culture: str = ""
    work_email: str | None = None
    landline: str | None = None
    """The household's shared landline, also listed in ``phones``."""
    office_phone: str | None = None
    """The employer's switchboard, shared with colleagues, also listed in ``phones``."""


@dataclass(frozen=True, slots=True)
class DepartmentRecord:
    """One customer as one department's system holds them, with the ground-truth person."""

    department: str
    external_id: str
    person_id: str
    attributes: dict[str, str]
    updated_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class DepartmentEvent:
    """One interaction a department's system recorded for one of its records."""

    department: str
    external_id: str
    record_external_id: str
    type: str
    occurred_at: datetime.datetime
    properties: dict[str, Any]


# --------------------------------------------------------------------------- knobs


@dataclass(frozen=True, slots=True)
class PopulationRates:
    """How the population is shaped: households, shared identifiers, name traits."""

    culture_weights: tuple[tuple[str, float], ...] = tuple(CULTURE_WEIGHTS.items())
    couple: float = 0.22
    family: float = 0.09
    twins: float = 0.03
    flatmates: float = 0.04
    mixed_culture_couple: float = 0.12
    common_name: float = 0.03
    family_email: float = 0.35
    landline: float = 0.3
    no_mobile: float = 0.08
    previous_emails: float = 0.3
    previous_phones: float = 0.2
    employed: float = 0.55
    big_employer: float = 0.25
    office_phone: float = 0.4
    big_employer_office_phone: float = 0.9
    """Big employers put their switchboard on every employee's business card."""
    work_email: float = 0.5
    western_name: float = 0.35
    middle_name: float = 0.3
    married_name: float = 0.6
    unknown_birth_date: float = 0.02
    address_line2: float = 0.35

    def scaled(self, factor: float) -> PopulationRates:
        """These rates with every trap made ``factor`` times as frequent (capped at 1)."""
        return _scaled(self, factor, keep={"culture_weights", "couple", "family", "flatmates"})


@dataclass(frozen=True, slots=True)
class CoverageRates:
    """Which departments know a person, and how often one holds them twice."""

    department_count: tuple[float, float, float] = (0.35, 0.35, 0.30)
    department_weights: tuple[tuple[str, float], ...] = (
        ("sales", 0.55),
        ("support", 0.65),
        ("marketing", 0.8),
    )
    employed_in_sales: float = 2.0
    """Multiplier on the sales weight for people with an employer (B2B customers)."""
    duplicate: float = 0.03


@dataclass(frozen=True, slots=True)
class NoiseRates:
    """How dirty one department's copy of a person is. Probabilities per record or field."""

    presence: dict[str, float] = field(default_factory=dict)
    """Probability that each held attribute has a value at all."""
    empty_string: float = 0.3
    typo: float = 0.03
    second_typo: float = 0.2
    case: float = 0.05
    drop_accents: float = 0.3
    transliterate: float = 0.35
    nickname: float = 0.12
    western_name: float = 0.5
    spelling_variant: float = 0.15
    swap_names: float = 0.02
    swap_names_family_first: float = 0.2
    middle_name: float = 0.1
    single_surname: float = 0.35
    hyphenated_surnames: float = 0.05
    surname_initial: float = 0.01
    former_name: float = 0.5
    stale_email: float = 0.2
    stale_phone: float = 0.2
    moved_address: float = 0.08
    email_case: float = 0.08
    email_alias: float = 0.15
    email_typo: float = 0.01
    placeholder: float = 0.01
    street_abbreviation: float = 0.3
    company_variant: float = 0.4
    work_email: float = 0.2
    office_phone: float = 0.3
    yearless_birthday: float = 0.0
    phone_formats: tuple[tuple[str, float], ...] = (
        ("e164", 0.25),
        ("international", 0.25),
        ("national", 0.3),
        ("digits", 0.1),
        ("dashed", 0.1),
    )
    date_formats: tuple[tuple[str, float], ...] = (("%Y-%m-%d", 1.0),)
    country_formats: tuple[tuple[str, float], ...] = (("code", 0.5), ("name", 0.5))
    full_name_styles: tuple[tuple[str, float], ...] = (("first last", 1.0),)

    def scaled(self, factor: float) -> NoiseRates:
        """These rates with every kind of noise ``factor`` times as frequent (capped at 1)."""
        return _scaled(self, factor, keep={"presence", "empty_string", "transliterate"})


_Rates = TypeVar("_Rates", "PopulationRates", "NoiseRates")


def _scaled(rates: _Rates, factor: float, keep: set[str]) -> _Rates:
    changes = {
        item.name: min(1.0, getattr(rates, item.name) * factor)
        for item in fields(rates)
        if item.name not in keep and isinstance(getattr(rates, item.name), float)
    }
    return replace(rates, **changes)


DEFAULT_POPULATION = PopulationRates()
DEFAULT_COVERAGE = CoverageRates()
DEFAULT_NOISE: dict[str, NoiseRates] = {
    "sales": NoiseRates(
        presence={
            "first_name": 0.97,
            "last_name": 0.95,
            "email": 0.93,
            "phone": 0.85,
            "company": 0.9,
            "address_line1": 0.75,
            "address_line2": 1.0,
            "city": 0.8,
            "postcode": 0.75,
            "region": 0.6,
            "country": 0.85,
            "birth_date": 0.25,
        },
        work_email=0.7,
        office_phone=0.8,
        phone_formats=(("e164", 0.35), ("international", 0.35), ("national", 0.2), ("dashed", 0.1)),
        date_formats=(("%Y-%m-%d", 0.8), ("%d.%m.%Y", 0.1), ("%d/%m/%Y", 0.1)),
    ),
    "support": NoiseRates(
        presence={"full_name": 0.95, "email": 0.97, "phone": 0.5},
        typo=0.05,
        case=0.1,
        drop_accents=0.4,
        nickname=0.2,
        work_email=0.2,
        office_phone=0.3,
        stale_email=0.15,
        phone_formats=(
            ("e164", 0.15),
            ("international", 0.15),
            ("national", 0.35),
            ("digits", 0.2),
            ("dashed", 0.1),
            ("trunk_in_parens", 0.05),
        ),
        full_name_styles=(
            ("first last", 0.62),
            ("first", 0.1),
            ("last, first", 0.06),
            ("family first", 0.12),
            ("first middle last", 0.05),
            ("initial last", 0.05),
        ),
    ),
    "marketing": NoiseRates(
        presence={
            "email": 1.0,
            "first_name": 0.7,
            "last_name": 0.6,
            "birth_date": 0.3,
            "postcode": 0.4,
        },
        typo=0.02,
        case=0.15,
        drop_accents=0.35,
        nickname=0.15,
        work_email=0.05,
        email_alias=0.25,
        placeholder=0.005,
        yearless_birthday=0.4,
        date_formats=(("%m/%d/%Y", 0.8), ("%Y-%m-%d", 0.2)),
    ),
}
"""Per-department noise: the CRM is typed by sales reps, the help desk by hurried customers,
the e-mail platform by sign-up forms."""


# --------------------------------------------------------------------------- small tools


class _Weighted(Generic[T]):
    """Draws items with fixed weights in O(log n) per draw."""

    __slots__ = ("_cumulative", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        return self._items[bisect(self._cumulative, rng.random() * self._total)]


def _zipf(items: Sequence[T], exponent: float = 1.0) -> _Weighted[T]:
    """Earlier items are drawn more often, as common names and big cities are."""
    return _Weighted(items, [1.0 / (rank + 1) ** exponent for rank in range(len(items))])


def _pairs(pairs: Sequence[tuple[T, float]]) -> _Weighted[T]:
    return _Weighted([item for item, _ in pairs], [weight for _, weight in pairs])


def _build_strip_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        char = chr(code)
        bare = "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii())
        if bare and bare != char:
            table[code] = bare
    table.update({ord(char): ascii_form for char, ascii_form in STRIPPED_LETTERS.items()})
    return table


_STRIP = _build_strip_table()
_TRANSLIT = {**_STRIP, **{ord(char): text for char, text in TRANSLITERATIONS.items()}}
_LOCAL_PART_DROP = str.maketrans("", "", " '-.`\u2019")


def strip_accents(text: str) -> str:
    """``Müller`` → ``Muller``, ``Nguyễn`` → ``Nguyen``: what an ASCII-only form keeps."""
    return text.translate(_STRIP)


def transliterate(text: str) -> str:
    """``Müller`` → ``Mueller``, ``Åsa`` → ``Aasa``: how an English keyboard spells them."""
    return text.translate(_TRANSLIT)


@lru_cache(maxsize=1 << 16)
def _slug(text: str) -> str:
    """The ASCII letters of a name, lower case, as an e-mail local part uses them."""
    return transliterate(text).lower().translate(_LOCAL_PART_DROP)


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count) if count > 0 else ""


def _fill_pattern(rng: random.Random, pattern: str) -> str:
    """A postcode from a pattern: '#' digit, '@' letter, '&' letter or digit."""
    out = []
    for char in pattern:
        if char == "#":
            out.append(str(rng.randrange(10)))
        elif char == "@":
            out.append(rng.choice("ABDEFGHJLNPQRSTUWXYZ"))
        elif char == "&":
            out.append(rng.choice("0123456789ACDEFHKNPRTVWXY"))
        else:
            out.append(char)
    return "".join(out)


class _Claims:
    """Remembers, in a fixed bitmap (4 MiB by default), which e-mails and phones are taken.

    A false "taken" only makes the generator draw another value, so uniqueness is exact while
    memory stays flat however many people stream through.
    """

    __slots__ = ("_bits", "_mask")

    def __init__(self, size_bits: int = 1 << 25) -> None:
        self._bits = bytearray(size_bits // 8)
        self._mask = size_bits - 1

    def claim(self, value: str) -> bool:
        """Take ``value`` if nobody has it yet; False when it may be taken."""
        slot = zlib.crc32(value.lower().encode()) & self._mask
        byte, bit = slot >> 3, 1 << (slot & 7)
        if self._bits[byte] & bit:
            return False
        self._bits[byte] |= bit
        return True


# --------------------------------------------------------------------------- name tables


def _spellings(entry: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in entry.split("|"))


@dataclass(frozen=True, slots=True)
class _CultureTables:
    culture: Culture
    male: _Weighted[tuple[str, ...]]
    female: _Weighted[tuple[str, ...]]
    surnames: _Weighted[tuple[tuple[str, ...], tuple[str, ...]]]
    top_male: tuple[str, ...]
    top_female: tuple[str, ...]
    top_surname: tuple[tuple[str, ...], tuple[str, ...]]
    countries: _Weighted[str]


def _surname_forms(entry: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``Kowalski/Kowalska`` → masculine and feminine spellings; plain names serve both."""
    masculine, _, feminine = entry.partition("/")
    return _spellings(masculine), _spellings(feminine or masculine)


def _culture_tables(culture: Culture) -> _CultureTables:
    male = [_spellings(name) for name in culture.male]
    female = [_spellings(name) for name in culture.female]
    surnames = [_surname_forms(name) for name in culture.surnames]
    return _CultureTables(
        culture=culture,
        male=_zipf(male, 0.9),
        female=_zipf(female, 0.9),
        surnames=_zipf(surnames, 0.8),
        top_male=male[0],
        top_female=female[0],
        top_surname=surnames[0],
        countries=_pairs(culture.countries),
    )


_TABLES: dict[str, _CultureTables] = {c.key: _culture_tables(c) for c in CULTURES}
_COUNTRIES: dict[str, Country] = {country.code: country for country in COUNTRIES}
_CITY_PICKERS: dict[str, _Weighted[City]] = {
    country.code: _zipf(country.cities, 1.1) for country in COUNTRIES
}

_PROVIDERS: dict[str, _Weighted[str]] = {
    country.code: _zipf(country.providers, 1.3) for country in COUNTRIES
}
_CITY_SPELLINGS: dict[str, tuple[str, ...]] = {
    text: _spellings(text)
    for country in COUNTRIES
    for city in country.cities
    for text in (city.name, city.region)
}
_CITIES_BY_NAME: dict[tuple[str, str], City] = {
    (country.code, name): city
    for country in COUNTRIES
    for city in country.cities
    for name in _spellings(city.name)
}
_FEMININE: dict[str, str] = {}
for _culture in CULTURES:
    for _entry in _culture.surnames:
        _masculine, _, _feminine = _entry.partition("/")
        if _feminine:
            for _name in _spellings(_masculine):
                _FEMININE[_name] = _spellings(_feminine)[0]
_MASCULINE: dict[str, str] = {feminine: masculine for masculine, feminine in _FEMININE.items()}

_VARIANTS: dict[str, tuple[str, ...]] = {}
for _culture in CULTURES:
    for _entry in (*_culture.male, *_culture.female, *_culture.surnames):
        for _half in _entry.split("/"):
            _group = _spellings(_half)
            if len(_group) > 1:
                for _name in _group:
                    _VARIANTS[_name] = _group
"""Every spelling of a name that has several, for transliteration noise in records."""

_NICKNAMES: dict[str, tuple[str, ...]] = {}
for _culture in CULTURES:
    _NICKNAMES.update(_culture.nicknames)


def _spelling(rng: random.Random, group: tuple[str, ...]) -> str:
    """The spelling a person uses: mostly the usual one, sometimes a variant."""
    if len(group) == 1 or rng.random() < 0.65:
        return group[0]
    return rng.choice(group[1:])


# --------------------------------------------------------------------------- phones


def _national_number(rng: random.Random, prefix: str, length: int) -> str:
    # The digit after a prefix is never 0 or 1: those start service codes in most plans.
    rest = length - len(prefix)
    return prefix + str(rng.randrange(2, 10)) + _digits(rng, rest - 1)


def _mobile_number(rng: random.Random, country: Country) -> str:
    prefixes = country.mobile or tuple(
        code for city in country.cities for code, _ in city.area_codes
    )
    return (
        "+" + country.calling_code + _national_number(rng, rng.choice(prefixes), country.nsn_length)
    )


def _landline_number(rng: random.Random, country: Country, city: City) -> str:
    prefix, length = rng.choice(city.area_codes)
    length = length or country.landline_length or country.nsn_length
    return "+" + country.calling_code + _national_number(rng, prefix, length)


def _grouped(number: str, groups: Sequence[int]) -> list[str]:
    parts, start = [], 0
    for size in groups:
        if start >= len(number):
            break
        parts.append(number[start : start + size])
        start += size
    if start < len(number):
        parts[-1] += number[start:]
    return parts


_AREA_CODE_COUNTRIES = frozenset({"GB", "DE", "AT", "CN"})
"""Countries whose landlines are written area code first, then the subscriber number."""
_AREA_CODES: dict[str, tuple[str, ...]] = {
    country.code: tuple(
        sorted(
            {code for city in country.cities for code, _ in city.area_codes},
            key=len,
            reverse=True,
        )
    )
    for country in COUNTRIES
}


def _phone_groups(country: Country, nsn: str) -> list[str]:
    if country.code in _AREA_CODE_COUNTRIES:
        for area in _AREA_CODES[country.code]:
            if nsn.startswith(area):
                rest = nsn[len(area) :]
                if len(rest) in (7, 8):
                    cut = len(rest) - 4
                    return [area, rest[:cut], rest[cut:]]
                return [area, rest]
    return _grouped(nsn, country.groups)


def format_phone(e164: str, style: str) -> str:
    """An E.164 number written the way people and systems write it (``national``, ...)."""
    country = _country_of_phone(e164)
    if country is None or style == "e164":
        return e164
    nsn = e164[1 + len(country.calling_code) :]
    if country.code == "US" and style in {"national", "dashed"}:
        if style == "national":
            return f"({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}"
        return f"{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
    parts = _phone_groups(country, nsn)
    if style == "international":
        return f"+{country.calling_code} " + " ".join(parts)
    if style == "national":
        return country.trunk + " ".join(parts)
    if style == "digits":
        return country.trunk + nsn
    if style == "dashed":
        return "-".join(parts)
    if style == "double_zero":
        return f"00{country.calling_code} {nsn}"
    if style == "trunk_in_parens" and country.trunk:
        return f"+{country.calling_code} ({country.trunk}){' '.join(parts)}"
    return f"+{country.calling_code} " + " ".join(parts)


# Calling codes are prefix-free, so at most one length matches. +1 is the whole NANP; the US
# is the only NANP country here.
_BY_CALLING_CODE = {country.calling_code: country for country in COUNTRIES}


def _country_of_phone(e164: str) -> Country | None:
    for length in (2, 3, 4):
        country = _BY_CALLING_CODE.get(e164[1:length])
        if country is not None:
            return country
    return None


# --------------------------------------------------------------------------- population


_LINE2 = {
    "US": ("Apt {n}", "Suite {n}", "Unit {n}", "#{n}"),
    "GB": ("Flat {n}", "Flat {l}"),
    "IE": ("Apartment {n}", "Flat {n}"),
    "ES": ("{f}º {l}", "Piso {f}, Puerta {l}", "Esc. {l}, {f}º"),
    "MX": ("Int. {n}", "Depto. {n}", "Col. Centro"),
    "DE": ("{f}. OG", "Hinterhaus", "c/o {surname}", "Whg. {n}"),
    "AT": ("Top {n}", "Stiege {f}/Top {n}"),
    "CH": ("{f}. Stock", "Postfach {n}"),
    "FR": ("Bât. {l}", "Appt {n}", "Résidence les Pins"),
    "PL": ("m. {n}", "lok. {n}"),
    "CZ": ("byt {n}",),
    "SE": ("lgh {n}", "c/o {surname}"),
    "NO": ("H0{f}0{n1}",),
    "DK": ("{f}. th.", "{f}. tv.", "st."),
    "FI": ("as. {n}", "A {n}", "B {n}"),
    "CN": ("Room {f}0{n1}", "Unit {n}, Building {f}"),
    "SG": ("#{f}-{n}",),
    "VN": ("Phòng {n}", "Tầng {f}"),
    "IN": ("Flat {f}0{n1}", "Near City Mall", "Opp. Post Office"),
    "EG": ("Apt {n}", "Floor {f}"),
    "MA": ("Appt {n}", "Étage {f}"),
    "AE": ("Apt {f}0{n1}", "Villa {n}", "Office {f}0{n1}"),
}
"""Second address lines by country: {n} a number, {f} a floor, {l} a letter."""


@dataclass(frozen=True, slots=True)
class _Address:
    line1: str
    line2: str
    city: str
    postcode: str
    region: str
    country: str


def _address(rng: random.Random, country: Country, city: City, line2_rate: float) -> _Address:
    street = rng.choice(country.streets)
    number = (
        str(rng.randint(1, 240))
        if rng.random() < 0.9
        else f"{rng.randint(1, 90)}{rng.choice('ABC')}"
    )
    if country.street_style == "street_first":
        line1 = f"{street} {number}"
    elif country.street_style == "number_comma":
        line1 = f"{number}, {street}"
    else:
        line1 = f"{number} {street}"
    line2 = ""
    if rng.random() < line2_rate:
        template = rng.choice(_LINE2.get(country.code, ("Apt {n}",)))
        line2 = template.format(
            n=rng.randint(1, 60),
            n1=rng.randint(1, 9),
            f=rng.randint(1, 12),
            l=rng.choice("ABCDEF"),
            surname=rng.choice(("Berg", "Lund", "Keller", "Weber")),
        )
    postcode = _fill_pattern(rng, rng.choice(city.postcodes)) if city.postcodes else ""
    return _Address(
        line1=line1,
        line2=line2,
        city=_CITY_SPELLINGS[city.name][0],
        postcode=postcode,
        region=_CITY_SPELLINGS[city.region][0],
        country=country.code,
    )


LATEST_BIRTH_YEAR = 2006
"""Everybody is an adult customer at ``REFERENCE_TIME``."""


def _random_date(rng: random.Random, first_year: int, last_year: int) -> datetime.date:
    last_year = min(last_year, LATEST_BIRTH_YEAR)
    start = datetime.date(min(first_year, last_year), 1, 1).toordinal()
    end = datetime.date(last_year, 12, 31).toordinal()
    return datetime.date.fromordinal(rng.randint(start, end))


@dataclass(slots=True)
class _Draft:
    """A person being assembled; frozen into a Person once the household is complete."""

    tables: _CultureTables
    gender: str
    first_name: str
    last_name: str
    birth_date: datetime.date | None
    middle_name: str | None = None
    other_names: tuple[str, ...] = ()
    former_last_name: str | None = None
    surname_parts: tuple[str, ...] = ()


_LOCAL_PARTS = (
    "{g}.{f}",
    "{g}{f}",
    "{i}{f}",
    "{g}_{f}",
    "{i}.{f}",
    "{f}.{g}",
    "{g}{yy}",
    "{g}.{f}{yy}",
    "{f}{i}",
    "{g}{f}{y}",
)
"""How people build a personal e-mail address from given name, initial, family name, year."""


_TAKE_HUSBANDS_NAME = frozenset({"anglo", "german", "nordic", "french", "slavic"})
"""Traditions where a wife often takes her husband's surname, leaving old records behind."""


class _Population:
    """Builds households one at a time from a single seeded random stream."""

    def __init__(self, seed: int, rates: PopulationRates) -> None:
        self.rng = random.Random(f"people:{seed}")
        self.rates = rates
        self.claims = _Claims()
        self.next_person = 1
        self.next_household = 1
        self.cultures = _pairs(
            [(_TABLES[key], weight) for key, weight in rates.culture_weights if key in _TABLES]
        )
        self.kinds = _pairs(
            [
                ("couple", rates.couple),
                ("family", rates.family),
                ("twins", rates.twins),
                ("flatmates", rates.flatmates),
                (
                    "single",
                    max(0.0, 1 - rates.couple - rates.family - rates.twins - rates.flatmates),
                ),
            ]
        )
        self.employers = _zipf(BIG_EMPLOYERS, 1.5)

    # ---- names

    def _given(self, tables: _CultureTables, gender: str, common: bool) -> str:
        if common:
            group = tables.top_female if gender == "f" else tables.top_male
        else:
            group = (tables.female if gender == "f" else tables.male).pick(self.rng)
        return _spelling(self.rng, group)

    def _surname(
        self, tables: _CultureTables, gender: str, common: bool
    ) -> tuple[str, tuple[str, ...]]:
        """A surname in its gendered form, and its spellings in both genders."""
        masculine, feminine = tables.top_surname if common else tables.surnames.pick(self.rng)
        group = feminine if gender == "f" else masculine
        return _spelling(self.rng, group), masculine + feminine

    def _draft(
        self,
        tables: _CultureTables,
        gender: str,
        birth_date: datetime.date | None,
        country: str,
        surname_parts: tuple[str, ...] = (),
    ) -> _Draft:
        rng, rates, culture = self.rng, self.rates, tables.culture
        common = rng.random() < rates.common_name
        first = self._given(tables, gender, common)
        forms = _FEMININE if gender == "f" else _MASCULINE
        parts = tuple(forms.get(part, part) for part in surname_parts)
        if not parts:
            parts = (self._surname(tables, gender, common)[0],)
            if (
                culture.two_surnames
                and (country != "US" or rng.random() < 0.4)
                and not (common and rng.random() < 0.5)
            ):
                parts = (parts[0], self._surname(tables, gender, False)[0])
        surname = " ".join(parts)
        middle_pool = culture.middle_female if gender == "f" else culture.middle_male
        middle = None
        if middle_pool and (culture.key == "vietnamese" or rng.random() < rates.middle_name):
            middle = rng.choice(middle_pool)
        other: tuple[str, ...] = ()
        if culture.western_names and rng.random() < rates.western_name:
            other = (rng.choice(culture.western_names),)
        return _Draft(
            tables=tables,
            gender=gender,
            first_name=first,
            last_name=surname,
            birth_date=None if rng.random() < rates.unknown_birth_date else birth_date,
            middle_name=middle,
            other_names=other,
            surname_parts=parts,
        )

    # ---- households

    def household(self) -> list[Person]:
        """The next household: one person, or several sharing an address."""
        rng = self.rng
        kind = self.kinds.pick(rng)
        tables = self.cultures.pick(rng)
        country = _COUNTRIES[tables.countries.pick(rng)]
        city = _CITY_PICKERS[country.code].pick(rng)
        address = _address(rng, country, city, self.rates.address_line2)
        drafts = self._members(kind, tables, country)
        household = None
        if len(drafts) > 1:
            household = f"h{self.next_household:06d}"
            self.next_household += 1
        landline = None
        if rng.random() < self.rates.landline:
            landline = self._claimed(lambda: _landline_number(rng, country, city))
        family_email = None
        if len(drafts) > 1 and kind != "flatmates" and rng.random() < self.rates.family_email:
            family_email = self._family_email(drafts, country)
        people = []
        for draft in drafts:
            people.append(
                self._person(
                    draft,
                    country,
                    address,
                    household=household,
                    landline=landline,
                    family_email=family_email,
                )
            )
        return people

    def _members(self, kind: str, tables: _CultureTables, country: Country) -> list[_Draft]:
        rng = self.rng
        # Parents are born early enough for their children to be adults too.
        latest = 1978 if kind in {"family", "twins"} else LATEST_BIRTH_YEAR
        first_birth = _random_date(rng, 1940, latest)
        first = self._draft(tables, rng.choice("fm"), first_birth, country.code)
        if kind == "single":
            return [first]
        if kind == "flatmates":
            others = [
                self._draft(
                    self.cultures.pick(rng),
                    rng.choice("fm"),
                    _random_date(rng, 1975, 2004),
                    country.code,
                )
                for _ in range(rng.randint(1, 2))
            ]
            return [first, *others]
        partner = self._partner(first, tables, country)
        if kind == "couple":
            return [first, partner]
        mother, father = (first, partner) if first.gender == "f" else (partner, first)
        earliest = first_birth.year + 24
        children_surname = self._children_surname(father, mother)
        if kind == "twins":
            birth = _random_date(rng, earliest, earliest + 15)
            twins = [
                self._draft(tables, rng.choice("fm"), birth, country.code, children_surname)
                for _ in range(2)
            ]
            while twins[1].first_name == twins[0].first_name:
                twins[1] = self._draft(
                    tables, twins[1].gender, birth, country.code, children_surname
                )
            for twin in twins:
                twin.birth_date = birth
            return [mother, father, *twins] if rng.random() < 0.4 else twins
        children = [
            self._draft(
                tables,
                rng.choice("fm"),
                _random_date(rng, earliest, earliest + 18),
                country.code,
                children_surname,
            )
            for _ in range(rng.randint(1, 2))
        ]
        return [mother, father, *children]

    def _partner(self, first: _Draft, tables: _CultureTables, country: Country) -> _Draft:
        rng = self.rng
        partner_tables = tables
        if rng.random() < self.rates.mixed_culture_couple:
            partner_tables = self.cultures.pick(rng)
        gender = "m" if first.gender == "f" else "f"
        if rng.random() < 0.08:
            gender = first.gender
        year = first.birth_date.year if first.birth_date else 1970
        partner = self._draft(
            partner_tables, gender, _random_date(rng, year - 6, year + 6), country.code
        )
        if {first.gender, gender} == {"f", "m"}:
            wife, husband = (first, partner) if first.gender == "f" else (partner, first)
            if wife.tables.culture.key in _TAKE_HUSBANDS_NAME and (
                rng.random() < self.rates.married_name
            ):
                wife.former_last_name = wife.last_name
                wife.surname_parts = tuple(_FEMININE.get(p, p) for p in husband.surname_parts)
                wife.last_name = " ".join(wife.surname_parts)
        return partner

    @staticmethod
    def _children_surname(father: _Draft, mother: _Draft) -> tuple[str, ...]:
        # Hispanic children take their father's first surname, then their mother's.
        if father.tables.culture.two_surnames and len(father.surname_parts) > 1:
            return (father.surname_parts[0], mother.surname_parts[0])
        return father.surname_parts

    # ---- identifiers

    def _claimed(self, draw: Callable[[], str]) -> str:
        for _ in range(1000):
            value = draw()
            if self.claims.claim(value):
                return value
        raise RuntimeError("identifier space exhausted")  # pragma: no cover

    def _numbered(self, local: str, domain: str) -> str:
        """``local`` plus a number nobody has yet; the numbers grow as the short ones run out."""
        for attempt in range(1000):
            value = f"{local}{self.rng.randint(2, 10 ** (2 + attempt // 8))}@{domain}"
            if self.claims.claim(mailbox(value)):
                return value
        raise RuntimeError("identifier space exhausted")  # pragma: no cover

    def _email(self, first: str, last: str, birth: datetime.date | None, country: Country) -> str:
        rng = self.rng
        given, family = _slug(first), _slug(_first_surname(last)) or "x"
        given = given or family
        year = str(birth.year if birth else rng.randint(1960, 2000))
        start = rng.randrange(len(_LOCAL_PARTS))
        domain = _PROVIDERS[country.code].pick(rng)
        for offset in range(len(_LOCAL_PARTS)):
            scheme = _LOCAL_PARTS[(start + offset) % len(_LOCAL_PARTS)]
            address = (
                scheme.format(g=given, i=given[0], f=family, y=year, yy=year[2:]) + "@" + domain
            )
            if self.claims.claim(mailbox(address)):
                return address
        return self._numbered(f"{given}.{family}", domain)

    def _family_email(self, drafts: list[_Draft], country: Country) -> str:
        rng = self.rng
        family = _slug(_first_surname(drafts[0].last_name))
        one, two = (
            _slug(drafts[0].first_name.split(" ")[0]),
            _slug(drafts[1].first_name.split(" ")[0]),
        )
        joiner = "y" if drafts[0].tables.culture.key == "hispanic" else "and"
        options = [f"{family}.family", f"the{family}s", f"{one}{joiner}{two}", f"familia{family}"]
        if joiner == "and":
            options.pop()
        domain = country.providers[0]
        for option in rng.sample(options, len(options)):
            if self.claims.claim(mailbox(f"{option}@{domain}")):
                return f"{option}@{domain}"
        return self._numbered(family, domain)

    def _company(self, country: Country) -> tuple[str, Country, str, float]:
        """An employer's name, home country, e-mail domain and switchboard use."""
        rng = self.rng
        if rng.random() < self.rates.big_employer:
            name, code = self.employers.pick(rng)
            home = _COUNTRIES[code]
            office_phone = self.rates.big_employer_office_phone
        else:
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)}"
            home = country
            office_phone = self.rates.office_phone
        suffix_seed = zlib.crc32(name.encode())
        suffix = home.company_suffixes[suffix_seed % len(home.company_suffixes)]
        domain = _slug(name.replace(" ", "-")) + ".example"
        return f"{name} {suffix}", home, domain, office_phone

    def _work_email(self, first: str, last: str, domain: str) -> str:
        given = _slug(first.split(" ", maxsplit=1)[0])
        family = _slug(_first_surname(last))
        # A company uses one address scheme for everybody.
        scheme = zlib.crc32(domain.encode()) % 3
        local = (f"{given}.{family}", f"{given[:1]}{family}", f"{family}.{given}")[scheme]
        if self.claims.claim(mailbox(f"{local}@{domain}")):
            return f"{local}@{domain}"
        return self._numbered(local, domain)

    def _person(
        self,
        draft: _Draft,
        country: Country,
        address: _Address,
        *,
        household: str | None,
        landline: str | None,
        family_email: str | None,
    ) -> Person:
        rng, rates = self.rng, self.rates
        person_id = f"p{self.next_person:06d}"
        self.next_person += 1
        own = self._email(draft.first_name, draft.last_name, draft.birth_date, country)
        emails = [own]
        if family_email is not None and rng.random() < 0.8:
            emails = [family_email] if rng.random() < 0.5 else [family_email, own]
        if rng.random() < rates.previous_emails:
            surname = draft.former_last_name or draft.last_name
            for _ in range(1 if rng.random() < 0.7 else 2):
                emails.append(self._email(draft.first_name, surname, draft.birth_date, country))
        company = work_email = office_phone = None
        if rng.random() < rates.employed:
            company, home, domain, office_phone_rate = self._company(country)
            if rng.random() < rates.work_email:
                work_email = self._work_email(draft.first_name, draft.last_name, domain)
                emails.append(work_email)
            if rng.random() < office_phone_rate:
                office_phone = _office_phone(company, home.code)
        phones = []
        if landline is None or rng.random() > rates.no_mobile:
            phones.append(self._claimed(lambda: _mobile_number(rng, country)))
            if rng.random() < rates.previous_phones:
                phones.append(self._claimed(lambda: _mobile_number(rng, country)))
        if landline is not None:
            phones.append(landline)
        if office_phone is not None:
            phones.append(office_phone)
        return Person(
            person_id=person_id,
            first_name=draft.first_name,
            last_name=draft.last_name,
            birth_date=draft.birth_date,
            emails=tuple(emails),
            phones=tuple(phones),
            address_line1=address.line1,
            city=address.city,
            postcode=address.postcode,
            region=address.region,
            country=address.country,
            company=company,
            household=household,
            address_line2=address.line2,
            middle_name=draft.middle_name,
            other_names=draft.other_names,
            former_last_name=draft.former_last_name,
            gender=draft.gender,
            culture=draft.tables.culture.key,
            work_email=work_email,
            landline=landline,
            office_phone=office_phone,
        )


@lru_cache(maxsize=1 << 14)
def _office_phone(company: str, country_code: str) -> str:
    """A company's switchboard: the same number for everyone who works there."""
    home = _COUNTRIES[country_code]
    rng = random.Random(zlib.crc32(f"{company}|{home.code}".encode()))
    city = rng.choice(home.cities)
    return _landline_number(rng, home, city)


def generate_people(
    count: int, seed: int = 0, *, rates: PopulationRates = DEFAULT_POPULATION
) -> Iterator[Person]:
    """Stream ``count`` synthetic people, household by household; the same seed, the same people.

    A shorter run is a prefix of a longer one with the same seed.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    population = _Population(seed, rates)
    produced = 0
    while produced < count:
        for person in population.household():
            if produced == count:
                return
            yield person
            produced += 1


# --------------------------------------------------------------------------- noise


def _typo(rng: random.Random, text: str) -> str:
    """One slip of the hand: a letter dropped, doubled, swapped or hit next to its key."""
    if len(text) < 3:
        return text
    at = rng.randrange(len(text) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:at] + text[at + 1 :]
    if kind == 1:
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    char = text[at]
    neighbours = KEYBOARD_NEIGHBOURS.get(char.lower())
    if kind == 2 or not neighbours:
        return text[:at] + char + char + text[at + 1 :]
    wrong = rng.choice(neighbours)
    return text[:at] + (wrong.upper() if char.isupper() else wrong) + text[at + 1 :]


class _Noise:
    """Applies one department's noise rates to one record's values."""

    __slots__ = (
        "country_formats",
        "date_formats",
        "full_name_styles",
        "phone_formats",
        "rates",
        "rng",
    )

    def __init__(self, rng: random.Random, rates: NoiseRates) -> None:
        self.rng = rng
        self.rates = rates
        self.phone_formats = _pairs(rates.phone_formats)
        self.date_formats = _pairs(rates.date_formats)
        self.country_formats = _pairs(rates.country_formats)
        self.full_name_styles = _pairs(rates.full_name_styles)

    def chance(self, rate: float) -> bool:
        return self.rng.random() < rate

    def text(self, value: str) -> str:
        """Typos, lost accents and shouting or lower-case typing, at the department's rates."""
        rates, draw = self.rates, self.rng.random
        if draw() < rates.drop_accents:
            value = transliterate(value) if draw() < rates.transliterate else strip_accents(value)
        if draw() < rates.typo:
            value = _typo(self.rng, value)
            if draw() < rates.second_typo:
                value = _typo(self.rng, value)
        if draw() < rates.case:
            value = value.upper() if draw() < 0.5 else value.lower()
        return value

    def variant(self, name: str) -> str:
        group = _VARIANTS.get(name)
        if group is not None and self.chance(self.rates.spelling_variant):
            return self.rng.choice(group)
        return name


def _given_name(noise: _Noise, person: Person) -> str:
    if person.other_names and noise.chance(noise.rates.western_name):
        return noise.rng.choice(person.other_names)
    nicknames = _NICKNAMES.get(person.first_name)
    if nicknames and noise.chance(noise.rates.nickname):
        return noise.rng.choice(nicknames)
    return noise.variant(person.first_name)


def _family_name(noise: _Noise, person: Person) -> str:
    rates = noise.rates
    surname = person.last_name
    if person.former_last_name and noise.chance(rates.former_name):
        surname = person.former_last_name
    if person.culture == "hispanic" and " " in surname:
        # Two surnames: forms keep only the first, or glue them with a hyphen.
        if noise.chance(rates.single_surname):
            surname = _first_surname(surname)
        elif noise.chance(rates.hyphenated_surnames):
            surname = _hyphenate_surnames(surname)
    surname = noise.variant(surname)
    if noise.chance(rates.surname_initial):
        surname = surname[0] + "."
    return surname


_PARTICLES = ("de la ", "de los ", "del ", "de ", "San ")


def _first_surname(surname: str) -> str:
    for particle in _PARTICLES:
        if surname.startswith(particle):
            rest = surname[len(particle) :].split(" ", maxsplit=1)[0]
            return particle + rest
    return surname.split(" ", maxsplit=1)[0]


def _hyphenate_surnames(surname: str) -> str:
    first = _first_surname(surname)
    second = surname[len(first) :].strip()
    return f"{first}-{second}" if second else first


def _name_pair(noise: _Noise, person: Person) -> tuple[str, str]:
    """(first, last) as one department wrote them."""
    first = _given_name(noise, person)
    last = _family_name(noise, person)
    if person.middle_name and noise.chance(noise.rates.middle_name):
        middle = person.middle_name if noise.chance(0.5) else person.middle_name[0] + "."
        first = f"{first} {middle}"
    family_first = _TABLES[person.culture].culture.family_name_first if person.culture else False
    swap = noise.rates.swap_names_family_first if family_first else noise.rates.swap_names
    if noise.chance(swap):
        first, last = last, first
    return noise.text(first), noise.text(last)


def _full_name(noise: _Noise, person: Person) -> str:
    style = noise.full_name_styles.pick(noise.rng)
    first, last = _name_pair(noise, person)
    family_first = _TABLES[person.culture].culture.family_name_first if person.culture else False
    if style == "first":
        return first
    if style == "last, first":
        return f"{last}, {first}"
    if style == "family first" and family_first:
        return f"{last} {first}"
    if style == "first middle last" and person.middle_name:
        return f"{first} {noise.text(person.middle_name)} {last}"
    if style == "initial last" and first:
        return f"{first[0]}. {last}"
    return f"{first} {last}"


_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
_PLUS_DOMAINS = {"gmail.com", "googlemail.com", "outlook.com", "icloud.com", "hotmail.com"}


def mailbox(email: str) -> str:
    """The mailbox an address reaches: Gmail ignores dots and ``+tags`` in the local part.

    Two people can never own addresses that reach one mailbox (Gmail refuses ``p.smith`` once
    ``psmith`` is taken), so addresses are claimed by their mailbox.
    """
    local, _, domain = email.lower().partition("@")
    if domain in _PLUS_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def email_alias(rng: random.Random, email: str) -> str:
    """Another address that reaches the same mailbox: dots moved (Gmail) or a +tag added."""
    local, _, domain = email.partition("@")
    if domain in _GMAIL_DOMAINS and rng.random() < 0.5:
        bare = local.replace(".", "")
        if len(bare) > 2:
            cut = rng.randint(1, len(bare) - 1)
            return (
                f"{bare[:cut]}.{bare[cut:]}@{domain}"
                if bare[:cut] + "." + bare[cut:] != local
                else f"{bare}@{domain}"
            )
        return f"{bare}@{domain}"
    if domain in _PLUS_DOMAINS:
        return f"{local}+{rng.choice(('news', 'shop', 'promo', 'spam', 'orders'))}@{domain}"
    return email


def _email(noise: _Noise, person: Person, prefer_work: float) -> str | None:
    rates, rng = noise.rates, noise.rng
    if not person.emails:
        return None
    if noise.chance(rates.placeholder):
        return rng.choice(PLACEHOLDER_EMAILS)
    personal = [e for e in person.emails if e != person.work_email]
    if person.work_email and (not personal or noise.chance(prefer_work)):
        email = person.work_email
    elif len(personal) > 1 and noise.chance(rates.stale_email):
        email = rng.choice(personal[1:])
    else:
        email = personal[0]
    if noise.chance(rates.email_alias):
        email = email_alias(rng, email)
    if noise.chance(rates.email_typo):
        local, _, domain = email.partition("@")
        email = f"{_typo(rng, local)}@{domain}"
    if noise.chance(rates.email_case):
        local, _, domain = email.partition("@")
        email = f"{local.title()}@{domain}" if noise.chance(0.7) else email.upper()
    return email


def _phone(noise: _Noise, person: Person) -> str | None:
    rates, rng = noise.rates, noise.rng
    if noise.chance(rates.placeholder):
        return rng.choice(PLACEHOLDER_PHONES)
    own = [p for p in person.phones if p not in (person.office_phone, person.landline)]
    if person.office_phone and (not own or noise.chance(rates.office_phone)):
        number = person.office_phone
    elif own and len(own) > 1 and noise.chance(rates.stale_phone):
        number = rng.choice(own[1:])
    elif own:
        number = own[0]
    elif person.landline:
        number = person.landline
    else:
        return None
    if person.landline and own and number == own[0] and noise.chance(0.2):
        number = person.landline
    return format_phone(number, noise.phone_formats.pick(rng))


_STREET_ABBREVIATIONS = (
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Calle ", "C/ "),
    ("Avenida ", "Avda. "),
    ("Paseo ", "Pº "),
    ("straße", "str."),
    ("strasse", "str."),
    ("Straße", "Str."),
    ("avenue ", "av. "),
    ("boulevard ", "bd "),
    ("gatan", "g."),
    ("ul. ", ""),
)


def _abbreviate_street(rng: random.Random, line: str) -> str:
    for long, short in _STREET_ABBREVIATIONS:
        if long in line:
            return line.replace(long, short, 1)
    if "," not in line and rng.random() < 0.3:
        head, _, number = line.rpartition(" ")
        if head and number[:1].isdigit():
            return f"{head}, {number}"
    return line


def _address_fields(noise: _Noise, person: Person) -> dict[str, str]:
    rng, rates = noise.rng, noise.rates
    country = _COUNTRIES[person.country]
    line1, line2 = person.address_line1, person.address_line2
    city, postcode, region = person.city, person.postcode, person.region
    if noise.chance(rates.moved_address):
        # An address from before the person moved: same country, maybe another city.
        old_city = _CITY_PICKERS[country.code].pick(rng)
        old = _address(rng, country, old_city, 0.3)
        line1, line2, city, postcode, region = (
            old.line1,
            old.line2,
            old.city,
            old.postcode,
            old.region,
        )
    region_entry = _CITIES_BY_NAME.get((country.code, city))
    city_spellings = _CITY_SPELLINGS[region_entry.name] if region_entry else (city,)
    if noise.chance(rates.street_abbreviation):
        line1 = _abbreviate_street(rng, line1)
    if noise.chance(rates.spelling_variant * 2):
        city = rng.choice(city_spellings)
        if region_entry is not None:
            region = rng.choice(_CITY_SPELLINGS[region_entry.region])
    if not postcode and noise.chance(0.3):
        postcode = "00000"
    country_text = country.code
    if noise.country_formats.pick(rng) == "name":
        country_text = rng.choice(country.names[1:])
    return {
        "address_line1": noise.text(line1),
        "address_line2": line2,
        "city": noise.text(city),
        "postcode": postcode if not noise.chance(rates.typo) else _typo(rng, postcode),
        "region": region,
        "country": country_text,
    }


def _company(noise: _Noise, company: str) -> str:
    rng = noise.rng
    if not noise.chance(noise.rates.company_variant):
        return noise.text(company)
    words = company.split(" ")
    choice = rng.randrange(4)
    if choice == 0 and len(words) > 2:
        return " ".join(words[:2])  # the legal suffix dropped
    if choice == 1:
        return company.upper()
    if choice == 2 and len(words) > 2:
        return f"{' '.join(words[:2])}, {' '.join(words[2:])}"
    return noise.text(" ".join(words[:2]).lower())


def _birth_date(noise: _Noise, birth: datetime.date | None) -> str | None:
    rates, rng = noise.rates, noise.rng
    if birth is None:
        return None
    if noise.chance(rates.placeholder):
        return rng.choice(PLACEHOLDER_DATES)
    if noise.chance(rates.yearless_birthday):
        # E-mail platforms keep a birthday for greetings, without the year.
        return birth.strftime("%m/%d")
    if noise.chance(rates.typo) and birth.month != birth.day <= 12:
        # Day and month swapped by someone used to the other convention.
        birth = birth.replace(day=birth.month, month=birth.day)
    return birth.strftime(noise.date_formats.pick(rng))


# --------------------------------------------------------------------------- records


class _Ids:
    """Hands out external ids shaped like each system's: CRM counters, help-desk longs, hashes."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.sales = 1000 + seed % 1000
        self.support = 360_000_000_000 + (seed % 1000) * 1_000_000_000
        self.marketing = 0

    def next(self, department: str, rng: random.Random) -> str:
        if department == "sales":
            self.sales += rng.randint(1, 60)
            return str(self.sales)
        if department == "support":
            self.support += rng.randint(1, 9_000)
            return str(self.support)
        self.marketing += 1
        return hashlib.md5(
            f"{self.seed}:{department}:{self.marketing}".encode(), usedforsecurity=False
        ).hexdigest()


def _plan(rng: random.Random, person: Person, coverage: CoverageRates) -> list[str]:
    """The departments that know this person, one entry per account (duplicates repeat)."""
    one, two, _ = coverage.department_count
    draw = rng.random() * sum(coverage.department_count)
    count = 1 if draw < one else 2 if draw < one + two else 3
    remaining = [
        (name, weight * (coverage.employed_in_sales if name == "sales" and person.company else 1))
        for name, weight in coverage.department_weights
        if weight > 0
    ]
    chosen: list[str] = []
    while remaining and len(chosen) < count:
        # Weighted draw without replacement over at most three departments.
        point = rng.random() * sum(weight for _, weight in remaining)
        for index, (name, weight) in enumerate(remaining):
            point -= weight
            if point < 0 or index == len(remaining) - 1:
                chosen.append(name)
                del remaining[index]
                break
    chosen.sort(key=DEPARTMENTS.index)
    if rng.random() < coverage.duplicate:
        chosen.append(rng.choice(chosen))
    return chosen


def _updated_at(rng: random.Random) -> datetime.datetime:
    seconds = rng.randint(0, 3 * 365 * 24 * 3600)
    return REFERENCE_TIME - datetime.timedelta(seconds=seconds)


def _set(attributes: dict[str, str], noise: _Noise, name: str, value: str | None) -> None:
    """Store a value if the department has one; missing values are absent or blank."""
    rates, draw = noise.rates, noise.rng.random
    if not value or draw() >= rates.presence.get(name, 1.0):
        if draw() < rates.empty_string:
            attributes[name] = ""
        return
    if name != "email" and draw() < rates.placeholder:
        value = noise.rng.choice(PLACEHOLDER_TEXT)
    attributes[name] = value


def _sales_attributes(noise: _Noise, person: Person) -> dict[str, str]:
    attributes: dict[str, str] = {}
    first, last = _name_pair(noise, person)
    _set(attributes, noise, "first_name", first)
    _set(attributes, noise, "last_name", last)
    attributes_email = _email(noise, person, noise.rates.work_email)
    _set(attributes, noise, "email", attributes_email)
    _set(attributes, noise, "phone", _phone(noise, person))
    _set(attributes, noise, "company", _company(noise, person.company) if person.company else None)
    for name, value in _address_fields(noise, person).items():
        _set(attributes, noise, name, value)
    _set(attributes, noise, "birth_date", _birth_date(noise, person.birth_date))
    return attributes


def _support_attributes(noise: _Noise, person: Person) -> dict[str, str]:
    attributes: dict[str, str] = {}
    _set(attributes, noise, "full_name", _full_name(noise, person))
    _set(attributes, noise, "email", _email(noise, person, noise.rates.work_email))
    _set(attributes, noise, "phone", _phone(noise, person))
    return attributes


def _marketing_attributes(noise: _Noise, person: Person) -> dict[str, str]:
    attributes: dict[str, str] = {}
    _set(attributes, noise, "email", _email(noise, person, noise.rates.work_email))
    first, last = _name_pair(noise, person)
    _set(attributes, noise, "first_name", first)
    _set(attributes, noise, "last_name", last)
    _set(attributes, noise, "birth_date", _birth_date(noise, person.birth_date))
    _set(attributes, noise, "postcode", person.postcode)
    return attributes


_BUILDERS = {
    "sales": _sales_attributes,
    "support": _support_attributes,
    "marketing": _marketing_attributes,
}


def department_records(
    people: Iterable[Person],
    seed: int = 0,
    departments: Sequence[str] = DEPARTMENTS,
    *,
    coverage: CoverageRates = DEFAULT_COVERAGE,
    noise: Mapping[str, NoiseRates] | None = None,
) -> Iterator[DepartmentRecord]:
    """Stream the records each department holds about ``people``, with their person ids.

    Asking for fewer departments yields exactly those departments' records of the full run,
    with the same external ids, so separate sandbox servers agree with one another.
    """
    unknown = set(departments) - set(DEPARTMENTS)
    if unknown:
        raise ValueError(f"unknown departments: {sorted(unknown)}")
    noise_rates = {**DEFAULT_NOISE, **(noise or {})}
    wanted = set(departments)
    ids = _Ids(seed)
    rng = random.Random()
    noises = {name: _Noise(rng, noise_rates[name]) for name in DEPARTMENTS}
    addresses = {name: _Claims(1 << 24) for name in DEPARTMENTS}
    for person in people:
        # Each person gets their own stream, so the noise on one person's records never
        # depends on anyone else's (only which e-mail is still free in a department does).
        rng.seed((seed << 32) ^ zlib.crc32(person.person_id.encode()))
        for department in _plan(rng, person, coverage):
            attributes = _BUILDERS[department](noises[department], person)
            updated_at = _updated_at(rng)
            if not _own_email(department, attributes, person, addresses[department]):
                continue
            external_id = ids.next(department, rng)
            if department in wanted:
                yield DepartmentRecord(
                    department=department,
                    external_id=external_id,
                    person_id=person.person_id,
                    attributes=attributes,
                    updated_at=updated_at,
                )


def _own_email(department: str, attributes: dict[str, str], person: Person, taken: _Claims) -> bool:
    """Give the record an e-mail nobody else in its department has; False to drop the record.

    All three systems key their users on the e-mail address, so a family address or an old
    address already taken by another account cannot be used twice. Placeholders typed into
    free-text fields are the exception. An account without an e-mail is fine in the CRM and
    the help desk; the e-mail platform has no use for one.
    """
    email = attributes.get("email")
    if not email or email in PLACEHOLDER_EMAILS or taken.claim(email):
        return True
    for other in person.emails:
        if taken.claim(other):
            attributes["email"] = other
            return True
    if department == "marketing":
        return False
    del attributes["email"]
    return True


def generate_records(
    count: int,
    seed: int = 0,
    *,
    population: PopulationRates = DEFAULT_POPULATION,
    coverage: CoverageRates = DEFAULT_COVERAGE,
    noise: Mapping[str, NoiseRates] | None = None,
) -> Iterator[DepartmentRecord]:
    """Stream ``count`` department records (all departments together) with ground truth."""
    if count < 0:
        raise ValueError("count must not be negative")
    # Every person has at least one record, so ``count`` people are always enough.
    people = generate_people(count, seed, rates=population)
    records = department_records(people, seed, coverage=coverage, noise=noise)
    for produced, record in enumerate(records):
        if produced == count:
            return
        yield record


# --------------------------------------------------------------------------- events


_CURRENCIES = {country.code: country.currency for country in COUNTRIES}


def department_events(record: DepartmentRecord, seed: int = 0) -> Iterator[DepartmentEvent]:
    """The interactions a department recorded for one record, oldest first; deterministic."""
    rng = random.Random(f"events:{seed}:{record.department}:{record.external_id}")
    if record.department == "sales":
        events = _sales_events(rng, record)
    elif record.department == "support":
        events = _support_events(rng, record)
    else:
        events = _marketing_events(rng, record)
    events.sort(key=lambda event: (event[1], event[0]))
    for index, (kind, occurred_at, properties) in enumerate(events):
        yield DepartmentEvent(
            department=record.department,
            external_id=f"{record.external_id}-{index + 1}",
            record_external_id=record.external_id,
            type=kind,
            occurred_at=occurred_at,
            properties=properties,
        )


_Event = tuple[str, datetime.datetime, dict[str, Any]]


def _moment(rng: random.Random, record: DepartmentRecord) -> datetime.datetime:
    return record.updated_at - datetime.timedelta(seconds=rng.randint(0, 2 * 365 * 24 * 3600))


def _currency(record: DepartmentRecord) -> str:
    country = record.attributes.get("country", "")
    return _CURRENCIES.get(country, "EUR" if country else "USD")


def _sales_events(rng: random.Random, record: DepartmentRecord) -> list[_Event]:
    events: list[_Event] = []
    for _ in range(min(int(rng.expovariate(0.5)), 12)):
        kind = "order" if rng.random() < 0.7 else "deal"
        properties: dict[str, Any] = {
            "amount": round(rng.lognormvariate(4.0, 1.0), 2),
            "currency": _currency(record),
            "category": rng.choice(PRODUCT_CATEGORIES),
        }
        if kind == "deal":
            properties["stage"] = rng.choice(("appointmentscheduled", "closedwon", "closedlost"))
        else:
            properties["items"] = rng.randint(1, 6)
        events.append((kind, _moment(rng, record), properties))
    return events


def _support_events(rng: random.Random, record: DepartmentRecord) -> list[_Event]:
    events: list[_Event] = []
    for _ in range(min(int(rng.expovariate(0.7)), 10)):
        properties: dict[str, Any] = {
            "subject": rng.choice(TICKET_SUBJECTS),
            "status": rng.choice(("new", "open", "pending", "solved", "closed")),
            "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
            "channel": rng.choice(("email", "web", "phone", "chat")),
        }
        events.append(("ticket", _moment(rng, record), properties))
    return events


def _marketing_events(rng: random.Random, record: DepartmentRecord) -> list[_Event]:
    events: list[_Event] = []
    for _ in range(min(int(rng.expovariate(0.25)), 20)):
        campaign = rng.choice(CAMPAIGNS)
        sent = _moment(rng, record)
        events.append(("email_sent", sent, {"campaign": campaign}))
        if rng.random() < 0.35:
            opened = sent + datetime.timedelta(minutes=rng.randint(1, 4000))
            events.append(("email_open", opened, {"campaign": campaign}))
            if rng.random() < 0.3:
                url = f"https://shop.example/{campaign}?utm_campaign={campaign}"
                clicked = opened + datetime.timedelta(seconds=rng.randint(5, 600))
                events.append(("email_click", clicked, {"campaign": campaign, "url": url}))
    return events


# --------------------------------------------------------------------------- CLI


def write_csv(directory: Path, count: int, seed: int = 0) -> dict[str, int]:
    """Write ``<department>.csv`` files and ``truth.csv`` for ``count`` records; counts back."""
    directory.mkdir(parents=True, exist_ok=True)
    written = dict.fromkeys(DEPARTMENTS, 0)
    handles = {
        name: (directory / f"{name}.csv").open("w", newline="", encoding="utf-8")
        for name in (*DEPARTMENTS, "truth")
    }
    try:
        writers = {name: csv.writer(handle) for name, handle in handles.items()}
        for department in DEPARTMENTS:
            writers[department].writerow(("external_id", *DEPARTMENT_ATTRIBUTES[department]))
        writers["truth"].writerow(("department", "external_id", "person_id"))
        for record in generate_records(count, seed):
            columns = DEPARTMENT_ATTRIBUTES[record.department]
            writers[record.department].writerow(
                (record.external_id, *(record.attributes.get(column, "") for column in columns))
            )
            writers["truth"].writerow((record.department, record.external_id, record.person_id))
            written[record.department] += 1
    finally:
        for handle in handles.values():
            handle.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m connectors.sandbox.people --count N --seed S --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m connectors.sandbox.people",
        description="Write synthetic department records (one CSV per department) and truth.csv.",
    )
    parser.add_argument("--count", type=int, default=1000, help="records in all (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must not be negative")
    written = write_csv(args.out, args.count, args.seed)
    summary = ", ".join(f"{name}: {n}" for name, n in written.items())
    print(f"wrote {sum(written.values())} records to {args.out} ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
