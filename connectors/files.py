"""Files as a source (kind ``file``): CSV or JSONL, one customer per row, read page by page.

Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1 and the first
customer row 2; a JSONL file has no header, its first line is row 1. A CSV row whose quoted
field spans lines still counts as one row.

Bytes are decoded row by row, so one row that is not valid UTF-8 is rejected and the others
are read. A page's state holds the byte offset and row after it, plus a fingerprint of the
file's bytes before that offset: a resumed read continues exactly there, and a file that was
replaced in between is read again from the start.

Settings:
    path            the file
    format          ``csv`` or ``jsonl`` (default: from the extension)
    id_column       the column (JSONL: key) holding the row's id in the file
    map             attribute -> column; unmapped attributes whose name is a column map to it
    attributes      extra attribute name -> type (identifier name text category date email
                    phone postcode); the canonical attributes need no declaration
    updated_at_column   optional column with the row's last change (ISO 8601 or epoch seconds)
    keep_extra      keep columns that map to no attribute as attributes of their own (named
                    like the column, lowercase), stored and shown but not compared
    delimiter       CSV delimiter (default ``,``)
    encoding        text encoding of the rows (default ``utf-8``)
    page_size       rows per page (default 5000: a file is read in bulk, and each page costs
                    a commit and a look-up of the ids it holds)
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Literal

from connectors.base import (
    CANONICAL_ATTRIBUTES,
    EXTRA_ATTRIBUTE_TYPES,
    FLAG,
    TABLE,
    TEXT,
    WHOLE,
    ConfigurationError,
    Connector,
    ConnectorError,
    Page,
    RecordIn,
    Reject,
    Setting,
    State,
    Stream,
    register,
)
from connectors.values import int_setting, parse_timestamp, required_text

FileFormat = Literal["csv", "jsonl"]
FORMATS_BY_EXTENSION: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FINGERPRINT_HEAD = 64 * 1024
_FINGERPRINT_TAIL = 4 * 1024
_BOM = b"\xef\xbb\xbf"
_SAMPLE_ROWS = 100  # JSONL rows read to tell its columns


class RowError(ValueError):
    """A row that cannot become a record; its message is the reject's reason."""


@dataclass(frozen=True, slots=True)
class FileSettings:
    """A file source's settings, checked."""

    path: Path
    format: FileFormat
    id_column: str
    mapping: Mapping[str, str]
    attribute_types: Mapping[str, str] = field(default_factory=dict)
    updated_at_column: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    page_size: int = 5000
    keep_extra: bool = False

    @classmethod
    def parse(cls, settings: Mapping[str, Any]) -> FileSettings:
        """Check raw settings and fill in defaults; ConfigurationError names what is wrong."""
        path = Path(required_text(settings, "path"))
        types = parse_attribute_types(settings.get("attributes") or {})
        mapping = parse_mapping(settings.get("map") or {}, types)
        delimiter = str(settings.get("delimiter") or ("\t" if path.suffix == ".tsv" else ","))
        if len(delimiter) != 1:
            raise ConfigurationError("setting 'delimiter' must be one character")
        encoding = str(settings.get("encoding") or "utf-8")
        try:
            b"".decode(encoding)
        except LookupError:
            raise ConfigurationError(f"unknown encoding {encoding!r}") from None
        return cls(
            path=path,
            format=_format(settings.get("format"), path),
            id_column=required_text(settings, "id_column"),
            mapping=mapping,
            attribute_types=types,
            updated_at_column=settings.get("updated_at_column") or None,
            delimiter=delimiter,
            encoding=encoding,
            page_size=int_setting(settings, "page_size", 5000),
            keep_extra=bool(settings.get("keep_extra", False)),
        )

    def columns_by_attribute(self, columns: Sequence[str]) -> dict[str, str]:
        """Explicit mappings, plus every known attribute whose name is also a column."""
        known = (*CANONICAL_ATTRIBUTES, *self.attribute_types)
        present = set(columns)
        implicit = {name: name for name in known if name in present}
        return implicit | dict(self.mapping)

    def unmapped(self, columns: Sequence[str]) -> list[str]:
        """The columns no attribute reads (nor the id or the update time): left out, unless
        ``keep_extra`` keeps them."""
        used = {
            self.id_column,
            self.updated_at_column,
            *self.columns_by_attribute(columns).values(),
        }
        return [column for column in columns if column not in used]


