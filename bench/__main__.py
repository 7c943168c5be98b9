"""``python -m bench [NAME] [ARGS]``: run one benchmark (default: matcher).

Each benchmark is a module of this package with a ``main(argv)`` function; add a module and a
line to BENCHMARKS to add one.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "matcher": "bench.matcher",
    "febrl": "bench.febrl_bench",
    "scoring": "bench.scoring",
    "agreement": "bench.agreement",
}


def main(argv: list[str]) -> int:
    """Dispatch to the named benchmark."""
    name = argv[0] if argv and not argv[0].startswith("-") else "matcher"
    rest = argv[1:] if argv and argv[0] == name else argv
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
        return 2
    module = importlib.import_module(BENCHMARKS[name])
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
