"""The store: declarative base, engine, and the per-request / per-command session."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from threading import Thread
from typing import Any, TypeVar, cast

import orjson
from flask import Flask, current_app, g
from psycopg.types.json import Jsonb
from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, CursorResult, make_url
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql import Executable, FromClause

JsonType = JSON().with_variant(JSONB(), "postgresql")
T = TypeVar("T")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Huella stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ORM model: aware UTC timestamps, JSON (JSONB on PostgreSQL).

    Derived tables: what Huella computes from the records (blocking keys, match values, lookup
    identifiers, edges, golden records, search tokens, traits) carries no foreign keys. Real
    time rewrites thousands of their rows a page, and a foreign key costs a trigger and a row
    lock on the referenced row for each; the services that write these rows delete them, and
    `huella resolve --full` and `huella customers refresh` rebuild them. Tables of facts
    (records, events, consents, decisions, audit) keep theirs.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite begins transactions lazily and behind SQLAlchemy's back, which breaks SAVEPOINT;
    # take control and emit BEGIN ourselves (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def json_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """JSON of a stored payload (keys sorted: one spelling per content, for digests).

    orjson: every record and event written is serialized, and it does that several times
    faster than the standard library, which still takes what orjson refuses (integers beyond
    64 bits)."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=str, option=option)
    except orjson.JSONEncodeError:
        return json.dumps(value, default=str, sort_keys=sort_keys).encode()


def json_text(value: Any) -> str:
    """``json_bytes`` as text, for SQLAlchemy's JSON columns."""
    return json_bytes(value).decode()


_JSON_CODEC: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": orjson.loads}


