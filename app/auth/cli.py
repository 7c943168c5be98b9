"""``huella token create|list|revoke``: API tokens for people and departments' systems."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from app.auth import service as tokens
from app.commands import unit_of_work
from app.db import utcnow
from app.source import service as sources


@click.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "agent", "connector"]))
@click.option("--source", "source_name", help="The source a connector token may push to.")
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option(
    "--expires-in",
    help="90d, 12h, 30m or never. Default: the role's configured lifetime (connector: 90d).",
)
@with_appcontext
def token_create(role: str, source_name: str | None, name: str, expires_in: str | None) -> None:
    """Create a token and print it once; only its hash is kept."""
    with unit_of_work() as session:
        source = sources.get_by_name(session=session, name=source_name) if source_name else None
        lifetime = tokens.lifetime_for(
            role, expires_in, current_app.config["TOKENS"]["lifetime_days"]
        )
        token, secret = tokens.create(
            session=session, name=name, role=role, source=source, lifetime=lifetime
        )
    until = f"until {_moment(token.expires_at)}" if token.expires_at else "without expiry"
    click.echo(
        f"created {role} token {token.id} ({token.prefix}..., {name}) {until}; "
        "it is shown only once:",
        err=True,
    )
    click.echo(secret)


def _moment(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@token_group.command("list")
@with_appcontext
def token_list() -> None:
    """List tokens (never their secrets): id, prefix, role and scope, state, last use (to the
    minute), expiry and name."""
    now = utcnow()
    with unit_of_work() as session:
        click.echo("id\tprefix\trole\tstate\tlast used\texpires\tname")
        for token in tokens.list_tokens(session=session):
            scope = f" source={token.source.name}" if token.source else ""
            click.echo(
                f"{token.id}\t{token.prefix}...\t{token.role}{scope}\t{token.state(now)}\t"
                f"{_moment(token.last_used_at)}\t{_moment(token.expires_at)}\t{token.name}"
            )


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id: int) -> None:
    """Revoke a token: every server process refuses it within a second."""
    with unit_of_work() as session:
        token = tokens.get(session=session, token_id=token_id)
        tokens.revoke(session=session, token=token)
        click.echo(f"revoked token {token.id} ({token.prefix}..., {token.name})")


COMMANDS: tuple[click.Command, ...] = (token_group,)
