"""``huella customers refresh``: the single customer view recomputed."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.commands import unit_of_work
from app.customer import service as customers
from app.db import hold_identity_lock
from app.progress import Progress
from app.resolution import service as resolution
from app.settings import get_settings


@click.group("customers")
def customers_group() -> None:
    """The single customer view."""


@customers_group.command("refresh")
@click.option("--batch", default=1000, show_default=True, help="Identities per transaction.")
@with_appcontext
def customers_refresh(batch: int) -> None:
    """Recompute every golden record, search key and trait (after changing survivorship rules,
    source priorities or trait settings; nightly, to bring time-windowed traits up to date)."""
    settings = get_settings()
    total, after = 0, 0
    with unit_of_work() as session:
        expected = resolution.count_identities(session=session)
    with Progress.on_terminal().phase(
        "refreshing customers", total=expected, unit="customers"
    ) as bar:
        while True:
            with unit_of_work() as session:
                # A batch runs alone with resolution, or a merge committed while it computed
                # could leave the merged identity's golden record written twice.
                hold_identity_lock(session)
                count, last = customers.refresh_all(
                    session=session, settings=settings, after=after, batch=batch
                )
            total += count
            bar.advance(count)
            if last is None:
                break
            after = last
    click.echo(f"refreshed {total} customers")


COMMANDS: tuple[click.Command, ...] = (customers_group,)
