"""The file connector on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors import connector_class
from connectors.base import ConfigurationError, ConnectorError, Page, RecordIn, Reject
from connectors.files import FileConnector, file_settings

HEADER = "customer_id,first_name,last_name,E-mail,birth_date,loyalty\n"


def read_all(settings: dict[str, object], state: dict[str, object] | None = None) -> list[Page]:
    """Every page the file's one stream yields from ``state``."""
    (stream,) = FileConnector(settings).streams()
    return list(stream.read(state))


def records(pages: list[Page]) -> list[RecordIn]:
    return [record for page in pages for record in page.records]


def rejects(pages: list[Page]) -> list[Reject]:
    return [reject for page in pages for reject in page.rejects]


def write_customers(path: Path, count: int, broken: dict[int, bytes] | None = None) -> None:
    """A CSV of ``count`` customers; ``broken`` replaces the line of some customer numbers."""
    lines = [HEADER.encode()]
    for number in range(1, count + 1):
        born = f"1990-01-0{number % 9 + 1}"
        line = f"c{number},Ana{number},Pérez,ana{number}@example.com,{born},L{number}\n"
        lines.append((broken or {}).get(number, line.encode()))
    path.write_bytes(b"".join(lines))


def csv_settings(path: Path, **extra: object) -> dict[str, object]:
    return {"path": str(path), "id_column": "customer_id", "map": {"email": "E-mail"}} | extra


def test_registered_as_file() -> None:
    assert connector_class("file") is FileConnector


