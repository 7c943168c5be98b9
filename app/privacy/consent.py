"""Consent in force: each department records its own choice per purpose; the most restrictive
one holds (one withdrawal anywhere withdraws), and a disagreement between departments shows.

Plain functions over recorded choices, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.settings.privacy import Purpose


@dataclass(frozen=True, slots=True)
class Choice:
    """What one department's record says of one purpose, and since when."""

    purpose: str
    granted: bool
    observed_at: datetime
    source: str
    external_id: str


def in_force(
    choices: Iterable[Choice], purposes: Mapping[str, Purpose]
) -> dict[str, dict[str, Any]]:
    """Per purpose (every configured one, and any a department recorded): the choice in force,
    whether any department recorded one, whether departments disagree, the latest recorded
    time, and each department's choice.

    >>> from datetime import UTC, datetime
    >>> when = datetime(2024, 5, 1, tzinfo=UTC)
    >>> purposes = {"email_marketing": Purpose("e-mails", default=False)}
    >>> found = in_force(
    ...     [Choice("email_marketing", True, when, "crm", "c-1"),
    ...      Choice("email_marketing", False, when, "shop", "s-1")], purposes)
    >>> found["email_marketing"]["granted"], found["email_marketing"]["disagreement"]
    (False, True)
    """
    by_purpose: dict[str, list[Choice]] = {name: [] for name in purposes}
    for choice in choices:
        by_purpose.setdefault(choice.purpose, []).append(choice)
    found: dict[str, dict[str, Any]] = {}
    for purpose, recorded in sorted(by_purpose.items()):
        recorded.sort(key=lambda c: (c.observed_at, c.source, c.external_id))
        grants = {c.granted for c in recorded}
        configured = purposes.get(purpose)
        found[purpose] = {
            "granted": (False not in grants)
            and (True in grants or bool(configured and configured.default)),
            "recorded": bool(recorded),
            "disagreement": len(grants) > 1,
            "observed_at": recorded[-1].observed_at.isoformat() if recorded else None,
            "description": configured.description if configured else "",
            "sources": [
                {
                    "source": c.source,
                    "external_id": c.external_id,
                    "granted": c.granted,
                    "observed_at": c.observed_at.isoformat(),
                }
                for c in recorded
            ],
        }
    return found


def withdrawn(consents: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The purposes a department recorded a withdrawal of, now in force."""
    return [p for p, c in consents.items() if c["recorded"] and not c["granted"]]
