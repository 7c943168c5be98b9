"""Batch matcher benchmark: Huella against Splink 4 (DuckDB) on the same data.

For each size, the synthetic department records are written once to CSV; each side then runs
in its own subprocess (read CSV, train, score, cluster) and reports its wall time and peak
memory (ru_maxrss of that process). Accuracy is scored against the ground truth with pairwise
and B-cubed precision, recall and F1. Then the public FEBRL sets (:mod:`bench.public`): Huella
through the ``huella`` command as a user runs it, Splink with its own examples' settings, and
the blocking recall of Huella's rules. Our generator alone proved a poor judge: a matcher can
beat Splink on it and lose on others' data.

    python -m bench matcher --sizes 10000,100000,1000000 --febrl 1,2,3,4
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench import public
from bench.data import dataset
from bench.metrics import bcubed, pairwise

SIDES = {"huella": "bench.run_huella", "splink": "bench.run_splink"}


def run_side(module: str, data: Path, labels: Path) -> dict[str, float] | None:
    """Run one side in a child process; its last stdout line is a JSON report."""
    done = subprocess.run(
        [sys.executable, "-m", module, str(data), "--labels", str(labels)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"  {module} failed:\n{done.stderr[-2000:]}")
        return None
    report: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def score(labels: Path, truth: Path) -> dict[str, float]:
    """Pairwise and B-cubed precision, recall and F1."""
    predicted, actual = np.load(labels), np.load(truth)
    pw, b3 = pairwise(predicted, actual), bcubed(predicted, actual)
    return {
        "pw_p": pw.precision,
        "pw_r": pw.recall,
        "pw_f1": pw.f1,
        "b3_p": b3.precision,
        "b3_r": b3.recall,
        "b3_f1": b3.f1,
    }


def main(argv: list[str]) -> int:
    """Run the benchmark at every size and print one table and the ratios."""
    parser = argparse.ArgumentParser(prog="python -m bench matcher")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sides", default="huella,splink")
    parser.add_argument(
        "--febrl", default="1,2,3,4", help="FEBRL sets to run after the sizes ('' for none)"
    )
    args = parser.parse_args(argv)
    sides = [s for s in args.sides.split(",") if s]
    if "splink" in sides and importlib.util.find_spec("splink") is None:
        print("splink is not installed (pip install -e '.[bench]'); running huella only")
        sides.remove("splink")
    header = (
        f"{'size':>8} {'side':<7} {'seconds':>8} {'peak MB':>8} "
        f"{'pw P':>6} {'pw R':>6} {'pw F1':>6} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6}"
    )
    print(header)
    for size in (int(s) for s in args.sizes.split(",") if int(s) > 0):
        data, truth = dataset(size, args.seed)
        results: dict[str, dict[str, float]] = {}
        for side in sides:
            with tempfile.TemporaryDirectory() as tmp:
                labels = Path(tmp) / "labels.npy"
                report = run_side(SIDES[side], data, labels)
                if report is None:
                    continue
                results[side] = {**report, **score(labels, truth)}
            r = results[side]
            print(
                f"{size:>8} {side:<7} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} "
                f"{r['pw_p']:>6.3f} {r['pw_r']:>6.3f} {r['pw_f1']:>6.3f} "
                f"{r['b3_p']:>6.3f} {r['b3_r']:>6.3f} {r['b3_f1']:>6.3f}",
                flush=True,
            )
        if {"huella", "splink"} <= results.keys():
            h, s = results["huella"], results["splink"]
            print(
                f"{size:>8} ratio   time {h['seconds'] / s['seconds']:.2f}x  "
                f"memory {h['peak_mb'] / s['peak_mb']:.2f}x  "
                f"pw F1 {h['pw_f1'] - s['pw_f1']:+.3f}  B3 F1 {h['b3_f1'] - s['b3_f1']:+.3f}",
                flush=True,
            )
    if args.febrl:
        print()
        public.main([int(n) for n in args.febrl.split(",")], sides)
    return 0
