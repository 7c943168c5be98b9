"""What every ``huella`` command shares: the schema brought up to date, one committed session
per command, domain errors shown as plain messages."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from sqlalchemy.orm import Session

from app import migrate
from app.db import get_db
from app.errors import HuellaError
from connectors import ConnectorError


def actor() -> str:
    """Who a command acts as in the audit trail: ``cli:<user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


def fail(message: str) -> NoReturn:
    """Stop the command with a message (exit status 1)."""
    raise click.ClickException(message)


def ensure_schema() -> None:
    """Bring the schema to the newest revision when it is behind (every store command does)."""
    engine = get_db().engine
    before, head = migrate.upgrade(engine)
    if before != head:
        click.echo(f"schema upgraded to revision {head}", err=True)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A committed session for one command, with domain errors shown as plain messages."""
    ensure_schema()
    try:
        with get_db().unit_of_work() as session:
            yield session
    except (HuellaError, ConnectorError) as error:
        detail = getattr(error, "detail", str(error))
        extra = getattr(error, "extra", {}).get("errors")
        raise click.ClickException(f"{detail}{f' {extra}' if extra else ''}") from None
