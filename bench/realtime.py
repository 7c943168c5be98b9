"""Resolution on the store: `huella resolve --full` end to end, then real-time ingest on top.

1. N synthetic records are written to the store and resolved in batch (what `huella resolve
   --full` runs), timed end to end.
2. M more records arrive one at a time (one transaction each, as a push of one record):
   per-record latency p50/p99; then P more in pages of one department each (a connector's
   page, a push of one source): records/s over the whole run, and the slowest and fastest
   stretch of a tenth of it, so that a rate that sags as the store grows shows.
3. The real-time partition is compared with a batch run over everything.

    .venv/bin/python -m bench realtime [--stored 100000] [--arriving 2000] [--paged 10000]
        [--backend both|postgresql|sqlite] [--keep]

On PostgreSQL the resolved store is vacuumed and analyzed before real time starts, as autovacuum
does on a production server after a bulk write (this machine runs PostgreSQL with autovacuum off),
and what the bulk write left in memory is written out first, so commits do not queue behind it.
With ``--keep`` it is also kept as a template database, and a later run with the same
``--stored``, ``--arriving``, ``--paged`` and ``--seed`` starts from a copy of it instead of
loading and resolving again (building 1M records took 10 to 15 minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, pairwise, zip_longest

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from app import create_app, migrate
from app.db import Database, get_db, utcnow
from app.ingest import flows
from app.ingest.flows import IngestReport, ingest_page
from app.matching import Matcher
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.settings.sources import SourcePolicy
from app.source import service as sources
from app.source.models import SourceRecord
from bench.sync import DEFAULT_SERVER, fresh_database
from connectors import Page, RecordIn
from connectors.sandbox.people import DepartmentRecord, generate_records

BENCH_DATABASE = "huella_bench_realtime"


def _url(backend: str, folder: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder}/bench.db"
    return fresh_database(DEFAULT_SERVER, BENCH_DATABASE)


def _database_exists(name: str) -> bool:
    engine = create_engine(DEFAULT_SERVER)
    try:
        with engine.connect() as connection:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return connection.execute(query, {"name": name}).first() is not None
    finally:
        engine.dispose()


def _kept_name(stored: int, total: int, seed: int) -> str:
    # The generator's people depend on how many records it makes: the counts name the data.
    return f"{BENCH_DATABASE}_{stored}_of_{total}_s{seed}"


def _copy_kept(stored: int, total: int, seed: int) -> str | None:
    """The bench database as a copy of a kept store, None when none was kept."""
    kept = _kept_name(stored, total, seed)
    if not _database_exists(kept):
        return None
    return fresh_database(DEFAULT_SERVER, BENCH_DATABASE, template=kept)


def _vacuum(database: Database) -> float:
    """VACUUM ANALYZE the store, as autovacuum would after a bulk write, and write out what the
    bulk write left in memory (a checkpoint), so that real time does not wait behind it;
    returns seconds."""
    began = time.perf_counter()
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        connection.execute(text("CHECKPOINT"))
    os.sync()
    return time.perf_counter() - began


def _keep(database: Database, stored: int, total: int, seed: int) -> None:
    """Keep the resolved store as a template for later runs."""
    database.dispose()
    fresh_database(DEFAULT_SERVER, _kept_name(stored, total, seed), template=BENCH_DATABASE)


def _record_in(record: DepartmentRecord) -> RecordIn:
    return RecordIn(record.external_id, dict(record.attributes), dict(record.attributes))


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _partition(session: object) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for record_id, identity_id in session.execute(  # type: ignore[attr-defined]
        select(SourceRecord.id, SourceRecord.identity_id).where(SourceRecord.deleted_at.is_(None))
    ):
        groups.setdefault(identity_id, set()).add(record_id)
    return {frozenset(g) for g in groups.values()}


def _load(database: Database, records: Iterator[DepartmentRecord], count: int) -> float:
    """Write ``count`` records straight into the store, unresolved; returns seconds."""
    began = time.perf_counter()
    with database.unit_of_work() as session:
        store_unresolved(session, get_settings().sources, islice(records, count))
    return time.perf_counter() - began


def store_unresolved(
    session: Session, policy: SourcePolicy, records: Iterable[DepartmentRecord]
) -> None:
    """Write synthetic records straight into the store as three push departments' records
    (sales, support, marketing), unresolved: past ingest, which the benchmark does not time."""
    now = utcnow()
    source_ids = {
        name: sources.create(session=session, name=name, kind="push", policy=policy).id
        for name in ("sales", "support", "marketing")
    }
    rows = [
        {
            "source_id": source_ids[r.department],
            "external_id": r.external_id,
            "raw": dict(r.attributes),
            "attributes": dict(r.attributes),
            "content_hash": str(n),
            "first_seen_at": now,
            "updated_at": now,
        }
        for n, r in enumerate(records)
    ]
    session.execute(insert(SourceRecord.__table__), rows)  # type: ignore[arg-type]


def _ingest(database: Database, matcher: Matcher, records: Sequence[DepartmentRecord]) -> None:
    """One transaction: the records pushed to their departments' sources and resolved."""
    with database.unit_of_work() as session:
        by_source: dict[str, list[RecordIn]] = {}
        for record in records:
            by_source.setdefault(record.department, []).append(_record_in(record))
        for name, page_records in by_source.items():
            source = sources.get_by_name(session=session, name=name)
            page = Page(state={}, records=page_records)
            ingest_page(
                session=session,
                settings=get_settings(),
                source=source,
                page=page,
                matcher=matcher,
                report=IngestReport(),
            )


