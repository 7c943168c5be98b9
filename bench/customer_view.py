"""Single customer view benchmark: 1M identities in PostgreSQL, served by gunicorn with several
workers, loaded from a second process on loopback (wrk, else a Python load generator).

Measures profile by id, lookup by e-mail, name search, and the first timeline page of a
customer with 10,000 events. Prints figures; asserts nothing.

    python -m bench.customer_view [--identities 1000000] [--workers 4] [--duration 20]

The synthetic store is written straight into the tables with COPY (golden records, traits and
search keys computed by Huella's own code, in parallel), not through the API, and is kept
between runs: a second run with the same size reuses it (``--reload`` rebuilds it). Resolution's
own tables (blocking keys, edges) are not filled: reads do not touch them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from app.settings import Settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/huella_bench_customer"
SOURCES = (("crm", "hubspot", 10), ("desk", "zendesk", 20), ("mail", "mailchimp", 30))
FIRST = [
    "Maria",
    "José",
    "Ana",
    "Li",
    "Wei",
    "Mohammed",
    "Fatima",
    "Olga",
    "Ivan",
    "Sofia",
    "Lucas",
    "Emma",
    "Noah",
    "Aiko",
    "Hiroshi",
    "Priya",
    "Arjun",
    "Chen",
    "Mei",
    "Kwame",
    "Amara",
    "Lars",
    "Ingrid",
    "Pierre",
    "Camille",
    "Giulia",
    "Marco",
    "Ahmet",
    "Elif",
    "Sven",
    "Nadia",
]
LAST = [
    "Garcia",
    "Lopez",
    "Martinez",
    "Wang",
    "Zhang",
    "Khan",
    "Ali",
    "Ivanova",
    "Petrov",
    "Rossi",
    "Bianchi",
    "Muller",
    "Schmidt",
    "Dubois",
    "Martin",
    "Silva",
    "Santos",
    "Yamamoto",
    "Tanaka",
    "Sharma",
    "Patel",
    "Okafor",
    "Mensah",
    "Nilsson",
    "Larsen",
    "Kowalski",
    "Nowak",
    "Yilmaz",
    "Demir",
    "Andersen",
    "Novak",
    "Horvat",
    "Popescu",
    "Cohen",
    "Levi",
    "Murphy",
    "Kelly",
]
# City and the first digits of its postcodes; each city has 1,000 postcodes.
CITIES = (("Madrid", "28"), ("Lyon", "69"), ("Osaka", "53"), ("Lagos", "10"), ("Oslo", "04"))
# Surnames beyond the common ones, from syllables, so name tokens are as varied as real ones.
SYLLABLES = "ka lo mi ra ten vos ber na dri gu sel ton mar li ko za".split()  # noqa: SIM905
CATEGORIES = ("running gear", "tents", "books", "cycling", "kitchen", "garden")
EVENT_TYPES = ("page_view", "search", "like", "review", "order", "ticket", "email_open")
BUSY_EVENTS = 10_000
BACKGROUND_EVENTS_PER_IDENTITY = 1
T0 = datetime(2023, 1, 1, tzinfo=UTC)
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def public_id(number: int) -> str:
    """A stable, random-looking public id for identity ``number``."""
    digest = int.from_bytes(hashlib.blake2b(str(number).encode(), digest_size=10).digest())
    return "cus_" + "".join(_ALPHABET[(digest >> (5 * i)) & 31] for i in range(16))


def email_of(number: int) -> str:
    """The e-mail of identity ``number`` (unique, already normalized)."""
    rng = random.Random(number)
    first, last = _name(rng)
    return f"{first.lower()}.{last.lower()}.{number}@example.com"


def _name(rng: random.Random) -> tuple[str, str]:
    """A first and last name: a third of surnames are common ones, the rest varied."""
    if rng.random() < 1 / 3:
        return rng.choice(FIRST), rng.choice(LAST)
    syllables = rng.choices(SYLLABLES, k=rng.choice((2, 3)))
    return rng.choice(FIRST), "".join(syllables).capitalize()


def _place(rng: random.Random) -> tuple[str, str]:
    city, prefix = rng.choice(CITIES)
    return city, f"{prefix}{rng.randint(0, 999):03d}"


def _text(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _line(*values: Any) -> str:
    return "\t".join(_text(v) for v in values) + "\n"


def _records_of(number: int) -> list[tuple[int, int, str, dict[str, str], datetime]]:
    """(record id, source id, external id, attributes, observed at) of identity ``number``:
    every identity is in the CRM, half are in the help desk, a third in the e-mail platform."""
    rng = random.Random(number)
    first, last = _name(rng)
    city, postcode = _place(rng)
    born = f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    email = email_of(number)
    phone = f"+1202{number:07d}"
    held = [1] + ([2] if number % 2 == 0 else []) + ([3] if number % 3 == 0 else [])
    records = []
    for source_id in held:
        attributes = {"email": email}
        if source_id == 1:
            attributes |= {"first_name": first, "last_name": last, "phone": phone}
            attributes |= {"city": city, "postcode": postcode, "birth_date": born}
        elif source_id == 2:
            attributes |= {"full_name": f"{first} {last}", "phone": phone}
        observed = T0 + timedelta(days=rng.randint(0, 600), seconds=number % 86400)
        records.append(
            (number * 3 + source_id, source_id, f"{source_id}-{number}", attributes, observed)
        )
    return records


@cache
def _settings() -> Settings:
    """Huella's settings, read once per worker process (as the service reads them at start)."""
    from app.config import load_config  # noqa: PLC0415
    from app.settings import load_settings  # noqa: PLC0415

    return load_settings(load_config())


