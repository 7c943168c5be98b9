"""``huella customers refresh``: the single customer view recomputed."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.commands import ensure_schema
from app.ingest import tasks
from app.ingest.cli import enqueue_option, hand_to_workers
from app.progress import Progress


@click.group("customers")
def customers_group() -> None:
    """The single customer view."""


@customers_group.command("refresh")
@click.option("--batch", default=1000, show_default=True, help="Identities per transaction.")
@enqueue_option
@with_appcontext
def customers_refresh(batch: int, queued: bool) -> None:
    """Recompute every golden record, search key and trait (after changing survivorship rules,
    source priorities or trait settings; nightly, to bring time-windowed traits up to date)."""
    if queued:
        hand_to_workers("huella.refresh_customers", batch=batch)
        return
    ensure_schema()
    refreshed = tasks.refresh_customers(batch=batch, progress=Progress.on_terminal())
    click.echo(f"refreshed {refreshed['refreshed']} customers")


COMMANDS: tuple[click.Command, ...] = (customers_group,)
