"""The first load at scale, as a new user runs it: files to identities through the CLI, on
SQLite and PostgreSQL, beside Splink on the same file in the same run.

For each size, FEBRL-like person records (:mod:`bench.febrl`: originals and corrupted
duplicates, with ground truth) are written once to CSV. Then, each in its own child process:

- Splink 4 on DuckDB with the comparisons of its own FEBRL4 example and blocking rules for a
  million records (:func:`bench.run_splink_febrl.scale_settings`: train, predict, cluster at
  0.99);
- Huella, the README's bulk path, on a fresh store of each kind: ``huella import FILE
  --no-resolve``, then ``huella resolve`` (which fits the model to the store first); its
  identities are then exported (not timed) and scored.

Wall time is measured around each child (interpreter start and imports included, on both
sides), and its CPU time (user and system, from ``wait4``: the figure that holds on a busy
machine; DuckDB runs threads, so Splink's CPU time can exceed its wall time). Peak memory is
the largest resident set of the child (``ru_maxrss`` from ``wait4``), the larger of the two
commands for Huella. The PostgreSQL server runs apart and its memory is
not counted, as no database server's would be; DuckDB runs inside Splink's process and is.
Accuracy is pairwise precision, recall and F1 against the truth; a record that does not come
out (rejected at import) counts as a singleton. Benchmarks assert nothing.

    .venv/bin/python -m bench load --sizes 100000,1000000 [--stores sqlite,postgresql]
        [--sides huella,splink] [--server URL]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data import OUT
from bench.febrl import FEBRL_COLUMNS, generate
from bench.metrics import pairwise
from bench.public import IMPORT_OPTIONS
from bench.sync import DEFAULT_SERVER, fresh_database

SOURCE = "people"
BENCH_DATABASE = "huella_bench_load"
STORES = ("sqlite", "postgresql")


@dataclass(frozen=True, slots=True)
class Run:
    """One child process: how long it took, its peak memory, what it printed."""

    seconds: float
    cpu: float
    peak_mb: float
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class Result:
    """One side on one file: wall time, peak memory, accuracy, and notes."""

    side: str
    seconds: float
    cpu: float
    peak_mb: float
    precision: float
    recall: float
    f1: float
    notes: str = ""


def dataset(size: int, seed: int) -> tuple[Path, np.ndarray]:
    """The CSV of ``size`` FEBRL-like records and each row's person, written once."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"febrl-like-{size}-{seed}.csv"
    truth = path.with_suffix(".truth.npy")
    if path.exists() and truth.exists():
        return path, np.load(truth)
    persons = np.empty(size, dtype=np.int64)
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("rec_id", *FEBRL_COLUMNS))
        for record in generate(size, seed):
            persons[record.record_id] = record.person_id
            writer.writerow(
                (f"rec-{record.record_id}", *(record.columns[c] for c in FEBRL_COLUMNS))
            )
    np.save(truth, persons)
    partial.rename(path)
    return path, persons