def test_a_csv_becomes_records_with_mapped_and_same_named_columns(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    write_customers(path, 2)
    first, second = records(read_all(csv_settings(path)))
    assert first.external_id == "c1"
    assert first.attributes == {
        "first_name": "Ana1",
        "last_name": "Pérez",
        "email": "ana1@example.com",
        "birth_date": "1990-01-02",
    }
    assert first.raw["loyalty"] == "L1"
    assert second.external_id == "c2"


def test_three_broken_rows_among_a_thousand_are_named_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    broken = {
        10: b",Ana,P,ana@example.com,1990-01-01,L\n",
        500: b"c500,Ana,P,ana500@example.com,31/31/1990,L\n",
        999: b"c999,Ana,P\xff\xfe,ana999@example.com,1990-01-01,L\n",
    }
    write_customers(path, 1000, broken)
    pages = read_all(csv_settings(path))
    # A birth date that does not read is kept as written (the store flags it): only rows that
    # cannot be stored at all are rejected.
    kept = {record.external_id: record for record in records(pages)}
    assert len(kept) == 998
    assert kept["c500"].attributes["birth_date"] == "31/31/1990"
    found = {reject.position: reject.reason for reject in rejects(pages)}
    # The header is row 1, so customer N sits on row N + 1.
    assert set(found) == {"row 11", "row 1000"}
    assert "missing id" in found["row 11"]
    assert "not valid utf-8" in found["row 1000"]


def test_wrong_column_count_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    write_customers(path, 3, {2: b"c2,Ana,Perez\n"})
    pages = read_all(csv_settings(path))
    assert [r.external_id for r in records(pages)] == ["c1", "c3"]
    (reject,) = rejects(pages)
    assert (reject.position, reject.reason) == ("row 3", "expected 6 columns, found 3")


def test_a_stray_carriage_return_rejects_its_row_alone(tmp_path: Path) -> None:
    # A page's rows are split by one CSV reader; the row it cannot split is named, and the
    # rows before and after it on the page are read.
    path = tmp_path / "sales.csv"
    write_customers(path, 3, {2: b"c2,Ana,Pe\rrez,ana2@example.com,1990-01-01,L\n"})
    pages = read_all(csv_settings(path))
    assert [r.external_id for r in records(pages)] == ["c1", "c3"]
    (reject,) = rejects(pages)
    assert reject.position == "row 3"
    assert reject.reason == "a line break (carriage return) inside an unquoted field"


def test_declared_date_attributes_are_kept_as_written(tmp_path: Path) -> None:
    # The file's reader keeps what the row says; the store flags a date that does not read.
    path = tmp_path / "sales.csv"
    path.write_text("id,signup\n1,12/03/2020\n2,March 3, 2020\n3,someday\n")
    settings = {
        "path": str(path),
        "id_column": "id",
        "attributes": {"signup": "date"},
    }
    pages = read_all(settings)
    assert [r.attributes["signup"] for r in records(pages)] == ["12/03/2020", "someday"]
    # The unquoted comma splits row 3 into three columns: that row cannot be read.
    assert [r.position for r in rejects(pages)] == ["row 3"]


def test_quoted_fields_may_span_lines_and_quotes_inside_plain_fields_are_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('id,city,note\n1,"Sevilla, Spain","two\nlines"\n2,Lima,5\'11" tall\n3,Oslo,x\n')
    pages = read_all({"path": str(path), "id_column": "id"})
    cities = [r.attributes["city"] for r in records(pages)]
    assert cities == ["Sevilla, Spain", "Lima", "Oslo"]
    assert records(pages)[0].raw["note"] == "two\nlines"
    assert records(pages)[1].raw["note"] == "5'11\" tall"


def test_a_byte_order_mark_and_crlf_line_ends_are_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfid,email\r\n1,a@example.com\r\n")
    (record,) = records(read_all({"path": str(path), "id_column": "id"}))
    assert record.attributes == {"email": "a@example.com"}


def test_pages_resume_exactly_after_their_state(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    write_customers(path, 25, {7: b"c7,broken\n"})
    settings = csv_settings(path, page_size=10)
    pages = read_all(settings)
    assert [len(p.records) + len(p.rejects) for p in pages] == [10, 10, 5]
    for index, page in enumerate(pages):
        resumed = read_all(settings, page.state)
        assert records(resumed) == records(pages[index + 1 :])
    assert read_all(settings, pages[-1].state) == []


def test_rows_appended_after_a_read_are_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    write_customers(path, 3)
    settings = csv_settings(path)
    state = read_all(settings)[-1].state
    with path.open("a") as handle:
        handle.write("c4,Bo,Li,bo@example.com,,L4\n")
    (page,) = read_all(settings, state)
    assert [r.external_id for r in page.records] == ["c4"]
    assert page.state["row"] == 5


def test_a_replaced_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    write_customers(path, 3)
    settings = csv_settings(path, page_size=2)
    state = read_all(settings)[0].state
    path.write_text(HEADER + "x1,Bo,Li,bo@example.com,,L\nx2,Cy,Wu,cy@example.com,,L\n")
    assert [r.external_id for r in records(read_all(settings, state))] == ["x1", "x2"]


def test_jsonl_rows_with_their_rejects(tmp_path: Path) -> None:
    path = tmp_path / "support.jsonl"
    lines = [
        json.dumps({"id": 1, "email": "a@example.com", "phone": 600111222}),
        "{not json",
        "",
        json.dumps(["a", "list"]),
        json.dumps({"email": "b@example.com"}),
        json.dumps({"id": "5", "birth_date": "1990-02-30"}),
        json.dumps({"id": "6", "full_name": "Zoë Ñúñez"}),
    ]
    path.write_bytes("\n".join(lines).encode() + b"\n" + b'{"id": "8", "city": "M\xe1laga"}\n')
    pages = read_all({"path": str(path), "id_column": "id"})
    assert [(r.external_id, dict(r.attributes)) for r in records(pages)] == [
        ("1", {"email": "a@example.com", "phone": "600111222"}),
        ("5", {"birth_date": "1990-02-30"}),
        ("6", {"full_name": "Zoë Ñúñez"}),
    ]
    reasons = {r.position: r.reason for r in rejects(pages)}
    assert list(reasons) == ["row 2", "row 4", "row 5", "row 8"]
    assert reasons["row 2"].startswith("not valid JSON")
    assert reasons["row 4"] == "expected a JSON object, found list"
    assert "missing id" in reasons["row 5"]
    assert "not valid utf-8" in reasons["row 8"]


def test_updated_at_column_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sales.jsonl"
    path.write_text(json.dumps({"id": "1", "changed": "2024-05-01T10:00:00Z"}) + "\n")
    settings = {"path": str(path), "id_column": "id", "updated_at_column": "changed"}
    (record,) = records(read_all(settings))
    assert record.updated_at is not None
    assert record.updated_at.isoformat() == "2024-05-01T10:00:00+00:00"


def test_check_names_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    write_customers(path, 1)
    FileConnector(csv_settings(path)).check()
    with pytest.raises(ConfigurationError, match="no column Mail"):
        FileConnector(csv_settings(path, map={"email": "Mail"})).check()
    with pytest.raises(ConnectorError, match="cannot read"):
        FileConnector(csv_settings(tmp_path / "missing.csv")).check()


def test_cli_options_become_settings() -> None:
    settings = file_settings(
        "people.csv",
        id_column="id",
        maps=["email=E-mail", "loyalty_id=Card"],
        attrs=["loyalty_id:identifier"],
    )
    assert settings["map"] == {"email": "E-mail", "loyalty_id": "Card"}
    assert settings["attributes"] == {"loyalty_id": "identifier"}


@pytest.mark.parametrize(
    ("maps", "attrs", "message"),
    [
        (["emial=E-mail"], [], "unknown attribute 'emial'"),
        (["email"], [], "expected ATTRIBUTE=COLUMN"),
        ([], ["loyalty"], "expected NAME:TYPE"),
        ([], ["loyalty:number"], "unknown type 'number'"),
        ([], ["email:text"], "canonical attribute"),
        (["card=Card"], ["loyalty:identifier"], "declare it with --attr card:TYPE"),
    ],
)
def test_cli_options_fail_clearly(maps: list[str], attrs: list[str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        file_settings("people.csv", id_column="id", maps=maps, attrs=attrs)


def test_the_format_comes_from_the_extension_or_must_be_given() -> None:
    assert FileConnector({"path": "a.ndjson", "id_column": "id"}).config.format == "jsonl"
    with pytest.raises(ConfigurationError, match="set format"):
        FileConnector({"path": "a.txt", "id_column": "id"})
