"""``huella review list|show|claim|decide``, ``huella merge``, ``huella split``, ``huella undo``
and ``huella history``: the review workflow for admins who work in a terminal."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.commands import actor, unit_of_work
from app.identity import service as identities
from app.ingest import decisions
from app.ingest import undo as undoing
from app.resolution import explain
from app.resolution.runtime import current_matcher
from app.resolution.schemas import level_words
from app.review import service
from app.review.models import REVIEW_KINDS, REVIEW_STATUSES
from app.settings import get_settings

Decided = TypeVar("Decided")
CHOICES = {"merge": "merge", "keep-apart": "keep_apart", "dismiss": "dismiss"}


def _minutes() -> float:
    return get_settings().review_claim_minutes


def _decided(session: Session, action: Callable[..., Decided], /, **arguments: Any) -> Decided:
    """Make a decision (decide, merge, split, undo) in the command's session as its user, with
    the app's settings and matcher."""
    return action(
        session=session,
        settings=get_settings(),
        matcher=current_matcher(session),
        actor=actor(),
        **arguments,
    )


def _identity_list(members: Mapping[str, Sequence[str]]) -> str:
    if not members:
        return "-"
    return "; ".join(
        f"{public_id} ({', '.join(refs) or 'no records'})"
        for public_id, refs in sorted(members.items())
    )


def print_change(entry: AuditEntry) -> None:
    """Show what a change did to identities, and how to take it back."""
    note = f': "{entry.reason}"' if entry.reason else ""
    click.echo(f"change {entry.id}: {entry.action} by {entry.actor}{note}")
    click.echo(f"  before: {_identity_list(entry.before.get('members', {}))}")
    click.echo(f"  after:  {_identity_list(entry.after.get('members', {}))}")
    constraints = entry.after.get("constraints", {})
    for verb, key in (("added", "added"), ("removed", "removed")):
        rows = constraints.get(key, [])
        if rows:
            kinds = sorted({row["kind"] for row in rows})
            click.echo(f"  constraints {verb}: {len(rows)} ({', '.join(kinds)}-link)")
    if entry.action != "undo":
        click.echo(f"  undo with: huella undo {entry.id}")


@click.group("review")
def review_group() -> None:
    """The review queue: possible matches, conflicts and generic values to decide."""


@review_group.command("list")
@click.option("--kind", type=click.Choice(REVIEW_KINDS), help="Only items of this kind.")
@click.option("--source", help="Only items about a record of this source.")
@click.option("--status", type=click.Choice(REVIEW_STATUSES), default="open", show_default=True)
@click.option("--limit", default=20, show_default=True, help="How many items to show.")
@with_appcontext
def review_list(kind: str | None, source: str | None, status: str, limit: int) -> None:
    """List items, the ones whose decision matters most first."""
    with unit_of_work() as session:
        items = service.list_items(
            session=session,
            matcher=current_matcher(session),
            limit=limit,
            kind=kind,
            source=source,
            status=status,
        )
        rows = service.describe_items(session=session, items=items, minutes=_minutes())
    if not rows:
        click.echo(f"no {status} review items")
        return
    for row in rows:
        click.echo(_item_line(row))


def _side(side: Mapping[str, Any] | None) -> str:
    if side is None:
        return "-"
    who = ", ".join(str(side[k]) for k in ("name", "email") if side.get(k))
    return f"{who or 'no name'} [{side['reference']} in {side['identity'] or 'deleted'}]"


def _item_line(row: Mapping[str, Any]) -> str:
    probability = f"p={row['probability']:.3f}" if row["probability"] is not None else ""
    if row["kind"] == "generic_value":
        about = f"{row['detail'].get('key')} held by {row['detail'].get('records')} records"
    else:
        about = f"{_side(row['left'])} ~ {_side(row['right'])}"
        if row["kind"] == "conflict":
            about += f" [{row['detail'].get('conflict')}]"
    claimed = f"  claimed by {row['claimed_by']}" if row["claimed_by"] else ""
    decided = f"  {row['decision']} by {row['decided_by']}" if row["decision"] else ""
    return (
        f"#{row['id']}\t{row['kind']}\tpriority {row['priority']:.2f}\t{probability}\t"
        f"{about}{claimed}{decided}"
    )


