"""The model fits itself to the store: after a first bulk load, again when the store has doubled,
with a dry run that changes nothing and a refusal that keeps the current model."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.identity.models import Identity
from app.matching.model import MatchModel
from app.resolution.models import ModelVersion
from app.settings import EXTENSION
from app.source.models import SourceRecord
from bench.febrl import generate
from connectors.sandbox.people import DEPARTMENT_ATTRIBUTES, generate_records

COLUMNS = ("first_name", "last_name", "address_line2", "city", "postcode", "region")
COLUMNS += ("birth_date", "soc_sec_id")
IDENTIFIER = ("--attr", "soc_sec_id:identifier")


def people_file(path: Path, count: int, seed: int) -> list[str]:
    """A CSV of FEBRL-like people with corrupted duplicates; ``import`` options for it."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("id", *COLUMNS))
        for person in generate(count, seed=seed):
            values = person.canonical()
            writer.writerow((f"{seed}-{person.record_id}", *(values.get(c, "") for c in COLUMNS)))
    return ["import", str(path), "--source", "crm", "--id-column", "id", *IDENTIFIER]


def versions(session: Session) -> list[ModelVersion]:
    session.expire_all()
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id)))


def identities(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Identity)) or 0


def test_a_first_bulk_load_fits_the_model_and_a_doubled_store_fits_it_again(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    first = cli.invoke(args=people_file(tmp_path / "a.csv", 1200, seed=1))
    assert first.exit_code == 0, first.output
    assert "outgrew its match model: trained a new one on 1200 records" in first.stdout
    (version,) = versions(session)
    assert version.active and version.summary["records"] == 1200 and version.summary["trained"]
    model = MatchModel.from_json(version.model)
    assert model.calibrated_on == 1200 and model.trained_on == 1200
    # One source (one file deduplicated): where a record comes from tells nothing.
    source = next(p for p in model.parameters if p.attribute == "source")
    assert source.m == source.u
    # The store's own prior: FEBRL-like people have duplicates, far more than one in 100,000.
    assert model.prior > 10 * MatchModel(parameters=()).prior

    more = cli.invoke(args=people_file(tmp_path / "b.csv", 400, seed=2))
    assert more.exit_code == 0, more.output
    assert "outgrew" not in more.stdout and len(versions(session)) == 1

    doubled = cli.invoke(args=people_file(tmp_path / "c.csv", 900, seed=3))
    assert doubled.exit_code == 0, doubled.output
    assert "trained a new one on 2500 records" in doubled.stdout
    assert [v.active for v in versions(session)] == [False, True]


def test_without_fitting_a_load_keeps_the_model_and_resolve_fits_it_later(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    options = people_file(tmp_path / "a.csv", 1100, seed=4)
    assert cli.invoke(args=[*options, "--no-fit"]).exit_code == 0
    assert versions(session) == []
    resolved = cli.invoke(args=["resolve"])
    assert resolved.exit_code == 0, resolved.output
    assert "trained a new one on 1100 records" in resolved.stdout
    assert len(versions(session)) == 1


def test_a_dry_run_says_what_a_new_model_would_change_and_changes_nothing(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    options = people_file(tmp_path / "a.csv", 1100, seed=5)
    assert cli.invoke(args=[*options, "--no-fit"]).exit_code == 0
    before = identities(session)
    dry = cli.invoke(args=["train", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"identities: {before} now" in dry.stdout and "merged into others" in dry.stdout
    assert "possible matches for review" in dry.stdout and "nothing was changed" in dry.stdout
    assert versions(session) == [] and identities(session) == before
    trained = cli.invoke(args=["train"])
    assert trained.exit_code == 0, trained.output
    # The model the dry run described is the one training keeps: it merged what it said.
    then = int(dry.stdout.split(" then (")[0].rsplit(" ", 1)[1])
    assert identities(session) == then


def test_a_model_that_moves_on_too_little_evidence_is_refused_and_the_current_one_kept(
    app: Flask, cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    options = people_file(tmp_path / "a.csv", 300, seed=6)
    assert cli.invoke(args=options).exit_code == 0
    settings = app.extensions[EXTENSION]
    config = settings.match
    strict = dataclasses.replace(
        config,
        model=dataclasses.replace(config.model, min_change_support=10**9, max_weight_change=0.1),
    )
    app.extensions[EXTENSION] = dataclasses.replace(settings, match=strict)
    refused = cli.invoke(args=["train"])
    assert refused.exit_code == 1
    assert "refused, the current one stands" in refused.output
    assert "too little evidence" in refused.output
    assert versions(session) == []


def test_explain_names_the_guard_that_keeps_two_records_apart(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    # A father and son of one name and street, and a record with only the name and the
    # street: it matches both equally, and the two never share an identity (they disagree on
    # birth date and identifier), so it joins neither; explain says which guard decided.
    path = tmp_path / "family.csv"
    path.write_text(
        "id,first_name,last_name,address_line1,birth_date,ssn\n"
        "father,Robert,Lee,12 Oak Street,1950-10-12,4471932\n"
        "son,Robert,Lee,12 Oak Street,1980-02-15,9036214\n"
        "bare,Robert,Lee,12 Oak Street,,\n"
    )
    options = ["--source", "shop", "--id-column", "id", "--attr", "ssn:identifier"]
    imported = cli.invoke(args=["import", str(path), *options])
    assert imported.exit_code == 0, imported.output
    session.expire_all()
    held = dict(session.execute(select(SourceRecord.external_id, SourceRecord.identity_id)).all())
    assert len({held["father"], held["son"], held["bare"]}) == 3
    explained = cli.invoke(args=["explain", "shop:bare", "shop:father"])
    assert explained.exit_code == 0, explained.output
    assert "same person (auto-match); not linked now" in explained.stdout
    assert "kept apart by the ambiguity guard" in explained.stdout


def test_a_store_fed_by_departments_weighs_where_records_come_from(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    # A department rarely holds one person twice: once the model is fitted, two records of one
    # department weigh less than two of different departments, and explain says so.
    records = list(generate_records(1500, seed=3))
    for department, columns in DEPARTMENT_ATTRIBUTES.items():
        path = tmp_path / f"{department}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("id", *columns))
            for r in records:
                if r.department == department:
                    writer.writerow((r.external_id, *(r.attributes.get(c, "") for c in columns)))
        options = ["--source", department, "--id-column", "id", "--no-fit"]
        assert cli.invoke(args=["import", str(path), *options]).exit_code == 0
    trained = cli.invoke(args=["train"])
    assert trained.exit_code == 0, trained.output
    sales = [r.external_id for r in records if r.department == "sales"]
    marketing = next(r.external_id for r in records if r.department == "marketing")
    lines = {}
    for other in (f"sales:{sales[1]}", f"marketing:{marketing}"):
        explained = cli.invoke(args=["explain", f"sales:{sales[0]}", other])
        assert explained.exit_code == 0, explained.output
        (line,) = [x for x in explained.stdout.splitlines() if x.startswith("source ")]
        lines[other.partition(":")[0]] = line.split()
    assert lines["sales"][1:3] == ["the", "same"] and float(lines["sales"][3]) < -2
    assert lines["marketing"][1] == "different" and float(lines["marketing"][2]) > 0
    assert lines["marketing"][-3:] == ["sales", "|", "marketing"]
