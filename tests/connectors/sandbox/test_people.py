"""The synthetic people generator: determinism, record shapes, ground truth, and the traps the
matcher benchmark relies on, measured on a 10k-record sample."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import phonenumbers
import pytest
from rapidfuzz.distance import OSA

from connectors.sandbox.people import (
    DEFAULT_COVERAGE,
    DEFAULT_NOISE,
    DEFAULT_POPULATION,
    DEPARTMENT_ATTRIBUTES,
    DEPARTMENTS,
    EVENT_TYPES,
    DepartmentRecord,
    Person,
    department_events,
    department_records,
    generate_people,
    generate_records,
    mailbox,
    main,
    strip_accents,
    transliterate,
)
from connectors.sandbox.people_data import CULTURES, PLACEHOLDER_EMAILS

SAMPLE_RECORDS = 10_000


@pytest.fixture(scope="module")
def people() -> dict[str, Person]:
    return {person.person_id: person for person in generate_people(6000, seed=7)}


@pytest.fixture(scope="module")
def records(people: dict[str, Person]) -> list[DepartmentRecord]:
    return list(islice(department_records(people.values(), seed=7), SAMPLE_RECORDS))


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def _first_name(record: DepartmentRecord) -> str:
    if "full_name" in record.attributes:
        return record.attributes["full_name"].split(" ")[0]
    return record.attributes.get("first_name", "")


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_records() -> None:
    assert list(generate_records(400, seed=3)) == list(generate_records(400, seed=3))


def test_another_seed_gives_other_people() -> None:
    first = [p.first_name + p.last_name for p in generate_people(50, seed=1)]
    second = [p.first_name + p.last_name for p in generate_people(50, seed=2)]
    assert first != second


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    assert list(generate_people(60, seed=4)) == list(generate_people(200, seed=4))[:60]


def test_asking_for_one_department_gives_that_department_of_the_full_run() -> None:
    people = list(generate_people(300, seed=5))
    everything = list(department_records(people, seed=5))
    support_only = list(department_records(people, seed=5, departments=("support",)))
    assert support_only == [r for r in everything if r.department == "support"]


def test_generate_records_yields_exactly_count() -> None:
    assert sum(1 for _ in generate_records(1234, seed=0)) == 1234


def test_unknown_department_is_refused() -> None:
    with pytest.raises(ValueError, match="billing"):
        list(department_records([], departments=("billing",)))


# --------------------------------------------------------------------------- record shapes


def test_each_department_holds_only_its_own_attributes(records: list[DepartmentRecord]) -> None:
    for record in records:
        assert set(record.attributes) <= set(DEPARTMENT_ATTRIBUTES[record.department])
        assert record.updated_at.tzinfo is not None


def test_external_ids_look_like_each_system_and_are_unique(
    records: list[DepartmentRecord],
) -> None:
    shapes = {
        "sales": re.compile(r"^\d{4,}$"),
        "support": re.compile(r"^\d{12}$"),
        "marketing": re.compile(r"^[0-9a-f]{32}$"),
    }
    seen: dict[str, set[str]] = defaultdict(set)
    for record in records:
        assert shapes[record.department].match(record.external_id), record.external_id
        assert record.external_id not in seen[record.department]
        seen[record.department].add(record.external_id)
    assert set(seen) == set(DEPARTMENTS)


def test_support_holds_a_full_name_sometimes_a_single_word(
    records: list[DepartmentRecord],
) -> None:
    names = [r.attributes.get("full_name", "") for r in records if r.department == "support"]
    single_words = [name for name in names if name and " " not in name]
    assert len(single_words) > 0.03 * len(names)


def test_dates_are_written_in_each_departments_format(records: list[DepartmentRecord]) -> None:
    formats: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        value = record.attributes.get("birth_date")
        if value:
            shape = re.sub(r"\d", "9", value)
            formats[record.department][shape] += 1
    assert formats["sales"].most_common(1)[0][0] == "9999-99-99"
    assert "99.99.9999" in formats["sales"]
    assert formats["marketing"].most_common(1)[0][0] == "99/99/9999"
    assert "99/99" in formats["marketing"]  # birthdays without the year
    assert "support" not in formats


def test_phones_are_written_in_local_and_international_forms(
    records: list[DepartmentRecord],
) -> None:
    phones = [r.attributes["phone"] for r in records if r.attributes.get("phone")]
    international = [p for p in phones if p.startswith("+")]
    local = [p for p in phones if p[:1].isdigit() or p.startswith("(")]
    assert len(international) > 0.2 * len(phones)
    assert len(local) > 0.2 * len(phones)


def test_every_persons_phones_are_valid_numbers(people: dict[str, Person]) -> None:
    for person in islice(people.values(), 3000):
        for phone in person.phones:
            assert phonenumbers.is_valid_number(phonenumbers.parse(phone)), (person, phone)


# --------------------------------------------------------------------------- ground truth


def test_every_record_points_to_a_generated_person(
    people: dict[str, Person], records: list[DepartmentRecord]
) -> None:
    assert {record.person_id for record in records} <= set(people)


def test_people_are_in_one_to_three_departments_and_some_in_only_one(
    records: list[DepartmentRecord],
) -> None:
    departments: dict[str, set[str]] = defaultdict(set)
    for record in records:
        departments[record.person_id].add(record.department)
    spread = Counter(len(held) for held in departments.values())
    assert set(spread) == {1, 2, 3}
    expected = DEFAULT_COVERAGE.department_count
    total = sum(spread.values())
    for count, share in zip((1, 2, 3), expected, strict=True):
        assert abs(spread[count] / total - share) < 0.05


def test_duplicate_accounts_occur_at_the_promised_rate(records: list[DepartmentRecord]) -> None:
    accounts = Counter((record.person_id, record.department) for record in records)
    people = {person_id for person_id, _ in accounts}
    duplicated = {person_id for (person_id, _), n in accounts.items() if n > 1}
    assert abs(len(duplicated) / len(people) - DEFAULT_COVERAGE.duplicate) < 0.015


# --------------------------------------------------------------------------- difficulty


def test_one_office_phone_is_shared_by_more_than_a_hundred_people(
    records: list[DepartmentRecord],
) -> None:
    holders: dict[str, set[str]] = defaultdict(set)
    for record in records:
        phone = _digits(record.attributes.get("phone", ""))
        if len(phone) >= 8:
            holders[phone[-9:]].add(record.person_id)
    assert max(len(people) for people in holders.values()) > 100


def test_twins_share_birth_date_surname_and_address(people: dict[str, Person]) -> None:
    groups: dict[tuple[object, ...], set[str]] = defaultdict(set)
    for person in people.values():
        if person.household and person.birth_date:
            key = (person.household, person.birth_date, person.last_name, person.address_line1)
            groups[key].add(person.first_name)
    twins = [names for names in groups.values() if len(names) > 1]
    assert len(twins) >= 50


def test_common_names_belong_to_several_people(people: dict[str, Person]) -> None:
    names = Counter(
        (strip_accents(p.first_name), strip_accents(p.last_name.split(" ")[0]))
        for p in people.values()
    )
    assert names["John", "Smith"] >= 5
    assert names["Maria", "Garcia"] >= 5
    same_city = Counter(
        (p.city, p.first_name, p.last_name) for p in people.values() if p.last_name == "Smith"
    )
    assert same_city.most_common(1)[0][1] >= 2


def test_nicknames_replace_first_names(
    people: dict[str, Person], records: list[DepartmentRecord]
) -> None:
    nicknames = {
        name: set(short) for culture in CULTURES for name, short in culture.nicknames.items()
    }
    eligible = [r for r in records if people[r.person_id].first_name in nicknames]
    nicknamed = [r for r in eligible if _first_name(r) in nicknames[people[r.person_id].first_name]]
    assert 0.04 < len(nicknamed) / len(eligible) < 0.3
    assert any(_first_name(r) == "Bob" for r in nicknamed)


def test_names_lose_accents_and_get_shouted(
    people: dict[str, Person], records: list[DepartmentRecord]
) -> None:
    stripped = shouted = 0
    for record in records:
        person = people[record.person_id]
        last = record.attributes.get("last_name", "")
        if last != person.last_name and last in (
            strip_accents(person.last_name),
            transliterate(person.last_name),
        ):
            stripped += 1
        if last.isupper() and len(last) > 3:
            shouted += 1
    assert stripped > 100
    assert shouted > 20


@pytest.mark.parametrize("department", ["sales", "marketing"])
def test_typos_hit_surnames_at_the_promised_rate(
    people: dict[str, Person], records: list[DepartmentRecord], department: str
) -> None:
    # A typo is one edit (or one transposition) away from the surname as the person spells
    # it, ignoring case and accents, which other kinds of noise change.
    written = [
        (record.attributes["last_name"], people[record.person_id].last_name)
        for record in records
        if record.department == department and record.attributes.get("last_name")
    ]
    typos = [
        last
        for last, truth in written
        if OSA.distance(strip_accents(last).lower(), strip_accents(truth).lower()) == 1
    ]
    rate = DEFAULT_NOISE[department].typo
    assert 0.4 * rate < len(typos) / len(written) < 2 * rate


def test_western_names_are_swapped_at_the_promised_rate(
    people: dict[str, Person], records: list[DepartmentRecord]
) -> None:
    family_first = {culture.key for culture in CULTURES if culture.family_name_first}
    eligible = [
        record
        for record in records
        if record.department == "sales"
        and people[record.person_id].culture not in family_first
        and record.attributes.get("first_name")
    ]
    swapped = [
        record
        for record in eligible
        if strip_accents(record.attributes["first_name"]).lower()
        == strip_accents(people[record.person_id].last_name).lower()
    ]
    rate = DEFAULT_NOISE["sales"].swap_names
    assert 0.4 * rate < len(swapped) / len(eligible) < 2 * rate


def test_names_come_from_many_cultures(people: dict[str, Person]) -> None:
    cultures = Counter(person.culture for person in people.values())
    assert set(cultures) == {culture.key for culture in CULTURES}
    assert any(" de la " in f" {p.last_name}" for p in people.values())
    assert any("ü" in p.last_name or "ö" in p.last_name for p in people.values())
    assert any(p.former_last_name for p in people.values())


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_old_emails_linger_at_the_promised_rate(
    people: dict[str, Person], records: list[DepartmentRecord], department: str
) -> None:
    # Among people without a work address who have changed address, the share of records
    # still showing an old one is the stale rate, less what aliases and case noise disguise.
    eligible = [
        (record, people[record.person_id].emails)
        for record in records
        if record.department == department
        and not people[record.person_id].work_email
        and len(people[record.person_id].emails) > 1
        and record.attributes.get("email")
    ]
    stale = [record for record, emails in eligible if record.attributes["email"] in emails[1:]]
    rate = DEFAULT_NOISE[department].stale_email
    assert 0.5 * rate < len(stale) / len(eligible) < 1.5 * rate


def test_emails_get_aliases_and_placeholders(records: list[DepartmentRecord]) -> None:
    emails = [r.attributes["email"] for r in records if r.attributes.get("email")]
    tagged = [e for e in emails if "+" in e.split("@")[0]]
    placeholders = [e for e in emails if e in PLACEHOLDER_EMAILS]
    assert len(tagged) > 0.01 * len(emails)
    assert len(placeholders) > 10


def test_households_share_family_emails_and_addresses(people: dict[str, Person]) -> None:
    households: dict[str, list[Person]] = defaultdict(list)
    for person in people.values():
        if person.household:
            households[person.household].append(person)
    shared_email = 0
    for members in households.values():
        assert len({(m.address_line1, m.postcode) for m in members}) == 1
        first_emails = Counter(email for m in members for email in m.emails)
        if first_emails.most_common(1)[0][1] > 1:
            shared_email += 1
    assert shared_email > 0.1 * len(households)


def test_personal_emails_are_unique_across_households(people: dict[str, Person]) -> None:
    # By the mailbox an address reaches: Gmail gives p.smith@ to whoever owns psmith@.
    owners: dict[str, set[str]] = defaultdict(set)
    for person in people.values():
        for email in person.emails:
            owners[mailbox(email)].add(person.household or person.person_id)
    assert all(len(owner) == 1 for owner in owners.values())


@pytest.mark.parametrize(
    ("address", "reaches"),
    [
        ("P.Smith@gmail.com", "psmith@gmail.com"),
        ("p.smith+orders@googlemail.com", "psmith@gmail.com"),
        ("p.smith+orders@outlook.com", "p.smith@outlook.com"),
        ("p.smith@example.org", "p.smith@example.org"),
    ],
)
def test_mailbox_applies_the_providers_rules(address: str, reaches: str) -> None:
    assert mailbox(address) == reaches


def test_some_departments_show_an_old_address(
    people: dict[str, Person], records: list[DepartmentRecord]
) -> None:
    def house_number(line: str) -> str:
        return "".join(re.findall(r"\d+", line))

    sales = [
        r
        for r in records
        if r.department == "sales"
        and r.attributes.get("postcode")
        and house_number(r.attributes.get("address_line1", ""))
    ]
    moved = [
        r
        for r in sales
        if r.attributes["postcode"] != people[r.person_id].postcode
        and house_number(r.attributes["address_line1"])
        != house_number(people[r.person_id].address_line1)
    ]
    rate = DEFAULT_NOISE["sales"].moved_address
    assert 0.5 * rate < len(moved) / len(sales) < 1.5 * rate


def test_turning_noise_down_gives_clean_names() -> None:
    clean = {department: rates.scaled(0.0) for department, rates in DEFAULT_NOISE.items()}
    people = list(generate_people(300, seed=9))
    by_id = {person.person_id: person for person in people}
    for record in department_records(people, seed=9, noise=clean):
        first = record.attributes.get("first_name")
        if first:
            assert first == by_id[record.person_id].first_name


def test_turning_population_traps_off_removes_them() -> None:
    calm = list(generate_people(400, seed=9, rates=DEFAULT_POPULATION.scaled(0.0)))
    assert not any(person.office_phone or person.landline for person in calm)
    assert not any(person.former_last_name for person in calm)
    assert all(len(person.emails) == 1 for person in calm)


# --------------------------------------------------------------------------- streaming


def test_a_million_records_stream_without_being_built() -> None:
    tracemalloc.start()
    try:
        records = generate_records(1_000_000, seed=0)
        assert isinstance(records, Iterator)
        first = list(islice(records, 1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 1000
    assert peak < 16 * 1024 * 1024


def test_records_pull_people_one_household_at_a_time() -> None:
    pulled = 0

    def counted() -> Iterator[Person]:
        nonlocal pulled
        for person in generate_people(1_000_000, seed=0):
            pulled += 1
            yield person

    list(islice(department_records(counted(), seed=0), 50))
    assert pulled <= 50


# --------------------------------------------------------------------------- events


def test_events_are_deterministic_typed_and_ordered(records: list[DepartmentRecord]) -> None:
    seen_types: dict[str, set[str]] = defaultdict(set)
    for record in records[:600]:
        events = list(department_events(record, seed=7))
        assert events == list(department_events(record, seed=7))
        times = [event.occurred_at for event in events]
        assert times == sorted(times)
        assert len({event.external_id for event in events}) == len(events)
        for event in events:
            assert event.record_external_id == record.external_id
            assert event.type in EVENT_TYPES[record.department]
            seen_types[record.department].add(event.type)
    assert seen_types == {department: set(types) for department, types in EVENT_TYPES.items()}


# --------------------------------------------------------------------------- CLI and layering


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_cli_writes_one_csv_per_department_and_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--count", "300", "--seed", "2", "--out", str(tmp_path)]) == 0
    assert "300 records" in capsys.readouterr().out
    truth = _read_csv(tmp_path / "truth.csv")
    assert len(truth) == 300
    for department in DEPARTMENTS:
        rows = _read_csv(tmp_path / f"{department}.csv")
        assert rows, department
        assert list(rows[0]) == ["external_id", *DEPARTMENT_ATTRIBUTES[department]]
        truth_ids = {t["external_id"] for t in truth if t["department"] == department}
        assert {row["external_id"] for row in rows} == truth_ids


def test_the_module_cli_writes_the_same_files_in_another_process(tmp_path: Path) -> None:
    main(["--count", "120", "--seed", "6", "--out", str(tmp_path / "here")])
    subprocess.run(
        [
            sys.executable,
            "-m",
            "connectors.sandbox.people",
            "--count",
            "120",
            "--seed",
            "6",
            "--out",
            str(tmp_path / "there"),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    for name in (*DEPARTMENTS, "truth"):
        here = (tmp_path / "here" / f"{name}.csv").read_bytes()
        assert here == (tmp_path / "there" / f"{name}.csv").read_bytes(), name


def test_generator_imports_nothing_from_the_service() -> None:
    code = (
        "import sys, connectors.sandbox.people; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'app')]; "
        "print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
