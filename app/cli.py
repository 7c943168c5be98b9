"""The ``huella`` command: set up the store, issue tokens, import, resolve, export, serve."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import Session

from app import migrate
from app.auth import service as tokens
from app.config import parse_value
from app.customer import service as customers
from app.db import get_db, hold_identity_lock
from app.errors import HuellaError
from app.identity import service as identities
from app.ingest import flows
from app.ingest import sync as runner
from app.resolution import explain
from app.resolution import service as resolution
from app.resolution.runtime import current_matcher, match_config
from app.source import service as sources
from app.source.models import Source, SourceRecord
from connectors import ConnectorError, Page, connector_class
from connectors.files import file_settings

FORMATS = ("csv", "jsonl")


def _fail(message: str) -> None:
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


@click.group("source")
def source_group() -> None:
    """Connected department systems."""


def _parse_pairs(values: tuple[str, ...], separator: str, what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, found, rest = value.partition(separator)
        if not found or not key.strip() or not rest.strip():
            _fail(f"{what} must look like KEY{separator}VALUE, got {value!r}")
        pairs[key.strip()] = rest.strip()
    return pairs


@source_group.command("add")
@click.argument("name")
@click.option("--kind", required=True, help="Connector kind, e.g. file, push.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="A setting.")
@click.option("--priority", default=100, show_default=True, help="Lower wins in survivorship.")
@with_appcontext
def source_add(name: str, kind: str, settings: tuple[str, ...], priority: int) -> None:
    """Connect a department system."""
    with unit_of_work() as session:
        source = sources.create(
            session=session,
            name=name,
            kind=kind,
            settings={k: parse_value(v) for k, v in _parse_pairs(settings, "=", "--set").items()},
            priority=priority,
        )
    click.echo(f"source {source.name} ({source.kind}) added")


@source_group.command("list")
@with_appcontext
def source_list() -> None:
    """List sources."""
    with unit_of_work() as session:
        for source in sources.list_sources(session=session):
            click.echo(f"{source.name}\t{source.kind}\tpriority={source.priority}")


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


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
@with_appcontext
def import_command(
    path: Path,
    source_name: str,
    id_column: str,
    file_format: str | None,
    mappings: tuple[str, ...],
    declarations: tuple[str, ...],
    no_resolve: bool,
) -> None:
    """Import a CSV or JSONL file of customer records; malformed rows are named and skipped."""
    try:
        settings = file_settings(
            str(path.resolve()),
            id_column=id_column,
            file_format=file_format,
            maps=mappings,
            attrs=declarations,
        )
        connector = connector_class("file")(settings)
        connector.check()
    except ConnectorError as error:
        _fail(str(error))
    report = import_file(source_name, settings, _count_lines(path), resolve=not no_resolve)
    for reject in report.rejects:
        click.echo(f"{path.name}: {reject.position}: {reject.reason}", err=True)
    counts = report.counts()
    click.echo(
        f"imported {path.name} into {source_name}: {counts['created']} new, "
        f"{counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{counts['rejected']} rejected; {counts['identities_created']} identities created, "
        f"{counts['merges']} merges"
    )


def import_file(
    source_name: str, settings: dict[str, Any], rows: int, *, resolve: bool = True
) -> flows.IngestReport:
    """Sync a file into a source (created on first import); the file is read from its start."""
    with unit_of_work() as session:
        _file_source(session, source_name, settings)
    progress = _progress(rows)
    report = flows.IngestReport()

    def advance(_stream: str, page: Page, so_far: flows.IngestReport) -> None:
        nonlocal report
        report = so_far
        progress(page)

    run = runner.run_sync(
        database=get_db(),
        source_name=source_name,
        matcher_for=current_matcher,
        full=True,
        resolve=resolve,
        on_page=advance,
    )
    progress(None)
    if run.status != "succeeded":
        _fail(f"import into {source_name} failed: {run.error}")
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
            settings=settings,
            attribute_types=attribute_types,
        )
    if source.kind != "file":
        _fail(f"source {name!r} is a {source.kind} source; import files into a file source")
    sources.declare_attributes(session=session, source=source, attribute_types=attribute_types)
    source.settings = settings
    return source


def _progress(total: int) -> Any:
    """A progress bar on a terminal; silent when output goes to a file or pipe."""
    if not sys.stderr.isatty():
        return lambda page: None
    bar = click.progressbar(length=max(total, 1), label="importing", file=sys.stderr)
    bar.__enter__()

    def advance(page: Page | None) -> None:
        if page is None:
            bar.__exit__(None, None, None)
        else:
            bar.update(len(page.records) + len(page.rejects))

    return advance


@click.command("sync")
@click.argument("name", required=False)
@click.option("--all", "everything", is_flag=True, help="Sync every source that can be pulled.")
@click.option("--full", is_flag=True, help="Read everything again, not only what changed.")
@click.option("--no-resolve", is_flag=True, help="Store only; resolve later with huella resolve.")
@with_appcontext
def sync_command(name: str | None, everything: bool, full: bool, no_resolve: bool) -> None:
    """Pull records and events from a source (or all), resuming where the last sync stopped."""
    if bool(name) == everything:
        _fail("name one source, or pass --all")
    with unit_of_work() as session:
        names = (
            [name]
            if name
            else [s.name for s in sources.list_sources(session=session) if s.kind != "push"]
        )
        if name:
            sources.get_by_name(session=session, name=name)
    failed = [n for n in names if not _sync_one(n, full=full, resolve=not no_resolve)]
    if failed:
        _fail(f"sync failed for {', '.join(failed)}")


def _sync_one(name: str, *, full: bool, resolve: bool) -> bool:
    """Sync a source, showing progress; returns whether it succeeded."""
    live = sys.stderr.isatty()
    started = time.monotonic()

    def show(stream: str, _page: Page, report: flows.IngestReport) -> None:
        if live:
            rate = report.records / max(time.monotonic() - started, 1e-6)
            click.echo(
                f"\r{name}: {stream}: {report.records} records, {report.events} events "
                f"({rate:,.0f}/s)   ",
                err=True,
                nl=False,
            )

    try:
        run = runner.run_sync(
            database=get_db(),
            source_name=name,
            matcher_for=current_matcher,
            full=full,
            resolve=resolve,
            on_page=show,
        )
    except HuellaError as error:
        click.echo(f"{name}: {error.detail}", err=True)
        return False
    if live:
        click.echo(err=True)
    counts = {key: run.counts.get(key, 0) for key in flows.IngestReport().counts()}
    click.echo(
        f"{name}: {run.status} in {run.duration_seconds or 0:.1f}s: {counts['created']} new, "
        f"{counts['updated']} updated, {counts['deleted']} deleted, "
        f"{counts['unchanged']} unchanged, {counts['rejected']} rejected, "
        f"{counts['events']} events" + (f"; error: {run.error}" if run.error else "")
    )
    return run.status == "succeeded"


@click.command("resolve")
@click.option("--full", is_flag=True, help="Re-resolve every record from scratch.")
@with_appcontext
def resolve_command(full: bool) -> None:
    """Resolve records into identities (by default only what is pending)."""
    with unit_of_work() as session:
        matcher = current_matcher(session)
        run = flows.resolve_all if full else flows.resolve_pending
        report = run(session=session, matcher=matcher)
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
        version = resolution.train(session=session, config=match_config(), seed=seed)
        click.echo(
            f"trained model version {version.id} on {version.summary['records']} records", err=True
        )
        if no_resolve:
            click.echo("run `huella resolve --full` to score every pair with it")
            return
        report = flows.resolve_all(session=session, matcher=current_matcher(session))
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
        _fail(f"name a record as SOURCE:EXTERNAL_ID, not {reference!r}")
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


@click.group("export")
def export_group() -> None:
    """Export what Huella holds."""


@export_group.command("records")
@click.option("--source", "source_name", required=True, help="The source whose records to print.")
@click.option("--format", "export_format", type=click.Choice(["jsonl"]), default="jsonl")
@with_appcontext
def export_records(source_name: str, export_format: str) -> None:
    """Print each live record of a source with its attributes and timestamps, one JSON a line."""
    with unit_of_work() as session:
        source = sources.get_by_name(session=session, name=source_name)
        for record in sources.iter_live_records(session=session, source=source):
            line = {
                "source": source.name,
                "external_id": record.external_id,
                "attributes": record.attributes,
                "first_seen_at": record.first_seen_at.isoformat(),
                "updated_at": record.updated_at.isoformat(),
                "source_updated_at": (
                    record.source_updated_at.isoformat() if record.source_updated_at else None
                ),
            }
            click.echo(json.dumps(line, ensure_ascii=False, sort_keys=True))


@export_group.command("identities")
@click.option("--format", "export_format", type=click.Choice(["csv"]), default="csv")
@with_appcontext
def export_identities(export_format: str) -> None:
    """Print source,source_record_id,identity_id for every live record."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["source", "source_record_id", "identity_id"])
    with unit_of_work() as session:
        for row in identities.iter_links(session=session):
            writer.writerow(row)


