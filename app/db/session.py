"""Engines and sessions: the application's Database, and the per-request session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import json_text
from app.db.bulk import order_writes


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


# Statements' parameters are customers' data: they stay out of error messages, and so out of
# tracebacks in the logs.
_JSON_CODEC: dict[str, Any] = {
    "json_serializer": json_text,
    "json_deserializer": orjson.loads,
    "hide_parameters": True,
}


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
        order_writes(engine)
        return engine
    # Recycling connections hourly replaces a ping before every checkout (one round trip a
    # request); a connection the server dropped meanwhile fails one request, then is replaced.
    isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_engine(url, pool_recycle=3600, **isolation, **_JSON_CODEC)
    order_writes(engine)
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


def end_read_session() -> None:
    """Close the current request's read session now, its reading done (before the request
    writes what it read, e.g. the read audit)."""
    session: Session | None = g.pop("db_read_session", None)
    if session is not None:
        session.close()


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
