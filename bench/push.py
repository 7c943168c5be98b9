"""One push, end to end, as the API serves it: CPU and SQL statements per push.

A store of N records is loaded and resolved in batch (fitted, as after a first load), then M
new customers are pushed one at a time through the API (``POST /api/v1/sources/NAME/records``
in the Flask test client: authentication, schema, flow, commit). For each push: this process's
CPU, the statements it sent, and (over the whole run) the CPU of the PostgreSQL backends that
served it. CPU seconds hold on a busy machine where wall times do not; `bench scale` measures
the latency under 20 concurrent clients.

    .venv/bin/python -m bench push [--stored 6000] [--pushes 300] [--server URL]
        [--statements] [--profile FILE] [--database huella_bench_push]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from itertools import islice
from typing import Any

from sqlalchemy import event

from app import create_app, migrate
from app.auth import service as tokens
from app.db import bulk, get_db
from app.ingest import flows
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from bench.measure import backends_cpu
from bench.realtime import _load, _percentile, _vacuum
from bench.sync import DEFAULT_SERVER, fresh_database
from connectors.sandbox.people import generate_records

BENCH_DATABASE = "huella_bench_push"


def _shape(statement: str) -> str:
    """A statement without its literal lists: one line per kind of statement."""
    one_line = " ".join(statement.split())
    return re.sub(
        r"\(\s*(%\(\w+\)s|\?|\$\d+)(\s*,\s*(%\(\w+\)s|\?|\$\d+))*\s*\)", "(...)", one_line
    )


def _stored(app: Any, database: Any, records: Any, count: int) -> str:
    """Load and resolve ``count`` records in batch, fitted; returns an admin token."""
    with app.app_context():
        _load(database, records, count)
        began = time.process_time()
        with database.unit_of_work() as session:
            report = flows.resolve_all(
                session=session,
                settings=get_settings(),
                matcher=current_matcher(session),
                fit=True,
            )
        print(
            f"stored {count} records, fitted and resolved in "
            f"{time.process_time() - began:.1f} s CPU: {report.created} identities",
            flush=True,
        )
        _vacuum(database)
        with database.unit_of_work() as session:
            _, secret = tokens.create(session=session, name="bench", role="admin")
    return secret


def _counting(database: Any) -> list[str]:
    """The statements sent to the store from now on, on both engines (reads outside a
    transaction have their own: the token's, on PostgreSQL), and those the driver runs for
    bulk inserts, which pass no engine event; appended as they go."""
    sent: list[str] = []
    for engine in {database.engine, database.read_engine}:
        event.listen(
            engine,
            "before_cursor_execute",
            lambda _conn, _cursor, statement, *_: sent.append(statement),
        )
    writer = bulk._writer

    def counted_writer(connection: Any, table: Any, columns: Any, rows: Any) -> Any:
        sent.append(f"(driver) INSERT INTO {table.name} ({len(rows)} rows)")
        return writer(connection, table, columns, rows)

    bulk._writer = counted_writer  # type: ignore[assignment]
    return sent


def main(argv: Sequence[str] | None = None) -> int:
    """Load, resolve, push one customer at a time; print CPU and statements per push."""
    parser = argparse.ArgumentParser(prog="python -m bench push", description=__doc__)
    parser.add_argument("--stored", type=int, default=6000, help="records stored first")
    parser.add_argument("--pushes", type=int, default=300, help="customers pushed, one a push")
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument(
        "--database",
        default=BENCH_DATABASE,
        help="the database it drops and makes (one of its own when others run it at once)",
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--statements", action="store_true", help="list the statements of a push by kind"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="profile the pushes (CPU time) into FILE, and print"
    )
    args = parser.parse_args(argv)
    url = fresh_database(args.server, args.database)
    app = create_app(
        {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "RATE_LIMITS": {"enabled": False}}
    )
    database = get_db(app)
    migrate.upgrade(database.engine)
    records = generate_records(args.stored + args.pushes, seed=args.seed)
    headers = {"Authorization": f"Bearer {_stored(app, database, records, args.stored)}"}
    arriving = list(islice(records, args.pushes))
    sent = _counting(database)
    client = app.test_client()
    client.get("/api/v1/sources", headers=headers)  # the first request sets things up
    cpu: list[float] = []
    counts: list[int] = []
    kinds: Counter[str] = Counter()
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    database_before = backends_cpu(database.engine)
    for record in arriving:
        body = {"records": [{"external_id": record.external_id, "attributes": record.attributes}]}
        del sent[:]
        began = time.process_time()
        if profiler:
            profiler.enable()
        answer = client.post(
            f"/api/v1/sources/{record.department}/records", json=body, headers=headers
        )
        if profiler:
            profiler.disable()
        cpu.append((time.process_time() - began) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"push answered {answer.status_code}: {answer.get_data(as_text=True)}")
        counts.append(len(sent))
        kinds.update(_shape(s) for s in sent)
    database_cpu = (backends_cpu(database.engine) - database_before) * 1000 / len(arriving)
    print(
        f"{len(arriving)} pushes of one customer onto {args.stored} records: CPU of a push "
        f"(the API process) p50 {statistics.median(cpu):.1f} ms, mean {statistics.mean(cpu):.1f}"
        f" ms, p99 {_percentile(cpu, 0.99):.1f} ms; PostgreSQL {database_cpu:.1f} ms a push; "
        f"statements a push p50 {statistics.median(counts):.0f}, mean "
        f"{statistics.mean(counts):.1f}, max {max(counts)}",
        flush=True,
    )
    if args.statements:
        for shape, number in kinds.most_common():
            print(f"{number / len(arriving):6.2f}  {shape[:220]}")
    if profiler:
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    database.dispose()
    return 0