@click.group("customers")
def customers_group() -> None:
    """The single customer view."""


@customers_group.command("refresh")
@click.option("--batch", default=1000, show_default=True, help="Identities per transaction.")
@with_appcontext
def customers_refresh(batch: int) -> None:
    """Recompute every golden record, search key and trait (after changing survivorship rules,
    source priorities or trait settings; nightly, to bring time-windowed traits up to date)."""
    total, after = 0, 0
    while True:
        with unit_of_work() as session:
            # A batch runs alone with resolution, or a merge committed while it computed could
            # leave the merged identity's golden record written twice.
            hold_identity_lock(session)
            count, last = customers.refresh_all(session=session, after=after, batch=batch)
        total += count
        if last is None:
            break
        after = last
    click.echo(f"refreshed {total} customers")


def serve(app: Flask, host: str, port: int) -> None:
    """Serve the app with a threaded server (production: any WSGI server on create_app())."""
    from werkzeug.serving import run_simple  # noqa: PLC0415

    run_simple(host, port, app, threaded=True, use_reloader=False)


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
    sandboxes = demo.start()
    try:
        with unit_of_work() as session:
            names = demo.connect(session=session, sandboxes=sandboxes)
        for name in names:
            if not _sync_one(name, full=False, resolve=True):
                _fail(f"the demo could not sync {name}")
        with unit_of_work() as session:
            _, secret = tokens.create(session=session, name="demo admin", role="admin")
            total = resolution.count_identities(session=session)
            email = demo.sample_email(session=session) or "someone@example.com"
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        host, port = host or app.config["HOST"], port or app.config["PORT"]
        base = f"http://{host}:{port}"
        click.echo(
            f"\nHuella holds {total} identities from three departments.\n"
            f"  API:    {base}/api/v1   (OpenAPI: {base}/openapi.json)\n"
            f"  token:  {secret}\n\n"
            f"Try:\n  export HUELLA_TOKEN={secret}\n"
            f'  curl -H "Authorization: Bearer $HUELLA_TOKEN" \\\n'
            f'       "{base}/api/v1/identities?email={email}"\n'
        )
        if not no_serve:
            serve(app, host, port)
    finally:
        sandboxes.stop()


COMMANDS: tuple[click.Command, ...] = (
    init_command,
    token_group,
    source_group,
    import_command,
    sync_command,
    resolve_command,
    train_command,
    generic_values_command,
    explain_command,
    export_group,
    customers_group,
    serve_command,
    demo_command,
)


def init_app(app: Flask) -> None:
    """Make every command available as ``huella COMMAND`` (and to Flask's test CLI runner)."""
    from app.review import cli as review  # noqa: PLC0415  (it builds on this module)

    for command in (*COMMANDS, *review.COMMANDS):
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the ``huella`` console script."""
    from app import create_app  # noqa: PLC0415

    group = FlaskGroup(
        name="huella",
        help="Huella: one customer across every department's system.",
        create_app=create_app,
        add_version_option=False,
        load_dotenv=False,
    )
    group.main(prog_name="huella")
