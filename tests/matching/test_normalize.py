"""Normalization by attribute type: what a value becomes, and what counts as missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.matching import InputRecord, Matcher
from app.matching.normalize import Normalizer, parse_date, phonetic, region_of_country
from app.matching.types import AttributeType


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  Ana.Ruiz@Example.COM ", "ana.ruiz@example.com"),
        ("email", "ana.ruiz+news@gmail.com", "anaruiz@gmail.com"),
        ("email", "a.n.a@googlemail.com", "ana@gmail.com"),
        ("email", "ana.ruiz+news@example.com", "ana.ruiz+news@example.com"),
        ("email", "test@test.com", None),
        ("email", "not an email", None),
        ("email", "n/a", None),
        ("phone", "(555) 201-3344", "+15552013344"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "0000000", None),
        ("phone", "555-5555", None),
        ("phone", "call me", None),
        ("date", "1990-04-12", "1990-04-12"),
        ("date", "04/12/1990", "1990-04-12"),
        ("date", "25/12/1990", "1990-12-25"),
        ("date", "19900412", "1990-04-12"),
        ("date", "12 April 1990", "1990-04-12"),
        ("date", "March 3, 1985", "1985-03-03"),
        ("date", "1990-02-30", None),
        ("date", "1900-01-01", None),
        ("date", "unknown", None),
        ("name", "  José-Luis ", "jose luis"),
        ("name", "Dr. María de la Cruz", "maria cruz"),
        ("name", "O'Brien", "o brien"),
        ("name", "Müller", "muller"),
        ("name", "Łukasz Wiśniewski", "lukasz wisniewski"),
        ("name", "Đạt", "dat"),
        ("name", "Søren", "soren"),
        ("name", "N/A", None),
        ("address", "12 Main Street, Apt. 4", "12 main st apt 4"),
        ("postcode", "SW1A 1AA", "sw1a1aa"),
        ("identifier", "987-65-4321", "987654321"),
        ("identifier", "000-00-0000", None),
        ("city", "São Paulo", "sao paulo"),
    ],
)
def test_value(normalizer: Normalizer, kind: AttributeType, raw: str, expected: str | None) -> None:
    assert normalizer.value(kind, raw) == expected


@pytest.fixture(scope="module")
def normalizer(matcher: Matcher) -> Normalizer:
    return matcher.normalizer


@pytest.mark.parametrize(
    ("raw", "first", "last"),
    [
        ("Ana Ruiz", "ana", "ruiz"),
        ("Ruiz, Ana", "ana", "ruiz"),
        ("María José García López", "maria", "jose garcia lopez"),
        ("Mr John van der Berg", "john", "berg"),
    ],
)
def test_full_name_fills_first_and_last(matcher: Matcher, raw: str, first: str, last: str) -> None:
    values = matcher.prepare(InputRecord(1, "crm", {"full_name": raw})).values
    assert (values["first_name"], values["last_name"]) == (first, last)


def test_declared_first_and_last_name_win_over_full_name(matcher: Matcher) -> None:
    record = InputRecord(1, "crm", {"full_name": "Bob Smith", "first_name": "Robert"})
    values = matcher.prepare(record).values
    assert (values["first_name"], values["last_name"]) == ("robert", "smith")


def test_extra_attributes_are_normalized_by_declared_type(matcher: Matcher) -> None:
    record = InputRecord(1, "crm", {"soc_sec_id": "123 456 7", "favourite": "blue"})
    assert matcher.prepare(record).values == {"soc_sec_id": "1234567"}


@pytest.mark.parametrize(
    ("left", "right"),
    [("smith", "smyth"), ("robert", "rupert"), ("tymczak", "tymczak"), ("pfister", "pfister")],
)
def test_phonetic_code_groups_sound_alikes(left: str, right: str) -> None:
    assert phonetic(left) == phonetic(right)


@pytest.mark.parametrize(("left", "right"), [("smith", "jones"), ("ana", "maria")])
def test_phonetic_code_separates_different_names(left: str, right: str) -> None:
    assert phonetic(left) != phonetic(right)


def test_day_month_order_is_configurable() -> None:
    assert parse_date("03/04/1980", "DMY") != parse_date("03/04/1980", "MDY")


# "wilsona@gmail.com" in full-width letters, which fold onto the ASCII ones.
LOOKALIKE = "".join(chr(ord(c) + 0xFEE0) for c in "wilsona") + "@gmail.com"


@pytest.mark.parametrize(
    ("attribute", "raw", "problem"),
    [
        ("birth_date", "19551192", "not a date"),
        ("birth_date", "1955-11-29", None),
        ("birth_date", "1850-03-01", None),
        ("birth_date", "1900-01-01", None),
        ("birth_date", "n/a", None),
        ("email", "bob at example", "not an e-mail address"),
        ("email", LOOKALIKE, "look-alike characters"),
        ("email", "test@test.com", None),
        ("phone", "call me", "not a phone number"),
        ("phone", "712 849 718", None),
        ("first_name", "???", None),
    ],
)
def test_values_that_cannot_be_compared_are_named_with_a_reason(
    matcher: Matcher, attribute: str, raw: str, problem: str | None
) -> None:
    assert matcher.problems({attribute: raw}) == ({attribute: problem} if problem else {})


def test_a_lookalike_email_never_matches_the_address_it_imitates(matcher: Matcher) -> None:
    real = matcher.prepare(InputRecord(1, "crm", {"email": "wilsona@gmail.com"}))
    fake = matcher.prepare(InputRecord(2, "shop", {"email": LOOKALIKE}))
    assert "email" not in fake.values
    assert not set(real.keys) & set(fake.keys)


@pytest.mark.parametrize(
    ("written", "full"),
    [
        ("712 849 718", "+34 712 849 718"),  # kept bare: no reading in the US
        ("087 865 8469", "+353 87 865 8469"),  # read in the US as a number no one can dial
    ],
)
def test_a_nationally_written_foreign_number_agrees_exactly_with_itself_written_in_full(
    matcher: Matcher, written: str, full: str
) -> None:
    national = matcher.prepare(InputRecord(1, "crm", {"phone": written}))
    other = matcher.prepare(InputRecord(2, "shop", {"phone": full}))
    edge = matcher.compare(national, other)
    phone = next(c for c in edge.contributions if c.attribute == "phone")
    assert phone.level == "exact" and phone.weight > 0


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("France", "FR"),
        ("fr", "FR"),
        ("  united   KINGDOM ", "GB"),
        ("UK", "GB"),
        ("Espana", "ES"),
        ("España", "ES"),
        ("Cote d'Ivoire", "CI"),
        ("USA", "US"),
        ("Atlantis", None),
        ("XX", None),
    ],
)
def test_a_country_is_read_by_its_code_or_its_name(written: str, region: str | None) -> None:
    assert region_of_country(written) == region


def test_reading_a_country_name_loads_no_geocoder() -> None:
    # phonenumbers' geocoder holds every region's name in every language: a tenth of a
    # gigabyte that a process which reads one country's name would carry to its end.
    script = (
        "import sys; from app.matching.normalize import region_of_country; "
        "assert region_of_country('France') == 'FR'; "
        "print('phonenumbers.geocoder' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
