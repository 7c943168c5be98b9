"""Database helpers that change how sessions and transactions behave."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db import Database, commit_without_waiting_for_disk
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


def _synchronous_commit(session: Session) -> str:
    return str(session.execute(text("SHOW synchronous_commit")).scalar_one())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_only_the_marked_transaction_commits_without_waiting_for_the_disk(
    database_url: str,
) -> None:
    engine = create_engine(database_url, pool_size=1)
    sessions = sessionmaker(engine)
    try:
        with sessions() as session, session.begin():
            commit_without_waiting_for_disk(session)
            assert _synchronous_commit(session) == "off"
        # The same pooled connection: the next transaction waits for the disk again.
        with sessions() as session, session.begin():
            assert _synchronous_commit(session) == "on"
    finally:
        engine.dispose()