def _format(value: Any, path: Path) -> FileFormat:
    if value in ("csv", "jsonl"):
        return "csv" if value == "csv" else "jsonl"
    if value:
        raise ConfigurationError(f"unknown format {value!r} (known: csv, jsonl)")
    try:
        return FORMATS_BY_EXTENSION[path.suffix.lower()]
    except KeyError:
        raise ConfigurationError(
            f"cannot tell the format of {path.name!r} from its extension: set format to csv "
            "or jsonl"
        ) from None


def parse_attribute_types(value: Any) -> dict[str, str]:
    """Checked extra attribute declarations (name -> type)."""
    if not isinstance(value, Mapping):
        raise ConfigurationError("setting 'attributes' must map attribute names to types")
    types: dict[str, str] = {}
    for name, kind in value.items():
        if name in CANONICAL_ATTRIBUTES:
            raise ConfigurationError(f"{name!r} is a canonical attribute: its type is fixed")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError(
                f"attribute name {name!r} must be lowercase letters, digits and underscores"
            )
        if kind not in EXTRA_ATTRIBUTE_TYPES:
            known = " ".join(EXTRA_ATTRIBUTE_TYPES)
            raise ConfigurationError(f"unknown type {kind!r} for {name!r} (known: {known})")
        types[name] = str(kind)
    return types


def parse_mapping(value: Any, types: Mapping[str, str]) -> dict[str, str]:
    """A checked attribute -> column map: targets are canonical or declared attributes."""
    if not isinstance(value, Mapping):
        raise ConfigurationError("setting 'map' must map attributes to columns")
    for attribute, column in value.items():
        if attribute not in CANONICAL_ATTRIBUTES and attribute not in types:
            raise ConfigurationError(_unknown_attribute(str(attribute)))
        if not isinstance(column, str) or not column:
            raise ConfigurationError(f"map of {attribute!r} must name a column")
    return {str(key): str(column) for key, column in value.items()}


def _unknown_attribute(name: str) -> str:
    return (
        f"unknown attribute {name!r}: map to a canonical attribute "
        f"({' '.join(CANONICAL_ATTRIBUTES)}) or declare it with --attr {name}:TYPE"
    )


def file_settings(
    path: str,
    *,
    id_column: str,
    file_format: str | None = None,
    maps: Sequence[str] = (),
    attrs: Sequence[str] = (),
    keep_extra: bool = False,
) -> dict[str, Any]:
    """Settings of a file source from the CLI's ``--map ATTRIBUTE=COLUMN`` and
    ``--attr NAME:TYPE`` strings; ConfigurationError names the offending option."""
    attributes: dict[str, str] = {}
    for option in attrs:
        name, sep, kind = option.partition(":")
        if not sep or not name.strip() or not kind.strip():
            raise ConfigurationError(f"--attr {option!r}: expected NAME:TYPE")
        attributes[name.strip()] = kind.strip()
    try:
        parse_attribute_types(attributes)
    except ConfigurationError as error:
        raise ConfigurationError(f"--attr: {error}") from None
    mapping: dict[str, str] = {}
    for option in maps:
        attribute, sep, column = option.partition("=")
        if not sep or not attribute.strip() or not column.strip():
            raise ConfigurationError(f"--map {option!r}: expected ATTRIBUTE=COLUMN")
        attribute = attribute.strip()
        if attribute not in CANONICAL_ATTRIBUTES and attribute not in attributes:
            raise ConfigurationError(f"--map {option!r}: {_unknown_attribute(attribute)}")
        mapping[attribute] = column.strip()
    settings: dict[str, Any] = {
        "path": path,
        "id_column": id_column,
        "map": mapping,
        "attributes": attributes,
    }
    if file_format:
        settings["format"] = file_format
    if keep_extra:
        settings["keep_extra"] = True
    FileSettings.parse(settings)
    return settings


