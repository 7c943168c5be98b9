"""CSV exports of lists people ask for (search results, the audit trail): the rows as a
spreadsheet opens them, with a cap so that an export never runs away."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

# Rows one export holds at most: enough for any list a person reads, bounded for the server.
EXPORT_MAX = 10_000


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download of ``rows`` under ``header``; lists in a cell are joined by "; "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(_cell(value) for value in row)
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(_cell(item) for item in value.values() if item)
    text = str(value)
    # A cell a spreadsheet would run as a formula is kept as text (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
