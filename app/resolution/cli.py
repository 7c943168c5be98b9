"""``huella resolve``, ``huella train``, ``huella generic-values``, ``huella explain``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.commands import fail, unit_of_work
from app.ingest import flows
from app.resolution import explain
from app.resolution import service as resolution
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source import service as sources
from app.source.models import SourceRecord


@click.command("resolve")
@click.option("--full", is_flag=True, help="Re-resolve every record from scratch.")
@with_appcontext
def resolve_command(full: bool) -> None:
    """Resolve records into identities (by default only what is pending)."""
    with unit_of_work() as session:
        matcher = current_matcher(session)
        run = flows.resolve_all if full else flows.resolve_pending
        report = run(session=session, settings=get_settings(), matcher=matcher)
        total = resolution.count_identities(session=session)
    _print_resolution(report, total)


def _print_resolution(report: resolution.ResolutionReport, total: int) -> None:
    counts = report.counts()
    click.echo(
        f"resolved {counts['records']} records: {counts['identities_created']} identities created, "
        f"{counts['merges']} merges, {counts['splits']} splits, "
        f"{counts['review_items']} review items opened; {total} identities in all"
    )


@click.command("train")
@click.option(
    "--seed", default=0, show_default=True, help="Seed of the random pairs u is drawn from."
)
@click.option("--no-resolve", is_flag=True, help="Store the model only; resolve --full later.")
@with_appcontext
def train_command(seed: int, no_resolve: bool) -> None:
    """Fit the match model on the stored records (no labels needed) and re-resolve with it."""
    with unit_of_work() as session:
        version = resolution.train(session=session, config=get_settings().match, seed=seed)
        click.echo(
            f"trained model version {version.id} on {version.summary['records']} records", err=True
        )
        if no_resolve:
            click.echo("run `huella resolve --full` to score every pair with it")
            return
        report = flows.resolve_all(
            session=session, settings=get_settings(), matcher=current_matcher(session)
        )
        total = resolution.count_identities(session=session)
    _print_resolution(report, total)


@click.command("generic-values")
@with_appcontext
def generic_values_command() -> None:
    """List blocking values shared by more records than the cap (they generate no candidates)."""
    with unit_of_work() as session:
        matcher = current_matcher(session)
        rows = resolution.generic_values(session=session, matcher=matcher)
    click.echo(f"{len(rows)} generic values (records, cap of its rule, value)")
    for key, count in rows:
        click.echo(f"{count}\t{matcher.key_cap(key)}\t{key}")


def _record_by_reference(session: Session, reference: str) -> SourceRecord:
    source, found, external_id = reference.partition(":")
    if not found or not source or not external_id:
        fail(f"name a record as SOURCE:EXTERNAL_ID, not {reference!r}")
    return sources.get_record(session=session, source_name=source, external_id=external_id)


@click.command("explain")
@click.argument("left")
@click.argument("right")
@with_appcontext
def explain_command(left: str, right: str) -> None:
    """Show how two records (SOURCE:ID SOURCE:ID) compare, attribute by attribute."""
    with unit_of_work() as session:
        first, second = (_record_by_reference(session, r) for r in (left, right))
        matcher = current_matcher(session)
        edge = explain.explain_pair(session=session, matcher=matcher, left=first, right=second)
        linked = first.identity_id is not None and first.identity_id == second.identity_id
    if edge.left != first.id:
        left, right = right, left
    width = max([len(c.attribute) for c in edge.contributions] + [9])
    click.echo(f"{'attribute':<{width}}  {'level':<24} {'weight':>7}  {left}  |  {right}")
    for c in edge.contributions:
        click.echo(
            f"{c.attribute:<{width}}  {c.level:<24} {c.weight:>7.2f}  {c.left or '-'}  |  "
            f"{c.right or '-'}"
        )
    verdict = (
        "same person (auto-match)"
        if matcher.is_auto(edge)
        else "possible match (review)"
        if matcher.is_review(edge)
        else "not a match"
    )
    click.echo(
        f"match weight {edge.weight:.2f}, probability {edge.probability:.6f}: {verdict}; "
        f"{'linked' if linked else 'not linked'} now"
    )


COMMANDS: tuple[click.Command, ...] = (
    resolve_command,
    train_command,
    generic_values_command,
    explain_command,
)
