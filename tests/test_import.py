"""huella import: good rows in, broken rows named, re-imports idempotent."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.identity.models import Identity
from app.source.models import Source, SourceRecord
from app.sync.models import RecordReject

HEADER = ["customer_id", "given", "surname", "mail", "tel", "dob", "tier"]


def write_customers(path: Path, rows: int, broken: dict[int, bytes]) -> None:
    """A CSV of ``rows`` customers; rows listed in ``broken`` (1-based data rows) are replaced."""
    out = io.BytesIO()
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(HEADER)
    out.write(text.getvalue().encode())
    for n in range(1, rows + 1):
        if n in broken:
            out.write(broken[n])
            continue
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow(
            [
                f"C{n:05d}",
                f"Given{n}",
                f"Surname{n % 97}",
                f"person{n}@example.org",
                f"+1 202 555 {n % 10000:04d}",
                f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
                "gold",
            ]
        )
        out.write(text.getvalue().encode())
    path.write_bytes(out.getvalue())


def snapshot(session: Session) -> dict[str, Any]:
    """What a user could observe of the store."""
    session.expire_all()
    records = session.execute(
        select(
            SourceRecord.external_id,
            SourceRecord.content_hash,
            SourceRecord.updated_at,
            SourceRecord.identity_id,
        ).order_by(SourceRecord.external_id)
    ).all()
    return {
        "records": records,
        "identities": session.scalar(select(func.count()).select_from(Identity)),
        "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
    }


def test_import_keeps_good_rows_names_bad_ones_and_is_idempotent(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "crm.csv"
    write_customers(
        path,
        1000,
        {
            10: b",NoId,Person,noid@example.org,,1970-01-01,gold\n",
            500: b"C00500,Bad,Date,bad@example.org,,31/31/1999,gold\n",
            900: "C00900,Ren\u00e9,M\u00fcller,rm@example.org,,1980-02-02,gold\n".encode("latin-1"),
        },
    )
    args = [
        "import",
        str(path),
        "--source",
        "crm",
        "--id-column",
        "customer_id",
        "--map",
        "first_name=given",
        "--map",
        "last_name=surname",
        "--map",
        "email=mail",
        "--map",
        "phone=tel",
        "--map",
        "birth_date=dob",
        "--map",
        "tier=tier",
        "--attr",
        "tier:category",
    ]
    first = cli.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "998 new" in first.stdout and "2 rejected" in first.stdout
    # Rows as a spreadsheet numbers them: the header is row 1.
    assert "row 11: " in first.stderr and "id" in first.stderr.split("row 11: ")[1].splitlines()[0]
    assert (
        "row 901: " in first.stderr
        and "utf-8" in first.stderr.split("row 901: ")[1].splitlines()[0]
    )
    # A birth date that does not read loses nothing else: the row is kept, the value flagged.
    assert "row 501" not in first.stderr
    assert "1 birth_date values kept as written, not a date" in first.stderr
    assert session.scalar(select(func.count()).select_from(SourceRecord)) == 998
    flagged = session.scalars(
        select(SourceRecord).where(SourceRecord.external_id == "C00500")
    ).one()
    assert flagged.attributes["birth_date"] == "31/31/1999"
    assert flagged.problems == {"birth_date": "not a date"}
    assert flagged.identity_id is not None
    source = session.scalars(select(Source)).one()
    assert source.attribute_types == {"tier": "category"}
    before = snapshot(session)

    kept_rejects = session.scalar(select(func.count()).select_from(RecordReject))
    assert kept_rejects == 2

    second = cli.invoke(args=args)
    assert second.exit_code == 0, second.output
    assert "0 new, 0 updated, 998 unchanged, 2 rejected" in second.stdout
    assert snapshot(session) == before
    # the same two bad rows, read again, are not kept again
    assert session.scalar(select(func.count()).select_from(RecordReject)) == 2


def test_a_changed_row_updates_its_record(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "shop.jsonl"
    path.write_text(
        '{"id": "1", "email": "a@example.org"}\n{"id": "2", "email": "b@example.org"}\n'
    )
    assert (
        cli.invoke(args=["import", str(path), "--source", "shop", "--id-column", "id"]).exit_code
        == 0
    )
    path.write_text(
        '{"id": "1", "email": "a@example.org"}\n{"id": "2", "email": "b2@example.org"}\n'
    )
    result = cli.invoke(args=["import", str(path), "--source", "shop", "--id-column", "id"])
    assert "0 new, 1 updated, 1 unchanged" in result.stdout
    session.expire_all()
    emails = session.scalars(
        select(SourceRecord.attributes).order_by(SourceRecord.external_id)
    ).all()
    assert [e["email"] for e in emails] == ["a@example.org", "b2@example.org"]


def test_mapping_to_an_undeclared_attribute_is_refused(cli: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,shoe\n1,42\n")
    result = cli.invoke(
        args=["import", str(path), "--source", "x", "--id-column", "id", "--map", "shoe_size=shoe"]
    )
    assert result.exit_code != 0
    assert "shoe_size" in result.output and "--attr" in result.output


def test_a_repeated_id_is_named_with_both_rows_and_the_first_is_kept(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        "id,first_name,email\n"
        "1,Ana,ana@example.org\n"
        "2,Bo,bo@example.org\n"
        "1,Anabel,anabel@example.org\n"
    )
    done = cli.invoke(args=["import", str(path), "--source", "crm", "--id-column", "id"])
    assert done.exit_code == 0, done.output
    assert "2 new" in done.stdout and "1 rejected" in done.stdout
    assert "crm.csv: row 4: duplicate id '1': row 2 has it already" in done.stderr
    ana = session.scalars(select(SourceRecord).where(SourceRecord.external_id == "1")).one()
    assert ana.attributes["first_name"] == "Ana"  # the first row, not silently the last


def test_columns_that_map_to_nothing_are_listed_and_kept_on_request(
    cli: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "shop.csv"
    path.write_text("id,email,Loyalty Tier,notes\n1,ana@example.org,gold,calls on Fridays\n")
    args = ["import", str(path), "--source", "shop", "--id-column", "id"]
    plain = cli.invoke(args=args)
    assert plain.exit_code == 0, plain.output
    assert "columns that map to no attribute, left out: Loyalty Tier, notes" in plain.stdout
    record = session.scalars(select(SourceRecord)).one()
    assert set(record.attributes) == {"email"}
    kept = cli.invoke(args=[*args, "--keep-extra"])
    assert kept.exit_code == 0, kept.output
    assert "kept as attributes of their own: Loyalty Tier, notes" in kept.stdout
    assert "1 updated" in kept.stdout
    session.expire_all()
    record = session.scalars(select(SourceRecord)).one()
    assert record.attributes == {
        "email": "ana@example.org",
        "loyalty_tier": "gold",
        "notes": "calls on Fridays",
    }