def build_engine(url: str, *, autocommit: bool = False) -> Engine:
    """Create an engine; SQLite gets its folder created, foreign keys and WAL. ``autocommit``
    (PostgreSQL): statements run outside any transaction."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **_JSON_CODEC)
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
        return engine
    # Recycling connections hourly replaces a ping before every checkout (one round trip a
    # request); a connection the server dropped meanwhile fails one request, then is replaced.
    isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_engine(url, pool_recycle=3600, **isolation, **_JSON_CODEC)
    _order_writes(engine)
    return engine


def _read_engine(engine: Engine) -> Engine:
    """The engine of read sessions: on PostgreSQL, its own pool of connections that run
    statements outside any transaction.

    psycopg forgets its prepared statements at every ROLLBACK, and a read ends its transaction
    with one: PostgreSQL would parse and plan the same query on every request, which costs
    more than running it. Without a transaction they stay prepared (in a pool of their own, no
    other session's ROLLBACK drops them), and the BEGIN and ROLLBACK round trips go too. At
    PostgreSQL's default READ COMMITTED each statement sees what was committed when it began,
    in a transaction or not, so reads see the same data.
    """
    if engine.dialect.name != "postgresql":
        return engine  # SQLite: a transaction is what gives a read one consistent snapshot
    return build_engine(engine.url.render_as_string(hide_password=False), autocommit=True)


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    raise RuntimeError("a read session writes nothing: write through get_session()")


class Database:
    """The engine and session factories of one application."""

    def __init__(self, url: str) -> None:
        self.engine = build_engine(url)
        self.read_engine = _read_engine(self.engine)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.read_session_factory = sessionmaker(self.read_engine, expire_on_commit=False)
        event.listen(self.read_session_factory, "before_flush", _refuse_writes)

    def dispose(self) -> None:
        """Close every pooled connection, of both engines."""
        self.engine.dispose()
        self.read_engine.dispose()

    def session(self) -> Session:
        """A new session; the caller owns its transaction."""
        return self.session_factory()

    def read_session(self) -> Session:
        """A new session for reads only, for hot read paths (see ``_read_engine``)."""
        return self.read_session_factory()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session committed when the block succeeds, rolled back when it raises."""
        with self.session() as session, session.begin():
            yield session


def get_db(app: Flask | None = None) -> Database:
    """The application's Database."""
    database: Database = (app or current_app).extensions["huella.db"]
    return database


def get_session() -> Session:
    """The session of the current request, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    session: Session = g.db_session
    return session


def get_read_session() -> Session:
    """The current request's session for reads only: nothing to commit, and on PostgreSQL its
    queries stay prepared between requests. Closed at teardown like ``get_session``'s."""
    if "db_read_session" not in g:
        g.db_read_session = get_db().read_session()
    session: Session = g.db_read_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    for name in ("db_session", "db_read_session"):
        session: Session | None = g.pop(name, None)
        if session is not None:
            session.close()


def init_app(app: Flask) -> None:
    """Attach the store to the application."""
    app.extensions["huella.db"] = Database(app.config["DATABASE_URL"])
    # Per request, and per app context for CLI commands and jobs (a request can run inside an
    # app context that is already pushed, which would otherwise keep one session across requests).
    app.teardown_request(_close_session)
    app.teardown_appcontext(_close_session)


# COPY costs extra round trips to set up: a real-time write of a few rows is faster as INSERT.
_COPY_FROM = 50


def bulk_insert(session: Session, table: FromClause, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows in the session's transaction; PostgreSQL gets COPY, 10x faster than
    INSERT for the millions of rows a full resolution writes. Rows must share their keys.

    The COPY is written behind: it runs on a helper thread while the caller goes on computing,
    after the connection's earlier COPYs, and the connection's next statement or commit waits
    for them first (see ``_finish_writes``), so it is seen by everything after it. A COPY's
    error is raised by that next statement or commit. The rows must not change after the call.
    """
    if not rows:
        return
    table = cast(Table, table)
    columns = list(rows[0])
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < _COPY_FROM:
        connection.execute(insert(table), list(rows))
        return
    names = ", ".join(f'"{name}"' for name in columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    # COPY bypasses SQLAlchemy's types: JSON values need psycopg's own wrapper.
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    held = list(rows)
    before: Future[None] | None = connection.info.get(_WRITING)

    def copy_rows() -> None:
        if before is not None:
            before.result()  # COPYs queue in the order of the calls; one that failed fails all
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in held:
                copy.write_row(
                    [_copyable(row[n]) if n in json_columns else row[n] for n in columns]
                )

    connection.info[_WRITING] = _in_background(copy_rows)


# --- writes behind ---------------------------------------------------------------------------
# Real time waits for the server about a third of its time, much of it for COPYs whose result
# it does not need at once; the server takes them while the caller computes the next rows. On
# PostgreSQL a COPY runs on a thread of its own, after the connection's COPYs before it: every
# statement, commit and rollback on the connection first waits for the last, in the engine's
# events below, so the order of the transaction's work is the order of the calls. psycopg
# releases the GIL while it waits for the server.

_WRITING = "copy in flight"  # connection info: the Future of the connection's last COPY


def _in_background(work: Callable[[], None]) -> Future[None]:
    # A thread per COPY, not a pool: a connection's COPY must never queue behind another
    # connection's, which may itself be waiting for this connection's transaction to end.
    future: Future[None] = Future()

    def run() -> None:
        try:
            work()
        except BaseException as error:  # handed to the thread that waits for it
            future.set_exception(error)
        else:
            future.set_result(None)

    Thread(target=run, name="huella-copy", daemon=True).start()
    return future


def _finish_writes(connection: Connection, *_event: Any) -> None:
    """Wait for the COPYs in flight on this connection; raise their error."""
    writing: Future[None] | None = connection.info.pop(_WRITING, None)
    if writing is not None:
        writing.result()


def _abandon_writes(connection: Connection, *_event: Any) -> None:
    """Before a rollback: wait for the COPYs in flight, whose error no longer matters (the
    error that caused the rollback is the one to report)."""
    writing: Future[None] | None = connection.info.pop(_WRITING, None)
    if writing is not None:
        futures_wait([writing])


def _order_writes(engine: Engine) -> None:
    """Have every statement and transaction end on the engine's connections wait for the
    COPY written behind before it."""
    event.listen(engine, "before_cursor_execute", _finish_writes)
    event.listen(engine, "commit", _finish_writes)
    event.listen(engine, "release_savepoint", _finish_writes)
    event.listen(engine, "rollback", _abandon_writes)
    event.listen(engine, "rollback_savepoint", _abandon_writes)


def _copyable(value: Any) -> Any:
    return Jsonb(value, dumps=json_bytes) if isinstance(value, dict | list) else value


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def bulk_insert_ids(
    session: Session, table: FromClause, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert rows and return their new ids, in order (PostgreSQL: ids reserved, then COPY)."""
    if not rows:
        return []
    table = cast(Table, table)
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < _COPY_FROM:
        inserted = connection.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
        )
        return [row.id for row in inserted]
    ids = list(connection.scalars(_NEXT_IDS, {"table": table.name, "n": len(rows)}))
    bulk_insert(session, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def bulk_update(
    session: Session, table: FromClause, column: str, values: Mapping[int, Any]
) -> None:
    """Set one column of many rows, by id (PostgreSQL: one UPDATE from arrays per 10,000)."""
    if not values:
        return
    table = cast(Table, table)
    connection = session.connection()
    items = sorted(values.items())
    if connection.dialect.name != "postgresql":
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({column: bindparam("value")}),
            [{"row_id": key, "value": value} for key, value in items],
        )
        return
    kind = table.c[column].type.compile(dialect=connection.dialect)
    as_text = ["ids", *(["values"] if isinstance(table.c[column].type, Integer | String) else [])]
    statement = text(
        f'UPDATE "{table.name}" SET "{column}" = u.value '
        f"FROM unnest(CAST(:ids AS integer[]), CAST(:values AS {kind}[])) AS u(row_id, value) "
        f'WHERE "{table.name}".id = u.row_id'
    ).bindparams(*(bindparam(name, type_=ArrayText()) for name in as_text))
    for start in range(0, len(items), 10_000):
        chunk = items[start : start + 10_000]
        connection.execute(
            statement, {"ids": [k for k, _ in chunk], "values": [v for _, v in chunk]}
        )


def refresh_statistics(session: Session, tables: Sequence[FromClause]) -> None:
    """Have PostgreSQL re-sample the sizes and value spreads of these tables.

    After a bulk load the planner still believes the tables are as small as they were, and
    picks scans that read everything for lookups an index answers in a millisecond.
    Autovacuum corrects that eventually, or never where it is turned off, so the writers of
    bulk loads call this. ANALYZE reads a fixed-size sample: cheap even on large tables.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return  # SQLite's planner prefers indexes without statistics
    names = ", ".join(f'"{cast(Table, table).name}"' for table in tables)
    connection.execute(text(f"ANALYZE {names}"))


def read_rows(
    session: Session, statement: Executable, parameters: Mapping[str, Any] | None = None
) -> CursorResult[*tuple[Any, ...]]:
    """Run a query of plain columns on the session's connection, past the ORM's result
    handling, which costs more than the query itself when it returns thousands of rows.

    Pending changes are flushed first, as the ORM would before a query.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, parameters)