def generate(bounds: tuple[int, int]) -> dict[str, str]:
    """COPY text of every table for identities in [start, stop), computed by Huella's code."""
    from app.customer.records import LoadedRecord  # noqa: PLC0415
    from app.customer.search import record_keys, record_names  # noqa: PLC0415
    from app.customer.service import golden_document  # noqa: PLC0415
    from app.customer.survivorship import SourcedRecord  # noqa: PLC0415
    from app.customer.traits import compute_traits  # noqa: PLC0415

    settings = _settings()
    names = {i + 1: name for i, (name, _, _) in enumerate(SOURCES)}
    priorities = {i + 1: p for i, (_, _, p) in enumerate(SOURCES)}
    out: dict[str, list[str]] = {
        t: []
        for t in (
            "identity",
            "source_record",
            "record_identifier",
            "golden_record",
            "customer_traits",
            "search_token",
        )
    }
    for number in range(*bounds):
        out["identity"].append(_line(number, public_id(number), T0, T0, None))
        loaded, tokens, search_names = [], set(), set()
        for record_id, source_id, external_id, attributes, observed in _records_of(number):
            out["source_record"].append(
                _line(
                    record_id,
                    source_id,
                    external_id,
                    attributes,
                    attributes,
                    f"{record_id:064x}",
                    number,
                    T0,
                    observed,
                    observed,
                    None,
                )
            )
            out["record_identifier"].append(_line(record_id, "email", attributes["email"]))
            if "phone" in attributes:
                out["record_identifier"].append(_line(record_id, "phone", attributes["phone"]))
            sourced = SourcedRecord(
                record_id,
                names[source_id],
                priorities[source_id],
                external_id,
                attributes,
                {},
                observed,
                T0,
            )
            loaded.append(LoadedRecord(sourced, observed, observed))
            tokens |= record_keys(attributes)
            search_names |= record_names(attributes)
        summary = golden_document(loaded, settings, verbose=False)
        now = T0 + timedelta(days=700)
        out["golden_record"].append(_line(number, summary, "\n".join(sorted(search_names)), now))
        traits = compute_traits(
            [], [(T0, r.sourced.observed_at) for r in loaded], settings.customer.traits, now
        )
        out["customer_traits"].append(_line(number, traits, now))
        out["search_token"].extend(_line(token, number) for token in sorted(tokens))
    return {table: "".join(lines) for table, lines in out.items()}


def _event_line(event_id: int, number: int, rng: random.Random, subject: str | None) -> str:
    kind = rng.choice(EVENT_TYPES)
    properties: dict[str, Any] = {"category": rng.choice(CATEGORIES)}
    if kind == "order":
        properties |= {"amount": round(rng.uniform(5, 300), 2), "currency": "EUR"}
    if kind == "ticket":
        properties |= {"status": rng.choice(("open", "solved")), "subject": "Where is my order?"}
    occurred = T0 + timedelta(seconds=rng.randint(0, 600 * 86400))
    record_id = None if subject else number * 3 + 1
    return _line(
        event_id, 1, f"e-{event_id}", record_id, subject, kind, occurred, properties, occurred
    )


