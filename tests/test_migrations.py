"""The migrations build exactly the schema the models describe, and upgrading twice is a no-op."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app import migrate
from app.models import Base
from tests.conftest import BACKENDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_the_models(fresh_database: Callable[[str], str], backend: str) -> None:
    engine = create_engine(fresh_database(backend))
    before, head = migrate.upgrade(engine)
    assert before is None
    assert migrate.upgrade(engine) == (head, head)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_last_migrations_step_down_and_up_again(
    fresh_database: Callable[[str], str], backend: str
) -> None:
    engine = create_engine(fresh_database(backend))
    _, head = migrate.upgrade(engine)
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    assert migrate.current_revision(engine) == "0009"
    assert migrate.upgrade(engine) == ("0009", head)
    engine.dispose()


def test_sqlite_keeps_small_keyed_rows_in_their_primary_keys_and_keeps_them_when_upgrading(
    fresh_database: Callable[[str], str],
) -> None:
    engine = create_engine(fresh_database("sqlite"))
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0022")
        connection.execute(text("INSERT INTO blocking_key VALUES (7, 'name:ana'), (8, 'zip:1')"))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        for table in ("blocking_key", "search_token", "record_identifier"):
            with pytest.raises(OperationalError, match="no such column: rowid"):
                connection.execute(text(f"SELECT rowid FROM {table}"))
        held = connection.execute(text('SELECT record_id, "key" FROM blocking_key ORDER BY 1'))
        assert held.all() == [(7, "name:ana"), (8, "zip:1")]
    engine.dispose()
