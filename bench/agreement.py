"""Real time against batch on the synthetic data: the same partition, whatever the order.

A model is trained on all records; batch resolves them at once, then the in-memory reference
of real time (:class:`IncrementalResolver`) takes the same records one by one in a shuffled
order. The two partitions are compared record by record and pair by pair; the goal is no
difference at all.

    python -m bench agreement --size 10000
"""

from __future__ import annotations

import argparse
import random
import time

from app.matching import IncrementalResolver, Matcher, load_match_config
from bench.data import dataset
from bench.run_huella import read


def main(argv: list[str]) -> int:
    """Resolve in batch and one record at a time; print how far the partitions differ."""
    parser = argparse.ArgumentParser(prog="python -m bench agreement")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    data, _ = dataset(args.size)
    base = Matcher(load_match_config())
    matcher = base.with_model(base.train(read(data)))
    records = list(read(data))
    start = time.perf_counter()
    batch = {frozenset(c) for c in matcher.resolve(records).clustering.clusters}
    batch_seconds = time.perf_counter() - start
    random.Random(args.seed).shuffle(records)
    live = IncrementalResolver(matcher)
    start = time.perf_counter()
    for record in records:
        live.upsert(record)
    live_seconds = time.perf_counter() - start
    incremental = live.partition()
    differing = {r for c in batch ^ incremental for r in c}
    print(f"records {len(records)}, batch {batch_seconds:.1f} s, one by one {live_seconds:.1f} s")
    print(f"clusters: batch {len(batch)}, one by one {len(incremental)}")
    print(f"records whose cluster differs: {len(differing)}")
    return 0
