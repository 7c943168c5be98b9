"""Schema migrations: `huella init` creates or upgrades the schema, idempotently."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at our migrations and this engine's database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (revision before, revision after)."""
    config = alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_current_head() or ""
    with engine.begin() as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        if before != head:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return before, head


def current_revision(engine: Engine) -> str | None:
    """The schema's revision, None when the database is empty."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@cache
def head_revision() -> str:
    """The newest revision this code knows (read once: it changes only with the code)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""
