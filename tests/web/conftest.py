"""A real Huella serving the console on a free port, and a real Chromium driven by Playwright.

The server runs in a thread of the test process against its own SQLite database, seeded through
the real interfaces: a CSV department synced by ``huella sync``, a department that pushes, and
events sent to the API. Without Chromium (or Playwright) the browser tests skip, except with
CI=true, where they fail.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine
from werkzeug.serving import make_server

from app import create_app, migrate
from app.auth import service as tokens
from app.db import get_db
from app.settings import get_settings
from app.source import service as sources
from tests.conftest import IN_CI, huella_config
from tests.helpers import push, record

CHROMIUM = Path(os.environ.get("HUELLA_CHROMIUM", "/usr/bin/chromium"))
# Quiet, offline Chromium: nothing may be fetched from the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CRM_COLUMNS = ["id", "first_name", "last_name", "email", "phone", "birth_date", "city"]
# Enough agreement (name, birth date, e-mail) for any matcher to call two records one person.
ANA = {"first_name": "Ana", "last_name": "Duarte", "birth_date": "1988-02-14"}
ANA_EMAIL = "ana.duarte@example.com"
# Namesakes: same name and city, nothing else shared; the matcher cannot tell (review band).
MARTA = {"first_name": "Marta", "last_name": "Lindqvist", "city": "Uppsala"}
PAGE_VIEWS = 30  # more than one timeline page (the console asks for 25)


@dataclass(frozen=True)
class Console:
    """The running console: where it listens, its tokens, and the CRM file behind ``sales``."""

    url: str
    admin_token: str
    agent_token: str
    connector_token: str
    crm_file: Path
    app: Flask

    def add_crm_row(self, **row: str) -> None:
        """Append a customer to the CRM's file, as the department's system would."""
        with self.crm_file.open("a", newline="") as handle:
            csv.DictWriter(handle, CRM_COLUMNS).writerow(row)


def _write_crm(path: Path) -> None:
    rows = [
        {"id": "crm-1", **ANA, "email": ANA_EMAIL, "phone": "+34 600 111 222", "city": "Madrid"},
        {
            "id": "crm-2",
            "first_name": "Bruno",
            "last_name": "Costa",
            "email": "bruno.costa@example.com",
            "phone": "+34 600 333 444",
            "birth_date": "1975-09-30",
            "city": "Lisboa",
        },
        {"id": "crm-4", **MARTA, "email": "", "phone": "", "birth_date": ""},
    ]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, CRM_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _token(app: Flask, role: str, source: str | None = None) -> str:
    with app.app_context(), get_db(app).unit_of_work() as session:
        scope = sources.get_by_name(session=session, name=source) if source else None
        _, secret = tokens.create(session=session, name=f"console {role}", role=role, source=scope)
    return secret


def _seed(app: Flask, crm_file: Path, admin: dict[str, str]) -> None:
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(
            session=session,
            name="sales",
            kind="file",
            policy=get_settings(app).sources,
            settings={"path": str(crm_file), "id_column": "id"},
            any_file=True,
        )
        sources.create(
            session=session, name="support", kind="push", policy=get_settings(app).sources
        )
    synced = app.test_cli_runner().invoke(args=["sync", "sales"])
    assert synced.exit_code == 0, synced.output
    client = app.test_client()
    # Ana allows profiling (her affinities): the support desk recorded it.
    ana = record("sup-9", **ANA, email=ANA_EMAIL.upper()) | {"consents": {"profiling": True}}
    push(client, admin, "support", ana)
    push(client, admin, "support", record("sup-20", **MARTA))
    events: list[dict[str, Any]] = [
        {
            "type": "ticket",
            "record": "support:sup-9",
            "id": "t-1",
            "occurred_at": "2025-01-10T09:00:00+00:00",
            "properties": {"subject": "Parcel never arrived", "status": "open"},
        },
        {
            "type": "order",
            "email": ANA_EMAIL,
            "id": "o-1",
            "occurred_at": "2024-12-01T12:00:00+00:00",
            "properties": {"amount": 89.9, "currency": "EUR"},
        },
    ]
    events += [
        {
            "type": "page_view",
            "email": ANA_EMAIL,
            "occurred_at": f"2025-02-{day:02d}T10:00:00+00:00",
            "properties": {"category": "running gear"},
        }
        for day in range(1, PAGE_VIEWS + 1 - 2)
    ] + [
        {
            "type": "page_view",
            "email": ANA_EMAIL,
            "occurred_at": f"2024-11-{day:02d}T10:00:00+00:00",
            "properties": {"category": "running gear"},
        }
        for day in (1, 2)
    ]
    sent = client.post(
        "/api/v1/events", json={"source": "support", "events": events}, headers=admin
    )
    assert sent.status_code == 202, sent.get_json()
    # Queued; without a broker a thread of the server writes it at once.
    path = f"/api/v1/events/batches/{sent.get_json()['id']}"
    deadline = time.monotonic() + 30
    while (batch := client.get(path, headers=admin).get_json())["status"] != "done":
        assert time.monotonic() < deadline, "the events were never written"
        time.sleep(0.05)
    assert batch["rejected"] == 0, batch


@pytest.fixture(scope="session")
def console(
    fresh_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """Huella with two departments' records of Ana, served on a free port in a thread."""
    url = fresh_database("sqlite")
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    crm_file = tmp_path_factory.mktemp("crm") / "customers.csv"
    _write_crm(crm_file)
    app = create_app(huella_config(url))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
    admin_token = _token(app, "admin")
    _seed(app, crm_file, {"Authorization": f"Bearer {admin_token}"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-server", daemon=True)
    thread.start()
    try:
        yield Console(
            url=f"http://127.0.0.1:{server.server_port}",
            admin_token=admin_token,
            agent_token=_token(app, "agent"),
            connector_token=_token(app, "connector", source="support"),
            crm_file=crm_file,
            app=app,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        get_db(app).dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium; skips (fails in CI) when Chromium or Playwright is missing."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        missing = "Playwright is not installed (pip install -e '.[dev]')"
    if missing:
        if IN_CI:
            pytest.fail(f"{missing}; CI requires the browser tests", pytrace=False)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage) that fails the test on any script error."""
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], errors


@pytest.fixture
def signed_in(page: Any, console: Console) -> Callable[[str], Any]:
    """Open the console already signed in with a role's token (the sign-in test uses the form)."""

    def open_as(role: str, path: str = "/") -> Any:
        token = console.admin_token if role == "admin" else console.agent_token
        session = {"token": token, "name": f"console {role}", "role": role}
        page.add_init_script(
            f"sessionStorage.setItem('huella.session', JSON.stringify({json.dumps(session)}))"
        )
        page.goto(path)
        return page

    return open_as