def run(arguments: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run a child to its end: wall time and peak resident memory of that child alone."""
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(arguments, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        done = Run(seconds, cpu, usage.ru_maxrss / 1024, out.read().decode(), err.read().decode())
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments[:4])} failed:\n{done.stderr[-3000:]}")
    return done


def score(cluster: dict[str, str], persons: np.ndarray) -> tuple[float, float, float, int]:
    """Pairwise precision, recall, F1 of row -> cluster, and how many rows were missing."""
    labels = [cluster.get(f"rec-{row}", f"alone:{row}") for row in range(len(persons))]
    predicted = np.unique(np.array(labels, dtype=object), return_inverse=True)[1]
    scores = pairwise(predicted.astype(np.int64), persons)
    missing = sum(label.startswith("alone:") for label in labels)
    return scores.precision, scores.recall, scores.f1, missing


def splink(path: Path, persons: np.ndarray) -> Result:
    """Splink with its FEBRL example's settings, in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        labels = Path(folder) / "labels.json"
        done = run(
            [
                sys.executable,
                "-m",
                "bench.run_splink_febrl",
                f"{SOURCE}={path}",
                "--labels",
                str(labels),
                "--scale",
            ]
        )
        cluster = {
            key.split("|", 1)[1]: value for key, value in json.loads(labels.read_text()).items()
        }
    p, r, f1, missing = score(cluster, persons)
    return Result("splink", done.seconds, done.cpu, done.peak_mb, p, r, f1, _missing(missing))


def huella(
    store: str, path: Path, persons: np.ndarray, server: str, keep: Path | None = None
) -> Result:
    """The README's bulk path on a fresh store: import --no-resolve, then resolve; with
    ``keep``, the exported identities are kept there (to compare partitions across changes)."""
    with tempfile.TemporaryDirectory() as folder:
        url = (
            f"sqlite:///{Path(folder) / 'huella.db'}"
            if store == "sqlite"
            else fresh_database(server, f"{BENCH_DATABASE}_{len(persons)}")
        )
        env = {**os.environ, "HUELLA_DATABASE_URL": url, "HUELLA_LOG_LEVEL": "WARNING"}
        env.pop("HUELLA_CONFIG", None)
        command = [sys.executable, "-m", "app"]
        imported = run(
            [*command, "import", str(path), "--source", SOURCE, *IMPORT_OPTIONS, "--no-resolve"],
            env,
        )
        resolved = run([*command, "resolve"], env)
        exported = run([*command, "export", "identities"], env)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"{len(persons)}-{store}.csv").write_text(exported.stdout)
    rows = csv.DictReader(io.StringIO(exported.stdout))
    cluster = {row["source_record_id"]: row["identity_id"] for row in rows}
    p, r, f1, missing = score(cluster, persons)
    notes = (
        f"import {imported.seconds:.1f} s ({imported.cpu:.1f} s CPU) / {imported.peak_mb:.0f} MB, "
        f"resolve {resolved.seconds:.1f} s ({resolved.cpu:.1f} s CPU) / "
        f"{resolved.peak_mb:.0f} MB{_missing(missing)}"
    )
    return Result(
        f"huella {store}",
        imported.seconds + resolved.seconds,
        imported.cpu + resolved.cpu,
        max(imported.peak_mb, resolved.peak_mb),
        p,
        r,
        f1,
        notes,
    )


def _missing(count: int) -> str:
    return f"; {count} records not in the output" if count else ""


def main(argv: list[str]) -> int:
    """Run every side at every size; print a line each and the ratios against Splink."""
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stores", default=",".join(STORES), help="sqlite, postgresql or both")
    parser.add_argument("--sides", default="huella,splink")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument(
        "--keep", type=Path, default=None, help="a folder to keep each store's identities in"
    )
    args = parser.parse_args(argv)
    sides = [s for s in args.sides.split(",") if s]
    if "splink" in sides and importlib.util.find_spec("splink") is None:
        print("splink is not installed (pip install -e '.[bench]'); running huella only")
        sides.remove("splink")
    stores = [s for s in args.stores.split(",") if s in STORES]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(
        f"{'size':>8} {'side':<18} {'seconds':>8} {'CPU s':>8} {'peak MB':>8} "
        f"{'pw P':>7} {'pw R':>7} {'pw F1':>7}  notes",
        flush=True,
    )
    for size in (int(s) for s in args.sizes.split(",") if s):
        path, persons = dataset(size, args.seed)
        results: list[Result] = []
        if "splink" in sides:
            results.append(_print(size, splink(path, persons)))
        if "huella" in sides:
            results.extend(
                _print(size, huella(s, path, persons, args.server, args.keep)) for s in stores
            )
        base = next((r for r in results if r.side == "splink"), None)
        for result in results:
            if base is not None and result is not base:
                print(
                    f"{size:>8} {result.side:<18} vs splink: time "
                    f"{result.seconds / base.seconds:.2f}x (CPU {result.cpu / base.cpu:.2f}x), "
                    "memory "
                    f"{result.peak_mb / base.peak_mb:.2f}x, pw F1 {result.f1 - base.f1:+.4f}",
                    flush=True,
                )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return 0


def _print(size: int, result: Result) -> Result:
    print(
        f"{size:>8} {result.side:<18} {result.seconds:>8.1f} {result.cpu:>8.1f} "
        f"{result.peak_mb:>8.0f} "
        f"{result.precision:>7.4f} {result.recall:>7.4f} {result.f1:>7.4f}  {result.notes}",
        flush=True,
    )
    return result
