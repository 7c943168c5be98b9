"""A SQL table or query as a source (kind ``sql``), read by keyset pagination on
``(updated_at, id)``.

Each page asks for the rows after the last (updated_at, id) read, in that order, so a row that
changes mid-sync moves behind the cursor and is read again with its new values, and none is
skipped or read twice otherwise (offset paging would do both). Rows whose ``updated_at`` is
NULL are never read: the cursor column must be set on every row.

The connector never imports a database driver or SQLAlchemy: it sends SQL with ``:name``
parameters to a ``QueryRunner``. The service injects one built on SQLAlchemy, so any
SQLAlchemy URL works; ``sqlite:///PATH`` URLs also run on the standard library's sqlite3
when nothing is injected.

Settings: ``url``; ``table`` or ``query`` (a SELECT, used as a subquery); ``id_column``;
``updated_at_column``; optional ``deleted_column`` (a truthy value marks a deletion);
``map`` and ``attributes`` as for files (same-named columns map themselves);
``page_size`` (default 1000). Identifiers are quoted the ANSI way (double quotes).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from connectors.base import (
    CANONICAL_ATTRIBUTES,
    TABLE,
    TEXT,
    WHOLE,
    ConfigurationError,
    Connector,
    ConnectorError,
    Page,
    RecordIn,
    Reject,
    Setting,
    State,
    Stream,
    register,
)
from connectors.files import parse_attribute_types, parse_mapping
from connectors.values import int_setting, parse_timestamp, required_text

QueryRunner = Callable[[str, Mapping[str, Any]], list[Mapping[str, Any]]]
"""Runs one SELECT with ``:name`` parameters and returns its rows as column -> value maps."""
RunnerFactory = Callable[[str], QueryRunner]
"""Makes the query runner of a database URL."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_factory: RunnerFactory | None = None


def use_runner_factory(factory: RunnerFactory | None) -> None:
    """Set how SQL sources get a query runner from their URL (the service sets one)."""
    global _factory  # noqa: PLW0603 (one process-wide hook, set once at start-up)
    _factory = factory


