"""``huella token create|list``: API tokens."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.auth import service as tokens
from app.commands import unit_of_work
from app.source import service as sources


@click.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "agent", "connector"]))
@click.option("--source", "source_name", help="The source a connector token may push to.")
@click.option("--name", required=True, help="Who or what the token is for.")
@with_appcontext
def token_create(role: str, source_name: str | None, name: str) -> None:
    """Create a token and print it once; only its hash is kept."""
    with unit_of_work() as session:
        source = sources.get_by_name(session=session, name=source_name) if source_name else None
        token, secret = tokens.create(session=session, name=name, role=role, source=source)
    click.echo(f"created {role} token {token.prefix}... ({name}); it is shown only once:", err=True)
    click.echo(secret)


@token_group.command("list")
@with_appcontext
def token_list() -> None:
    """List tokens (never their secrets)."""
    with unit_of_work() as session:
        for token in tokens.list_tokens(session=session):
            state = "revoked" if token.revoked_at else "active"
            scope = f" source={token.source.name}" if token.source else ""
            click.echo(f"{token.prefix}...\t{token.role}{scope}\t{state}\t{token.name}")


COMMANDS: tuple[click.Command, ...] = (token_group,)
