"""The declarative base of every model, its column types, and JSON as Huella stores it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Dialect, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

JsonType = JSON().with_variant(JSONB(), "postgresql")


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

# Table options of a table of small rows that its composite primary key identifies (blocking
# keys, search tokens, lookup identifiers): on SQLite, the rows are kept in the primary key's
# own B-tree, not in a table beside an index that repeats every column. A bulk load writes one
# tree instead of two: a first resolution of 100,000 records leaves a 394 MB store instead of
# 454, writes a sixth less to disk, and its peak memory (SQLite's page cache holds the pages it
# wrote) is 70-100 MB lower. Other databases ignore it.
WITHOUT_ROWID = {"sqlite_with_rowid": False}


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
