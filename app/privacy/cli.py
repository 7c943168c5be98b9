"""``huella erase`` and ``huella suppression``: a person's erasure, and re-consent after it;
``huella export subject``: everything held about one person."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.commands import actor, fail, unit_of_work
from app.ingest.cli import enqueue_option, hand_to_workers
from app.ingest.erasure import Erasure, erase
from app.ingest.retention import apply_retention
from app.ingest.screen import identifier_of
from app.ingest.subject import export_subject
from app.privacy import suppression
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.settings.privacy import RETAINED


@click.command("erase")
@click.argument("reference", metavar="REFERENCE")
@click.option("--reason", required=True, help="Why (kept in the audit trail: no personal data).")
@click.option("--dry-run", is_flag=True, help="List what would go, table by table; change nothing.")
@enqueue_option
@with_appcontext
def erase_command(reference: str, reason: str, dry_run: bool, queued: bool) -> None:
    """Erase a person from every table and keep them out: REFERENCE is their customer id,
    email:..., phone:... or SOURCE:EXTERNAL_ID."""
    if queued:
        if dry_run:
            fail("--dry-run answers here; --enqueue erases on the workers")
        hand_to_workers("huella.erase", reference=reference, reason=reason, actor=actor())
        return
    with unit_of_work() as session:
        report = erase(
            session=session,
            settings=get_settings(),
            matcher=current_matcher(session),
            reference=reference,
            actor=actor(),
            reason=reason,
            dry_run=dry_run,
        )
    for line in describe(report):
        click.echo(line)


def describe(report: Erasure) -> list[str]:
    """An erasure's report as lines for people."""
    who = report.identity or report.reference
    merged = f" (and {', '.join(report.merged)}, merged into it)" if report.merged else ""
    if report.status == "already_erased":
        when = f" on {report.erased_at:%Y-%m-%d %H:%M} UTC" if report.erased_at else ""
        entry = f" (audit entry {report.entry_id})" if report.entry_id else ""
        return [f"{who} was already erased{when}{entry}; nothing left to erase"]
    records = ", ".join(f"{n} in {source}" for source, n in report.records.items()) or "none"
    head = "would erase" if report.dry_run else "erased"
    lines = [f"{head} {who}{merged}: records {records}"]
    width = max(map(len, report.tables), default=0)
    for table, count in report.tables.items():
        what = "entries scrubbed of their values" if table == "audit_entry" else "rows"
        lines.append(f"  {table:<{width}}  {count} {what}")
    added = "would add" if report.dry_run else "added"
    lines.append(f"  suppression list: {added} {report.suppressed} digests")
    if report.also_held_by:
        lines.append(
            "  note: other customers hold the same e-mail or phone "
            f"({', '.join(report.also_held_by)}): their records carrying it are suppressed too"
        )
    if report.entry_id is not None:
        lines.append(f"  audit entry {report.entry_id}")
    return lines


@click.group("suppression")
def suppression_group() -> None:
    """The suppression list of erased people (digests only, no personal data)."""


@suppression_group.command("list")
@with_appcontext
def suppression_list() -> None:
    """How many digests the list holds, per kind."""
    with unit_of_work() as session:
        counts = suppression.count_by_kind(session=session)
    if not counts:
        click.echo("the suppression list is empty")
    for kind, count in counts.items():
        click.echo(f"{kind}\t{count}")


@suppression_group.command("lift")
@click.argument("what", metavar="DIGEST|TYPE:VALUE")
@click.option("--reason", required=True, help="Why (the person consented again; no personal data).")
@with_appcontext
def suppression_lift(what: str, reason: str) -> None:
    """Take one identifier off the list, so that it may come in again: its digest (as the audit
    trail names it), or email:..., phone:... or SOURCE:EXTERNAL_ID."""
    settings = get_settings()
    with unit_of_work() as session:
        value = what
        if not suppression.is_digest(what):
            identifier = identifier_of(settings=settings, reference=what)
            value = suppression.digest(settings.privacy.require_key(), identifier)
        entry = suppression.lift(session=session, value=value, actor=actor(), reason=reason)
    click.echo(f"{entry.kind} {value} lifted: it may come in again")


@click.command("subject")
@click.argument("public_id", metavar="ID")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the document to this file (default: print it).",
)
@with_appcontext
def export_subject_command(public_id: str, out: Path | None) -> None:
    """Everything held about one customer (a subject access request), as one JSON document:
    records with raw values, golden record, consents, events, traits, history, reads."""
    with unit_of_work() as session:
        document = export_subject(session=session, settings=get_settings(), public_id=public_id)
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
    if out is None:
        click.echo(text)
        return
    out.write_text(text + "\n", encoding="utf-8")
    click.echo(
        f"{document['customer']['id']}: {len(document['records'])} records, "
        f"{len(document['events'])} events written to {out}",
        err=True,
    )


@click.group("retention")
def retention_group() -> None:
    """Deleting what is older than config/privacy.toml's [retention] says to keep."""


@retention_group.command("apply")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@with_appcontext
def retention_apply(dry_run: bool) -> None:
    """Delete the events, rejects, reads of the audit and finished jobs older than their
    retention, and recount the traits of the customers who lose events (the scheduler runs it
    daily)."""
    with unit_of_work() as session:
        report = apply_retention(session=session, settings=get_settings(), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for kind in RETAINED:
        cutoff = report.before.get(kind)
        when = f"from before {cutoff[:10]}" if cutoff else "none: kept for ever"
        click.echo(f"{kind}: {verb} {getattr(report, kind)} ({when})")
    if report.customers:
        click.echo(f"traits recounted for {report.customers} customers")


COMMANDS: tuple[click.Command, ...] = (erase_command, suppression_group, retention_group)
