"""The store, one concern a module: ``base`` (declarative base, column types, JSON),
``session`` (engines, sessions, the per-request session), ``bulk`` (COPY, bulk updates,
statistics), ``locks`` (the identity lock, claims on work) and ``statements`` (list
parameters, statements built once per dialect, plain reads)."""

from app.db.base import Base, JsonType, UtcDateTime, json_bytes, json_text, utcnow
from app.db.bulk import (
    GrowthWatch,
    bulk_insert,
    bulk_insert_ids,
    bulk_update,
    commit_without_waiting_for_disk,
    refresh_statistics,
)
from app.db.locks import claim, hold_identity_lock, hold_suppression_lock
from app.db.session import (
    Database,
    build_engine,
    end_read_session,
    get_db,
    get_read_session,
    get_session,
    init_app,
)
from app.db.statements import (
    IN_CHUNK,
    ArrayText,
    Reused,
    among,
    among_parameter,
    array_text,
    chunks,
    delete_among,
    delete_where,
    read_rows,
)

__all__ = [
    "IN_CHUNK",
    "ArrayText",
    "Base",
    "Database",
    "GrowthWatch",
    "JsonType",
    "Reused",
    "UtcDateTime",
    "among",
    "among_parameter",
    "array_text",
    "build_engine",
    "bulk_insert",
    "bulk_insert_ids",
    "bulk_update",
    "chunks",
    "claim",
    "commit_without_waiting_for_disk",
    "delete_among",
    "delete_where",
    "end_read_session",
    "get_db",
    "get_read_session",
    "get_session",
    "hold_identity_lock",
    "hold_suppression_lock",
    "init_app",
    "json_bytes",
    "json_text",
    "read_rows",
    "refresh_statistics",
    "utcnow",
]
