"""Run the three sandbox systems until interrupted:
``python -m connectors.sandbox --people N --seed S [--port-base P]``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence

from connectors.sandbox import SANDBOX_TOKEN, Faults, start_sandboxes


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandboxes, print their base URLs and token, serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m connectors.sandbox", description=__doc__)
    parser.add_argument("--people", type=int, default=1000, help="generated people")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--port-base", type=int, default=None, help="first port (default: any)")
    parser.add_argument("--token", default=SANDBOX_TOKEN, help="the API token they accept")
    parser.add_argument(
        "--faults", default="{}", help="faults as JSON, e.g. '{\"error_every\": 10}'"
    )
    args = parser.parse_args(argv)
    faults = Faults().updated(json.loads(args.faults))
    sandboxes = start_sandboxes(
        args.people, args.seed, port_base=args.port_base, faults=faults, token=args.token
    )
    for sandbox in sandboxes:
        print(f"{sandbox.name:<10} {sandbox.url}  ({len(sandbox.records())} records)")
    print(f"token: {args.token}  (faults: POST {{url}}/_sandbox/faults)", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    sandboxes.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
