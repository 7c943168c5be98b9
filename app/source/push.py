"""A department's push: the records it sends over the API, read into a page as a connector's
are, each invalid one rejected with its reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import ValidationError

from app.errors import InvalidInput
from app.security.values import too_long
from app.source.models import Source
from app.source.schemas import PushedRecordSchema
from connectors import CANONICAL_ATTRIBUTES, Page, RecordIn, Reject


def unknown_attributes(source: Source, attributes: Mapping[str, Any]) -> list[str]:
    """Attribute names that are neither canonical nor declared by the source."""
    return sorted(
        name
        for name in attributes
        if name not in CANONICAL_ATTRIBUTES and name not in source.attribute_types
    )


_PUSHED = PushedRecordSchema()


def _describe(error: ValidationError) -> str:
    messages = error.messages if isinstance(error.messages, dict) else {"record": error.messages}
    return "; ".join(f"{field}: {' '.join(map(str, texts))}" for field, texts in messages.items())


def parse_push(
    *, source: Source, items: Sequence[Mapping[str, Any]], batch_max: int, max_value_length: int
) -> Page:
    """The page a department's push makes: its valid records, and the invalid ones rejected with
    their reason. A record holding a value over ``max_value_length`` characters is rejected
    without its content (a reject must not keep what was refused). InvalidInput when the push
    is too large or holds no valid record."""
    if len(items) > batch_max:
        raise InvalidInput(
            f"a push holds at most {batch_max} records", {"records": [f"got {len(items)}"]}
        )
    good, rejects = [], []
    for index, item in enumerate(items):
        if reason := too_long(item, max_value_length):
            rejects.append(Reject(str(index), f"invalid record: {reason}"))
            continue
        try:
            loaded = _PUSHED.load(item)
        except ValidationError as error:
            rejects.append(Reject(str(index), f"invalid record: {_describe(error)}", item))
            continue
        if unknown := unknown_attributes(source, loaded["attributes"]):
            reason = (
                f"unknown attributes {', '.join(unknown)}: map to canonical ones or declare them"
            )
            rejects.append(Reject(str(index), reason, item))
            continue
        good.append(
            RecordIn(
                external_id=loaded["external_id"],
                attributes={k: v for k, v in loaded["attributes"].items() if v is not None},
                raw=loaded["raw"] if loaded["raw"] is not None else item,
                updated_at=loaded["updated_at"],
                deleted=loaded["deleted"],
                consents=loaded["consents"],
            )
        )
    if not good:
        raise InvalidInput(
            "no record in the push is valid",
            {"records": {r.position: [r.reason] for r in rejects}},
        )
    return Page(state={}, records=good, rejects=rejects)
