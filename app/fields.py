"""Schema fields shared by the API's input: values the store can keep and compute with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import fields, validate

ROW_ID_MAX = 2**31 - 1
"""The largest id a row of Huella's tables can have (PostgreSQL's ``integer``)."""
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class Instant(fields.AwareDateTime):
    """A time with its offset, kept in UTC, between 1900 and 2200: a year-9999 time with a
    negative offset is past what a datetime can hold once in UTC, and nothing Huella records
    happened before 1900."""

    default_error_messages = {"range": "must be a time between 1900 and 2200"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("range") from None
        if not EARLIEST <= moment < LATEST:
            raise self.make_error("range")
        return moment


def row_id(**kwargs: Any) -> fields.Integer:
    """An id of a row of Huella's (an audit entry, a review item): positive, and no larger
    than the store's integers."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=ROW_ID_MAX), **kwargs)
