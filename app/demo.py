"""The demo of ``make run``: three departments' overlapping exports, imported and resolved."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from connectors import CANONICAL_ATTRIBUTES
from connectors.sandbox.people import DepartmentRecord, department_records, generate_people

DEMO_PEOPLE = 400
DEMO_SEED = 7


def write_exports(
    folder: Path, people: int = DEMO_PEOPLE, seed: int = DEMO_SEED
) -> dict[str, Path]:
    """Write one CSV export per department (``external_id`` + the attributes it holds)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_department: dict[str, list[DepartmentRecord]] = defaultdict(list)
    for record in department_records(generate_people(people, seed=seed), seed=seed):
        by_department[record.department].append(record)
    return {
        department: _write_csv(folder / f"{department}.csv", records)
        for department, records in sorted(by_department.items())
    }


def _write_csv(path: Path, records: Iterable[DepartmentRecord]) -> Path:
    rows = list(records)
    held = {name for r in rows for name in r.attributes}
    columns = [name for name in CANONICAL_ATTRIBUTES if name in held]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", *columns])
        for record in rows:
            writer.writerow([record.external_id, *(record.attributes.get(c, "") for c in columns)])
    return path