def sqlite_runner(path: str) -> QueryRunner:
    """A query runner on a SQLite file with the standard library (one connection per query)."""

    def run(sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        with sqlite3.connect(path) as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute(sql, dict(params)).fetchall()
        connection.close()
        return [dict(row) for row in rows]

    return run


def _runner_for(url: str) -> QueryRunner:
    if _factory is not None:
        return _factory(url)
    if url.startswith("sqlite:///"):
        return sqlite_runner(url.removeprefix("sqlite:///"))
    raise ConfigurationError(
        f"no query runner for {url.split(':', 1)[0]!r} URLs: the service must provide one"
    )


def quote(identifier: str) -> str:
    """An identifier (optionally schema-qualified) in double quotes, or ConfigurationError."""
    if not _IDENTIFIER.match(identifier):
        raise ConfigurationError(f"{identifier!r} is not a plain SQL identifier")
    return ".".join(f'"{part}"' for part in identifier.split("."))


@register
class SqlConnector(Connector):
    """Rows of a table or query with an ``updated_at`` cursor and an id column."""

    kind = "sql"
    settings_schema: ClassVar[Mapping[str, Setting]] = {
        "url": Setting(TEXT, required=True, names="database"),
        "table": Setting(TEXT),
        "query": Setting(TEXT),
        "id_column": Setting(TEXT, required=True),
        "updated_at_column": Setting(TEXT, required=True),
        "deleted_column": Setting(TEXT),
        "map": Setting(TABLE),
        "attributes": Setting(TABLE),
        "page_size": Setting(WHOLE),
    }

    def __init__(self, settings: Mapping[str, Any], runner: QueryRunner | None = None) -> None:
        super().__init__(settings)
        self.id_column = required_text(settings, "id_column")
        self.updated_at_column = required_text(settings, "updated_at_column")
        self.deleted_column = settings.get("deleted_column") or None
        self.types = parse_attribute_types(settings.get("attributes") or {})
        self.mapping = parse_mapping(settings.get("map") or {}, self.types)
        self.page_size = int_setting(settings, "page_size", 1000)
        self.source_sql = self._source_sql(settings)
        self._runner = runner

    @staticmethod
    def _source_sql(settings: Mapping[str, Any]) -> str:
        table, query = settings.get("table"), settings.get("query")
        if bool(table) == bool(query):
            raise ConfigurationError("give exactly one of the settings 'table' and 'query'")
        if table:
            return f"SELECT * FROM {quote(str(table))}"
        text = str(query).strip().rstrip(";")
        if not text.lower().startswith(("select", "with")):
            raise ConfigurationError("setting 'query' must be a SELECT")
        return text

    @property
    def runner(self) -> QueryRunner:
        """The injected runner, else one for the setting ``url``."""
        if self._runner is None:
            self._runner = _runner_for(required_text(self.settings, "url"))
        return self._runner

    def check(self) -> None:
        """The source can be queried and has the id and cursor columns."""
        sql = f"SELECT * FROM ({self.source_sql}) AS src LIMIT 1"
        rows = _run(self.runner, sql, {})
        if rows:
            missing = [c for c in (self.id_column, self.updated_at_column) if c not in rows[0]]
            if missing:
                raise ConfigurationError(f"the source has no column {', '.join(missing)}")

    def streams(self) -> Sequence[Stream]:
        """One stream of records: the rows."""
        return [SqlRowsStream(self)]


class SqlRowsStream(Stream):
    """The rows in (updated_at, id) order, after the state's cursor."""

    name = "rows"
    kind = "records"

    def __init__(self, connector: SqlConnector) -> None:
        self.connector = connector

    def read(self, state: State | None) -> Iterator[Page]:
        """Yield pages of rows after the cursor until a page comes back short."""
        source = self.connector
        updated, ident = quote(source.updated_at_column), quote(source.id_column)
        cursor = _cursor_from_state(state)
        while True:
            where = ""
            params: dict[str, Any] = {"limit": source.page_size}
            if cursor is not None:
                where = (
                    f"WHERE src.{updated} > :since "
                    f"OR (src.{updated} = :since AND src.{ident} > :last_id)"
                )
                params |= {"since": cursor[0], "last_id": cursor[1]}
            sql = (
                f"SELECT * FROM ({source.source_sql}) AS src {where} "
                f"ORDER BY src.{updated}, src.{ident} LIMIT :limit"
            )
            rows = _run(source.runner, sql, params)
            if rows:
                last = rows[-1]
                cursor = (last[source.updated_at_column], last[source.id_column])
            records, rejects = _records(rows, source)
            if rows or state is None:
                yield Page(_cursor_to_state(cursor), records=records, rejects=rejects)
            if len(rows) < source.page_size:
                return


def _run(runner: QueryRunner, sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    try:
        return runner(sql, params)
    except ConnectorError:
        raise
    except Exception as error:
        raise ConnectorError(f"query failed: {type(error).__name__}: {error}") from error


def _cursor_to_state(cursor: tuple[Any, Any] | None) -> State:
    if cursor is None:
        return {}
    since, last_id = cursor
    kind = "datetime" if isinstance(since, datetime) else "date" if isinstance(since, date) else ""
    value = since.isoformat() if kind else since
    return {"since": value, "since_type": kind, "last_id": last_id}


def _cursor_from_state(state: State | None) -> tuple[Any, Any] | None:
    if not state or "since" not in state:
        return None
    since = state["since"]
    if state.get("since_type") == "datetime":
        since = datetime.fromisoformat(since)
    elif state.get("since_type") == "date":
        since = date.fromisoformat(since)
    return since, state.get("last_id")


def _records(
    rows: list[Mapping[str, Any]], source: SqlConnector
) -> tuple[list[RecordIn], list[Reject]]:
    known = (*CANONICAL_ATTRIBUTES, *source.types)
    records: list[RecordIn] = []
    rejects: list[Reject] = []
    for row in rows:
        external_id = row.get(source.id_column)
        where = f"{source.id_column}={external_id!r}"
        columns = {name: name for name in known if name in row} | dict(source.mapping)
        attributes = {
            attribute: _text(row.get(column))
            for attribute, column in columns.items()
            if _text(row.get(column))
        }
        if external_id in (None, ""):
            rejects.append(Reject(where, "missing id", dict(row)))
        else:
            updated = row.get(source.updated_at_column)
            when = updated if isinstance(updated, datetime) else parse_timestamp(updated)
            deleted = bool(source.deleted_column and row.get(source.deleted_column))
            raw = {key: _jsonable(value) for key, value in row.items()}
            records.append(RecordIn(str(external_id), attributes, raw, when, deleted))
    return records, rejects


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value
