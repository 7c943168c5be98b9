"""``huella resolve --full`` gives the same partition whatever order the records arrived in: the
same people imported in several orders, into fresh stores of both backends, end up in the same
groups (record ids follow arrival order; ties are broken by what the records say)."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from app import create_app, migrate
from app.db import get_db
from app.resolution.models import ModelVersion
from bench.febrl import generate
from tests.conftest import BACKENDS, huella_config

COLUMNS = ("first_name", "last_name", "address_line2", "city", "postcode", "region")
COLUMNS += ("birth_date", "soc_sec_id")
IMPORT = ["--source", "crm", "--id-column", "id", "--attr", "soc_sec_id:identifier"]


def _write(path: Path, rows: list[tuple[str, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("id", *COLUMNS))
        writer.writerows(rows)


def _partition(url: str, path: Path) -> tuple[set[frozenset[str]], str]:
    """Import a file into a fresh store, resolve everything, and read back the groups and
    the model the store fitted itself."""
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(huella_config(url, TASK_MODE="inline"))
    try:
        cli = app.test_cli_runner()
        imported = cli.invoke(args=["import", str(path), *IMPORT, "--no-resolve", "--no-fit"])
        assert imported.exit_code == 0, imported.output
        resolved = cli.invoke(args=["resolve", "--full"])
        assert resolved.exit_code == 0, resolved.output
        # More than fit_from records: the first full resolution fits the model first, so the
        # fitting itself must not depend on the order either.
        assert "outgrew its match model" in resolved.stdout
        exported = cli.invoke(args=["export", "identities"])
        assert exported.exit_code == 0, exported.output
        with app.app_context(), get_db(app).session() as session:
            model = session.scalars(select(ModelVersion.model).where(ModelVersion.active)).one()
    finally:
        get_db(app).dispose()
    groups: dict[str, set[str]] = {}
    for row in csv.DictReader(exported.stdout.splitlines()):
        groups.setdefault(row["identity_id"], set()).add(row["source_record_id"])
    return {frozenset(members) for members in groups.values()}, model


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_resolve_full_gives_one_partition_whatever_the_arrival_order(
    backend: str, fresh_database: Callable[[str], str], tmp_path: Path
) -> None:
    people = [
        (str(p.record_id), *(p.canonical().get(c, "") for c in COLUMNS))
        for p in generate(1100, seed=21)
    ]
    partitions = []
    for order in range(3):
        rows = list(people)
        random.Random(order).shuffle(rows)
        path = tmp_path / f"order{order}.csv"
        _write(path, rows)
        partitions.append(_partition(fresh_database(backend), path))
    # The same model, to the last digit, and so the same groups.
    assert partitions[0][1] == partitions[1][1] == partitions[2][1]
    assert partitions[0][0] == partitions[1][0] == partitions[2][0]
    # Some people hold several records: the partition is not trivially all singletons.
    assert len(partitions[0][0]) < len(people) - 100