def commit_without_waiting_for_disk(session: Session) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL's
    ``synchronous_commit = off``; other databases commit as usual).

    Only for work that can be redone: a server crash may lose the last fraction of a second
    of such commits, each whole (never half of one), and nothing else. The next durable
    commit flushes every earlier one.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


# A fixed advisory lock id: "Huel" in ASCII. Nothing else on the database should take it.
_IDENTITY_LOCK_ID = 0x4875656C
_HELD_IN = "identity lock held in"  # session.info: the transaction that took it
_TAKE_IDENTITY_LOCK = text("SELECT pg_advisory_xact_lock(:lock)")


def hold_identity_lock(session: Session) -> None:
    """Wait until no other transaction is changing identities or what is computed of them
    (golden records, traits), then keep that right until this transaction ends (PostgreSQL;
    SQLite lets one transaction write at a time anyway).

    Real time compares a record with the records stored before it. Two transactions resolving
    at once would each miss the other's new records: two pushes of one person, at the same
    moment, would stay two identities. Resolution, review decisions, merges, splits, undos,
    event intake and refreshes take this first, before any row lock, so they run one after
    the other in commit order and cannot deadlock among themselves.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    current = session.get_transaction()
    if current is not None and session.info.get(_HELD_IN) is current:
        return  # already held: a page that resolves takes it before writing, then resolves
    session.execute(_TAKE_IDENTITY_LOCK, {"lock": _IDENTITY_LOCK_ID})
    session.info[_HELD_IN] = session.get_transaction()


# Values per IN list, well under every backend's limit on bound parameters: PostgreSQL binds one
# array; SQLite takes 32,766 parameters a statement since 3.32, and 999 before. Fewer, longer
# statements save a round trip each in real time, where pages read thousands of candidates.
IN_CHUNK = 5000 if sqlite3.sqlite_version_info >= (3, 32) else 450


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def among(
    session: Session, column: ColumnElement[Any] | QueryableAttribute[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``), which keeps a
    statement over thousands of values short, so the driver parses and caches it once."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(_array_parameter(None, column.type, list(values)))


def among_parameter(
    dialect: str, column: ColumnElement[Any] | QueryableAttribute[Any], name: str
) -> ColumnElement[bool]:
    """``column IN`` the list given as parameter ``name`` when the statement runs (for a
    :class:`Reused` statement); on PostgreSQL one array parameter, as ``among``."""
    if dialect != "postgresql":
        return column.in_(bindparam(name, expanding=True))
    return column == any_(_array_parameter(name, column.type))


class ArrayText(TypeDecorator[list[Any]]):
    """A list of integers or strings bound as the text of a PostgreSQL array (``{1,2}``,
    ``{"a","b c"}``), which the statement casts to the array type.

    psycopg builds an array parameter an element at a time in Python: for the thousands of ids
    and keys a page of real time binds, that cost more than the statements themselves."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else array_text(value)


