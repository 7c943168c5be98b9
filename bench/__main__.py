"""``python -m bench [NAME [ARGS]]``: run one benchmark, or every one in turn (``make bench``).

Each benchmark is a module of this package with a ``main(argv)`` function that prints its
figures; add a module and a line to BENCHMARKS to add one. Benchmarks never assert a time.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = {
    "connectors": "bench.connectors",
    "sync": "bench.sync",
    "realtime": "bench.realtime",
    "matcher": "bench.matcher",
    "febrl": "bench.febrl_bench",
    "customer": "bench.customer_view",
    "review": "bench.review",
    "scoring": "bench.scoring",
    "agreement": "bench.agreement",
    "console": "bench.console",
    "erasure": "bench.erasure",
    "scale": "bench.scale",
    "push": "bench.push",
    "load": "bench.load",
}


def run(name: str, argv: list[str]) -> int:
    """Run one benchmark; its exit status."""
    module = importlib.import_module(BENCHMARKS[name])
    result: int | None = module.main(argv)
    return result or 0


def main(argv: list[str]) -> int:
    """Dispatch to the named benchmark, or run them all."""
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
            return 2
        return run(name, rest)
    if argv:
        print("options go after a benchmark's name: python -m bench NAME [ARGS]")
        return 2
    status = 0
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        began = time.perf_counter()
        status |= run(name, [])
        print(f"=== {name}: {time.perf_counter() - began:.0f} s ===", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
