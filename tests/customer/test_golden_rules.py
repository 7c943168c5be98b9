"""The golden record agents trust: names in reading order, no city listed beside a full
address in it, a switchboard phone marked shared and ranked last, dates in one format, and
"last seen" as the customer's last activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from app.customer.survivorship import choose_golden, identifier_keys, written_forward
from app.customer.traits import compute_traits
from tests.customer.test_survivorship import SETTINGS, T0, US, rec
from tests.helpers import add_source, push, record

RULES = SETTINGS.customer.survivorship


def test_a_name_written_family_first_reads_given_name_first() -> None:
    assert written_forward("Mueller, Renate") == "Renate Mueller"
    assert written_forward("Renate Mueller") == "Renate Mueller"
    assert written_forward("Acme, Inc., Sales") == "Acme, Inc., Sales"  # not a name's two parts
    golden = choose_golden([rec(1, "hr", full_name="Mueller, Renate")], RULES, US)
    assert golden.plain()["full_name"] == "Renate Mueller"


def test_a_city_alone_is_not_listed_beside_a_full_address_in_it() -> None:
    records = [
        rec(1, "crm", days=5, city="Madrid"),
        rec(2, "desk", address_line1="Calle Mayor 1", city="madrid", postcode="28013"),
        rec(3, "shop", city="Sevilla"),
    ]
    addresses = choose_golden(records, RULES, US).multi["addresses"]
    assert [a.value for a in addresses] == [
        {"address_line1": "Calle Mayor 1", "city": "madrid", "postcode": "28013"},
        {"city": "Sevilla"},  # another city says something of its own
    ]
    assert [a.rank for a in addresses] == [1, 2]


def test_a_phone_many_customers_share_is_marked_and_ranked_last() -> None:
    records = [
        rec(1, "crm", phone="+1 202 555 0100", days=9),  # the office switchboard, seen last
        rec(2, "desk", phone="+1 202 555 0188"),
    ]
    keys = identifier_keys(records, RULES, US)
    switchboard = {key for key in keys if key[1].endswith("0100")}
    golden = choose_golden(records, RULES, US, shared=switchboard)
    phones = golden.multi["phones"]
    assert [(p.value, p.shared, p.rank) for p in phones] == [
        ("+1 202 555 0188", False, 1),
        ("+1 202 555 0100", True, 2),
    ]
    assert golden.plain()["shared"] == {"phones": ["+1 202 555 0100"]}
    assert golden.detailed()["phones"][1]["shared"] is True


def test_dates_read_in_one_format_and_the_same_day_is_one_value() -> None:
    records = [
        rec(1, "crm", birth_date="02/14/1988"),
        rec(2, "desk", birth_date="1988-02-14"),
        rec(3, "shop", birth_date="1988-03-01", days=9),
    ]
    chosen = choose_golden(records, RULES, US).single["birth_date"]
    assert (chosen.value, chosen.records, chosen.rule) == ("1988-02-14", 2, "most_frequent")
    kept = choose_golden([rec(1, "crm", birth_date="sometime in May")], RULES, US)
    assert kept.plain()["birth_date"] == "sometime in May"  # not a date: kept as written


def test_last_seen_is_the_last_activity_not_the_import() -> None:
    imported_today = T0 + timedelta(days=300)
    config = SETTINGS.customer.traits
    # a record whose department says nothing of when it changed, imported today: no activity
    quiet = compute_traits([], [(imported_today, None)], config, imported_today)
    assert quiet["last_seen"] is None
    assert quiet["first_seen"] == imported_today.isoformat()
    changed = T0 + timedelta(days=20)
    active = compute_traits([], [(imported_today, changed)], config, imported_today)
    assert active["last_seen"] == changed.isoformat()


def test_the_profile_marks_a_switchboard_shared_and_dates_its_last_activity(
    app: Flask, client: FlaskClient, make_token: Callable[..., dict[str, str]]
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    office = "+1 202 555 0100"
    people = [("Renate", "Mueller"), ("Aiko", "Tanaka"), ("Omar", "Haddad")]
    push(
        client,
        admin,
        "crm",
        *(
            record(f"c{n}", full_name=f"{last}, {first}", phone=office, email=f"{first}@x.org")
            for n, (first, last) in enumerate(people)
        ),
        record(
            "c0-mobile", full_name="Mueller, Renate", email="Renate@x.org", phone="+1 202 555 0142"
        ),
    )
    found = client.get("/api/v1/customers/lookup/email:renate@x.org", headers=admin).get_json()
    (renate,) = found["data"]
    assert renate["golden"]["full_name"] == "Renate Mueller"
    assert renate["golden"]["phones"] == ["+1 202 555 0142", office]  # her own number first
    assert renate["golden"]["shared"] == {"phones": [office]}
    verbose = client.get(f"/api/v1/customers/{renate['id']}?verbose=true", headers=admin)
    phones = verbose.get_json()["golden"]["phones"]
    assert [(p["value"], p["shared"]) for p in phones] == [
        ("+1 202 555 0142", False),
        (office, True),
    ]
    # pushed without a time of change at the source, and no event: no activity to show
    assert renate["traits"]["last_seen"] is None