@register
class FileConnector(Connector):
    """A CSV or JSONL file of customers."""

    kind = "file"
    settings_schema: ClassVar[Mapping[str, Setting]] = {
        "path": Setting(TEXT, required=True, names="file"),
        "id_column": Setting(TEXT, required=True),
        "format": Setting(TEXT),
        "map": Setting(TABLE),
        "attributes": Setting(TABLE),
        "updated_at_column": Setting(TEXT),
        "delimiter": Setting(TEXT),
        "encoding": Setting(TEXT),
        "page_size": Setting(WHOLE),
        "keep_extra": Setting(FLAG),
    }

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.config = FileSettings.parse(settings)

    def check(self) -> None:
        """The file is readable and, for a CSV, has the id column and every mapped column."""
        try:
            with self.config.path.open("rb") as handle:
                if self.config.format == "csv":
                    columns = _read_header(handle, self.config)
                    wanted = [self.config.id_column, *self.config.mapping.values()]
                    missing = [column for column in wanted if column not in columns]
                    if missing:
                        raise ConfigurationError(
                            f"{self.config.path.name} has no column {', '.join(missing)} "
                            f"(columns: {', '.join(columns)})"
                        )
        except OSError as error:
            raise ConnectorError(f"cannot read {self.config.path}: {error.strerror}") from None

    def columns(self) -> list[str]:
        """The file's columns: a CSV's header, or the keys of a JSONL file's first rows."""
        with self.config.path.open("rb") as handle:
            if self.config.format == "csv":
                return _read_header(handle, self.config)
            keys: dict[str, None] = {}
            for _, raw in zip(range(_SAMPLE_ROWS), handle, strict=False):
                try:
                    keys.update(dict.fromkeys(_json_fields(raw, self.config)))
                except RowError:
                    continue
            return list(keys)

    def streams(self) -> Sequence[Stream]:
        """One stream of records: the rows."""
        return [FileRowsStream(self.config)]


class FileRowsStream(Stream):
    """The rows of the file, as records."""

    name = "rows"
    kind = "records"

    def __init__(self, config: FileSettings) -> None:
        self.config = config
        self._columns = _ColumnPlans(config)

    def read(self, state: State | None) -> Iterator[Page]:
        """Yield pages of records and rejects from ``state`` (None: the first row)."""
        try:
            handle = self.config.path.open("rb")
        except OSError as error:
            raise ConnectorError(f"cannot read {self.config.path}: {error.strerror}") from None
        with handle:
            yield from self._pages(handle, state)

    def _pages(self, handle: BinaryIO, state: State | None) -> Iterator[Page]:
        reader = _CsvRows(self.config, handle) if self.config.format == "csv" else None
        start, first_row = _resume_point(handle, state)
        if reader is not None and start == 0:
            start, first_row = reader.header_end, 1
        handle.seek(start)
        quoted = self.config.delimiter.encode() if reader else b""
        # The row each id was first read on: a later row with the same id is named, not
        # silently taken over the first (within one read; a resumed read starts afresh).
        first_of: dict[str, int] = {}
        rows: list[tuple[int, bytes]] = []
        for row, raw, offset in _raw_rows(handle, first_row, start, quoted=quoted):
            rows.append((row, raw))
            if len(rows) >= self.config.page_size:
                yield self._page(reader, rows, first_of, _state(handle, offset, row))
                rows = []
        if rows:
            yield self._page(reader, rows, first_of, _state(handle, offset, row))

    def _page(
        self,
        reader: _CsvRows | None,
        rows: list[tuple[int, bytes]],
        first_of: dict[str, int],
        state: State,
    ) -> Page:
        """The records and rejects of a page's rows, read together (one CSV parse a page)."""
        raws = [raw for _, raw in rows]
        parsed = reader.fields_of(raws) if reader else _json_rows(raws, self.config)
        records: list[RecordIn] = []
        rejects: list[Reject] = []
        for (row, raw), fields in zip(rows, parsed, strict=True):
            try:
                if isinstance(fields, RowError):
                    raise fields
                record = _record(fields, self.config, self._columns)
                if record.external_id in first_of:
                    raise RowError(
                        f"duplicate id {record.external_id!r}: row "
                        f"{first_of[record.external_id]} has it already, and is the one kept"
                    )
                first_of[record.external_id] = row
                records.append(record)
            except RowError as error:
                rejects.append(Reject(f"row {row}", str(error), raw.decode("utf-8", "replace")))
        return Page(state, records=records, rejects=rejects)


def _resume_point(handle: BinaryIO, state: State | None) -> tuple[int, int]:
    """Where a read starts: after the state's row when the file is still the same one."""
    if not state:
        return 0, 0
    offset, row = int(state.get("offset", 0)), int(state.get("row", 0))
    size = handle.seek(0, 2)
    if offset <= size and state.get("fingerprint") == _fingerprint(handle, offset):
        return offset, row
    return 0, 0