def _department_pages(
    records: Sequence[DepartmentRecord], size: int
) -> list[list[DepartmentRecord]]:
    """Pages of ``size`` records of one department each, as a connector or a push delivers
    them, the departments taking turns in the order their records arrived."""
    by_department: dict[str, list[DepartmentRecord]] = {}
    for record in records:
        by_department.setdefault(record.department, []).append(record)
    queues = [
        [held[start : start + size] for start in range(0, len(held), size)]
        for held in by_department.values()
    ]
    return [page for turn in zip_longest(*queues) for page in turn if page]


def _store_and_resolve(
    database: Database, records: Iterator[DepartmentRecord], stored: int, tag: str
) -> None:
    """Write the stored records, then resolve them all (what `huella resolve --full` runs)."""
    loaded = _load(database, records, stored)
    began = time.perf_counter()
    with database.unit_of_work() as session:
        report = flows.resolve_all(
            session=session, settings=get_settings(), matcher=current_matcher(session)
        )
    full = time.perf_counter() - began
    print(
        f"{tag} stored {stored} records in {loaded:.1f} s; resolve --full {full:.1f} s "
        f"({stored / full:.0f} records/s), {report.created} identities",
        flush=True,
    )


def _one_at_a_time(
    database: Database, matcher: Matcher, records: Sequence[DepartmentRecord], tag: str
) -> None:
    if not records:
        return
    latencies = []
    for record in records:
        started = time.perf_counter()
        _ingest(database, matcher, [record])
        latencies.append((time.perf_counter() - started) * 1000)
    print(
        f"{tag} one record a transaction, {len(records)} records: "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {_percentile(latencies, 0.99):.1f} "
        f"ms, {len(records) / (sum(latencies) / 1000):.0f} records/s",
        flush=True,
    )


def _in_pages(
    database: Database, matcher: Matcher, records: Sequence[DepartmentRecord], size: int, tag: str
) -> None:
    pages = _department_pages(records, size)
    if not pages:
        return
    took = []
    for page in pages:
        began = time.perf_counter()
        _ingest(database, matcher, page)
        took.append(time.perf_counter() - began)
    # Ten stretches of about a tenth of the pages each: the slowest shows whether the rate
    # holds up as the store grows, not just on average.
    bounds = sorted({len(pages) * n // 10 for n in range(11)})
    rates = [sum(len(p) for p in pages[a:b]) / sum(took[a:b]) for a, b in pairwise(bounds)]
    print(
        f"{tag} pages of {size} (one department each): {len(records)} records in "
        f"{sum(took):.1f} s = {len(records) / sum(took):.0f} records/s; tenths of the run: "
        f"slowest {min(rates):.0f}, fastest {max(rates):.0f} records/s",
        flush=True,
    )
    print(f"{tag} records/s tenth by tenth: {' '.join(f'{r:.0f}' for r in rates)}")


def _run(args: argparse.Namespace, backend: str) -> None:
    """The whole benchmark on one backend (a SQLite store is deleted at the end)."""
    with tempfile.TemporaryDirectory(prefix="huella-bench-") as folder:
        _run_in(args, backend, folder)


def _run_in(args: argparse.Namespace, backend: str, folder: str) -> None:
    tag = f"[{backend}]"
    postgresql = backend == "postgresql"
    total = args.stored + args.arriving + args.paged
    kept = _copy_kept(args.stored, total, args.seed) if postgresql and args.keep else None
    app = create_app({"DATABASE_URL": kept or _url(backend, folder), "LOG_LEVEL": "WARNING"})
    database = get_db(app)
    migrate.upgrade(database.engine)
    records = generate_records(total, seed=args.seed)
    with app.app_context():
        if kept:
            list(islice(records, args.stored))  # stored by the run that kept the store
            print(f"{tag} stored {args.stored} records, resolved: copied from a kept store")
        else:
            _store_and_resolve(database, records, args.stored, tag)
            if postgresql:
                print(f"{tag} VACUUM ANALYZE, CHECKPOINT {_vacuum(database):.1f} s", flush=True)
            if postgresql and args.keep:
                _keep(database, args.stored, total, args.seed)
        with database.unit_of_work() as session:
            matcher = current_matcher(session)
        _one_at_a_time(database, matcher, list(islice(records, args.arriving)), tag)
        _in_pages(database, matcher, list(islice(records, args.paged)), args.page, tag)
        if args.agreement:
            with database.unit_of_work() as session:
                real_time = _partition(session)
                flows.resolve_all(session=session, settings=get_settings(), matcher=matcher)
                differ = real_time ^ _partition(session)
            print(
                f"{tag} real time vs batch over all {total} records: "
                f"{len(differ)} clusters differ (~{sum(len(c) for c in differ) // 2} records)",
                flush=True,
            )
    database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Load, batch-resolve, then ingest in real time; print the figures."""
    parser = argparse.ArgumentParser(prog="bench realtime", description=__doc__)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument(
        "--arriving", type=int, default=2_000, help="records arriving one a transaction"
    )
    parser.add_argument("--paged", type=int, default=10_000, help="records arriving in pages")
    parser.add_argument("--page", type=int, default=200, help="page size of the throughput run")
    parser.add_argument(
        "--backend",
        choices=("postgresql", "sqlite", "both"),
        default="both",
        help="the store to measure (both: SQLite, then PostgreSQL)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", action="store_true", help="keep the resolved store for later runs (PostgreSQL)"
    )
    parser.add_argument(
        "--agreement",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compare real time with a batch run over everything at the end",
    )
    args = parser.parse_args(argv)
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        _run(args, backend)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
