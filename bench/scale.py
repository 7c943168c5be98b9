"""Scale-out on PostgreSQL: resolution in parallel worker processes, pushes under concurrent
clients, event intake at web scale, and (optionally) a long mixed load. Prints figures beside
the targets of the 2-core machine; asserts nothing.

1. Real time with 1, then 2 worker processes: the same records, in pages of one department
   each (as syncs and pushes bring them), each page stored and resolved in its own transaction
   by whichever process takes it, on a fresh store each time: records/s, and p99 of a page.
   The two partitions are compared. Target: 2 processes >= 1.6x the records/s of one.
2. Pushes: the API under gunicorn as the README runs it (``app.security.gunicorn``'s settings;
   ``GUNICORN_CMD_ARGS`` tries others), 20 clients each pushing one new customer at a time:
   p50/p99 latency. Target: p99 <= 500 ms.
3. Events: clients post batches of 1,000 (page views, some orders by e-mail) while `huella
   worker --concurrency 2` writes them: events/s accepted, and p50/p99 from the 202 to the
   batch's last event on the timeline. Targets: >= 5,000/s accepted, p99 <= 2 s.
4. ``--mixed SECONDS``: pushes, a sync scheduled every 10 s against a changing CRM sandbox,
   events, merges and their undos, and erasures, all at once; then the deadlocks PostgreSQL
   broke, every error, and whether `huella resolve --full` keeps the partition.

    .venv/bin/python -m bench scale [--records 6000] [--page 20] [--seconds 30]
        [--mixed 0] [--server URL] [--broker redis://127.0.0.1:6379/0]
        [--database huella_bench_scale] [--port 5091]

Every process shares the machine's two cores with the database, the broker and the load
generator itself: figures are those of one small machine, and noisy when others run on it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from app import create_app, migrate
from app.auth import service as tokens
from app.db import get_db, retry_contended
from app.identity.models import Identity
from app.ingest import flows, tasks
from app.ingest.flows import IngestReport, ingest_page
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source import service as sources
from app.source.models import Source, SourceRecord
from bench.measure import backend_pids, backends_cpu, cpu_seconds, cpu_wait, deadlocks
from bench.realtime import _department_pages, _percentile, _record_in, store_unresolved
from bench.sync import DEFAULT_SERVER, fresh_database
from connectors import Page
from connectors.sandbox import SANDBOX_TOKEN, Faults, connector_settings, start_sandboxes
from connectors.sandbox.people import DepartmentRecord, generate_records

BENCH_DATABASE = "huella_bench_scale"
DEPARTMENTS = ("sales", "support", "marketing")
TOKEN_ENV = "HUELLA_SECRET_BENCH_SCALE"
PORT = 5091


def _quiet_app(url: str) -> Any:
    return create_app(
        {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "RATE_LIMITS": {"enabled": False}}
    )


def _migrated(server: str, database: str) -> str:
    """A fresh, migrated store in ``database``."""
    url = fresh_database(server, database)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def _prepare(server: str, database: str) -> str:
    """A fresh, migrated store in ``database`` with the three departments' push sources."""
    url = _migrated(server, database)
    app = _quiet_app(url)
    with app.app_context(), get_db(app).unit_of_work() as session:
        for name in DEPARTMENTS:
            sources.create(session=session, name=name, kind="push", policy=get_settings().sources)
    get_db(app).dispose()
    return url


def _loaded(server: str, records: Sequence[DepartmentRecord], database: str) -> None:
    """Without part 1: the store as part 1 leaves it (its records stored and resolved), made in
    one batch, fitted (in seconds, not part 1's minutes)."""
    url = _migrated(server, database)
    app = _quiet_app(url)
    database = get_db(app)
    with app.app_context():
        with database.unit_of_work() as session:
            store_unresolved(session, get_settings().sources, records)
        with database.unit_of_work() as session:
            flows.resolve_all(
                session=session,
                settings=get_settings(),
                matcher=current_matcher(session),
                fit=True,
            )
    print(f"{len(records)} records stored and resolved in batch (part 1 skipped)", flush=True)
    database.dispose()


