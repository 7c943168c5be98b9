"""Connector read throughput: each sandbox serving ~100k records, read in full through the
real connector over HTTP on 127.0.0.1, no database. Prints records/s; asserts nothing.

    .venv/bin/python -m bench.connectors [--records 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

from connectors import connector_class
from connectors.http import HttpConnector
from connectors.sandbox import SANDBOX_TOKEN, connector_settings, start_sandboxes

TOKEN_ENV = "HUELLA_BENCH_SANDBOX_TOKEN"
# The smallest department holds about 0.62 records a person (see connectors/sandbox/people.py).
RECORDS_PER_PERSON = 0.62
PAGE_SIZES = {"hubspot": 200, "zendesk": 1000, "mailchimp": 1000}


def main(argv: Sequence[str] | None = None) -> None:
    """Start the sandboxes, read each one's customers in full, print the figures."""
    parser = argparse.ArgumentParser(prog="bench.connectors", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000, help="records per sandbox")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ[TOKEN_ENV] = SANDBOX_TOKEN
    started = time.perf_counter()
    people = int(args.records / RECORDS_PER_PERSON) + 1
    sandboxes = start_sandboxes(people, args.seed)
    print(f"generated {people} people in {time.perf_counter() - started:.1f} s")
    try:
        for sandbox in sandboxes:
            kind = sandbox.name
            settings = connector_settings(sandbox, TOKEN_ENV, rate_limit=0)
            settings["page_size"] = PAGE_SIZES[kind]
            connector = connector_class(kind)(settings)
            assert isinstance(connector, HttpConnector)
            records_stream = connector.streams()[0]
            began = time.perf_counter()
            count = pages = 0
            for page in records_stream.read(None):
                count += len(page.records)
                pages += 1
            seconds = time.perf_counter() - began
            print(
                f"{kind:<10} {count:>7} records  {pages:>4} pages of {PAGE_SIZES[kind]:>4}  "
                f"{seconds:6.2f} s  {count / seconds:>8.0f} records/s"
            )
            connector.close()
    finally:
        sandboxes.stop()


if __name__ == "__main__":
    main()
