"""Sync throughput into PostgreSQL: each sandbox serving ~100k records, synced through the real
connector, stored page by page; once without resolution and once with it (records resolve as
they land). Prints records/s; asserts nothing.

    .venv/bin/python -m bench sync [--records 100000] [--seed 1] [--server URL] [--suppressed N]

``--suppressed N`` puts N digests of erased people (none of the sandboxes' people) on the
suppression list first, so every page pays the suppression check: compare with 0, where an
empty list costs one query a page. Each run also prints the time its pages spent in the check
itself, which a busy machine disturbs less than the throughput.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app, migrate
from app.db import Database, get_db
from app.ingest import flows
from app.ingest import sync as runner
from app.ingest.flows import IngestReport
from app.privacy import suppression
from app.resolution.runtime import current_matcher
from app.settings import Settings, get_settings
from app.source import service as sources
from connectors import Page
from connectors.sandbox import SANDBOX_TOKEN, MailchimpSandbox, ZendeskSandbox

TOKEN_ENV = "HUELLA_SECRET_BENCH_SANDBOX"
KEY_ENV = "HUELLA_SECRET_SUPPRESSION_KEY"
# The smallest department holds about 0.62 records a person (see connectors/sandbox/people.py).
RECORDS_PER_PERSON = 0.62
PAGE_SIZES = {"hubspot": 200, "zendesk": 1000, "mailchimp": 1000}
DEPARTMENTS = {"hubspot": "sales", "zendesk": "support", "mailchimp": "marketing"}
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "huella_bench_sync"


def fresh_database(server: str, name: str = BENCH_DATABASE, template: str | None = None) -> str:
    """Drop and create a benchmark's own database (a copy of ``template`` when given); returns
    its URL."""
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if (
            template
            and int(connection.execute(text("SHOW server_version_num")).scalar_one()) >= 150000
        ):
            # Copy the files rather than write every page of a gigabytes-large store to the WAL.
            copy += " STRATEGY = FILE_COPY"
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()
    if template:
        # The copy leaves gigabytes of dirty pages: write them out before anything is timed, or
        # every commit of the run waits behind them.
        os.sync()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@contextmanager
def sandbox_process(people: int, seed: int) -> Iterator[dict[str, dict[str, Any]]]:
    """Run the sandboxes in their own process, as a department's system would be, and yield
    each kind's connector settings."""
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.sandbox", "--people", str(people), "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    settings: dict[str, dict[str, Any]] = {}
    try:
        for line in process.stdout:
            if line.startswith("token:"):
                break
            kind, url = line.split()[:2]
            settings[kind] = {"base_url": url, "token_env": TOKEN_ENV, "rate_limit": 0}
        # Keep reading what the sandboxes print, or a full pipe would stall them.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        settings["zendesk"]["email"] = ZendeskSandbox.agent_email
        settings["mailchimp"]["list_id"] = MailchimpSandbox.list_id
        yield settings
    finally:
        process.terminate()
        process.wait()


def sync_all(
    url: str, sandboxes: dict[str, dict[str, Any]], *, resolve: bool, suppressed: int = 0
) -> None:
    """Sync each sandbox into a fresh store (with ``suppressed`` digests of erased people on its
    suppression list) and print its throughput."""
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    # The sandboxes run on this machine: sources may reach them.
    origins = [reach["base_url"] for reach in sandboxes.values()]
    settings = replace(get_settings(app), sources=get_settings(app).sources.allowing(*origins))
    database = get_db(app)
    migrate.upgrade(database.engine)
    if suppressed:
        erased = [("email", f"erased.{n}@example.invalid") for n in range(suppressed)]
        with database.unit_of_work() as session:
            suppression.add(
                session=session,
                key=settings.privacy.require_key(),
                identifiers=erased,
                erasure_id=None,
            )
    label = "with resolution" if resolve else "without resolution"
    label += f", {suppressed} suppressed" if suppressed else ""
    with app.app_context():
        for kind, reach in sandboxes.items():
            name = DEPARTMENTS[kind]
            with database.unit_of_work() as session:
                sources.create(
                    session=session,
                    name=name,
                    kind=kind,
                    policy=settings.sources,
                    settings={**reach, "page_size": PAGE_SIZES[kind]},
                )
            sync_one(database, name, f"{name:<10} {label:<33}", settings, resolve=resolve)
    database.dispose()


class CheckClock:
    """Time spent in the suppression check (taking its lock, reading the list, screening)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.pages = 0

    @contextmanager
    def timing(self) -> Iterator[None]:
        """Count the time the check takes, for the duration of the block."""
        # The flows module's own names, which ingest_page calls.
        names = vars(flows)
        opening, screening = names["open_screen"], names["screen_page"]

        def open_screen(**kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return opening(**kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        def screen_page(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return screening(*args)
            finally:
                self.seconds += time.perf_counter() - started
                self.pages += 1

        names["open_screen"], names["screen_page"] = open_screen, screen_page
        try:
            yield
        finally:
            names["open_screen"], names["screen_page"] = opening, screening


def sync_one(
    database: Database, name: str, label: str, settings: Settings, *, resolve: bool
) -> None:
    """Sync one source; print its records stream's throughput as soon as that stream is
    stored, then the whole run's, and the time its pages spent in the suppression check."""
    began = time.perf_counter()
    clock = CheckClock()
    streams: dict[str, tuple[float, int]] = {}  # stream -> (last page stored at, items so far)

    def mark(stream: str, _page: Page, report: IngestReport) -> None:
        if streams and stream not in streams:
            finished_at, records = next(iter(streams.values()))
            seconds = finished_at - began
            print(
                f"{label} {records:>7} records in {seconds:6.1f} s "
                f"= {records / seconds:>6.0f} records/s",
                flush=True,
            )
        streams[stream] = (time.perf_counter(), report.created + report.events)

    with clock.timing():
        run = runner.run_sync(
            database=database,
            settings=settings,
            source_name=name,
            matcher_for=current_matcher,
            resolve=resolve,
            on_page=mark,
        )
    records, events = run.counts.get("created", 0), run.counts.get("events", 0)
    total = time.perf_counter() - began
    print(
        f"{label} {records:>7} records and {events:>7} events in {total:6.1f} s in all "
        f"({run.status}); suppression check {clock.seconds:5.2f} s "
        f"= {1000 * clock.seconds / max(clock.pages, 1):5.1f} ms a page of {clock.pages}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandboxes, sync each into PostgreSQL without and with resolution."""
    parser = argparse.ArgumentParser(prog="bench sync", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000, help="records per sandbox")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--modes", default="plain,resolve", help="plain, resolve or both")
    parser.add_argument(
        "--suppressed", type=int, default=0, help="digests of erased people on the list first"
    )
    args = parser.parse_args(argv)
    os.environ[TOKEN_ENV] = SANDBOX_TOKEN
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    started = time.perf_counter()
    people = int(args.records / RECORDS_PER_PERSON) + 1
    with sandbox_process(people, args.seed) as sandboxes:
        print(f"generated {people} people in {time.perf_counter() - started:.1f} s", flush=True)
        for mode in args.modes.split(","):
            sync_all(
                fresh_database(args.server),
                sandboxes,
                resolve=mode == "resolve",
                suppressed=args.suppressed,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
