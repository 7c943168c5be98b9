"""How long one value may be: a record or event holding a longer string is rejected with its
reason, and the rest of its batch or page is kept. Plain functions over JSON values, for the
services and flows that screen what departments send.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from connectors import Page, Reject

Path = tuple[str | int, ...]
"""Where a value sits inside a JSON document: keys and list positions."""


def dotted(path: Path) -> str:
    """A path into a JSON value as people read it: ``records.0.attributes.email``."""
    return ".".join(map(str, path)) or "the body"


def walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every key and value inside a JSON value with its path, depth first, without recursion
    (a value nested deeper than the interpreter's stack is still walked)."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        yield where, node
        if isinstance(node, Mapping):
            for key, item in node.items():
                yield (*where, key), key
                stack.append(((*where, key), item))
        elif isinstance(node, list | tuple):
            stack.extend(((*where, index), item) for index, item in enumerate(node))


def too_long(value: Any, max_length: int, path: Path = ()) -> str | None:
    """Why a value cannot be kept when one of its strings is longer than ``max_length``
    characters, None when none is."""
    if isinstance(value, dict) and _flat_and_short(value, max_length):
        return None  # a file's row, most records: no walk
    if _short_as_json(value, max_length):
        return None  # an event, most nested values: no string inside can be longer
    for where, node in walk(value, path):
        if isinstance(node, str) and len(node) > max_length:
            return f"{dotted(where)} is {len(node)} characters long; at most {max_length}"
    return None


def _short_as_json(value: Any, max_length: int) -> bool:
    """Whether the value's JSON text is no longer than ``max_length`` bytes: then none of its
    strings is longer than that many characters (one is never longer than its encoding)."""
    try:
        return len(orjson.dumps(value)) <= max_length
    except (orjson.JSONEncodeError, TypeError):
        return False  # not plain JSON (a key that is not a string): walked instead


def _flat_and_short(mapping: dict[Any, Any], max_length: int) -> bool:
    """Whether a mapping holds only strings (keys too), none over ``max_length``."""
    for key, item in mapping.items():
        if type(key) is not str or type(item) is not str:
            return False
        if len(key) > max_length or len(item) > max_length:
            return False
    return True


def screen_page(page: Page, max_length: int) -> Page:
    """The page without its records and events holding a value over the cap; each becomes a
    reject with its reason (without the value: a reject must not store what was refused)."""
    records, events, rejects = [], [], list(page.rejects)
    for item in page.records:
        reason = too_long(item.attributes, max_length, ("attributes",)) or too_long(
            item.raw, max_length, ("raw",)
        )
        if reason is None:
            records.append(item)
        else:
            rejects.append(Reject(f"record {item.external_id}", reason))
    for event in page.events:
        reason = too_long(event.properties, max_length, ("properties",))
        if reason is None:
            events.append(event)
        else:
            rejects.append(Reject(f"event {event.external_id or event.type}", reason))
    if len(rejects) == len(page.rejects):
        return page
    return Page(page.state, records=records, events=events, rejects=rejects)
