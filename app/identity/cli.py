"""``huella export identities``: which identity holds each record."""

from __future__ import annotations

import csv
import sys

import click
from flask.cli import with_appcontext

from app.commands import unit_of_work
from app.identity import service as identities


@click.command("identities")
@click.option("--format", "export_format", type=click.Choice(["csv"]), default="csv")
@with_appcontext
def export_identities(export_format: str) -> None:
    """Print source,source_record_id,identity_id for every live record."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["source", "source_record_id", "identity_id"])
    with unit_of_work() as session:
        for row in identities.iter_links(session=session):
            writer.writerow(row)
