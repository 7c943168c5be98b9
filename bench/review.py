"""The review workflow on a resolved store: how long an admin waits.

1. N synthetic records (three departments) are stored and resolved in batch; the matcher's
   possible matches become the queue.
2. The first listing weighs every item (priority); later pages are read by cursor.
3. Items are shown side by side, decided (merge), and the decisions undone, one transaction
   each, as an admin would: p50/p99 per operation.

    .venv/bin/python -m bench review [--records 20000] [--decisions 50]
        [--backend postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app import create_app, migrate
from app.db import Database, get_db
from app.errors import Conflict
from app.ingest import decisions, flows
from app.ingest import undo as undoing
from app.resolution import explain
from app.resolution.runtime import current_matcher
from app.review import service as review
from app.review.models import ReviewItem
from app.settings import get_settings
from app.settings.sources import SourcePolicy
from bench.realtime import store_unresolved
from bench.sync import DEFAULT_SERVER, fresh_database
from connectors.sandbox.people import generate_records

MINUTES = 30.0


def _url(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='huella-bench-')}/bench.db"
    return fresh_database(DEFAULT_SERVER, "huella_bench_review")


def _load(database: Database, policy: SourcePolicy, count: int, seed: int) -> None:
    with database.unit_of_work() as session:
        store_unresolved(session, policy, generate_records(count, seed=seed))


def _timed(database: Database, work: Callable[[Any], Any]) -> tuple[float, Any]:
    """Milliseconds one committed unit of work took, and its result."""
    started = time.perf_counter()
    with database.unit_of_work() as session:
        result = work(session)
    return (time.perf_counter() - started) * 1000, result


def _figures(label: str, times: Sequence[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"{label} p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms"


def _run(app: Flask, args: argparse.Namespace) -> None:
    database = get_db(app)
    began = time.perf_counter()
    _load(database, get_settings(app).sources, args.records, args.seed)
    with database.unit_of_work() as session:
        flows.resolve_all(
            session=session, settings=get_settings(), matcher=current_matcher(session)
        )
        items = session.scalar(select(func.count()).where(ReviewItem.status == "open"))
    print(
        f"[{args.backend}] {args.records} records stored and resolved in "
        f"{time.perf_counter() - began:.1f} s; {items} open review items",
        flush=True,
    )

    def page(after: tuple[float, int] | None) -> Callable[[Any], Any]:
        return lambda s: review.list_items(
            session=s,
            matcher=current_matcher(s),
            limit=args.page,
            kind="possible_match",
            after=after,
        )

    first, listed = _timed(database, page(None))
    pages, after = [], (listed[-1].priority, listed[-1].id) if listed else None
    shown: list[int] = [item.id for item in listed]
    while after is not None and len(pages) < 20:
        took, listed = _timed(database, page(after))
        pages.append(took)
        shown.extend(item.id for item in listed)
        after = (listed[-1].priority, listed[-1].id) if len(listed) == args.page else None
    print(
        f"[{args.backend}] first listing (weighs every item) {first:.0f} ms; "
        + _figures(f"next pages of {args.page}", pages or [first]),
        flush=True,
    )
    chosen = shown[: args.decisions]
    showing = [
        _timed(
            database,
            lambda s, i=item: explain.compare_item(
                session=s,
                settings=get_settings(),
                matcher=current_matcher(s),
                item_id=i,
                minutes=MINUTES,
            ),
        )[0]
        for item in chosen
    ]
    changes: list[int] = []
    deciding = []
    moot = 0
    for item in chosen:
        try:
            took, (_, entry) = _timed(
                database,
                lambda s, i=item: decisions.decide(
                    session=s,
                    settings=get_settings(),
                    matcher=current_matcher(s),
                    item_id=i,
                    decision="merge",
                    actor="bench",
                    minutes=MINUTES,
                ),
            )
        except Conflict:  # an earlier merge joined these identities already
            moot += 1
            continue
        deciding.append(took)
        changes.append(entry.id)
    undone = [
        _timed(
            database,
            lambda s, c=change: undoing.undo_entry(
                session=s,
                settings=get_settings(),
                matcher=current_matcher(s),
                entry_id=c,
                actor="bench",
            ),
        )[0]
        for change in reversed(changes)
    ]
    print(
        f"[{args.backend}] {_figures('side by side', showing)}; "
        f"{_figures('merge decision', deciding)}; {_figures('undo', undone)} "
        f"({len(deciding)} decisions, {moot} items made moot by earlier merges)",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Load and resolve, then time the queue, comparisons, decisions and undos."""
    parser = argparse.ArgumentParser(prog="bench review", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    app = create_app({"DATABASE_URL": _url(args.backend), "LOG_LEVEL": "WARNING"})
    migrate.upgrade(get_db(app).engine)
    with app.app_context():
        _run(app, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
