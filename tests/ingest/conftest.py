"""What the tests of work across processes share: a PostgreSQL store of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from app import migrate


@pytest.fixture
def database(fresh_database: Callable[[str], str]) -> Iterator[tuple[str, Engine]]:
    """A PostgreSQL database of the test's own, where every commit is real."""
    url = fresh_database("postgresql")
    engine = create_engine(url)
    migrate.upgrade(engine)
    yield url, engine
    engine.dispose()
