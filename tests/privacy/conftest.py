"""Privacy tests: a store whose transactions really commit (a dump sees only what committed),
three sandbox departments holding one person among others, and that person's values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from app import create_app
from app.auth import service as tokens
from app.db import get_db
from app.source import service as sources
from connectors.sandbox import (
    Sandboxes,
    SandboxEvent,
    SandboxRecord,
    connector_settings,
)
from tests.conftest import BACKENDS, huella_config, migrated
from tests.connectors.sandbox_data import department_data
from tests.helpers import add_source

TOKEN_ENV = "HUELLA_SECRET_PRIVACY_TEST"
WHEN = datetime(2024, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    """The person to erase: each department's id of them, and every value of theirs."""

    attributes: dict[str, str]
    ids: dict[str, str]
    visitor: str
    event_words: tuple[str, ...]

    @property
    def email(self) -> str:
        return self.attributes["email"]

    def values(self) -> list[str]:
        """What no dump may hold once they are erased."""
        phone_digits = "".join(c for c in self.attributes["phone"] if c.isdigit())
        return [
            self.attributes["first_name"],
            self.attributes["last_name"],
            self.email,
            self.attributes["phone"],
            phone_digits,
            self.attributes["address_line1"],
            self.attributes["birth_date"],
            *self.ids.values(),
            self.visitor,
            *self.event_words,
        ]


XIMENA = Person(
    attributes={
        "first_name": "Ximena",
        "last_name": "Quispeurrutia",
        "email": "ximena.qu@example.org",
        "phone": "+34 611 222 333",
        "birth_date": "1987-04-23",
        "address_line1": "Carrer Zorrilla 71",
        "city": "Tarragona",
    },
    ids={"sales": "48151623", "support": "77700123", "marketing": "mcx9q7w2"},
    visitor="anon-7f3e9a1b",
    event_words=("Celestron", "Telescopio roto"),
)


def _with_person(person: Person) -> dict[str, tuple[list[SandboxRecord], list[SandboxEvent]]]:
    data = department_data(12)
    events = {
        "sales": ("order", {"name": "Celestron 8SE", "amount": 999}),
        "support": ("ticket", {"subject": "Telescopio roto", "channel": "web"}),
        "marketing": (
            "email_click",
            {"campaign_id": "camp0", "url": "https://shop.example/ofertas/celestron-8se"},
        ),
    }
    for department, external_id in person.ids.items():
        records, department_events = data[department]
        records.append(
            SandboxRecord(external_id, dict(person.attributes), WHEN, WHEN, status="subscribed")
        )
        kind, properties = events[department]
        department_events.append(
            SandboxEvent(
                f"ev-{external_id}", external_id, kind, WHEN + timedelta(days=1), properties
            )
        )
    return data


@pytest.fixture
def sandboxes(department_sandboxes: Callable[..., Sandboxes]) -> Sandboxes:
    """The three departments, each holding Ximena among a dozen others."""
    return department_sandboxes(TOKEN_ENV, data=_with_person(XIMENA), seed=18)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, fresh_database: Callable[[str], str]) -> Iterator[Flask]:
    """The application on a database of its own whose transactions commit for real."""
    url = migrated(fresh_database(request.param))
    application = create_app(huella_config(url, TASK_MODE="inline"))
    yield application
    get_db(application).dispose()


def connect(app: Flask, sandboxes: Sandboxes) -> None:
    """Sources for the three departments, and a push source for the web shop."""
    servers = {"sales": sandboxes.hubspot, "support": sandboxes.zendesk}
    servers["marketing"] = sandboxes.mailchimp
    for name, server in servers.items():
        add_source(
            app, name, server.name, settings=connector_settings(server, TOKEN_ENV, rate_limit=0)
        )
    add_source(app, "web")


def token(app: Flask, role: str = "admin", source: str | None = None) -> dict[str, str]:
    """A token of a role (a connector's names its source), as an Authorization header."""
    with app.app_context(), get_db(app).unit_of_work() as session:
        row = sources.get_by_name(session=session, name=source) if source else None
        _, secret = tokens.create(
            session=session, name=f"{role} of the test", role=role, source=row
        )
    return {"Authorization": f"Bearer {secret}"}