# -- 1. real time in worker processes -------------------------------------------------------


def _resolve_pages(
    url: str, pages: Any, start: Any, done: Any, number: int
) -> None:  # pragma: no cover - runs in a child process
    """A worker process: take pages off the queue and store and resolve each in its own
    transaction, as a sync's page or a push does; report each page's seconds."""
    app = _quiet_app(url)
    database = get_db(app)
    with app.app_context():
        with database.session() as session:
            matcher = current_matcher(session)
        start.wait()
        took: list[tuple[int, float]] = []
        cpu, queued = time.process_time(), cpu_wait()
        while (page := pages.get()) is not None:
            began = time.perf_counter()
            _resolve_one(database, matcher, page[0], page[1])
            took.append((len(page[1]), time.perf_counter() - began))
        cpu, queued = time.process_time() - cpu, cpu_wait() - queued
        backends = backend_pids(database.engine, but_this_one=True)
    done.put((number, took, cpu, {pid: cpu_seconds(pid) for pid in backends}, queued))
    database.dispose()


def _resolve_one(database: Any, matcher: Any, source_name: str, records: list[Any]) -> None:
    """Store and resolve one page in its own transaction, as a sync's page does."""
    with database.session() as session:
        source = sources.get_by_name(session=session, name=source_name)
        retry_contended(
            session,
            lambda: ingest_page(
                session=session,
                settings=get_settings(),
                source=source,
                page=Page(state={}, records=records),
                matcher=matcher,
                report=IngestReport(),
            ),
        )
        session.commit()


def _partition(url: str) -> set[frozenset[tuple[str, str]]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Source.name, SourceRecord.external_id, SourceRecord.identity_id)
            .join(Source)
            .where(SourceRecord.deleted_at.is_(None))
        ).all()
    engine.dispose()
    groups: dict[int | None, set[tuple[str, str]]] = {}
    for name, external_id, identity_id in rows:
        groups.setdefault(identity_id, set()).add((name, external_id))
    return {frozenset(group) for group in groups.values()}


def realtime(
    server: str, records: Sequence[DepartmentRecord], size: int, processes: int, database: str
) -> Any:
    """Resolve the records in pages with ``processes`` worker processes, in ``database``;
    prints and returns records/s and the partition."""
    url = _prepare(server, database)
    context = multiprocessing.get_context("spawn")
    pages, done, start = context.Queue(), context.Queue(), context.Event()
    for page in _department_pages(records, size):
        pages.put((page[0].department, [_record_in(r) for r in page]))
    for _ in range(processes):
        pages.put(None)
    children = [
        context.Process(target=_resolve_pages, args=(url, pages, start, done, n))
        for n in range(processes)
    ]
    for child in children:
        child.start()
    time.sleep(3)  # every process has built its matcher before the clock starts
    # NullPool: the question's connection closes after it, and is no idle backend in the run.
    database_before = backends_cpu(create_engine(url, poolclass=NullPool))
    began = time.perf_counter()
    start.set()
    reports = [done.get() for _ in children]
    wall = time.perf_counter() - began
    took = [page for report in reports for page in report[1]]
    workers_cpu = sum(report[2] for report in reports)
    starved = sum(report[4] for report in reports) / len(reports) / wall
    # Each backend's CPU, the highest reading of it (they are read at different moments).
    backends: dict[int, float] = {}
    for report in reports:
        for pid, seconds in report[3].items():
            backends[pid] = max(backends.get(pid, 0.0), seconds)
    database_cpu = sum(backends.values()) - database_before
    for child in children:
        child.join()
    rate = len(records) / wall
    seconds = [s * 1000 for _, s in took]
    print(
        f"real time, {processes} worker process{'es' if processes > 1 else ''}: "
        f"{len(records)} records in pages of {size} in {wall:.1f} s = {rate:.0f} records/s; "
        f"a page p50 {statistics.median(seconds):.0f} ms, p99 {_percentile(seconds, 0.99):.0f} ms;"
        f" CPU used: {(workers_cpu + database_cpu) / wall:.2f} cores "
        f"(workers {workers_cpu / wall:.2f}, PostgreSQL {database_cpu / wall:.2f}); "
        f"a worker waited for a CPU {starved:.0%} of the time",
        flush=True,
    )
    return rate, _partition(url)


