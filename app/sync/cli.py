"""``huella import`` and ``huella sync``: records and events into the store, page by page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.commands import fail, unit_of_work
from app.db import get_db
from app.errors import HuellaError
from app.ingest import flows
from app.ingest import sync as runner
from app.ingest.cli import enqueue_option, hand_to_workers, running_celery
from app.progress import Progress
from app.resolution.cli import echo_fit
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source import service as sources
from app.source.models import Source
from app.sync import service as sync
from connectors import ConnectorError, Page
from connectors.files import FileConnector, FileSettings, file_settings

FORMATS = ("csv", "jsonl")
NO_FIT = (
    "Keep the match model as it is, even when this load makes the store outgrow it "
    "(`huella train` fits it later)."
)


def _suppressed(counts: dict[str, int]) -> str:
    """The suppressed count for a summary line, when anything was."""
    if not counts.get("suppressed"):
        return ""
    return f", {counts['suppressed']} suppressed (erased people, not stored)"


def _count_rows(path: Path, settings: dict[str, Any]) -> int:
    """About how many rows the file holds (lines, less a CSV's header), for the progress bar;
    quoted line breaks make it an estimate, which the bar corrects at the end."""
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    header = FileSettings.parse(settings).format == "csv"
    return max(lines - header, 0)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_name", required=True, help="The source the file comes from.")
@click.option("--id-column", required=True, help="The column holding the source's record id.")
@click.option("--format", "file_format", type=click.Choice(FORMATS), help="Default: by extension.")
@click.option("--map", "mappings", multiple=True, metavar="ATTRIBUTE=COLUMN")
@click.option("--attr", "declarations", multiple=True, metavar="NAME:TYPE")
@click.option(
    "--no-resolve",
    is_flag=True,
    help="Store only; `huella resolve` then resolves everything at once (fastest for big loads).",
)
@click.option(
    "--keep-extra",
    is_flag=True,
    help="Keep columns that map to no attribute, as attributes of their own (not compared).",
)
@click.option("--no-fit", is_flag=True, help=NO_FIT)
@with_appcontext
def import_command(
    path: Path,
    source_name: str,
    id_column: str,
    file_format: str | None,
    mappings: tuple[str, ...],
    declarations: tuple[str, ...],
    no_resolve: bool,
    keep_extra: bool,
    no_fit: bool,
) -> None:
    """Import a CSV or JSONL file of customer records; malformed rows (and rows repeating an
    id) are named and skipped, columns that map to nothing are listed."""
    try:
        settings = file_settings(
            str(path.resolve()),
            id_column=id_column,
            file_format=file_format,
            maps=mappings,
            attrs=declarations,
            keep_extra=keep_extra,
        )
        get_settings().sources.check("file", settings, any_file=True)
        connector = FileConnector(settings)
        connector.check()
        unmapped = connector.config.unmapped(connector.columns())
    except ConnectorError as error:
        fail(str(error))
    except HuellaError as error:
        fail(f"{error.detail} {error.extra.get('errors')}")
    report = import_file(
        source_name, settings, _count_rows(path, settings), resolve=not no_resolve, fit=not no_fit
    )
    for reject in report.rejects:
        click.echo(f"{path.name}: {reject.position}: {reject.reason}", err=True)
    counts = report.counts()
    click.echo(
        f"imported {path.name} into {source_name}: {counts['created']} new, "
        f"{counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{counts['rejected']} rejected{_suppressed(counts)}; "
        f"{counts['identities_created']} identities created, {counts['merges']} merges"
    )
    for (attribute, why), count in sorted(report.problems.items()):
        click.echo(f"{path.name}: {count} {attribute} values kept as written, {why}", err=True)
    if unmapped and keep_extra:
        click.echo(f"{path.name}: kept as attributes of their own: {', '.join(unmapped)}")
    elif unmapped:
        click.echo(
            f"{path.name}: columns that map to no attribute, left out: {', '.join(unmapped)} "
            "(--map ATTRIBUTE=COLUMN maps one; --keep-extra keeps them all)"
        )
    echo_fit(report.fitted)


def import_file(
    source_name: str,
    settings: dict[str, Any],
    rows: int,
    *,
    resolve: bool = True,
    fit: bool = True,
) -> flows.IngestReport:
    """Sync a file into a source (created on first import); the file is read from its start."""
    with unit_of_work() as session:
        _file_source(session, source_name, settings)
    report = flows.IngestReport()
    with Progress.on_terminal().phase(f"importing into {source_name}", total=rows) as bar:

        def advance(_stream: str, page: Page, so_far: flows.IngestReport) -> None:
            nonlocal report
            report = so_far
            bar.advance(len(page.records) + len(page.rejects))

        run = runner.run_sync(
            database=get_db(),
            settings=get_settings(),
            source_name=source_name,
            matcher_for=current_matcher,
            full=True,
            resolve=resolve,
            fit=fit,
            on_page=advance,
        )
        bar.expect(report.records)
    if run.status != "succeeded":
        fail(f"import into {source_name} failed: {run.error}")
    return report


def _file_source(session: Session, name: str, settings: dict[str, Any]) -> Source:
    """The file source to import into, created on first use; it remembers the last file."""
    attribute_types = settings["attributes"]
    try:
        source = sources.get_by_name(session=session, name=name)
    except HuellaError:
        return sources.create(
            session=session,
            name=name,
            kind="file",
            policy=get_settings().sources,
            settings=settings,
            attribute_types=attribute_types,
            any_file=True,
        )
    if source.kind != "file":
        fail(f"source {name!r} is a {source.kind} source; import files into a file source")
    sources.declare_attributes(session=session, source=source, attribute_types=attribute_types)
    get_settings().sources.check("file", settings, any_file=True)
    source.settings = settings
    return source


@click.command("sync")
@click.argument("name", required=False)
@click.option("--all", "everything", is_flag=True, help="Sync every source that can be pulled.")
@click.option("--full", is_flag=True, help="Read everything again, not only what changed.")
@click.option("--no-resolve", is_flag=True, help="Store only; resolve later with huella resolve.")
@click.option("--no-fit", is_flag=True, help=NO_FIT)
@enqueue_option
@click.option("--cancel", is_flag=True, help="Stop the source's queued or running sync instead.")
@with_appcontext
def sync_command(
    name: str | None,
    everything: bool,
    full: bool,
    no_resolve: bool,
    no_fit: bool,
    queued: bool,
    cancel: bool,
) -> None:
    """Pull records and events from a source (or all), resuming where the last sync stopped."""
    if bool(name) == everything:
        fail("name one source, or pass --all")
    with unit_of_work() as session:
        names = (
            [name]
            if name
            else [
                s.name
                for s in sources.list_sources(session=session)
                if s.kind != "push" and not s.paused
            ]
        )
        if name:
            sources.get_by_name(session=session, name=name)
    if cancel:
        for each in names:
            _cancel(each)
        return
    if queued:
        if no_resolve or no_fit:
            fail("--enqueue syncs as the API does; --no-resolve and --no-fit run here only")
        running_celery()  # before any run is queued: there must be workers to run it
        for each in names:
            with unit_of_work() as session:
                source = sources.get_by_name(session=session, name=each)
                run_id = sync.queue_run(session=session, source=source, full=full).id
            hand_to_workers("huella.sync", run_id=run_id)
        return
    failed = [
        n for n in names if not sync_one(n, full=full, resolve=not no_resolve, fit=not no_fit)
    ]
    if failed:
        fail(f"sync failed for {', '.join(failed)}")


def sync_one(name: str, *, full: bool, resolve: bool, fit: bool = True) -> bool:
    """Sync a source, showing progress; returns whether it succeeded."""
    reports: list[flows.IngestReport] = []
    # A sync cannot know how many records are waiting at the source: the bar counts them and
    # their rate, and notes the stream being read and the events so far.
    with Progress.on_terminal().phase(f"syncing {name}") as bar:

        def show(stream: str, page: Page, report: flows.IngestReport) -> None:
            reports[:] = [report]
            bar.advance(len(page.records) + len(page.rejects))
            bar.note(f"{stream}, {report.events} events")

        try:
            run = runner.run_sync(
                database=get_db(),
                settings=get_settings(),
                source_name=name,
                matcher_for=current_matcher,
                full=full,
                resolve=resolve,
                fit=fit,
                on_page=show,
            )
        except HuellaError as error:
            click.echo(f"{name}: {error.detail}", err=True)
            return False
    counts = {key: run.counts.get(key, 0) for key in flows.IngestReport().counts()}
    click.echo(
        f"{name}: {run.status} in {run.duration_seconds or 0:.1f}s: {counts['created']} new, "
        f"{counts['updated']} updated, {counts['deleted']} deleted, "
        f"{counts['unchanged']} unchanged, {counts['rejected']} rejected{_suppressed(counts)}, "
        f"{counts['warnings']} values kept as written but not comparable, "
        f"{counts['events']} events" + (f"; error: {run.error}" if run.error else "")
    )
    if reports:
        echo_fit(reports[0].fitted)
    return run.status == "succeeded"


def _cancel(name: str) -> None:
    with unit_of_work() as session:
        source = sources.get_by_name(session=session, name=name)
        run = sync.active_run(session=session, source=source)
        if run is None:
            click.echo(f"{name}: no sync is queued or running")
            return
        sync.cancel_run(session=session, run=run)
        state = "cancelled" if run.status == "cancelled" else "stops after the page it is storing"
        click.echo(f"{name}: run {run.id} {state}")


COMMANDS: tuple[click.Command, ...] = (import_command, sync_command)
