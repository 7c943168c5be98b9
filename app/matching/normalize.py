"""Typed normalization: raw text in, a comparable value (or missing) out.

The attribute's type decides the rules. Placeholders such as "n/a" or "test@test.com" become
missing; the word lists are data from ``config/matching.toml``, never literals here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from importlib import resources

import phonenumbers

from app.matching.config import MatchConfig, Normalization
from app.matching.text import fold
from app.matching.types import AttributeName, AttributeType

_DIGITS = re.compile(r"\d+")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january", "ene", "enero"),
            ("feb", "february", "febrero"),
            ("mar", "march", "marzo"),
            ("apr", "april", "abr", "abril"),
            ("may", "mayo"),
            ("jun", "june", "junio"),
            ("jul", "july", "julio"),
            ("aug", "august", "ago", "agosto"),
            ("sep", "sept", "september", "septiembre"),
            ("oct", "october", "octubre"),
            ("nov", "november", "noviembre"),
            ("dec", "december", "dic", "diciembre"),
        ],
        start=1,
    )
    for name in names
}
_SOUNDEX = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def phonetic(name: str) -> str:
    """American Soundex of the first token: sounds-alike names share it ("smith" → "s530")."""
    word = "".join(c for c in name.split(" ", 1)[0] if c.isalpha())
    if not word:
        return ""
    code = [word[0]]
    last = _SOUNDEX.get(word[0], "")
    for char in word[1:]:
        digit = _SOUNDEX.get(char, "")
        if digit and digit != last:
            code.append(digit)
        if char not in "hw":
            last = digit
        if len(code) == 4:
            break
    return "".join(code).ljust(4, "0")


def derive(value: str, transform: str) -> str:
    """A blocking or comparison feature of a normalized value (``phonetic``, ``year``, ...)."""
    if transform == "phonetic":
        return phonetic(value)
    if transform == "initial":
        return value[:1]
    if transform == "year":
        return value[:4]
    if transform == "month_day":
        return value[5:]
    if transform == "local_part":
        return value.rpartition("@")[0]
    if transform == "first_token":
        return value.split(" ", 1)[0]
    if transform.startswith("suffix") and transform[6:].isdigit():
        return value[-int(transform[6:]) :] if len(value) >= int(transform[6:]) else ""
    raise ValueError(f"unknown transform {transform!r}")


class Normalizer:
    """Normalizes values by attribute type with the tables of one config."""

    def __init__(self, config: MatchConfig) -> None:
        self.rules: Normalization = config.normalization
        self._by_type: Mapping[AttributeType, Callable[[str], str | None]] = {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "date": self.date,
            "address": self.address,
            "city": self.plain,
            "postcode": self.postcode,
            "region": self.plain,
            "country": self.plain,
            "identifier": self.identifier,
            "text": self.plain,
            "category": self.plain,
        }
        # Whether a value of a checked type reads: an import asks it of every value, and a
        # store's dates, e-mails and phones repeat.
        self._reads = lru_cache(maxsize=65536)(self._value_reads)

    def value(self, kind: AttributeType, raw: str, region: str | None = None) -> str | None:
        """Normalize one raw value of a type; None when it is missing or a placeholder.
        ``region``: where a phone written without its country code is read (the record's
        country), instead of the configured default."""
        if not raw or fold(raw) in self.rules.missing_values:
            return None
        if kind == "phone":
            return self.phone(raw, region)
        return self._by_type[kind](raw)

    def problem(self, kind: AttributeType, raw: str) -> str | None:
        """Why a value that is there cannot be compared (``"not a date"``), or None.

        A placeholder ("n/a", 1900-01-01) is missing, not a problem; a value that does not
        read as its type is kept as written by the store and treated as missing here.
        """
        if kind not in _PROBLEMS:  # any value of another type can be compared
            return None
        text = raw.strip()
        if not text or fold(text) in self.rules.missing_values:
            return None
        if kind == "email" and _compatibility_forms(text):
            return "look-alike characters"
        if self._reads(kind, text):
            return None
        if self._is_placeholder(kind, text):
            return None
        return _PROBLEMS[kind]

    def _value_reads(self, kind: AttributeType, text: str) -> bool:
        return self.value(kind, text) is not None

    def _is_placeholder(self, kind: AttributeType, text: str) -> bool:
        rules = self.rules
        if kind == "email":
            return text.lower() in rules.missing_emails
        if kind == "date":
            parsed = parse_date(text, rules.date_order)
            return parsed is not None and parsed.isoformat() in rules.missing_dates
        if kind == "phone":
            digits = "".join(c for c in text if c.isdigit())
            return len(set(digits)) == 1 or any(digits.endswith(p) for p in rules.missing_phones)
        return False

    def plain(self, raw: str) -> str | None:
        """Folded text."""
        return fold(raw) or None

    def name(self, raw: str) -> str | None:
        """A person's name without titles, suffixes and particles ("Dr. de la Cruz" → "cruz")."""
        tokens = [t for t in fold(raw).split() if t not in self.rules.name_noise]
        kept = [t for t in tokens if t not in self.rules.name_particles]
        return " ".join(kept or tokens) or None

    def split_full_name(self, raw: str) -> tuple[str | None, str | None]:
        """Split a full name into (first, last); "Last, First" is understood."""
        if "," in raw:
            last, _, first = raw.partition(",")
            return self.name(first), self.name(last)
        tokens = [t for t in fold(raw).split() if t not in self.rules.name_noise]
        if len(tokens) < 2:
            return (tokens[0] if tokens else None), None
        return tokens[0], self.name(" ".join(tokens[1:]))

    def email(self, raw: str) -> str | None:
        """Lower-cased e-mail with the provider's rules applied (gmail dots and +tags).

        An address written with look-alike characters (full-width letters that fold onto
        ASCII ones) is not compared at all: folded, it would impersonate another customer's.
        """
        if _compatibility_forms(raw):
            return None
        email = raw.strip().lower().strip("<>\"'")
        local, at, domain = email.rpartition("@")
        if not at or not local or "." not in domain or " " in email or "@" in local:
            return None
        domain = self.rules.email_domain_aliases.get(domain, domain)
        if domain in self.rules.plus_tag_email_domains:
            local = local.split("+", 1)[0]
        if domain in self.rules.dotless_email_domains:
            local = local.replace(".", "")
        email = f"{local}@{domain}"
        return None if not local or email in self.rules.missing_emails else email

    def phone(self, raw: str, region: str | None = None) -> str | None:
        """E.164 phone, numbers without a country code read in ``region`` (the record's
        country), else in the configured region.

        A number that does not read in that region (a Spanish mobile written nationally in a
        US store) keeps its digits: it agrees exactly with itself, and with the same number
        written in full (see :func:`one_number`).
        """
        region = region or self.rules.default_region
        number = _phone(raw, region, self.rules.missing_phones)
        if number is not None or "+" in raw:
            return number
        digits = "".join(c for c in raw if c.isdigit())
        if len(digits) < _MIN_PHONE_DIGITS or self._is_placeholder("phone", digits):
            return None
        return digits

    def date(self, raw: str) -> str | None:
        """ISO date from common formats; impossible dates and placeholders are missing."""
        parsed = parse_date(raw, self.rules.date_order)
        if parsed is None:
            return None
        text = parsed.isoformat()
        return None if text in self.rules.missing_dates else text

    def address(self, raw: str) -> str | None:
        """Folded street address with street words in one canonical form."""
        words = self.rules.address_abbreviations
        return " ".join(words.get(t, t) for t in fold(raw).split()) or None

    def postcode(self, raw: str) -> str | None:
        """Postcode without spaces or punctuation ("SW1A 1AA" → "sw1a1aa")."""
        return fold(raw).replace(" ", "") or None

    def identifier(self, raw: str) -> str | None:
        """Identifier without separators; all-same-character values are placeholders."""
        value = fold(raw).replace(" ", "")
        if not value or len(set(value)) == 1 or value in self.rules.missing_identifiers:
            return None
        return value


