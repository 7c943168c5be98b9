"""The SQL connector on a real SQLite file, the push connector, and the registry."""

from __future__ import annotations

import ast
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import connectors
from connectors import connector_class, connector_kinds
from connectors.base import ConfigurationError, ConnectorError, Page, RecordIn
from connectors.sql import QueryRunner, SqlConnector, sqlite_runner, use_runner_factory

CONNECTORS_DIR = Path(connectors.__file__).parent


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A SQLite file with 20 customers; every fourth pair shares an updated_at."""
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, mail TEXT, first_name TEXT, "
            "birth_date TEXT, updated_at TEXT NOT NULL, gone INTEGER DEFAULT 0)"
        )
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?, 0)",
            [
                (n, f"c{n}@example.com", f"Name{n}", "1990-01-01", f"2024-01-01T00:00:{n // 2:02d}")
                for n in range(1, 21)
            ],
        )
    connection.close()
    return path


def settings(database: Path, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"sqlite:///{database}",
        "table": "customers",
        "id_column": "id",
        "updated_at_column": "updated_at",
        "map": {"email": "mail"},
        "page_size": 3,
    } | extra


def read(connector: SqlConnector, state: dict[str, Any] | None = None) -> list[Page]:
    (stream,) = connector.streams()
    return list(stream.read(state))


def latest(pages: list[Page]) -> dict[str, RecordIn]:
    return {record.external_id: record for page in pages for record in page.records}


def table(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT id, mail FROM customers").fetchall()
    connection.close()
    return {str(key): mail for key, mail in rows}


def test_every_row_is_read_with_mapped_attributes(database: Path) -> None:
    connector = SqlConnector(settings(database))
    connector.check()
    records = latest(read(connector))
    assert {key: r.attributes["email"] for key, r in records.items()} == table(database)
    assert records["7"].attributes == {
        "email": "c7@example.com",
        "first_name": "Name7",
        "birth_date": "1990-01-01",
    }
    assert records["7"].updated_at is not None


def test_resuming_from_any_page_continues_exactly_after_it(database: Path) -> None:
    connector = SqlConnector(settings(database))
    pages = read(connector)
    ids = [[r.external_id for r in page.records] for page in pages]
    for index, page in enumerate(pages):
        rest = [key for later in ids[index + 1 :] for key in later]
        assert [r.external_id for p in read(connector, page.state) for r in p.records] == rest
    assert read(connector, pages[-1].state) == []


def test_rows_changing_mid_sync_are_neither_lost_nor_stale(database: Path) -> None:
    plain = sqlite_runner(str(database))
    calls = [0]

    def changing(sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        calls[0] += 1
        if calls[0] == 3:
            # One row already read and one not yet read both change, moving behind the cursor.
            with sqlite3.connect(database) as connection:
                connection.execute(
                    "UPDATE customers SET mail = 'new' || id, updated_at = '2024-02-01' "
                    "WHERE id IN (2, 15)"
                )
            connection.close()
        return plain(sql, params)

    runner: QueryRunner = changing
    pages = read(SqlConnector(settings(database), runner=runner))
    records = latest(pages)
    assert {key: r.attributes["email"] for key, r in records.items()} == table(database)
    assert records["2"].attributes["email"] == "new2"
    assert sum(len(page.records) for page in pages) == 21


def test_a_query_source_with_deletions_and_a_value_that_does_not_read(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE customers SET gone = 1 WHERE id = 4")
        connection.execute("UPDATE customers SET birth_date = 'soon' WHERE id = 5")
    connection.close()
    query = "SELECT id, mail, birth_date, updated_at, gone FROM customers WHERE id <= 6"
    source = settings(database, table=None, query=query, deleted_column="gone")
    pages = read(SqlConnector(source))
    records = latest(pages)
    # A birth date of "soon" is kept as written (the store flags it); nothing is rejected.
    assert sorted(records) == ["1", "2", "3", "4", "5", "6"]
    assert records["5"].attributes["birth_date"] == "soon"
    assert records["4"].deleted and not records["3"].deleted
    assert not [reject for page in pages for reject in page.rejects]


def test_an_injected_runner_factory_serves_other_urls(database: Path) -> None:
    urls: list[str] = []

    def factory(url: str) -> QueryRunner:
        urls.append(url)
        return sqlite_runner(str(database))

    use_runner_factory(factory)
    try:
        source = settings(database, url="postgresql+psycopg://db/crm")
        assert len(latest(read(SqlConnector(source)))) == 20
    finally:
        use_runner_factory(None)
    assert urls == ["postgresql+psycopg://db/crm"]
    with pytest.raises(ConfigurationError, match="postgresql"):
        read(SqlConnector(settings(database, url="postgresql://db/crm")))


def test_sql_settings_are_checked(database: Path) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        SqlConnector(settings(database, query="SELECT 1"))
    with pytest.raises(ConfigurationError, match="identifier"):
        SqlConnector(settings(database, table="customers; DROP TABLE x"))
    with pytest.raises(ConfigurationError, match="no column"):
        SqlConnector(settings(database, updated_at_column="changed")).check()
    with pytest.raises(ConnectorError, match="query failed"):
        SqlConnector(settings(database, table="nothing")).check()


def test_push_has_no_streams_and_is_always_ready() -> None:
    push = connector_class("push")({})
    push.check()
    assert list(push.streams()) == []


def test_every_kind_is_registered_on_import() -> None:
    assert set(connector_kinds()) >= {"file", "sql", "push", "hubspot", "zendesk", "mailchimp"}


def imported_modules(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


@pytest.mark.parametrize("path", sorted(CONNECTORS_DIR.rglob("*.py")), ids=str)
def test_connectors_never_import_the_app_flask_or_sqlalchemy(path: Path) -> None:
    forbidden = {"app", "flask", "sqlalchemy"}
    assert not [name for name in imported_modules(path) if name.split(".")[0] in forbidden]