@review_group.command("show")
@click.argument("item_id", type=int)
@with_appcontext
def review_show(item_id: int) -> None:
    """Show an item side by side: records, attribute levels and weights, edges, merge preview."""
    with unit_of_work() as session:
        shown = explain.compare_item(
            session=session,
            settings=get_settings(),
            matcher=current_matcher(session),
            item_id=item_id,
            minutes=_minutes(),
        )
    click.echo(_item_line(shown["item"]))
    if shown["item"]["detail"].get("why"):
        click.echo(f"why: {shown['item']['detail']['why']}")
    if shown["holders"]:
        click.echo(f"records holding {shown['item']['detail'].get('key')} (first few):")
        for holder in shown["holders"]:
            click.echo(f"  {holder['reference']}\t{holder['identity'] or '-'}")
    for label in ("left", "right"):
        side = shown[label]
        if side is not None:
            others = ", ".join(r["reference"] for r in side["identity_records"])
            click.echo(f"{label}: {side['reference']} in {side['identity'] or '-'}: {others}")
    if shown["score"] is not None:
        _print_score(shown["score"])
    if shown["edges"]:
        click.echo("edges among the records of both identities:")
        for edge in shown["edges"]:
            joins = "joins" if edge["joins"] else "review"
            click.echo(
                f"  {edge['left']} ~ {edge['right']}\tp={edge['probability']:.6f}\t"
                f"weight {edge['weight']:.2f}\t{joins}"
            )
    if shown["preview"] is not None:
        _print_preview(shown["preview"])
    if shown["item"]["status"] == "open":
        click.echo(
            f"decide with: huella review decide {item_id} merge|keep-apart|dismiss --note ... "
            "(several items at once: huella review decide 7 8 9 keep-apart)"
        )


def _print_score(score: Mapping[str, Any]) -> None:
    shown = [
        c for c in score["contributions"] if c["level"] != "missing" or c["left"] or c["right"]
    ]
    width = max([len(c["attribute"]) for c in shown] + [9])
    words = [level_words(c) for c in shown]
    level_width = max([len(w) for w in words] + [5])
    click.echo(f"{'attribute':<{width}}  {'level':<{level_width}} {'weight':>7}  left  |  right")
    for c, described in zip(shown, words, strict=True):
        click.echo(
            f"{c['attribute']:<{width}}  {described:<{level_width}} {c['weight']:>7.2f}  "
            f"{c['left'] or '-'}  |  {c['right'] or '-'}"
        )
    origin = "stored edge" if score["stored"] else "scored now"
    click.echo(
        f"match weight {score['weight']:.2f}, probability {score['probability']:.6f}: "
        f"{score['verdict']} ({origin})"
    )


def _print_preview(preview: Mapping[str, Any]) -> None:
    click.echo(
        f"a merge would join {', '.join(preview['identities'])} into {preview['survivor']}: "
        f"{', '.join(preview['records'])}"
    )
    for name, values in preview["attributes"].items():
        listed = "; ".join(f"{v['value']} ({', '.join(v['records'])})" for v in values)
        click.echo(f"  {name}: {listed}")


@review_group.command("claim")
@click.argument("item_id", type=int)
@click.option("--release", is_flag=True, help="Give up the claim instead.")
@with_appcontext
def review_claim(item_id: int, release: bool) -> None:
    """Claim an item so other admins leave it alone for a while."""
    with unit_of_work() as session:
        act = service.release if release else service.claim
        item = act(session=session, item_id=item_id, actor=actor(), minutes=_minutes())
        expiry = service.claim_expiry(item, _minutes())
    if release:
        click.echo(f"item {item_id} released")
    else:
        click.echo(f"item {item_id} claimed by {actor()} until {expiry:%Y-%m-%d %H:%M} UTC")


