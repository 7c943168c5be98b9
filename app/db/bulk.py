"""Bulk writes: COPY on PostgreSQL (written behind, on a helper thread), INSERT elsewhere;
bulk updates by id, fresh planner statistics after a bulk load, commits that need not wait
for the disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from threading import Thread
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Engine,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    event,
    insert,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from app.db.locks import claim
from app.db.statements import ArrayText

# Rows from which a write goes behind, and PostgreSQL takes COPY: COPY costs extra round trips
# to set up, and a thread is not worth it for a real-time write of a few rows.
_MANY = 50
# Writes queued behind the caller at most: a caller that computes rows faster than the store
# takes them waits, and memory holds a few chunks of rows, never all of them.
_IN_FLIGHT = 2


def bulk_insert(session: Session, table: FromClause, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (mappings sharing their keys) in the session's transaction, each value
    converted as its column's type says; see :func:`insert_rows`."""
    if rows:
        columns = list(rows[0])
        values = _driver_values(session.get_bind().dialect, table, columns, rows)
        insert_rows(session, table, columns, values)


def _driver_values(
    dialect: Dialect, table: FromClause, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Rows as tuples of what the driver takes, converted by their columns' types: a column
    at a time (one ``map`` a column, not a generator a row)."""
    converted: list[list[Any]] = []
    for name in columns:
        values = [row[name] for row in rows]
        convert = _once_for_shared(_bind_processor(cast(Table, table).c[name].type, dialect))
        converted.append(values if convert is None else list(map(convert, values)))
    return list(zip(*converted, strict=True))


def insert_rows(
    session: Session, table: FromClause, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows of plain tuples, values as the database driver takes them (JSON as its
    text, times through :func:`stored_value`), in the session's transaction.

    PostgreSQL gets COPY, 10x faster than INSERT for the millions of rows a full resolution
    writes; SQLite one prepared INSERT run over every tuple. Neither builds a statement object
    or a dictionary per row: at a million rows those cost more than the database's own work.

    More than a few rows are written behind: on a helper thread while the caller goes on
    computing, after the connection's earlier writes, and the connection's next statement or
    commit waits for them first (see ``_finish_writes``), so they are seen by everything after
    them. A write's error is raised by that next statement or commit. The rows must not change
    after the call.
    """
    if not rows:
        return
    connection = session.connection()
    write = _writer(connection, cast(Table, table), columns, list(rows))
    if len(rows) < _MANY:
        _finish_writes(connection)  # the driver's own statements pass no engine event
        write()
    else:
        _write_behind(connection, write)


def _writer(
    connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> Callable[[], None]:
    """A function that writes the rows through the connection's driver: COPY when there are
    many on PostgreSQL, else one prepared INSERT over every row."""
    driver = connection.connection.driver_connection
    assert driver is not None
    names = ", ".join(f'"{name}"' for name in columns)
    if connection.dialect.name == "postgresql" and len(rows) >= _MANY:
        copy = f'COPY "{table.name}" ({names}) FROM STDIN'

        def write_copy() -> None:
            with (
                _as_store_errors(connection, copy),
                driver.cursor() as cursor,
                cursor.copy(copy) as writer,
            ):
                for row in rows:
                    writer.write_row(row)

        return write_copy
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    insert = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join([mark] * len(columns))})'
    return lambda: _execute_many(connection, driver, insert, rows)


