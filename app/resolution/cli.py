"""``huella resolve``, ``huella train``, ``huella generic-values``, ``huella explain``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.commands import fail, unit_of_work
from app.ingest import flows
from app.ingest.cli import enqueue_option, hand_to_workers
from app.progress import Progress
from app.resolution import batch, explain
from app.resolution import service as resolution
from app.resolution.runtime import current_matcher
from app.resolution.schemas import level_words
from app.settings import get_settings
from app.source import service as sources
from app.source.models import SourceRecord


@click.command("resolve")
@click.option("--full", is_flag=True, help="Re-resolve every record from scratch.")
@enqueue_option
@with_appcontext
def resolve_command(full: bool, queued: bool) -> None:
    """Resolve records into identities (by default only what is pending). When the store has
    outgrown its match model (a first bulk load, or doubled since), the model is fitted to it
    first."""
    if queued:
        hand_to_workers("huella.resolve", full=full)
        return
    with unit_of_work() as session:
        matcher = current_matcher(session)
        settings = get_settings()
        progress = Progress.on_terminal()
        refit = flows.fit_when_due(
            session=session, settings=settings, matcher=matcher, progress=progress
        )
        if refit is not None:
            fitted, report = refit
        else:
            fitted = None
            run = flows.resolve_all if full else flows.resolve_pending
            report = run(session=session, settings=settings, matcher=matcher, progress=progress)
        total = resolution.count_identities(session=session)
    echo_fit(fitted)
    _print_resolution(report, total)


def echo_fit(fitted: resolution.Fit | None) -> None:
    """Say that a load made the store outgrow its model, and how the new one was fitted."""
    if fitted is None:
        return
    how = "trained" if fitted.trained else "calibrated"
    click.echo(
        f"the store outgrew its match model: {how} a new one on {fitted.records} records "
        f"({fitted.model.duplicates:.2f} other records per person) and re-resolved them"
    )
    if fitted.refused:
        click.echo(f"training's model was refused, the calibrated one stands: {fitted.refused}")


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
@click.option(
    "--dry-run", is_flag=True, help="Say what the new model would change; change nothing."
)
@enqueue_option
@with_appcontext
def train_command(seed: int, no_resolve: bool, dry_run: bool, queued: bool) -> None:
    """Fit the match model to the stored records (no labels needed) and re-resolve with it.

    u, the prior and the value tables are measured on the store, m is fitted by EM. A model
    whose weights move far on too little evidence is refused, and the current one kept.
    """
    if queued:
        if no_resolve or dry_run:
            fail("--enqueue trains and re-resolves; --no-resolve and --dry-run run here only")
        hand_to_workers("huella.train", seed=seed)
        return
    progress = Progress.on_terminal()
    with unit_of_work() as session:
        matcher = current_matcher(session)
        fitted = resolution.fit(session=session, matcher=matcher, seed=seed, progress=progress)
        if fitted.refused:
            fail(f"the trained model was refused, the current one stands: {fitted.refused}")
        trained = matcher.with_model(fitted.model)
        if dry_run:
            _print_preview(batch.preview(session=session, matcher=trained), fitted)
            session.rollback()
            return
        version = resolution.keep_model(session=session, fitted=fitted, seed=seed)
        click.echo(f"trained model version {version.id} on {fitted.records} records", err=True)
        if no_resolve:
            click.echo("run `huella resolve --full` to score every pair with it")
            return
        report = flows.resolve_all(
            session=session, settings=get_settings(), matcher=trained, progress=progress
        )
        total = resolution.count_identities(session=session)
    _print_resolution(report, total)


def _print_preview(preview: batch.Preview, fitted: resolution.Fit) -> None:
    click.echo(
        f"a model trained on {fitted.records} records ({fitted.model.duplicates:.2f} other "
        f"records per person, prior {fitted.model.prior:.2e}) would, re-resolving them:"
    )
    click.echo(
        f"  identities: {preview.identities_now} now, {preview.identities_then} then "
        f"({preview.merged} merged into others, {preview.split} split)"
    )
    click.echo(
        f"  possible matches for review: {preview.review_now} open now, {preview.review_then} then"
    )
    click.echo("nothing was changed (run without --dry-run to use it)")


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
        refused = None
        if not linked:
            refused = explain.why_apart(
                session=session, matcher=matcher, left=first.id, right=second.id
            )
    if edge.left != first.id:
        left, right = right, left
    width = max([len(c.attribute) for c in edge.contributions] + [9])
    words = [level_words(c) for c in edge.contributions]
    level_width = max([len(w) for w in words] + [5])
    click.echo(
        f"{'attribute':<{width}}  {'level':<{level_width}} {'weight':>7}  {left}  |  {right}"
    )
    for c, described in zip(edge.contributions, words, strict=True):
        click.echo(
            f"{c.attribute:<{width}}  {described:<{level_width}} {c.weight:>7.2f}  "
            f"{c.left or '-'}  |  {c.right or '-'}"
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
    if refused is not None:
        click.echo(f"kept apart by {refused}")


COMMANDS: tuple[click.Command, ...] = (
    resolve_command,
    train_command,
    generic_values_command,
    explain_command,
)