# -- the API, workers and load ----------------------------------------------------------------


@dataclass
class Stack:
    """gunicorn, workers and the scheduler on the benchmark's store and broker."""

    url: str
    broker: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "HUELLA_DATABASE_URL": self.url,
            "HUELLA_BROKER_URL": self.broker,
            # A queue of its own per database: two runs at once do not take each other's tasks.
            "HUELLA_TASK_QUEUE": f"bench-{make_url(self.url).database}",
            "HUELLA_LOG_LEVEL": "WARNING",
            "HUELLA_RATE_LIMITS": "{enabled = false}",
            "HUELLA_SECRET_SUPPRESSION_KEY": "bench-" + "k" * 40,
            "HUELLA_CONNECTORS": '{allowed_hosts = ["http://127.0.0.1:*"]}',
            "HUELLA_SCHEDULER": "{interval_seconds = 1}",
            TOKEN_ENV: SANDBOX_TOKEN,
        }

    def start(self, name: str, *command: str) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(
                list(command),
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def stack(
    url: str, broker: str, folder: Path, *, workers: int, scheduler: bool, port: int = PORT
) -> Iterator[tuple[str, Stack]]:
    """Serve the API as the README runs it, with workers; yields its base URL and processes."""
    bin_folder = Path(sys.executable).parent
    running = Stack(url, broker, folder)
    running.start(
        "api",
        str(bin_folder / "gunicorn"),
        "-c",
        "python:app.security.gunicorn",
        "-b",
        f"127.0.0.1:{port}",
        "app:create_app()",
    )
    huella = str(bin_folder / "huella")
    if workers:
        running.start("worker", huella, "worker", f"--concurrency={workers}")
    if scheduler:
        running.start("scheduler", huella, "scheduler")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the API did not start") from None
                time.sleep(0.5)
        time.sleep(3)  # the workers connect to the broker
        yield base, running
    finally:
        running.stop()


def _token(url: str) -> str:
    app = _quiet_app(url)
    with app.app_context(), get_db(app).unit_of_work() as session:
        _, secret = tokens.create(session=session, name="bench", role="admin")
    get_db(app).dispose()
    return secret


def call(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One API call; its status and decoded body (None when empty)."""
    request = urllib.request.Request(
        base + path,
        data=None if body is None else orjson.dumps(body),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            data = response.read()
            return response.status, orjson.loads(data) if data else None
    except urllib.error.HTTPError as error:
        return error.code, None
    except OSError:  # no answer within a minute (a hang), or the connection dropped
        return 0, None


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (gunicorn's master and workers)."""
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent(int(entry.name)) == pid
    ]
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in children)


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def pushes(
    base: str,
    token: str,
    records: Sequence[DepartmentRecord],
    clients: int,
    seconds: float,
    api: Callable[[], float] = lambda: 0.0,
    database: Callable[[], float] = lambda: 0.0,
) -> None:
    """``clients`` threads each push one customer at a time for ``seconds``; then the CPU a
    push cost the API processes (``api``: their CPU seconds so far), PostgreSQL
    (``database``) and this load generator: on a busy machine, what holds when times do not."""
    queue = list(records)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: Counter[int] = Counter()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                record = queue.pop()
            body = {
                "records": [{"external_id": record.external_id, "attributes": record.attributes}]
            }
            began = time.perf_counter()
            status, _ = call(
                base, token, "POST", f"/api/v1/sources/{record.department}/records", body
            )
            took = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(took)
                if status != 200:
                    errors[status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    before = (api(), database(), time.process_time(), os.getloadavg()[0])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spent = [
        (after - began) * 1000 / max(len(latencies), 1)
        for after, began in zip((api(), database(), time.process_time()), before, strict=False)
    ]
    print(
        f"pushes, {clients} clients for {seconds:.0f} s: {len(latencies)} pushes "
        f"({len(latencies) / seconds:.0f}/s), p50 {statistics.median(latencies):.0f} ms, "
        f"p99 {_percentile(latencies, 0.99):.0f} ms (target <= 500 ms); errors {dict(errors)}; "
        f"CPU a push: API {spent[0]:.1f} ms, PostgreSQL {spent[1]:.1f} ms, clients "
        f"{spent[2]:.1f} ms; load {before[3]:.1f} -> {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def _event_batch(number: int, size: int, emails: Sequence[str], rng: random.Random) -> list[Any]:
    batch: list[Any] = []
    for i in range(size):
        event: dict[str, Any] = {"id": f"b{number}-{i}", "type": "page_view"}
        if emails and rng.random() < 0.01:
            event.update(type="order", email=rng.choice(emails), properties={"amount": 20})
        else:
            event.update(anonymous_id=f"v-{rng.randrange(5000)}", properties={"url": "/p"})
        batch.append(event)
    return batch


def events(
    base: str,
    token: str,
    engine: Engine,
    emails: Sequence[str],
    clients: int,
    seconds: float,
    *,
    rate: float = 0,
    first: int = 0,
    kill: Any = None,
) -> int:
    """Post batches of 1,000 events for ``seconds`` (``rate`` events a second in all, or as
    fast as the clients can when 0), numbered from ``first``; measure acceptance and the time
    to the timeline. ``kill``, when given, is called half-way (to SIGKILL a worker). Returns
    the next batch number."""
    accepted: dict[int, float] = {}
    visible: dict[int, float] = {}
    batch_ids: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(first, 10**9))
    stop = threading.Event()
    errors: Counter[int] = Counter()
    began = time.monotonic()
    every = 1000 / rate if rate else 0.0

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            number = next(counter)
            # Paced: batch n is due n * every seconds after the start.
            if every and stop.wait(max(0.0, began + (number - first) * every - time.monotonic())):
                return
            batch = _event_batch(number, 1000, emails, rng)
            status, answer = call(
                base, token, "POST", "/api/v1/events", {"source": "web", "events": batch}
            )
            with lock:
                if status == 202:
                    accepted[number], batch_ids[number] = time.monotonic(), answer["id"]
                else:
                    errors[status] += 1

    def poll() -> None:
        """Note when each accepted batch's last event is on the timeline."""
        query = text("SELECT external_id FROM event WHERE external_id = ANY(:ids)")
        with engine.connect() as connection:
            while True:
                with lock:
                    waiting = [n for n in accepted if n not in visible]
                if stop.is_set() and (not waiting or time.monotonic() - stopped[0] > 180):
                    return
                if waiting:
                    ids = [f"b{n}-999" for n in waiting]
                    found = connection.execute(query, {"ids": ids}).scalars().all()
                    connection.rollback()
                    now = time.monotonic()
                    for external_id in found:
                        visible[int(external_id[1:].split("-")[0])] = now
                time.sleep(0.05)

    stopped = [0.0]
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    poller = threading.Thread(target=poll)
    for thread in [*threads, poller]:
        thread.start()
    for then in (kill, None):  # half the time, the kill, the other half
        time.sleep(seconds / 2)
        (then or (lambda: None))()
    stop.set()
    stopped[0] = time.monotonic()
    for thread in threads:
        thread.join()
    posting = time.monotonic() - began
    poller.join()
    _print_events(clients, posting, rate, kill is not None, accepted, visible, began, errors)
    _check_stored(engine, first, max(accepted, default=first), list(batch_ids.values()))
    return max(accepted, default=first) + 1


def _print_events(
    clients: int,
    posting: float,
    rate: float,
    killed: bool,
    accepted: dict[int, float],
    visible: dict[int, float],
    began: float,
    errors: Counter[int],
) -> None:
    drained = max(visible.values(), default=began) - began
    delays = [(visible[n] - accepted[n]) * 1000 for n in accepted if n in visible]
    offered = f"offered {rate:.0f}/s" if rate else "as fast as they can"
    print(
        f"events, {clients} clients posting batches of 1000 for {posting:.0f} s ({offered}"
        f"{', a worker process SIGKILLed half-way' if killed else ''}): "
        f"{len(accepted) * 1000 / posting:.0f} events/s accepted (target >= 5000); "
        f"written by {drained:.0f} s ({len(visible) * 1000 / max(drained, 1e-9):.0f} events/s); "
        f"202 to visible p50 {statistics.median(delays) if delays else float('nan'):.0f} ms, "
        f"p99 {_percentile(delays, 0.99) if delays else float('nan'):.0f} ms (target <= 2000 ms);"
        f" {len(accepted) - len(visible)} batches never seen; errors {dict(errors)}",
        flush=True,
    )


def _check_stored(engine: Engine, first: int, last: int, batch_ids: list[int]) -> None:
    """Print whether the timeline holds every event of batches ``first`` to ``last`` once:
    as many as the batches accepted (the rest were rejected, each with its reason)."""
    with engine.connect() as connection:
        stored, distinct = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT external_id) FROM event"
                " WHERE external_id LIKE 'b%' AND split_part(substr(external_id, 2), '-', 1)"
                "::bigint BETWEEN :first AND :last"
            ),
            {"first": first, "last": last},
        ).one()
        done, kept, rejected = connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE status = 'done'),"
                " coalesce(sum((outcome->>'accepted')::int), 0),"
                " coalesce(sum((outcome->>'rejected')::int), 0)"
                " FROM event_batch WHERE id = ANY(:ids)"
            ),
            {"ids": batch_ids},
        ).one()
    whole = stored == distinct == kept and done == len(batch_ids)
    print(
        f"  {done} of {len(batch_ids)} batches written; {stored} events on the timeline "
        f"({distinct} distinct), the batches accepted {kept} and rejected {rejected} (invalid"
        f" e-mails): {'nothing lost or doubled' if whole else 'LOST OR DOUBLED'}",
        flush=True,
    )