def _copy(connection: psycopg.Connection[Any], table: str, columns: str, data: str) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(data)


COLUMNS = {
    "identity": "id, public_id, created_at, updated_at, merged_into_id",
    "source_record": "id, source_id, external_id, raw, attributes, content_hash, identity_id, "
    "first_seen_at, updated_at, source_updated_at, deleted_at",
    "record_identifier": "record_id, kind, value",
    "golden_record": "identity_id, summary, search_names, computed_at",
    "customer_traits": "identity_id, traits, computed_at",
    "search_token": "token, identity_id",
}


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load(url: str, identities: int, batch: int = 5000) -> None:
    """Create the schema and write ``identities`` synthetic customers, their records, golden
    records, traits, search keys, and events (10,000 for customer 1)."""
    from app import migrate  # noqa: PLC0415

    server = make_url(url).set(database="postgres")
    name = make_url(url).database
    with psycopg.connect(
        _dsn(server.render_as_string(hide_password=False)), autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    started = time.perf_counter()
    with psycopg.connect(_dsn(url)) as connection:
        for number, (source, kind, priority) in enumerate(SOURCES, start=1):
            connection.execute(
                "INSERT INTO source (id, name, kind, settings, attribute_types, priority,"
                " created_at) VALUES (%s, %s, %s, '{}', '{}', %s, %s)",
                (number, source, kind, priority, T0),
            )
        bounds = [(s, min(s + batch, identities + 1)) for s in range(1, identities + 1, batch)]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for done, chunk in enumerate(pool.map(generate, bounds), start=1):
                for table, columns in COLUMNS.items():
                    _copy(connection, table, columns, chunk[table])
                if done % 20 == 0 or done == len(bounds):
                    rate = bounds[done - 1][1] / (time.perf_counter() - started)
                    print(
                        f"  loaded {bounds[done - 1][1] - 1:>9,} identities ({rate:,.0f}/s)",
                        flush=True,
                    )
        _load_events(connection, identities)
        for table in ("identity", "source_record", "event"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    print(f"  loaded in {time.perf_counter() - started:,.0f} s", flush=True)


def _load_events(connection: psycopg.Connection[Any], identities: int) -> None:
    """10,000 events for customer 1 (from its records, its e-mail and an anonymous visitor
    stitched to it), one for each other customer."""
    rng = random.Random(7)
    lines = []
    busy_subjects = (None, None, None, f"email:{email_of(1)}", "anonymous:bench-visitor")
    for event_id in range(1, BUSY_EVENTS + 1):
        lines.append(_event_line(event_id, 1, rng, rng.choice(busy_subjects)))
    event_id = BUSY_EVENTS
    for number in range(2, identities + 1):
        for _ in range(BACKGROUND_EVENTS_PER_IDENTITY):
            event_id += 1
            lines.append(_event_line(event_id, number, rng, None))
        if len(lines) >= 200_000:
            _copy(connection, "event", _EVENT_COLUMNS, "".join(lines))
            lines = []
    _copy(connection, "event", _EVENT_COLUMNS, "".join(lines))
    connection.execute(
        "INSERT INTO anonymous_link (anonymous_id, subject, linked_at) VALUES (%s, %s, %s)",
        ("bench-visitor", f"email:{email_of(1)}", T0),
    )


_EVENT_COLUMNS = (
    "id, source_id, external_id, record_id, subject, type, occurred_at, properties, received_at"
)


def _refresh_busy_customer(url: str) -> None:
    """Customer 1's traits from its 10,000 events, through the hook the service uses."""
    from app import create_app  # noqa: PLC0415
    from app.customer import service  # noqa: PLC0415
    from app.db import get_db  # noqa: PLC0415
    from app.settings import get_settings  # noqa: PLC0415

    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    with app.app_context(), get_db(app).unit_of_work() as session:
        started = time.perf_counter()
        service.refresh_identities(session=session, settings=get_settings(app), identity_ids=[1])
        print(
            f"  refresh_identities for the customer with 10,000 events: "
            f"{(time.perf_counter() - started) * 1000:.0f} ms",
            flush=True,
        )
    get_db(app).dispose()


def loaded_size(url: str) -> int | None:
    """How many identities the bench database holds, None when it does not exist."""
    try:
        with psycopg.connect(_dsn(url), connect_timeout=3) as connection:
            row = connection.execute("SELECT count(*) FROM golden_record").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def agent_token(url: str) -> str:
    """A fresh agent token in the bench database."""
    from app import create_app  # noqa: PLC0415
    from app.auth import service as tokens  # noqa: PLC0415
    from app.db import get_db  # noqa: PLC0415

    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    with app.app_context(), get_db(app).unit_of_work() as session:
        _, secret = tokens.create(session=session, name="bench agent", role="agent")
    get_db(app).dispose()
    return secret


@contextmanager
def gunicorn(url: str, workers: int, port: int, threads: int, kind: str) -> Iterator[str]:
    """Serve the app with gunicorn on loopback; yields its base URL."""
    base = f"http://127.0.0.1:{port}"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers",
        str(workers),
        "--worker-class",
        kind,
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        "app:create_app()",
    ]
    environment = {
        **os.environ,
        "HUELLA_DATABASE_URL": url,
        "HUELLA_LOG_LEVEL": "WARNING",
        # The benchmark's one token asks far faster than any agent may: no rate limits.
        "HUELLA_RATE_LIMITS": "{enabled = false}",
    }
    server = subprocess.Popen(command, env=environment, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load run measured."""

    requests: int
    errors: int
    rate: float
    p50_ms: float
    p99_ms: float


_WRK_SCRIPT = """
local paths = {%s}
local headers = {["Authorization"] = "Bearer %s"}
local counter = 0
function setup(thread) thread:set("offset", math.random(1, #paths)) end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[((offset + counter) %% #paths) + 1], headers)
end
local pause = %s
if pause > 0 then
  function delay() return pause * (0.5 + math.random()) end
end
"""


def _wrk_milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    base: str, paths: Sequence[str], token: str, seconds: int, connections: int, pause_ms: float
) -> LoadResult:
    """Load with wrk: ``connections`` keep-alive connections, each pausing about ``pause_ms``
    between requests (0: as fast as the server answers). Latency excludes the pause."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        quoted = (json.dumps(quote(p, safe="/:@?=&%+")) for p in paths)
        script.write(_WRK_SCRIPT % (",".join(quoted), token, round(pause_ms)))
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t",
                "1",
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--latency",
                "-s",
                script.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        Path(script.name).unlink()
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", output, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    errors = int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1])
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    return LoadResult(
        requests,
        errors,
        rate,
        _wrk_milliseconds(percentiles["50"]),
        _wrk_milliseconds(percentiles["99"]),
    )


def run_python_load(
    base: str, paths: Sequence[str], token: str, seconds: int, connections: int, pause_ms: float
) -> LoadResult:
    """Load from a separate process with keep-alive connections, when wrk is not installed."""
    from multiprocessing import get_context  # noqa: PLC0415

    context = get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_python_load,
        args=(base, list(paths), token, seconds, connections, pause_ms, queue),
    )
    process.start()
    latencies, errors = queue.get(timeout=seconds + 60)
    process.join()
    latencies.sort()
    return LoadResult(
        len(latencies),
        errors,
        len(latencies) / seconds,
        latencies[len(latencies) // 2],
        latencies[int(len(latencies) * 0.99)],
    )


def _python_load(
    base: str,
    paths: list[str],
    token: str,
    seconds: int,
    connections: int,
    pause_ms: float,
    queue: Any,
) -> None:
    import http.client  # noqa: PLC0415

    host, port = base.removeprefix("http://").split(":")
    # http.client sends the path as it is: accented e-mails and names must be quoted first.
    paths = [quote(p, safe="/:@?=&%+") for p in paths]
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection(host, int(port))
        index = offset
        pacing = random.Random(offset)
        while time.monotonic() < stop:
            index += 1
            if pause_ms:
                time.sleep(pause_ms * (0.5 + pacing.random()) / 1000)
            started = time.perf_counter()
            connection.request(
                "GET", paths[index % len(paths)], headers={"Authorization": f"Bearer {token}"}
            )
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status >= 400:
                errors[0] += 1

    threads = [threading.Thread(target=worker, args=(i * 997,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((latencies, errors[0]))


TIMELINE = "timeline, first page (10,000 events)"
SEARCH = "name search (name and postcode)"
# Scenarios with no throughput target: the paced run offers them --heavy-rate.
HEAVY = (TIMELINE, SEARCH)


def sample_paths(url: str, identities: int, count: int = 5000) -> dict[str, list[str]]:
    """Request paths of each scenario, for random customers."""
    rng = random.Random(11)
    numbers = [rng.randint(1, identities) for _ in range(count)]
    return {
        "profile by id": [f"/api/v1/customers/{public_id(n)}" for n in numbers],
        "lookup by e-mail": [f"/api/v1/customers/lookup/email:{email_of(n)}" for n in numbers],
        TIMELINE: [f"/api/v1/customers/{public_id(1)}/timeline?limit=50"],
        SEARCH: [_search_path(n) for n in numbers[:500]],
    }


def _search_path(number: int) -> str:
    """A search for customer ``number``'s name, misspelt by a swap of two letters, and postcode."""
    rng = random.Random(number)
    first, last = _name(rng)
    _, postcode = _place(rng)
    typo = last[0] + last[2] + last[1] + last[3:] if len(last) > 3 else last
    return f"/api/v1/customers?q={first}%20{typo}&postcode={postcode}&limit=20"


def _print_row(scenario: str, offered: int | None, result: LoadResult) -> None:
    print(
        f"  {scenario:<40}{offered or '-':>9}{result.rate:>8.0f}{result.errors:>8}"
        f"{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Load (or reuse) the store, serve it, load each endpoint, print the figures."""
    parser = argparse.ArgumentParser(
        prog="bench.customer_view", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("HUELLA_BENCH_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--identities", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", help="gthread keeps connections alive")
    parser.add_argument("--connections", type=int, default=4, help="of the saturated run")
    parser.add_argument("--rate", type=int, default=600, help="offered: profile and lookup")
    parser.add_argument("--heavy-rate", type=int, default=100, help="offered: timeline, search")
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario")
    parser.add_argument("--port", type=int, default=5071)
    parser.add_argument("--warmup", type=int, default=10, help="seconds per scenario first")
    parser.add_argument("--only", nargs="*", help="scenarios whose name holds one of these words")
    parser.add_argument("--reload", action="store_true", help="rebuild the store even if it exists")
    args = parser.parse_args(argv)
    url = args.database_url
    print(f"customer view bench: {args.identities:,} identities in {make_url(url).database}")
    if args.reload or loaded_size(url) != args.identities:
        load(url, args.identities)
        _refresh_busy_customer(url)
    else:
        print("  reusing the loaded store (--reload rebuilds it)")
    token = agent_token(url)
    paths = {
        name: found
        for name, found in sample_paths(url, args.identities).items()
        if not args.only or any(word in name for word in args.only)
    }
    loader = run_wrk if shutil.which("wrk") else run_python_load
    print(
        f"  gunicorn: {args.workers} {args.worker_class} workers x {args.threads} threads; load: "
        f"{'wrk' if loader is run_wrk else 'python'}, {args.duration} s per scenario"
    )
    with gunicorn(url, args.workers, args.port, args.threads, args.worker_class) as base:
        if args.warmup:
            # Steady state: every scenario's paths once through, as a server that has been
            # answering them would have them in memory.
            for scenario_paths in paths.values():
                loader(base, scenario_paths, token, args.warmup, args.connections, 0)
        header = (
            f"{'scenario':<40}{'offered':>9}{'req/s':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}"
        )
        print(f"\n  paced: latency at an offered rate\n  {header}")
        for scenario, scenario_paths in paths.items():
            rate = args.heavy_rate if scenario in HEAVY else args.rate
            # Enough connections, each pausing, to offer about ``rate`` requests a second.
            connections = max(rate * 20 // 1000, 1)
            pause = max(connections * 1000 / rate - 2.0, 0.0)
            result = loader(base, scenario_paths, token, args.duration, connections, pause)
            _print_row(scenario, rate, result)
        print(f"\n  saturated: {args.connections} connections without pause\n  {header}")
        for scenario, scenario_paths in paths.items():
            result = loader(base, scenario_paths, token, args.duration, args.connections, 0)
            _print_row(scenario, None, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