def _state(handle: BinaryIO, offset: int, row: int) -> State:
    position = handle.tell()
    fingerprint = _fingerprint(handle, offset)
    handle.seek(position)
    return {"offset": offset, "row": row, "fingerprint": fingerprint}


def _fingerprint(handle: BinaryIO, offset: int) -> str:
    """A digest of the bytes that a resumed read takes as already read."""
    digest = hashlib.sha256(str(offset).encode())
    handle.seek(0)
    digest.update(handle.read(min(offset, _FINGERPRINT_HEAD)))
    tail_start = max(0, offset - _FINGERPRINT_TAIL)
    handle.seek(tail_start)
    digest.update(handle.read(offset - tail_start))
    return digest.hexdigest()[:32]


def _raw_rows(
    handle: BinaryIO, row: int, offset: int, *, quoted: bytes
) -> Iterator[tuple[int, bytes, int]]:
    """Yield (row number, row bytes without line end, offset after it), skipping blank rows.

    A CSV row goes on past a line end while a quoted field is open.
    """
    pending = b""
    for line in handle:
        offset += len(line)
        pending += line
        if quoted and b'"' in pending and _inside_quotes(pending, quoted):
            continue
        row += 1
        raw, pending = pending.rstrip(b"\r\n"), b""
        if raw.strip():
            yield row, raw, offset
    if pending:
        yield row + 1, pending.rstrip(b"\r\n"), offset


def _inside_quotes(data: bytes, delimiter: bytes) -> bool:
    """Whether CSV ``data`` ends inside a quoted field (quotes open a field only at its start)."""
    inside = False
    at_start = True
    index, end = 0, len(data)
    while index < end:
        char = data[index : index + 1]
        if inside:
            if char == b'"':
                if data[index + 1 : index + 2] == b'"':
                    index += 1
                else:
                    inside = False
        elif char == b'"' and at_start:
            inside = True
        at_start = not inside and char in (delimiter, b"\n", b"\r")
        index += 1
    return inside


def _read_header(handle: BinaryIO, config: FileSettings) -> list[str]:
    handle.seek(0)
    first = handle.readline()
    while _inside_quotes(first, config.delimiter.encode()):
        more = handle.readline()
        if not more:
            break
        first += more
    try:
        text = first.removeprefix(_BOM).decode(config.encoding).rstrip("\r\n")
    except UnicodeDecodeError:
        raise ConnectorError(f"the header of {config.path.name} is not {config.encoding}") from None
    columns = next(csv.reader([text], delimiter=config.delimiter), [])
    return [column.strip() for column in columns]


class _CsvRows:
    """Splits CSV rows into named fields, checked against the header."""

    def __init__(self, config: FileSettings, handle: BinaryIO) -> None:
        self.config = config
        self.columns = _read_header(handle, config)
        self.header_end = handle.tell()
        if config.id_column not in self.columns:
            raise ConfigurationError(
                f"{config.path.name} has no id column {config.id_column!r} "
                f"(columns: {', '.join(self.columns)})"
            )

    def fields_of(self, raws: Sequence[bytes]) -> list[dict[str, Any] | RowError]:
        """Each row's fields by column, or the error that rejects it.

        The rows that decode and close their quotes go through one CSV reader: each is a
        whole row, so the reader gives one row for each (a reader a row cost more than the
        parse). Should the reader still stop on a row, the page is read a row at a time to
        name that row alone.
        """
        decoded = [self._text(raw) for raw in raws]
        texts = [text for text in decoded if isinstance(text, str)]
        parsed: list[list[str] | RowError] = []
        with contextlib.suppress(csv.Error):
            parsed.extend(csv.reader(texts, delimiter=self.config.delimiter))
        if len(parsed) != len(texts):
            parsed = [self._values(text) for text in texts]
        values = iter(parsed)
        return [self._named(next(values)) if isinstance(t, str) else t for t in decoded]

    def _text(self, raw: bytes) -> str | RowError:
        """A row's text, or the error that rejects it before it is split."""
        try:
            text = _decode(raw, self.config.encoding)
        except RowError as error:
            return error
        if b'"' in raw and _inside_quotes(raw, self.config.delimiter.encode()):
            return RowError("a quoted field is never closed")
        return text

    def _values(self, text: str) -> list[str] | RowError:
        """One row's values alone, or the error that rejects it."""
        try:
            return next(csv.reader([text], delimiter=self.config.delimiter), [])
        except csv.Error as error:
            if "new-line" in str(error):  # the reader's own words suggest a file mode
                return RowError("a line break (carriage return) inside an unquoted field")
            return RowError(f"not a CSV row: {error}")

    def _named(self, values: list[str] | RowError) -> dict[str, Any] | RowError:
        if isinstance(values, RowError):
            return values
        if len(values) != len(self.columns):
            return RowError(f"expected {len(self.columns)} columns, found {len(values)}")
        return dict(zip(self.columns, values, strict=True))


