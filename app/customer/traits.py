"""Traits: facts derived from one customer's footprint, computed at a given time.

Pure functions over plain data. Time-dependent traits (the e-mail window, decayed affinities)
are computed "as of" the time passed in, which the stored traits carry, so a test can fix it.

Affinity: each event of a weighted type with a ``category`` property adds
``weight * 0.5 ** (age_days / half_life_days)`` to its category's score. The percentage is
``100 * (1 - exp(-score / saturation))``: an absolute measure of how strong and how recent the
interest is, not a share of the customer's other interests, so a quiet customer's affinities
fade towards 0% rather than staying at 100% for whatever they touched last.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.customer.survivorship import fold
from app.settings.customer import TraitsConfig


@dataclass(frozen=True, slots=True)
class EventFact:
    """What traits read of one event."""

    type: str
    occurred_at: datetime
    source: str | None
    external_id: str | None
    properties: Mapping[str, Any] = field(default_factory=dict)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def parse_amount(value: Any) -> float | None:
    """An order amount from a number or numeric text; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            amount = float(value.strip())
        except ValueError:
            return None
        return amount if math.isfinite(amount) else None
    return None


def affinity_scores(
    events: Sequence[EventFact], config: TraitsConfig, now: datetime
) -> dict[str, tuple[str, float]]:
    """Per folded category: its display name (as first seen) and its decayed score at ``now``."""
    scores: dict[str, tuple[str, float]] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        weight = config.affinity_weights.get(event.type)
        category = event.properties.get("category")
        if not weight or not isinstance(category, str) or not category.strip():
            continue
        age_days = max((now - event.occurred_at).total_seconds(), 0.0) / 86400
        gained = weight * 0.5 ** (age_days / config.half_life_days)
        name, score = scores.get(fold(category), (category.strip(), 0.0))
        scores[fold(category)] = (name, score + gained)
    return scores


def affinity_percent(score: float, saturation: float) -> int:
    """How a score reads as a percentage: 100 * (1 - exp(-score / saturation)), rounded."""
    return round(100 * (1 - math.exp(-score / saturation)))


def affinities(events: Sequence[EventFact], config: TraitsConfig, now: datetime) -> list[Any]:
    """Categories by decreasing affinity, each with its percentage and score."""
    ranked = sorted(affinity_scores(events, config, now).values(), key=lambda p: (-p[1], p[0]))
    return [
        {
            "category": name,
            "percent": affinity_percent(score, config.saturation),
            "score": round(score, 4),
        }
        for name, score in ranked
    ]


def order_facts(events: Sequence[EventFact], config: TraitsConfig) -> dict[str, Any]:
    """Orders: how many, their lifetime value per currency, the first and last."""
    orders = [e for e in events if e.type in config.orders]
    value: dict[str, float] = {}
    for order in orders:
        amount = parse_amount(order.properties.get("amount"))
        if amount is not None:
            currency = str(order.properties.get("currency") or config.default_currency).upper()
            value[currency] = value.get(currency, 0.0) + amount
    times = [o.occurred_at for o in orders]
    return {
        "count": len(orders),
        "lifetime_value": {c: round(v, 2) for c, v in sorted(value.items())},
        "first_order_at": _iso(min(times, default=None)),
        "last_order_at": _iso(max(times, default=None)),
        "by_source": dict(sorted(Counter(o.source or "" for o in orders).items())),
    }


def ticket_facts(events: Sequence[EventFact], config: TraitsConfig) -> dict[str, Any]:
    """Tickets: how many, how many are open (latest status not closed), and the last one."""
    latest: dict[tuple[str | None, str], EventFact] = {}
    for index, event in enumerate(e for e in events if e.type in config.tickets):
        key = (event.source, event.external_id or f"#{index}")
        if key not in latest or latest[key].occurred_at <= event.occurred_at:
            latest[key] = event
    tickets = sorted(latest.values(), key=lambda e: e.occurred_at)

    def is_open(ticket: EventFact) -> bool:
        status = str(ticket.properties.get("status") or "open").casefold()
        return status not in config.closed_ticket_statuses

    last = tickets[-1] if tickets else None
    return {
        "total": len(tickets),
        "open": sum(1 for t in tickets if is_open(t)),
        "last": None
        if last is None
        else {
            "source": last.source,
            "external_id": last.external_id,
            "subject": last.properties.get("subject"),
            "status": last.properties.get("status"),
            "occurred_at": last.occurred_at.isoformat(),
        },
    }


def email_facts(events: Sequence[EventFact], config: TraitsConfig, now: datetime) -> dict[str, Any]:
    """E-mail engagement in the configured window before ``now``."""
    since = now - timedelta(days=config.email_window_days)
    recent = [e for e in events if since <= e.occurred_at <= now]
    sent = sum(1 for e in recent if e.type in config.email_sends)
    opened = sum(1 for e in recent if e.type in config.email_opens)
    clicked = sum(1 for e in recent if e.type in config.email_clicks)
    opens = [e.occurred_at for e in events if e.type in config.email_opens]
    clicks = [e.occurred_at for e in events if e.type in config.email_clicks]
    return {
        "window_days": config.email_window_days,
        "sent": sent,
        "opened": opened,
        "clicked": clicked,
        "open_rate": round(opened / sent, 4) if sent else None,
        "click_rate": round(clicked / sent, 4) if sent else None,
        "last_opened_at": _iso(max(opens, default=None)),
        "last_clicked_at": _iso(max(clicks, default=None)),
    }


def compute_traits(
    events: Sequence[EventFact],
    record_times: Sequence[tuple[datetime, datetime | None]],
    config: TraitsConfig,
    now: datetime,
    *,
    profiling: bool = True,
) -> dict[str, Any]:
    """Every trait of a customer with these events and records ((first seen, changed at the
    source) each; None when the source does not say); affinities only when the customer's
    consents allow ``profiling``.

    First seen is the earliest record or event. Last seen is the customer's last activity: the
    latest event, or change their department's system recorded; never when Huella happened to
    import them (a load of old records does not make everyone look active today).
    """
    event_times = [e.occurred_at for e in events]
    firsts = [first for first, _ in record_times] + event_times
    lasts = [changed for _, changed in record_times if changed is not None] + event_times
    by_source: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        entry = by_source.setdefault(
            event.source or "", {"events": 0, "first_event_at": _iso(event.occurred_at)}
        )
        entry["events"] += 1
        entry["last_event_at"] = _iso(event.occurred_at)
    return {
        "as_of": now.isoformat(),
        "first_seen": _iso(min(firsts, default=None)),
        "last_seen": _iso(max(lasts, default=None)),
        "events": len(events),
        "event_types": dict(sorted(Counter(e.type for e in events).items())),
        "sources": dict(sorted(by_source.items())),
        "orders": order_facts(events, config),
        "tickets": ticket_facts(events, config),
        "email": email_facts(events, config, now),
        "profiling": profiling,
        "affinities": affinities(events, config, now) if profiling else [],
    }
