"""The ``huella`` command: every domain's commands (beside each domain, in its ``cli.py``),
and setting up, serving and the demo."""

from __future__ import annotations

import json
import shlex

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from app import migrate
from app.auth import cli as auth_cli
from app.commands import ensure_schema, fail, unit_of_work
from app.customer import cli as customer_cli
from app.db import get_db
from app.identity.cli import export_identities
from app.ingest import cli as ingest_cli
from app.privacy import cli as privacy_cli
from app.resolution import cli as resolution_cli
from app.resolution import service as resolution
from app.review import cli as review_cli
from app.settings import get_settings
from app.source import cli as source_cli
from app.source.cli import export_records
from app.sync import cli as sync_cli
from app.sync.cli import sync_one
from connectors.sandbox import SANDBOX_TOKEN


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the schema, or upgrade it; running it again changes nothing."""
    before, head = migrate.upgrade(get_db().engine)
    if before is None:
        click.echo(f"schema created at revision {head}")
    elif before != head:
        click.echo(f"schema upgraded from revision {before} to {head}")
    else:
        click.echo(f"schema is up to date (revision {head})")


@click.group("export")
def export_group() -> None:
    """Export what Huella holds."""


def serve(app: Flask, host: str, port: int) -> None:
    """Serve the app with a threaded server (production: any WSGI server on create_app())."""
    from werkzeug.serving import run_simple  # noqa: PLC0415

    from app.security.logs import RedactingRequestHandler  # noqa: PLC0415

    run_simple(
        host,
        port,
        app,
        threaded=True,
        use_reloader=False,
        request_handler=RedactingRequestHandler,
    )


@click.command("serve")
@click.option("--host", default=None, help="Default: the configured host.")
@click.option("--port", default=None, type=int, help="Default: the configured port.")
@with_appcontext
def serve_command(host: str | None, port: int | None) -> None:
    """Serve the API and console."""
    ensure_schema()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    serve(app, host or app.config["HOST"], port or app.config["PORT"])


@click.command("demo")
@click.option("--host", default=None, help="Default: the configured host.")
@click.option("--port", default=None, type=int, help="Default: the configured port.")
@click.option("--no-serve", is_flag=True, help="Sync the demo and create a token, then stop.")
@with_appcontext
def demo_command(host: str | None, port: int | None, no_serve: bool) -> None:
    """Start three sandbox department systems, sync them, print an admin token, and serve."""
    from app import demo  # noqa: PLC0415  (the sandboxes are only needed here)

    ensure_schema()
    click.echo(
        "starting sandbox CRM (sales), help desk (support), e-mail platform (marketing)", err=True
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Erasure needs a suppression key in the server and in a second terminal alike.
    key = demo.suppression_key(app)
    sandboxes = demo.start(app)
    try:
        with unit_of_work() as session:
            before = demo.connect(
                session=session, sandboxes=sandboxes, policy=get_settings().sources
            )
        for name in before:
            if not sync_one(name, full=False, resolve=True):
                fail(f"the demo could not sync {name}")
        with unit_of_work() as session:
            secret, _ = demo.admin_token(session=session)
            total = resolution.count_identities(session=session)
            tour = demo.tour_values(session=session)
            # A second terminal's `huella sync sales` reads the sandboxes with this secret,
            # once their addresses are allowed there too.
            tour[demo.token_env(get_settings().sources)] = SANDBOX_TOKEN
            hosts = [*app.config["CONNECTORS"]["allowed_hosts"], *(s.url for s in sandboxes)]
            tour["HUELLA_CONNECTORS"] = f"{{allowed_hosts = {json.dumps(hosts)}}}"
            if key is not None:
                tour[key[0]] = key[1]
        host, port = host or app.config["HOST"], port or app.config["PORT"]
        base = f"http://{host}:{port}"
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in sorted(tour.items()))
        email = tour.get("EMAIL", "someone@example.com")
        click.echo(
            f"\nHuella holds {total} identities from three departments.\n"
            f"  API:    {base}/api/v1   (OpenAPI: {base}/openapi.json)\n"
            f"  token:  {secret}\n\n"
            f"Try (the README's tour uses these):\n"
            f"  export HUELLA_TOKEN={secret} {exports}\n"
            f'  curl -H "Authorization: Bearer $HUELLA_TOKEN" \\\n'
            f'       "{base}/api/v1/customers/lookup/email:{email}"\n'
        )
        if not no_serve:
            serve(app, host, port)
        else:  # its sandboxes exit now: sources another demo serves keep pointing at it
            with unit_of_work() as session:
                demo.restore(session=session, before=before)
    finally:
        sandboxes.stop()


export_group.add_command(export_records)
export_group.add_command(export_identities)
export_group.add_command(privacy_cli.export_subject_command)


COMMANDS: tuple[click.Command, ...] = (
    init_command,
    *auth_cli.COMMANDS,
    *source_cli.COMMANDS,
    *sync_cli.COMMANDS,
    *resolution_cli.COMMANDS,
    export_group,
    *customer_cli.COMMANDS,
    serve_command,
    demo_command,
    *review_cli.COMMANDS,
    *ingest_cli.COMMANDS,
    *privacy_cli.COMMANDS,
)


def init_app(app: Flask) -> None:
    """Make every command available as ``huella COMMAND`` (and to Flask's test CLI runner)."""
    for command in COMMANDS:
        app.cli.add_command(command)


# Commands and options Flask and its extensions add that are not Huella's to offer.
FOREIGN_COMMANDS = frozenset({"run", "shell", "routes", "limiter", "openapi"})
FOREIGN_OPTIONS = frozenset({"env_file", "app", "debug"})


class HuellaGroup(FlaskGroup):
    """Flask's command group showing Huella's commands only: `huella --help` lists what
    Huella does, not Flask's development server or its extensions' maintenance commands."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Huella's commands, by name."""
        return [name for name in super().list_commands(ctx) if name not in FOREIGN_COMMANDS]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """A Huella command (Flask's and its extensions' are not offered)."""
        return None if name in FOREIGN_COMMANDS else super().get_command(ctx, name)


def main() -> None:
    """Entry point of the ``huella`` console script."""
    from app import create_app  # noqa: PLC0415

    group = HuellaGroup(
        name="huella",
        help="Huella: one customer across every department's system.",
        create_app=create_app,
        add_version_option=False,
        add_default_commands=False,
        load_dotenv=False,
    )
    group.params = [p for p in group.params if p.name not in FOREIGN_OPTIONS]
    group.main(prog_name="huella")
