"""SQL sources read any database SQLAlchemy can reach; connectors only see a query runner."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, text

from connectors.sql import QueryRunner, use_runner_factory


@lru_cache(maxsize=32)
def _engine(url: str) -> Engine:
    # One pool per source database for the life of the process.
    # A department's rows are customers' data: their values stay out of error messages.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def sqlalchemy_runner(url: str) -> QueryRunner:
    """A query runner on any SQLAlchemy URL."""
    engine = _engine(url)

    def run(sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        with engine.connect() as connection:
            return [dict(row) for row in connection.execute(text(sql), dict(params)).mappings()]

    return run


def init_app() -> None:
    """Let SQL sources use SQLAlchemy for whatever URL they name."""
    use_runner_factory(sqlalchemy_runner)
