"""Accuracy and speed of the matcher on FEBRL-like data (the generator in bench/febrl.py).

The columns are mapped to canonical attributes as a CSV import would, and ``soc_sec_id`` is
declared an identifier, so it gets its own comparison levels and m/u.

    python -m bench febrl --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from app.matching import InputRecord, Matcher, load_match_config
from app.matching.batch import ClusterList
from bench.febrl import EXTRA_TYPES, generate
from bench.metrics import bcubed, pairwise


def main(argv: list[str]) -> int:
    """Resolve FEBRL-like data at each size (training included) and print the scores."""
    parser = argparse.ArgumentParser(prog="python -m bench febrl")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args(argv)
    print(f"{'size':>8} {'seconds':>8} {'pw P':>6} {'pw R':>6} {'pw F1':>6} {'B3 F1':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        truth = np.empty(size, dtype=np.int64)

        def records(count: int = size, labels: np.ndarray = truth) -> object:
            for record in generate(count, seed=3):
                labels[record.record_id] = record.person_id
                yield InputRecord(record.record_id, "febrl", record.canonical())

        start = time.perf_counter()
        matcher = Matcher(load_match_config(), EXTRA_TYPES)
        clusters = matcher.resolve(records(), train=True).clustering.clusters  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        assert isinstance(clusters, ClusterList)
        predicted = np.empty(size, dtype=np.int64)
        predicted[clusters.ids] = clusters.labels
        pw, b3 = pairwise(predicted, truth), bcubed(predicted, truth)
        print(
            f"{size:>8} {seconds:>8.1f} {pw.precision:>6.3f} {pw.recall:>6.3f} "
            f"{pw.f1:>6.3f} {b3.f1:>6.3f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")
    return 0