@review_group.command("decide")
@click.argument("items_and_decision", nargs=-1, required=True, metavar="ITEM... DECISION")
@click.option("--note", default="", help="Why; kept in the audit trail.")
@with_appcontext
def review_decide(items_and_decision: tuple[str, ...], note: str) -> None:
    """Decide one item or several the same way: merge (their identities), keep-apart (their
    records) or dismiss, with one note. Items that cannot be decided are named with the
    reason; the others are decided."""
    *items, decision = items_and_decision
    if decision not in CHOICES:
        raise click.UsageError(f"the last argument is the decision: {', '.join(sorted(CHOICES))}")
    if not items or not all(item.isdigit() for item in items):
        raise click.UsageError("name the items to decide by their numbers, then the decision")
    with unit_of_work() as session:
        decided, refused = _decided(
            session,
            decisions.decide_many,
            item_ids=[int(item) for item in items],
            decision=CHOICES[decision],
            note=note,
            minutes=_minutes(),
        )
    for item, entry in decided:
        click.echo(f"item {item.id}: {decision}")
        print_change(entry)
    for refusal in refused:
        click.echo(f"item {refusal.item} not decided: {refusal.detail}", err=True)
    if refused and not decided:
        raise click.ClickException("no item was decided")


@click.command("merge")
@click.argument("identity_ids", nargs=-1, required=True)
@click.option("--note", default="", help="Why; kept in the audit trail.")
@click.option("--dry-run", is_flag=True, help="Show what the merge would give; change nothing.")
@with_appcontext
def merge_command(identity_ids: tuple[str, ...], note: str, dry_run: bool) -> None:
    """Merge identities into one (the oldest id survives) and keep them one."""
    if len(identity_ids) < 2:
        raise click.UsageError("name at least two identities")
    with unit_of_work() as session:
        if dry_run:
            preview = service.preview_merge(
                session=session, settings=get_settings(), public_ids=identity_ids
            )
            _print_preview(preview)
            return
        entry = _decided(session, decisions.merge, public_ids=identity_ids, note=note)
        print_change(entry)


@click.command("split")
@click.argument("identity_id")
@click.option(
    "--part",
    "parts",
    multiple=True,
    required=True,
    metavar="REF,REF,...",
    help="Records (SOURCE:EXTERNAL_ID) that go together; records left out form one more part.",
)
@click.option("--note", default="", help="Why; kept in the audit trail.")
@click.option("--dry-run", is_flag=True, help="Show what the split would give; change nothing.")
@with_appcontext
def split_command(identity_id: str, parts: tuple[str, ...], note: str, dry_run: bool) -> None:
    """Split an identity by choosing which records go where; the largest part keeps the id."""
    groups = [[ref.strip() for ref in part.split(",") if ref.strip()] for part in parts]
    with unit_of_work() as session:
        if dry_run:
            preview = service.preview_split(session=session, public_id=identity_id, parts=groups)
            for part in preview["parts"]:
                click.echo(f"{part['identity'] or 'new identity'}: {', '.join(part['records'])}")
            return
        entry = _decided(session, decisions.split, public_id=identity_id, parts=groups, note=note)
        print_change(entry)


@click.command("undo")
@click.argument("change_id", type=int)
@click.option("--note", default="", help="Why; kept in the audit trail.")
@with_appcontext
def undo_command(change_id: int, note: str) -> None:
    """Undo a merge, split or decision (a change id from the audit trail)."""
    with unit_of_work() as session:
        entry = _decided(session, undoing.undo_entry, entry_id=change_id, note=note)
        print_change(entry)


@click.command("history")
@click.argument("identity_id")
@click.option("--limit", default=50, show_default=True, help="How many changes to show.")
@with_appcontext
def history_command(identity_id: str, limit: int) -> None:
    """The story of an identity, newest first, including the identities merged into it."""
    with unit_of_work() as session:
        identity = identities.get_by_public_id(session=session, public_id=identity_id)
        merged = identities.merged_into(session=session, identity=identity)
        entries = audit.list_entries(
            session=session, limit=limit, identities=[identity.public_id, *merged]
        )
        if merged:
            click.echo(f"{identity.public_id} absorbed {', '.join(merged)}")
        for entry in entries:
            undone = f" (undone by {entry.undone_by_id})" if entry.undone_by_id else ""
            reason = f": {entry.reason}" if entry.reason else ""
            click.echo(
                f"{entry.at:%Y-%m-%d %H:%M:%S}  #{entry.id}  {entry.action} by {entry.actor}"
                f"{reason}{undone}"
            )


COMMANDS: tuple[click.Command, ...] = (
    review_group,
    merge_command,
    split_command,
    undo_command,
    history_command,
)
