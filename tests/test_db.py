"""Read sessions: the hot read paths' sessions, outside any transaction on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, text

from app.db import Database
from app.identity.models import Identity


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_reads_are_planned_once_per_connection(database_url: str) -> None:
    database = Database(database_url)
    statement = select(Identity.id).where(Identity.public_id == bindparam("public_id"))
    try:
        for _ in range(8):  # psycopg prepares a query from its fifth run on
            with database.read_session() as session:
                session.execute(statement, {"public_id": "cus_nobody"}).all()
            with database.session() as session:  # ends with a ROLLBACK, elsewhere
                session.execute(statement, {"public_id": "cus_nobody"}).all()
        with database.read_session() as session:
            prepared = session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    finally:
        database.dispose()
    assert prepared == 1


def test_read_sessions_write_nothing(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.read_session() as session:
            session.add(Identity())
            with pytest.raises(RuntimeError, match="writes nothing"):
                session.flush()
        with database.session() as session:
            assert session.scalar(select(Identity.id)) is None
    finally:
        database.dispose()
