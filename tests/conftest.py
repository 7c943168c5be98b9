"""Shared fixtures: every database test runs against SQLite and against PostgreSQL.

PostgreSQL comes from HUELLA_TEST_DATABASE_URL, else the local server at 127.0.0.1:5432 when it
answers. With CI=true a missing PostgreSQL fails the run instead of skipping its tests. Each test
runs inside a transaction that is rolled back, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app import create_app, migrate
from app.auth import service as tokens
from app.config import load_config
from app.db import get_db
from connectors.sandbox import SANDBOX_TOKEN, Sandboxes, start_sandboxes

# Real brokers and worker processes, for the tests of tasks (tests/workers.py).
pytest_plugins = ["tests.workers"]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ("sqlite", "postgresql")
# Erasure's suppression key (see config/privacy.toml), for every app and `huella` the tests
# start; a test of a missing key takes it away. Not a secret: it guards test data only.
SUPPRESSION_KEY_ENV = "HUELLA_SECRET_SUPPRESSION_KEY"
os.environ.setdefault(SUPPRESSION_KEY_ENV, "tests-only-suppression-key-0123456789abcdef")
# Sources in tests reach the sandbox systems the tests start on this machine, besides the
# vendors' hosts the configuration allows by default.
SANDBOX_ORIGIN = "http://127.0.0.1:*"


def connectors_config() -> dict[str, Any]:
    """The default ``[connectors]`` configuration, with the sandboxes allowed."""
    defaults: dict[str, Any] = load_config(environ={})["CONNECTORS"]
    return {**defaults, "allowed_hosts": [*defaults["allowed_hosts"], SANDBOX_ORIGIN]}


def huella_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """What tests pass to ``create_app``: their database, the sandboxes allowed, and no rate
    limits (tests call faster than any client; tests/security/test_rate_limits.py sets them)."""
    return {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "CONNECTORS": connectors_config(),
        "RATE_LIMITS": {"enabled": False},
    } | overrides


def config_file(folder: Path) -> Path:
    """A configuration file allowing the sandboxes, for ``huella`` run in a subprocess."""
    path = folder / "huella-test.toml"
    allowed = ", ".join(f'"{origin}"' for origin in connectors_config()["allowed_hosts"])
    path.write_text(f"[connectors]\nallowed_hosts = [{allowed}]\n")
    return path


def postgres_server_url() -> URL | None:
    """The PostgreSQL server tests may create databases on, or None when none answers."""
    url = make_url(os.environ.get("HUELLA_TEST_DATABASE_URL", DEFAULT_POSTGRES_URL))
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        return None
    finally:
        engine.dispose()
    return url


def _create_postgres_database(server: URL, name: str) -> URL:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name)


def _drop_postgres_database(server: URL, name: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> URL:
    """The PostgreSQL server URL; skips (fails in CI) when none answers."""
    server = postgres_server_url()
    if server is None:
        message = (
            "PostgreSQL is not reachable (set HUELLA_TEST_DATABASE_URL or start it on "
            "127.0.0.1:5432)"
        )
        if IN_CI:
            pytest.fail(f"{message}; CI requires the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    return server


@pytest.fixture(scope="session")
def fresh_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], str]:
    """A factory of new, empty databases of a backend; each is removed after the session."""
    created: list[tuple[URL, str]] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            folder = tmp_path_factory.mktemp("sqlite")
            return f"sqlite:///{folder / 'huella.db'}"
        server: URL = request.getfixturevalue("postgres_server")
        name = f"huella_test_{uuid.uuid4().hex[:12]}"
        created.append((server, name))
        return _create_postgres_database(server, name).render_as_string(hide_password=False)

    yield make  # type: ignore[misc]
    for server, name in created:
        _drop_postgres_database(server, name)


def migrated(url: str) -> str:
    """Bring a database to the newest schema; returns its URL."""
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, fresh_database: Callable[[str], str]) -> str:
    """A migrated database of each backend, shared by the session's tests."""
    return migrated(fresh_database(request.param))


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Configuration a test module adds to the application's (override it there)."""
    return {}


@pytest.fixture
def app(database_url: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The application, its sessions joined to one transaction that is rolled back afterwards."""
    application = create_app(huella_config(database_url, TASK_MODE="inline", **app_config))
    database = get_db(application)
    connection = database.engine.connect()
    outer = connection.begin()
    database.session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    database.read_session_factory = database.session_factory
    yield application
    outer.rollback()
    connection.close()
    database.dispose()


@pytest.fixture
def live_app(fresh_database: Callable[[str], str]) -> Iterator[Flask]:
    """The application on its own PostgreSQL database: every transaction commits for real
    (for tests of transactions running at the same time)."""
    url = migrated(fresh_database("postgresql"))
    application = create_app(huella_config(url, TASK_MODE="inline"))
    yield application
    get_db(application).dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session inside the test's transaction, for calling services directly."""
    with app.app_context(), get_db(app).session() as db_session:
        yield db_session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """An HTTP client for the application."""
    return app.test_client()


@pytest.fixture
def cli(app: Flask) -> FlaskCliRunner:
    """Runs ``huella`` commands against the application."""
    return app.test_cli_runner()


@pytest.fixture
def make_token(app: Flask) -> Callable[..., dict[str, str]]:
    """Create a token and return the Authorization header that carries it."""

    def make(role: str = "admin", source: str | None = None) -> dict[str, str]:
        from app.source import service as sources  # noqa: PLC0415

        with app.app_context(), get_db(app).unit_of_work() as db_session:
            source_row = sources.get_by_name(session=db_session, name=source) if source else None
            _, secret = tokens.create(
                session=db_session, name=f"test {role}", role=role, source=source_row
            )
        return {"Authorization": f"Bearer {secret}"}

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran against each backend, so a run shows PostgreSQL was exercised."""
    passed = terminalreporter.stats.get("passed", [])
    for backend in BACKENDS:
        count = sum(
            1
            for report in passed
            if f"[{backend}" in report.nodeid or f"-{backend}" in report.nodeid
        )
        terminalreporter.write_line(f"{backend}: {count} database tests passed")


@pytest.fixture
def department_sandboxes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Sandboxes]]:
    """Starts the departments' sandboxes (``start_sandboxes``'s arguments after the first), with
    their token in the environment variable the first argument names; they stop with the
    test."""
    running: list[Sandboxes] = []

    def start(token_env: str, *args: Any, **kwargs: Any) -> Sandboxes:
        monkeypatch.setenv(token_env, SANDBOX_TOKEN)
        running.append(start_sandboxes(*args, **kwargs))
        return running[-1]

    yield start
    for sandboxes in running:
        sandboxes.stop()