_MIN_PHONE_DIGITS = 7
# What a value of a type that does not read as one is, in a data-quality report.
_PROBLEMS: dict[str, str] = {
    "date": "not a date",
    "email": "not an e-mail address",
    "phone": "not a phone number",
}


def _compatibility_forms(text: str) -> bool:
    """Whether text holds characters that compatibility folding changes (full-width letters,
    ligatures): what someone writes to look like another address."""
    return unicodedata.normalize("NFKC", text) != text


@lru_cache(maxsize=262144)
def _phone(raw: str, region: str, placeholders: frozenset[str]) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if len(set(national)) == 1 or national in placeholders:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def one_number(left: str, right: str) -> bool:
    """Whether two different normalized phones are one number written two ways: one side's
    national digits, read in the other side's country, are the other side's E.164 number.

    The national digits are a number kept bare (it did not read where its record is), or
    those of an E.164 number that is no valid number where it was read (written nationally,
    it was read in the default region as a number no one can dial there). A French mobile
    written "06 13 25 74 39" in a record without a country and "+33 6 13 25 74 39" in one
    that names France are one number.

    >>> one_number("0613257439", "+33613257439"), one_number("+10878658469", "+353878658469")
    (True, True)
    >>> one_number("0613257439", "+34613257439"), one_number("+16609955504", "+436609955504")
    (False, False)
    """
    return _reads_as(left, right) or _reads_as(right, left)


