"""Traits at a fixed time: affinities follow the configured weights and half-life."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.config import load_config
from app.customer.traits import EventFact, affinities, compute_traits, parse_amount
from app.settings import load_settings
from app.settings.customer import TraitsConfig

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
PACKAGED = load_settings(load_config(environ={})).customer.traits


def config(**changes: object) -> TraitsConfig:
    return replace(PACKAGED, **changes)  # type: ignore[arg-type]


def event(kind: str, days_ago: float, source: str = "web", **properties: object) -> EventFact:
    return EventFact(kind, NOW - timedelta(days=days_ago), source, None, properties)


def test_weights_and_half_life_set_the_score() -> None:
    settings = config(
        half_life_days=10.0, saturation=10.0, affinity_weights={"view": 1.0, "buy": 6.0}
    )
    found = affinities(
        [
            event("view", 0, category="Running gear"),
            event("view", 10, category="running gear"),  # one half-life ago: half its weight
            event("buy", 20, category="Running Gear"),  # two half-lives: a quarter
            event("view", 0, category="Tents"),
            event("view", 0),  # no category: no affinity
            event("ticket", 0, category="Tents"),  # not a weighted type
        ],
        settings,
        NOW,
    )
    assert [(a["category"], a["score"]) for a in found] == [
        ("Running Gear", 1 + 0.5 + 1.5),  # spelt as first seen
        ("Tents", 1.0),
    ]
    assert found[0]["percent"] == round(100 * (1 - math.exp(-3.0 / 10.0))) == 26


def test_a_heavier_weight_ranks_a_category_higher() -> None:
    settings = config(affinity_weights={"page_view": 1.0, "review": 4.0})
    found = affinities(
        [event("page_view", 1, category="tents")] * 3 + [event("review", 1, category="boots")],
        settings,
        NOW,
    )
    assert [a["category"] for a in found] == ["boots", "tents"]


def test_an_interest_fades_as_time_passes() -> None:
    settings = config(half_life_days=30.0, saturation=5.0, affinity_weights={"order": 8.0})
    orders = [event("order", 0, category="running gear")]
    today = affinities(orders, settings, NOW)[0]["percent"]
    later = affinities(orders, settings, NOW + timedelta(days=90))[0]["percent"]
    assert today == round(100 * (1 - math.exp(-8 / 5))) == 80
    assert later == round(100 * (1 - math.exp(-1 / 5))) == 18


def test_orders_tickets_and_email_engagement() -> None:
    events = [
        event("order", 40, "shop", amount="19.90", currency="eur"),
        event("order", 5, "shop", amount=30, currency="EUR"),
        event("order", 1, "crm", amount="n/a"),
        EventFact("ticket", NOW - timedelta(days=9), "desk", "T-1", {"status": "solved"}),
        EventFact(
            "ticket", NOW - timedelta(days=2), "desk", "T-2", {"status": "open", "subject": "Late"}
        ),
        event("email_open", 10, "mail"),
        event("email_click", 10, "mail"),
        event("email_open", 120, "mail"),  # outside the 90-day window
    ]
    traits = compute_traits(
        events, [(NOW - timedelta(days=400), NOW - timedelta(days=3))], config(), NOW
    )
    assert traits["orders"]["count"] == 3
    assert traits["orders"]["lifetime_value"] == {"EUR": 49.9}
    assert traits["tickets"]["open"] == 1
    assert traits["tickets"]["last"]["subject"] == "Late"
    assert (traits["email"]["opened"], traits["email"]["clicked"]) == (1, 1)
    assert traits["first_seen"] == (NOW - timedelta(days=400)).isoformat()
    assert traits["last_seen"] == (NOW - timedelta(days=1)).isoformat()
    assert traits["sources"]["shop"]["events"] == 2


@pytest.mark.parametrize(
    ("given", "amount"),
    [(12, 12.0), ("12.5", 12.5), (" 3 ", 3.0), ("abc", None), (True, None), (None, None)],
)
def test_amounts_are_read_from_numbers_and_numeric_text(
    given: object, amount: float | None
) -> None:
    assert parse_amount(given) == amount