def _decode(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.start + 1].hex()
        raise RowError(
            f"not valid {encoding}: byte 0x{bad} at position {error.start + 1}"
        ) from None


def _json_rows(raws: Sequence[bytes], config: FileSettings) -> list[dict[str, Any] | RowError]:
    out: list[dict[str, Any] | RowError] = []
    for raw in raws:
        try:
            out.append(_json_fields(raw, config))
        except RowError as error:
            out.append(error)
    return out


def _json_fields(raw: bytes, config: FileSettings) -> dict[str, Any]:
    text = _decode(raw.removeprefix(_BOM), config.encoding)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise RowError(f"not valid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(value, dict):
        raise RowError(f"expected a JSON object, found {type(value).__name__}")
    return value


class _ColumnPlans:
    """Which column each attribute reads, and which columns ``keep_extra`` keeps, worked out
    once per set of columns: a CSV has one, JSONL rows seldom more than a few."""

    _MOST = 256

    def __init__(self, config: FileSettings) -> None:
        self.config = config
        self._plans: dict[tuple[str, ...], _ColumnPlan] = {}

    def of(self, columns: tuple[str, ...]) -> _ColumnPlan:
        plan = self._plans.get(columns)
        if plan is None:
            if len(self._plans) >= self._MOST:
                self._plans.clear()
            mapped = tuple(self.config.columns_by_attribute(columns).items())
            extra: tuple[tuple[str, str], ...] = ()
            if self.config.keep_extra:
                extra = tuple((extra_name(c), c) for c in self.config.unmapped(columns))
            plan = self._plans[columns] = _ColumnPlan(mapped, extra)
        return plan


@dataclass(frozen=True, slots=True)
class _ColumnPlan:
    mapped: tuple[tuple[str, str], ...]  # (attribute, column)
    extra: tuple[tuple[str, str], ...]  # (attribute named after the column, column)


def _record(fields: Mapping[str, Any], config: FileSettings, plans: _ColumnPlans) -> RecordIn:
    external_id = _text(fields.get(config.id_column), config.id_column)
    if not external_id:
        raise RowError(f"missing id (column {config.id_column!r} is empty)")
    plan = plans.of(tuple(fields))
    attributes: dict[str, str] = {}
    # Every value is kept as written: one that does not read as its type (a birth date of
    # 1955-11-92) is flagged and left out of matching by the store, never a reason to lose
    # the row.
    for attribute, column in plan.mapped:
        value = _text(fields.get(column), column)
        if value:
            attributes[attribute] = value
    for name, column in plan.extra:
        value = _text(fields.get(column), column)
        if value and name and name not in attributes:
            attributes[name] = value
    updated_at = None
    if config.updated_at_column:
        stamp = fields.get(config.updated_at_column)
        updated_at = parse_timestamp(stamp)
        if stamp not in (None, "") and updated_at is None:
            raise RowError(f"unparseable timestamp in {config.updated_at_column!r}: {stamp!r}")
    return RecordIn(external_id, attributes, dict(fields), updated_at=updated_at)


def extra_name(column: str) -> str:
    """The attribute a column kept with ``keep_extra`` becomes: lowercase, words joined by _.

    >>> extra_name("Loyalty Tier")
    'loyalty_tier'
    """
    return "_".join(re.findall(r"[a-z0-9]+", column.casefold()))


def _text(value: Any, column: str) -> str:
    if type(value) is str:  # every CSV value, and most JSON ones: the check that costs least
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise RowError(f"column {column!r} holds a nested {type(value).__name__}, not a value")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()