def kill_a_worker_process(stack: Stack) -> Any:
    """A function that SIGKILLs one pool process of ``huella worker`` (not its parent, which
    starts another in its place), mid-task most likely."""

    def kill() -> None:
        worker = stack.processes[1]  # the API is first
        path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        children = path.read_text().split()
        if children:
            os.kill(int(children[0]), signal.SIGKILL)
            print(f"  SIGKILLed worker process {children[0]}", flush=True)

    return kill


# -- 4. the mixed load ------------------------------------------------------------------------


@dataclass
class MixedLoad:
    """Pushes, events, merges with their undos and erasures, each from its own threads, while
    the scheduler syncs a changing CRM: what was done, and what failed."""

    base: str
    token: str
    engine: Engine
    records: list[DepartmentRecord]
    emails: Sequence[str]
    stop: threading.Event = field(default_factory=threading.Event)
    done: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    took: dict[str, list[float]] = field(default_factory=dict)
    pushed: int = 0

    def count(self, kind: str, status: int, good: int, began: float) -> None:
        with self.lock:
            self.took.setdefault(kind, []).append(time.perf_counter() - began)
            if status == good:
                self.done[kind] += 1
            else:
                self.failed[f"{kind} {status}"] += 1

    def timed(self, kind: str, good: int, method: str, path: str, body: Any) -> Any:
        """Make one call, count it under ``kind`` and keep how long it took; its body."""
        began = time.perf_counter()
        status, answer = call(self.base, self.token, method, path, body)
        self.count(kind, status, good, began)
        return answer if status == good else None

    def identities(self, number: int) -> list[str]:
        with self.engine.connect() as connection:
            return list(
                connection.scalars(
                    select(Identity.public_id)
                    .where(Identity.merged_into_id.is_(None))
                    .order_by(func.random())
                    .limit(number)
                )
            )

    def push(self) -> None:
        """Push the records one at a time; once all are in, push them again under new ids
        (the same people arriving through another channel), until the load stops."""
        while not self.stop.is_set():
            with self.lock:
                number = self.pushed
                self.pushed += 1
            record = self.records[number % len(self.records)]
            again = number // len(self.records)
            external_id = record.external_id + (f"-again{again}" if again else "")
            body = {"records": [{"external_id": external_id, "attributes": record.attributes}]}
            path = f"/api/v1/sources/{record.department}/records"
            self.timed("push", 200, "POST", path, body)

    def post_events(self) -> None:
        rng, number = random.Random(5), 0
        while not self.stop.is_set():
            number += 1
            batch = {"source": "web", "events": _event_batch(10**6 + number, 200, self.emails, rng)}
            self.timed("events", 202, "POST", "/api/v1/events", batch)
            self.stop.wait(0.5)

    def decide(self) -> None:
        while not self.stop.wait(2):
            pair = self.identities(2)
            if len(pair) < 2:
                continue
            merge = {"identities": pair, "note": "bench"}
            entry = self.timed("merge", 201, "POST", "/api/v1/review/merges", merge)
            if entry:
                self.timed("undo", 201, "POST", "/api/v1/review/undos", {"change": entry["id"]})

    def erase(self) -> None:
        while not self.stop.wait(10):
            for public_id in self.identities(1):
                path, body = f"/api/v1/customers/{public_id}", {"reason": "bench"}
                self.timed("erasure", 200, "DELETE", path, body)

    def run(self, seconds: float) -> None:
        before = deadlocks(self.engine)
        threads = [threading.Thread(target=self.push) for _ in range(4)]
        threads += [threading.Thread(target=f) for f in (self.post_events, self.decide, self.erase)]
        for thread in threads:
            thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        for thread in threads:
            thread.join()
        # Whatever was queued is written: nothing waits forever behind a lock.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and self.queued_batches():
            time.sleep(1)
        with self.engine.connect() as connection:
            runs = Counter(connection.scalars(text("SELECT status FROM sync_run")).all())
        slowest = ", ".join(
            f"{kind} p99 {_percentile(took, 0.99) * 1000:.0f} ms max {max(took) * 1000:.0f} ms"
            for kind, took in sorted(self.took.items())
        )
        print(
            f"mixed load for {seconds:.0f} s: done {dict(self.done)}; failed {dict(self.failed)}; "
            f"scheduled syncs {dict(runs)}; event batches still queued "
            f"{self.queued_batches()}; deadlocks PostgreSQL broke: "
            f"{deadlocks(self.engine) - before}\n  {slowest}",
            flush=True,
        )

    def queued_batches(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.scalar(text("SELECT count(*) FROM event_batch WHERE status = 'queued'"))
                or 0
            )


