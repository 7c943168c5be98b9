"""Database helpers that change how sessions and transactions behave."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import bindparam, column, create_engine, delete, func, select, table, text
from sqlalchemy.orm import Session, sessionmaker

from app.customer.models import SearchToken
from app.db import (
    ArrayText,
    Database,
    bulk_insert,
    commit_without_waiting_for_disk,
    refresh_stale_statistics,
)
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


def _tokens(prefix: str, count: int) -> list[dict[str, object]]:
    return [{"token": f"{prefix}{n}", "identity_id": n} for n in range(count)]


def _count_tokens(session: Session, prefix: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SearchToken)
            .where(SearchToken.token.like(f"{prefix}%"))
        )
        or 0
    )


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A Database whose transactions commit for real; its test rows start with ``bulk-``."""
    database = Database(database_url)
    yield database
    with database.unit_of_work() as session:
        session.execute(delete(SearchToken).where(SearchToken.token.like("bulk-%")))
    database.dispose()


def test_bulk_rows_are_seen_by_the_next_statement_and_kept_by_the_commit(
    database: Database,
) -> None:
    with database.unit_of_work() as session:
        bulk_insert(session, SearchToken.__table__, _tokens("bulk-a-", 3000))
        assert _count_tokens(session, "bulk-a-") == 3000
        bulk_insert(session, SearchToken.__table__, _tokens("bulk-b-", 2000))
    with database.session() as session:
        assert _count_tokens(session, "bulk-a-") == 3000
        assert _count_tokens(session, "bulk-b-") == 2000


def test_a_bulk_insert_that_fails_fails_its_transaction(database: Database) -> None:
    duplicated = _tokens("bulk-dup-", 500) + _tokens("bulk-dup-", 1)
    with (
        pytest.raises(Exception, match=r"(?i)duplicate key|unique constraint"),
        database.unit_of_work() as session,
    ):
        bulk_insert(session, SearchToken.__table__, _tokens("bulk-kept-", 100))
        bulk_insert(session, SearchToken.__table__, duplicated)
    with database.session() as session:
        assert _count_tokens(session, "bulk-") == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_error_raised_while_a_copy_runs_is_the_one_reported(database: Database) -> None:
    # PostgreSQL writes behind: the COPY fails on its thread after the caller raised its own.
    duplicated = _tokens("bulk-dup-", 500) + _tokens("bulk-dup-", 1)
    with (
        pytest.raises(LookupError, match="the caller's own"),
        database.unit_of_work() as session,
    ):
        bulk_insert(session, SearchToken.__table__, duplicated)
        raise LookupError("the caller's own error")
    with database.session() as session:
        assert _count_tokens(session, "bulk-") == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([3, 1, 2], "INTEGER[]"),
        ([], "INTEGER[]"),
        ([7, None], "INTEGER[]"),
        (["plain", "with space", "a,b", "{braces}", 'quo"te', "back\\slash", "", "NULL"], "TEXT[]"),
        (["a", None], "TEXT[]"),
    ],
)
def test_lists_bound_as_array_text_arrive_intact(
    database: Database, values: list[object], kind: str
) -> None:
    statement = text(f"SELECT CAST(:values AS {kind})").bindparams(
        bindparam("values", type_=ArrayText())
    )
    with database.session() as session:
        assert session.scalar(statement, {"values": values}) == values


def test_a_table_grown_from_nothing_gets_fresh_statistics_once(
    fresh_database: Callable[[str], str],
) -> None:
    """The event workers' writes never end as a bulk load does: what they wrote since the
    planner last looked calls for an ANALYZE once it doubled the table, and only then."""
    engine = create_engine(fresh_database("postgresql"))
    grows = table("grows", column("n"))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE grows (n integer)"))
            connection.execute(text("INSERT INTO grows SELECT generate_series(1, 100)"))
        engine.dispose()  # a closing connection reports what it changed at once
        assert refresh_stale_statistics(engine, [grows]) == []  # a few rows: not worth it
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO grows SELECT generate_series(1, 5000)"))
        engine.dispose()
        assert refresh_stale_statistics(engine, [grows]) == ["grows"]
        assert refresh_stale_statistics(engine, [grows]) == []  # sampled: fresh again
        with engine.connect() as connection:
            assert connection.scalar(
                text("SELECT reltuples FROM pg_class WHERE relname = 'grows'")
            ) == pytest.approx(5100)
    finally:
        engine.dispose()
