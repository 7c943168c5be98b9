"""Benchmark data: synthetic department records written once to CSV, with ground truth apart.

Both sides of a comparison read the same CSV file in their own process; the truth (which
person each row belongs to) is a separate numpy file only the scorer reads.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from connectors.base import CANONICAL_ATTRIBUTES
from connectors.sandbox import people, people_data
from connectors.sandbox.people import generate_records

OUT = Path(__file__).resolve().parent / "out"
COLUMNS = ("record_id", "department", "external_id", *CANONICAL_ATTRIBUTES)


def dataset(size: int, seed: int = 1) -> tuple[Path, Path]:
    """Paths of the CSV and truth files for ``size`` records, generating them if missing."""
    OUT.mkdir(parents=True, exist_ok=True)
    stem = f"people-{size}-{seed}-{_generator_digest()}"
    data = OUT / f"{stem}.csv"
    truth = OUT / f"{stem}.truth.npy"
    if data.exists() and truth.exists():
        return data, truth
    people: dict[str, int] = {}
    labels = np.empty(size, dtype=np.int64)
    partial = data.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index, record in enumerate(generate_records(size, seed)):
            labels[index] = people.setdefault(record.person_id, len(people))
            writer.writerow(
                (
                    index,
                    record.department,
                    record.external_id,
                    *(record.attributes.get(name, "") for name in CANONICAL_ATTRIBUTES),
                )
            )
    np.save(truth, labels[: index + 1])
    partial.rename(data)
    return data, truth


def _generator_digest() -> str:
    """A short digest of the generator's source: files written by another version of it are
    never read back as if they were this one's."""
    digest = hashlib.sha256()
    for module in (people, people_data):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:10]
