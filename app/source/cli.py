"""``huella source add|list|set|pause|resume|remove|schedule``, ``huella export records``:
connected department systems."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from app.commands import actor, fail, unit_of_work
from app.config import parse_value
from app.ingest import flows
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source import service as sources


@click.group("source")
def source_group() -> None:
    """Connected department systems."""


def _parse_pairs(values: tuple[str, ...], separator: str, what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, found, rest = value.partition(separator)
        if not found or not key.strip() or not rest.strip():
            fail(f"{what} must look like KEY{separator}VALUE, got {value!r}")
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
            policy=get_settings().sources,
            settings={k: parse_value(v) for k, v in _parse_pairs(settings, "=", "--set").items()},
            priority=priority,
            any_file=True,
        )
    click.echo(f"source {source.name} ({source.kind}) added")


@source_group.command("list")
@with_appcontext
def source_list() -> None:
    """List sources, with their schedules and next syncs."""
    with unit_of_work() as session:
        for source in sources.list_sources(session=session):
            line = f"{source.name}\t{source.kind}\tpriority={source.priority}"
            if source.schedule:
                when = source.next_sync_at.isoformat() if source.next_sync_at else "-"
                line += f"\tschedule={source.schedule}\tnext={when}"
            if source.consecutive_failures:
                line += f"\tfailed {source.consecutive_failures} times in a row"
            click.echo(line)


@source_group.command("schedule")
@click.argument("name")
@click.argument("when")
@with_appcontext
def source_schedule(name: str, when: str) -> None:
    """Sync a source every WHEN (30s, 15m, 6h, 1d), at the times of a cron expression (UTC,
    quoted: '*/15 * * * *'), or only when asked (off). `huella scheduler` queues the syncs."""
    with unit_of_work() as session:
        source = sources.get_by_name(session=session, name=name)
        sources.set_schedule(source=source, schedule=when)
        schedule, due = source.schedule, source.next_sync_at
    if schedule is None:
        click.echo(f"{name} is synced only when asked")
    else:
        click.echo(f"{name} is synced on schedule {schedule}; next at {due:%Y-%m-%d %H:%M:%S} UTC")


@source_group.command("set")
@click.argument("name")
@click.argument("pairs", nargs=-1, metavar="KEY=VALUE...")
@click.option("--unset", "unset", multiple=True, metavar="KEY", help="Remove a setting.")
@click.option("--priority", type=int, default=None, help="Lower wins in survivorship.")
@with_appcontext
def source_set(
    name: str, pairs: tuple[str, ...], unset: tuple[str, ...], priority: int | None
) -> None:
    """Change a source's settings (KEY=VALUE replaces one, --unset KEY removes one) or its
    priority; the result is checked as a new source's would be."""
    changes: dict[str, Any] = {
        k: parse_value(v) for k, v in _parse_pairs(pairs, "=", "a setting").items()
    }
    changes.update(dict.fromkeys(unset))
    if not changes and priority is None:
        fail("name a setting to change (KEY=VALUE), one to --unset, or a --priority")
    with unit_of_work() as session:
        source = sources.get_by_name(session=session, name=name)
        sources.update(
            session=session,
            source=source,
            policy=get_settings().sources,
            settings=changes,
            priority=priority,
            any_file=True,
        )
        shown = json.dumps(source.settings, sort_keys=True)
    click.echo(f"{name}: {shown}, priority {source.priority}")


@source_group.command("pause")
@click.argument("name")
@with_appcontext
def source_pause(name: str) -> None:
    """Pause a source: no sync (by hand or on schedule) and no push until it is resumed."""
    with unit_of_work() as session:
        sources.set_paused(source=sources.get_by_name(session=session, name=name), paused=True)
    click.echo(f"{name} is paused: `huella source resume {name}` resumes it")


@source_group.command("resume")
@click.argument("name")
@with_appcontext
def source_resume(name: str) -> None:
    """Resume a paused source."""
    with unit_of_work() as session:
        sources.set_paused(source=sources.get_by_name(session=session, name=name), paused=False)
    click.echo(f"{name} is running again")


@source_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def source_remove(name: str, yes: bool) -> None:
    """Remove a department: its records go, the identities they were part of are re-resolved
    without them, and the removal is audited; its events, runs and tokens go too."""
    if not yes:
        with unit_of_work() as session:
            source = sources.get_by_name(session=session, name=name)
            count = len(sources.live_record_ids(session=session, source=source))
        click.confirm(f"remove {name} and its {count} records?", abort=True, err=True)
    with unit_of_work() as session:
        counts = flows.remove_source(
            session=session,
            settings=get_settings(),
            matcher=current_matcher(session),
            source=sources.get_by_name(session=session, name=name),
            actor=actor(),
        ).counts()
    click.echo(
        f"removed {name}: {counts['records']} records gone; {counts['identities_created']} "
        f"identities created, {counts['splits']} splits, {counts['records_moved']} records moved"
    )


@click.command("records")
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


COMMANDS: tuple[click.Command, ...] = (source_group,)
