"""The migrations build exactly the schema the models describe, and upgrading twice is a no-op."""

from __future__ import annotations

from collections.abc import Callable

import pytest
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