def mixed(
    app: Any,
    base: str,
    token: str,
    engine: Engine,
    records: list[DepartmentRecord],
    emails: Sequence[str],
    seconds: float,
) -> None:
    """Part 4: the mixed load, with a CRM sandbox that changes as the scheduler syncs it."""
    sandboxes = start_sandboxes(2000, seed=9, faults=Faults(change_every_pages=3))
    try:
        with app.app_context(), get_db(app).unit_of_work() as session:
            sources.create(
                session=session,
                name="crm",
                kind="hubspot",
                policy=get_settings().sources.allowing(sandboxes.hubspot.url),
                settings={
                    **connector_settings(sandboxes.hubspot, TOKEN_ENV, page_size=50),
                    "rate_limit": 0,
                    "schedule": "10s",
                },
            )
        MixedLoad(base, token, engine, records, emails).run(seconds)
    finally:
        sandboxes.stop()


def full_resolution_keeps(app: Any, url: str) -> None:
    """Everything stopped: print whether one full resolution keeps what real time left."""
    before = _partition(url)
    with app.app_context():
        tasks.resolve(full=True)
    after = _partition(url)
    print(
        f"after the mixed load, huella resolve --full "
        f"{'keeps the partition' if before == after else 'CHANGES the partition'} "
        f"({len(before)} identities before, {len(after)} after; "
        f"{len(before ^ after)} groups differ)",
        flush=True,
    )


