"""Erasure on PostgreSQL: a store of generated department records, resolved, with events; one
customer holds 10,000 of them. Erases that customer (the real flow, committed) and prints how
long it took and what it removed, table by table. Prints figures; asserts nothing.

    .venv/bin/python -m bench erasure [--records 20000] [--events 10000] [--others 20000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app import create_app, migrate
from app.db import get_db
from app.event import intake
from app.ingest import event_flows, flows
from app.ingest.erasure import erase
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source import service as sources
from app.source.models import Source, SourceRecord
from bench.sync import DEFAULT_SERVER, fresh_database
from connectors import Page, RecordIn
from connectors.sandbox.people import DepartmentRecord, generate_records

BENCH_DATABASE = "huella_bench_erasure"
KEY_ENV = "HUELLA_SECRET_SUPPRESSION_KEY"
PAGE = 1000
START = datetime(2023, 1, 1, tzinfo=UTC)


def _pages(records: Iterator[DepartmentRecord]) -> Iterator[list[DepartmentRecord]]:
    while page := list(islice(records, PAGE)):
        yield page


def load(app: Flask, records: int) -> None:
    """Store generated records page by page through the ingest flow, then resolve in batch."""
    database, settings = get_db(app), get_settings(app)
    with database.unit_of_work() as session:
        for name in ("sales", "support", "marketing"):
            sources.create(session=session, name=name, kind="push", policy=settings.sources)
    for page in _pages(generate_records(records, seed=18)):
        by_department: dict[str, list[RecordIn]] = {}
        for record in page:
            by_department.setdefault(record.department, []).append(
                RecordIn(record.external_id, record.attributes, record.attributes)
            )
        with database.unit_of_work() as session:
            for name, held in by_department.items():
                source = sources.get_by_name(session=session, name=name)
                flows.ingest_page(
                    session=session,
                    settings=settings,
                    source=source,
                    page=Page(state={}, records=held),
                    matcher=None,
                    pipeline=current_matcher(session).pipeline,
                    report=flows.IngestReport(),
                )
    with database.unit_of_work() as session:
        # As after a first load: the model is fitted to the store, then everything resolved.
        flows.resolve_pending(session=session, settings=settings, matcher=current_matcher(session))


def events(subject: str, count: int, label: str) -> Iterator[list[dict[str, Any]]]:
    """Batches of events naming one customer by a record reference."""
    for start in range(0, count, PAGE):
        yield [
            {
                "record": subject,
                "id": f"{label}-{n}",
                "type": "page_view" if n % 5 else "order",
                "occurred_at": (START + timedelta(minutes=n)).isoformat(),
                "properties": {"category": "running gear", "url": f"/p/{n % 97}", "amount": 10},
            }
            for n in range(start, min(start + PAGE, count))
        ]


def add_events(app: Flask, busy: int, others: int) -> str:
    """``busy`` events of one customer held by all three departments and ``others`` spread over
    customers of ten each; returns the busy customer's sales reference."""
    database, settings = get_db(app), get_settings(app)
    with database.unit_of_work() as session:
        held = session.execute(
            select(SourceRecord.identity_id)
            .where(SourceRecord.identity_id.is_not(None))
            .group_by(SourceRecord.identity_id)
            .having(func.count(func.distinct(SourceRecord.source_id)) == 3)
            .order_by(SourceRecord.identity_id)
            .limit(1)
        ).scalar_one()
        rows = session.execute(
            select(SourceRecord.external_id, SourceRecord.identity_id)
            .join(SourceRecord.source)
            .where(Source.name == "sales")
            .order_by(SourceRecord.identity_id != held, SourceRecord.id)
            .limit(others // 10 + 1)
        ).all()
    target = f"sales:{rows[0].external_id}"
    batches = list(events(target, busy, "busy"))
    others_batch: list[dict[str, Any]] = []
    for index, row in enumerate(rows[1:]):
        for batch in events(f"sales:{row.external_id}", 10, f"o{index}"):
            others_batch += batch
    batches += [others_batch[i : i + PAGE] for i in range(0, len(others_batch), PAGE)]
    for batch in batches:
        # As POST /api/v1/events queues them and a worker writes them.
        with database.unit_of_work() as session:
            source = sources.get_by_name(session=session, name="sales")
            intake.queue_batch(session=session, source=source, items=batch, only_own=False)
        with database.unit_of_work() as session:
            event_flows.record_queued_events(session=session, settings=settings, events=len(batch))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Build the store, erase the busy customer, print the figures."""
    parser = argparse.ArgumentParser(prog="bench erasure", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000, help="department records")
    parser.add_argument("--events", type=int, default=10_000, help="events of the erased one")
    parser.add_argument("--others", type=int, default=20_000, help="events of other customers")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    args = parser.parse_args(argv)
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    url = fresh_database(args.server, BENCH_DATABASE)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    migrate.upgrade(get_db(app).engine)
    began = time.perf_counter()
    with app.app_context():
        load(app, args.records)
        target = add_events(app, args.events, args.others)
        print(
            f"store: {args.records} records, {args.events} events of {target}, "
            f"{args.others} of others, built in {time.perf_counter() - began:.0f} s",
            flush=True,
        )
        database, settings = get_db(app), get_settings(app)
        for dry_run in (True, False):
            started = time.perf_counter()
            with database.unit_of_work() as session:
                report = erase(
                    session=session,
                    settings=settings,
                    matcher=current_matcher(session),
                    reference=target,
                    actor="bench",
                    reason="bench",
                    dry_run=dry_run,
                )
            seconds = time.perf_counter() - started
            what = "dry run" if dry_run else "erasure"
            touched = [table for table, rows in report.tables.items() if rows]
            print(
                f"{what}: {seconds:.2f} s, {sum(report.records.values())} records, "
                f"{report.tables.get('event', 0)} events, {len(report.tables)} tables checked, "
                f"{len(touched)} with rows of this customer, {report.suppressed} digests",
                flush=True,
            )
        for table, rows in report.tables.items():
            print(f"  {table:<18} {rows}")
    get_db(app).dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