def _execute_many(
    connection: Connection, driver: Any, statement: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Run one prepared statement over every row through the driver's own cursor."""
    with _as_store_errors(connection, statement):
        cursor = driver.cursor()
        try:
            cursor.executemany(statement, rows)
        finally:
            cursor.close()


def stored_value(session: Session, column: ColumnElement[Any], value: Any) -> Any:
    """A value as :func:`insert_rows` takes it for this column (a time on SQLite is text):
    convert a value many rows share once, not once a row."""
    convert = _bind_processor(column.type, session.get_bind().dialect)
    return value if convert is None else convert(value)


def _once_for_shared(
    processor: Callable[[Any], Any] | None,
) -> Callable[[Any], Any] | None:
    """A processor that converts a value once when row after row holds that very object (a
    page's timestamp): converting a time for SQLite costs more than the rest of a row."""
    if processor is None:
        return None
    last: list[Any] = [_NOTHING, None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, processor(value)
        return last[1]

    return convert


_NOTHING = object()


def _bind_processor(kind: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = kind.dialect_impl(dialect).bind_processor(dialect)
    return processor


@contextmanager
def _as_store_errors(connection: Connection, statement: str) -> Iterator[None]:
    """The driver's errors as SQLAlchemy's (an IntegrityError, an OperationalError when the
    store is unavailable), as any statement run through the engine raises them."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        raise DBAPIError.instance(
            statement, None, error, dbapi.Error, hide_parameters=True
        ) from error


# --- writes behind ---------------------------------------------------------------------------
# Real time waits for the server about a third of its time, much of it for COPYs whose result
# it does not need at once; the server takes them while the caller computes the next rows. A
# bulk load on SQLite overlaps the same way: SQLite builds its B-trees without Python's lock.
# A write runs on a thread of its own, after the connection's writes before it: every
# statement, commit and rollback on the connection first waits for the last, in the engine's
# events below, so the order of the transaction's work is the order of the calls. psycopg and
# sqlite3 release the GIL while the store works.

_WRITING = "write in flight"  # connection info: the Future of the connection's last write
_QUEUED = "writes queued"  # connection info: the Futures of writes not known to be done


def _write_behind(connection: Connection, write: Callable[[], None]) -> None:
    queued: list[Future[None]] = [f for f in connection.info.get(_QUEUED, ()) if not f.done()]
    while len(queued) >= _IN_FLIGHT:
        queued.pop(0).result()
    before = queued[-1] if queued else None

    def after_the_last() -> None:
        if before is not None:
            before.result()  # writes keep the order of the calls; one that failed fails all
        write()

    future = _in_background(after_the_last)
    connection.info[_QUEUED] = [*queued, future]
    connection.info[_WRITING] = future


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
    """Wait for the writes in flight on this connection; raise their error."""
    connection.info.pop(_QUEUED, None)
    writing: Future[None] | None = connection.info.pop(_WRITING, None)
    if writing is not None:
        writing.result()


def _abandon_writes(connection: Connection, *_event: Any) -> None:
    """Before a rollback: wait for the writes in flight, whose error no longer matters (the
    error that caused the rollback is the one to report)."""
    connection.info.pop(_QUEUED, None)
    writing: Future[None] | None = connection.info.pop(_WRITING, None)
    if writing is not None:
        futures_wait([writing])


def order_writes(engine: Engine) -> None:
    """Have every statement and transaction end on the engine's connections wait for the
    COPY written behind before it."""
    event.listen(engine, "before_cursor_execute", _finish_writes)
    event.listen(engine, "commit", _finish_writes)
    event.listen(engine, "release_savepoint", _finish_writes)
    event.listen(engine, "rollback", _abandon_writes)
    event.listen(engine, "rollback_savepoint", _abandon_writes)


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def bulk_insert_ids(
    session: Session, table: FromClause, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert rows and return their new ids, in order (PostgreSQL: ids reserved, then COPY;
    SQLite: one INSERT over every row, whose ids follow one another)."""
    if not rows:
        return []
    table = cast(Table, table)
    connection = session.connection()
    if len(rows) < _MANY:
        inserted = connection.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
        )
        return [row.id for row in inserted]
    if connection.dialect.name == "postgresql":
        ids = list(connection.scalars(_NEXT_IDS, {"table": table.name, "n": len(rows)}))
        bulk_insert(session, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return ids
    # SQLite gives a new row the table's largest id plus one, and this transaction is the one
    # writer: the rows of one INSERT take consecutive ids, the last one's is the connection's
    # last_insert_rowid(). Nothing else may write in between: earlier writes finish first.
    _finish_writes(connection)
    columns = list(rows[0])
    _writer(connection, table, columns, _driver_values(connection.dialect, table, columns, rows))()
    driver = connection.connection.driver_connection
    assert driver is not None
    last = int(driver.execute("SELECT last_insert_rowid()").fetchone()[0])
    return list(range(last - len(rows) + 1, last + 1))


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
        # One prepared UPDATE over plain tuples, through the driver: a full resolution moves a
        # million records, and SQLAlchemy's executemany made a dictionary of each.
        _finish_writes(connection)
        by_id = f'UPDATE "{table.name}" SET "{column}" = ? WHERE id = ?'
        convert = _bind_processor(table.c[column].type, connection.dialect)
        rows = [(value if convert is None else convert(value), key) for key, value in items]
        _execute_many(connection, connection.connection.driver_connection, by_id, rows)
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


# What a bulk load gives the store to work with: SQLite's page cache (its default, 2 MiB, makes
# most index inserts into a large table a read) and PostgreSQL's sort memory for index builds.
_BULK_CACHE_KIB = 256 * 1024
_BULK_SORT_MEMORY = "256MB"


@contextmanager
def bulk_load(session: Session) -> Iterator[None]:
    """A long write of many rows in the session's transaction, given what bulk loads want: a
    large page cache on SQLite, sort memory for index builds on PostgreSQL (this transaction
    only)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{_BULK_SORT_MEMORY}'")
        yield
        return
    cache = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
    yield
    # Not after an error: the connection then keeps the larger cache, which costs nothing.
    connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")


def drop_indexes(session: Session, tables: Sequence[FromClause]) -> list[Index]:
    """Drop the secondary indexes of tables about to be written in bulk; build them again with
    :func:`create_indexes` once the rows are in: a sorted build costs a third of keeping an
    index up to date row by row (12.5 million blocking keys of a million records).

    Only for tables the caller has emptied, that nobody reads meanwhile without waiting for
    this transaction anyway: on PostgreSQL the drop locks the table until commit. An error
    rolls the transaction back, dropped indexes included.
    """
    connection = session.connection()
    indexes = [index for table in tables for index in cast(Table, table).indexes]
    for index in indexes:
        index.drop(connection)
    return indexes


def create_indexes(session: Session, indexes: Sequence[Index]) -> None:
    """Build the indexes :func:`drop_indexes` dropped."""
    connection = session.connection()
    for index in indexes:
        index.create(connection)


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


# The planner's view of a table is stale once this share of it changed since it was last
# sampled (from ``_STALE_FROM`` changed rows on): the share autovacuum uses by default is 0.1,
# but here nobody may run autovacuum, and the store often grows from nothing.
_STALE_SHARE = 1.0
_STALE_FROM = 2_000
_STALE_TABLES = text(
    "SELECT s.relname FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid"
    " WHERE s.relname = ANY(CAST(:names AS TEXT[]))"
    " AND (s.n_mod_since_analyze >= GREATEST(:least, :share * GREATEST(c.reltuples, 0))"
    # Never sampled, and not small (a copy, a restore: its changes were not counted here).
    "  OR (c.reltuples < 0 AND pg_relation_size(c.oid) >= :bytes))"
)


def refresh_stale_statistics(engine: Engine, tables: Sequence[FromClause]) -> list[str]:
    """ANALYZE those of ``tables`` that have changed by their own size since they were last
    sampled (doubled, for a growing table); returns the names analyzed.

    For writers that add rows a transaction at a time without end (the event workers), where
    no bulk load ends to call ``refresh_statistics``. Without it the planner keeps believing a
    table that grew from nothing is empty, and looks a thousand events up by scanning every
    one of them. Run after a commit, on a connection of its own; a table another process is
    analyzing is left to it.
    """
    if engine.dialect.name != "postgresql":
        return []
    names = [cast(Table, table).name for table in tables]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        stale = list(
            connection.scalars(
                _STALE_TABLES,
                {"names": names, "least": _STALE_FROM, "share": _STALE_SHARE, "bytes": 1 << 20},
            )
        )
    analyzed: list[str] = []
    for name in stale:
        with claim(engine, f"analyze.{name}") as claimed:
            if claimed:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as side:
                    side.execute(text(f'ANALYZE "{name}"'))
                analyzed.append(name)
    return analyzed


def commit_without_waiting_for_disk(session: Session) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL's
    ``synchronous_commit = off``; other databases commit as usual).

    Only for work that can be redone: a server crash may lose the last fraction of a second
    of such commits, each whole (never half of one), and nothing else. The next durable
    commit flushes every earlier one.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


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