def array_text(values: Sequence[int | str | None]) -> str:
    """PostgreSQL's text of an array of integers or of strings (None is NULL)."""
    if values and isinstance(values[0], str):
        try:
            plain: str | None = "".join(values)  # type: ignore[arg-type]
        except TypeError:  # a None among them: each element is written out below
            plain = None
        if plain is not None and '"' not in plain and "\\" not in plain:
            return '{"' + '","'.join(values) + '"}'  # type: ignore[arg-type]
        return "{" + ",".join(map(_element, values)) + "}"
    joined = ",".join(map(str, values))  # integers need no quoting; "None" comes from None only
    return "{" + (joined if "None" not in joined else ",".join(map(_element, values))) + "}"


def _element(value: int | str | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array_parameter(name: str | None, element: Any, value: Any = None) -> ColumnElement[Any]:
    """An array parameter of ``element``'s type: bound as text when its elements are integers or
    strings (see ``ArrayText``), as psycopg's array otherwise."""
    array = ARRAY(element)
    if not isinstance(element, Integer | String):
        return bindparam(name, value, type_=array)
    return sql_cast(bindparam(name, value, type_=ArrayText()), array)


class Reused:
    """A statement built once per database dialect, then run with parameters.

    SQLAlchemy finds a statement's compiled form under a key it computes from the statement
    object, once per object. A statement built for each call (its values inside, as ``among``
    puts them) pays that computation every time: about a quarter of a millisecond, more than
    a small query takes to run, and real time runs dozens of statements a page. Its hot
    statements are built once, with ``among_parameter`` for their lists.
    """

    def __init__(self, build: Callable[[str], Executable]) -> None:
        self._build = build
        self._built: dict[str, Executable] = {}

    def __call__(self, session: Session) -> Executable:
        """The statement for the session's database."""
        dialect = session.get_bind().dialect.name
        statement = self._built.get(dialect)
        if statement is None:
            statement = self._built[dialect] = self._build(dialect)
        return statement


class GrowthWatch:
    """Calls for fresh statistics each time a long write has doubled what it wrote since the
    last refresh (from ``first`` rows on): a handful of ANALYZEs however long the write is.
    Rows are counted from ``counted_from``, a running total's value when the write began."""

    def __init__(self, counted_from: int = 0, first: int = 5_000) -> None:
        self.counted_from = counted_from
        self.next_at = first

    def due(self, total: int) -> bool:
        """Whether a running total of ``total`` rows calls for a refresh now."""
        written = total - self.counted_from
        if written < self.next_at:
            return False
        self.next_at = 2 * written
        return True
