"""Statements: lists bound as one parameter, statements built once per dialect (the one
statement cache), and reads past the ORM's result handling."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    String,
    Text,
    TypeDecorator,
    any_,
    bindparam,
    delete,
    func,
    select,
    type_coerce,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import Executable
from sqlalchemy.types import NullType

T = TypeVar("T")


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


def delete_where(
    session: Session, table: Any, condition: ColumnElement[bool], *, dry_run: bool = False
) -> int:
    """Delete a table's rows (a model's, or a Table's) that meet ``condition``, or only count
    them (``dry_run``: what a deletion would remove); returns how many. The one way erasure and
    retention remove rows, so what a dry run announces is what the real run does."""
    table = getattr(table, "__table__", table)
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(table).where(condition)) or 0)
    if session.new or session.dirty or session.deleted:
        session.flush()
    result = session.execute(
        delete(table).where(condition).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_among(
    session: Session,
    table: Any,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[Any],
    *,
    dry_run: bool = False,
) -> int:
    """``delete_where`` the rows whose ``column`` is among ``values``, a chunk at a time (a
    model's table or a Table)."""
    removed = 0
    for chunk in chunks(sorted(set(values))):
        removed += delete_where(session, table, among(session, column, chunk), dry_run=dry_run)
    return removed


def as_stored(column: QueryableAttribute[Any]) -> ColumnElement[Any]:
    """A column read as the driver gives it, unconverted (convert it with :class:`Repeated`)."""
    return type_coerce(column, NullType()).label(column.key)


class Repeated:
    """Converts the stored values of one column (read ``as_stored``) as its type would, once
    per distinct value: the times of a bulk load repeat across thousands of rows, and
    converting each (SQLite's text into an aware datetime) costs more than reading it."""

    def __init__(self, session: Session, column: QueryableAttribute[Any]) -> None:
        dialect = session.get_bind().dialect
        self._convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
        self._seen: dict[Any, Any] = {}

    def __call__(self, stored: Any) -> Any:
        """The value as a read of the column would give it."""
        try:
            return self._seen[stored]
        except KeyError:
            value = self._seen[stored] = self._convert(stored) if self._convert else stored
            return value
