"""Database helpers that change how transactions behave."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.db import commit_without_waiting_for_disk


def _synchronous_commit(session: Session) -> str:
    return str(session.execute(text("SHOW synchronous_commit")).scalar_one())


def test_only_the_marked_transaction_commits_without_waiting_for_the_disk(
    database_url: str,
) -> None:
    engine = create_engine(database_url, pool_size=1)
    sessions = sessionmaker(engine)
    try:
        with sessions() as session, session.begin():
            commit_without_waiting_for_disk(session)  # SQLite: nothing changes
            if engine.dialect.name == "postgresql":
                assert _synchronous_commit(session) == "off"
        if engine.dialect.name == "postgresql":
            # The same pooled connection: the next transaction waits for the disk again.
            with sessions() as session, session.begin():
                assert _synchronous_commit(session) == "on"
    finally:
        engine.dispose()