def in_turn(
    server: str, records: Sequence[DepartmentRecord], page: int, repeat: int, database: str
) -> None:
    """Part 1: one process, then two, ``repeat`` times in turn (on a machine others share, the
    load drifts between runs; pairs taken one after the other see about the same load)."""
    ratios = []
    for _ in range(repeat):
        one, alone = realtime(server, records, page, 1, database)
        two, together = realtime(server, records, page, 2, database)
        ratios.append(two / one)
        print(
            f"2 processes: {two / one:.2f}x the records/s of one (target >= 1.6x); "
            f"partitions {'equal' if alone == together else 'DIFFER'}",
            flush=True,
        )
    if repeat > 1:
        print(f"2 processes, median of {repeat} pairs: {statistics.median(ratios):.2f}x")


def _emails(records: Sequence[DepartmentRecord]) -> list[str]:
    return sorted({r.attributes["email"] for r in records if "@" in r.attributes.get("email", "")})


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--records", type=int, default=6000, help="records resolved in part 1")
    parser.add_argument("--page", type=int, default=20, help="records a page in part 1")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs in part 1")
    parser.add_argument("--seconds", type=float, default=30, help="length of parts 2 and 3")
    parser.add_argument("--clients", type=int, default=20, help="pushing clients in part 2")
    parser.add_argument("--event-clients", type=int, default=4, help="posting clients, part 3")
    parser.add_argument(
        "--event-rate", type=float, default=5000, help="events/s offered in part 3's first run"
    )
    parser.add_argument("--mixed", type=float, default=0, help="seconds of mixed load (part 4)")
    parser.add_argument("--skip", default="", help="parts to skip, e.g. 1,2")
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument(
        "--database",
        default=BENCH_DATABASE,
        help="the database it drops and makes (one of its own when others run it at once)",
    )
    parser.add_argument("--port", type=int, default=PORT, help="where gunicorn listens")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seed", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    args = _arguments(argv)
    skip = set(args.skip.split(","))
    everyone = list(generate_records(args.records * 2, seed=args.seed))
    first, later = everyone[: args.records], everyone[args.records :]
    if "1" not in skip:
        in_turn(args.server, first, args.page, args.repeat, args.database)
    else:
        _loaded(args.server, first, args.database)
    url = (
        create_engine(args.server)
        .url.set(database=args.database)
        .render_as_string(hide_password=False)
    )
    engine = create_engine(url)
    app = _quiet_app(url)
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(session=session, name="web", kind="push", policy=get_settings().sources)
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-scale-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    token = _token(url)
    emails = _emails(first)
    if "1" not in skip:
        # As a store is after its first load: fitted (a push never fits on the web process,
        # but a fit on the workers holds the store a while, and would be measured here).
        began = time.perf_counter()
        with app.app_context():
            fitted = tasks.fit()
        print(f"model fitted to the store in {time.perf_counter() - began:.0f} s: {fitted}")
    with stack(url, args.broker, folder, workers=2, scheduler=bool(args.mixed), port=args.port) as (
        base,
        run,
    ):
        if "2" not in skip:
            pushes(
                base,
                token,
                later[: len(later) // 2],
                args.clients,
                args.seconds,
                api=lambda: _process_tree_cpu(run.processes[0].pid),
                database=lambda: backends_cpu(engine),
            )
        if "3" not in skip:
            after = events(
                base,
                token,
                engine,
                emails,
                args.event_clients,
                args.seconds,
                rate=args.event_rate,
                kill=kill_a_worker_process(run),
            )
            events(base, token, engine, emails, args.event_clients, 10, first=after)
        if args.mixed:
            mixed(app, base, token, engine, later[len(later) // 2 :], emails, args.mixed)
    if args.mixed:
        full_resolution_keeps(app, url)
    print(f"logs of the API and workers: {folder}")
    get_db(app).dispose()
    engine.dispose()
    return 0
