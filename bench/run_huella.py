"""Child process: resolve a benchmark CSV with Huella's matcher (train + score + cluster).

Prints one JSON line with wall times and peak memory (ru_maxrss of this process) and writes
the cluster label of every row to ``--labels``.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.matching import InputRecord, Matcher, load_match_config
from app.matching.batch import ClusterList


def read(path: Path) -> Iterator[InputRecord]:
    """Stream the CSV as input records; empty cells are left out."""
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            record_id = int(row.pop("record_id"))
            department = row.pop("department")
            row.pop("external_id")
            yield InputRecord(record_id, department, {k: v for k, v in row.items() if v})


def main() -> None:
    """Run one resolution and report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--labels", type=Path, required=True)
    args = parser.parse_args()
    start = time.perf_counter()
    matcher = Matcher(load_match_config())
    resolution = matcher.resolve(read(args.data), train=True)
    clusters = resolution.clustering.clusters
    assert isinstance(clusters, ClusterList)
    labels = np.empty(len(clusters.ids), dtype=np.int64)
    labels[clusters.ids] = clusters.labels
    seconds = time.perf_counter() - start
    np.save(args.labels, labels)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "seconds": seconds,
        "peak_mb": peak,
        "edges": len(resolution.edges),
        "conflicts": len(resolution.clustering.conflicts),
        "generic_keys": len(resolution.generic_keys),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
