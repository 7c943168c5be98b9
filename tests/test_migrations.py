"""The migrations build exactly the schema the models describe, and upgrading twice is a no-op."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

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