def _reads_as(written: str, number: str) -> bool:
    if not number.startswith("+"):
        return False
    try:
        if written.startswith("+"):
            parsed = phonenumbers.parse(written, None)
            # A valid number is that number, wherever else its digits would also read.
            if phonenumbers.is_valid_number(parsed):
                return False
            written = phonenumbers.national_significant_number(parsed)
        country_code = phonenumbers.parse(number, None).country_code or 0
        read = phonenumbers.parse(written, phonenumbers.region_code_for_country_code(country_code))
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(read, phonenumbers.PhoneNumberFormat.E164) == number


def parse_date(raw: str, order: str = "MDY") -> date | None:
    """Parse ISO, slashed (in ``order`` when ambiguous), compact and month-name dates."""
    text = raw.strip().lower()
    numbers = [int(n) for n in _DIGITS.findall(text)]
    month_names = [m for w in re.findall(r"[a-z]+", text) if (m := _MONTHS.get(w))]
    if month_names and len(numbers) >= 2:
        day, year = (numbers[0], numbers[1]) if numbers[1] > 31 else (numbers[1], numbers[0])
        return _date(year, month_names[0], day)
    if len(numbers) == 1 and len(text) == 8 and text.isdigit():
        return _date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    if len(numbers) < 3:
        return None
    first, second, third = numbers[:3]
    if first > 31:
        return _date(first, second, third)
    if third < 100:
        return None
    if order == "DMY" or first > 12:
        return _date(third, second, first)
    return _date(third, first, second)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def normalize_attributes(
    normalizer: Normalizer,
    types: Mapping[AttributeName, AttributeType],
    attributes: Mapping[AttributeName, str],
) -> dict[AttributeName, str]:
    """Normalize a record's known attributes; full_name fills first and last name."""
    values: dict[AttributeName, str] = {}
    region = record_region(attributes)
    for name, raw in attributes.items():
        kind = types.get(name)
        if kind is None or raw is None or name == "full_name":
            continue
        if (value := normalizer.value(kind, str(raw), region)) is not None:
            values[name] = value
    full = attributes.get("full_name")
    if full and fold(full) not in normalizer.rules.missing_values:
        first, last = normalizer.split_full_name(str(full))
        if first and "first_name" not in values:
            values["first_name"] = first
        if last and "last_name" not in values:
            values["last_name"] = last
    return values


def record_region(attributes: Mapping[AttributeName, str]) -> str | None:
    """The phone region of a record's ``country`` ("FR", "France", "fr"): its national numbers
    are read there. None when it has no country, or one that names no region."""
    country = attributes.get("country")
    return region_of_country(str(country)) if country else None


@lru_cache(maxsize=4096)
def region_of_country(text: str) -> str | None:
    """The region code (ISO 3166 alpha-2) a country is written as: a code, or its English name.

    >>> region_of_country("France"), region_of_country("es"), region_of_country("Atlantis")
    ('FR', 'ES', None)
    """
    folded = fold(text)
    return _country_names().get(folded) or (
        folded.upper() if folded.upper() in phonenumbers.SUPPORTED_REGIONS else None
    )


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Folded country names (English, and common short forms) to region codes, from the small
    table beside this module (phonenumbers' own names would load its geocoder: 0.1 GB)."""
    text = resources.files(__package__).joinpath("countries.txt").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {fold(name): code for code, name in rows}
