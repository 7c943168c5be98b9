"""The connector contract: a connector checks its settings and offers streams; a stream reads
one page at a time and yields plain records or events with the state that resumes after it.

Connectors know nothing of the database, Flask or the rest of Huella.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

State = dict[str, Any]
"""Small JSON object that lets a stream resume after the last page it yielded."""

CANONICAL_ATTRIBUTES: tuple[str, ...] = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "birth_date",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "region",
    "country",
    "company",
)
EXTRA_ATTRIBUTE_TYPES: tuple[str, ...] = (
    "identifier",
    "name",
    "text",
    "category",
    "date",
    "email",
    "phone",
    "postcode",
)


class ConnectorError(Exception):
    """A connector could not do its work (unreachable system, refused credentials, ...)."""


class ConfigurationError(ConnectorError):
    """A connector's settings are missing or wrong."""


Names = Literal["", "environment variable", "web address", "file", "database"]
"""What a setting names outside the settings, for the service to check it may: a secret's
environment variable, the address a secret is sent to, a file to read, a database to query."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting a connector kind reads: its JSON types, whether it must be given, and what
    it names outside the settings."""

    types: tuple[type, ...]
    required: bool = False
    names: Names = ""

    def problem(self, value: Any) -> str | None:
        """Why a value does not fit this setting, None when it does."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return "must not be empty" if self.required else None
        if isinstance(value, bool) and bool not in self.types:
            return f"must be {_type_names(self.types)}, not a boolean"
        if not isinstance(value, self.types):
            return f"must be {_type_names(self.types)}, not {type(value).__name__}"
        return None


TEXT = (str,)
WHOLE = (int,)
NUMBER = (int, float)
TABLE = (dict,)
FLAG = (bool,)
_TYPE_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    dict: "a table",
    bool: "true or false",
}


def _type_names(types: tuple[type, ...]) -> str:
    if types == NUMBER:
        return "a number"
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def settings_problems(schema: Mapping[str, Setting], settings: Mapping[str, Any]) -> dict[str, str]:
    """Each offending setting with what is wrong: unknown, missing, or of the wrong type."""
    problems = {
        name: f"unknown setting (known: {', '.join(sorted(schema)) or 'none'})"
        for name in settings
        if name not in schema
    }
    for name, setting in schema.items():
        if name not in settings:
            if setting.required:
                problems[name] = "required"
        elif reason := setting.problem(settings[name]):
            problems[name] = reason
    return problems


@dataclass(frozen=True, slots=True)
class RecordIn:
    """One customer as the source holds it.

    ``consents`` maps a purpose (e.g. ``email_marketing``) to the choice the source records:
    True given, False withdrawn or refused; a purpose the source says nothing about is absent.
    """

    external_id: str
    attributes: Mapping[str, str]
    raw: Mapping[str, Any]
    updated_at: datetime | None = None
    deleted: bool = False
    consents: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventIn:
    """One interaction from a customer's footprint, naming the customer by the source's id."""

    type: str
    occurred_at: datetime
    customer_external_id: str | None
    external_id: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    deleted: bool = False
    """The source deleted it (a deleted ticket): it leaves the customer's footprint."""


@dataclass(frozen=True, slots=True)
class Reject:
    """Input that could not be read, with where it was and why.

    ``position`` is human-readable and says where to look: ``row 7`` in a file (row 1 is a
    CSV's header; a JSONL file's first line is row 1), ``contacts page after=... item 3`` or
    ``user 42`` in an API.
    """

    position: str
    reason: str
    raw: Any = None


@dataclass(frozen=True, slots=True)
class Page:
    """What one read of a stream produced, and the state that follows it."""

    state: State
    records: Sequence[RecordIn] = ()
    events: Sequence[EventIn] = ()
    rejects: Sequence[Reject] = ()


class Stream(ABC):
    """One kind of data of a system (contacts, tickets, ...), read page by page."""

    name: ClassVar[str]
    kind: ClassVar[Literal["records", "events"]]

    @abstractmethod
    def read(self, state: State | None) -> Iterator[Page]:
        """Yield pages from ``state`` (None: from the beginning), each with its own state."""


class Connector(ABC):
    """A department system Huella pulls from."""

    kind: ClassVar[str]
    settings_schema: ClassVar[Mapping[str, Setting]] = {}
    """Every setting the kind reads; the service refuses a source with any other."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)

    @abstractmethod
    def check(self) -> None:
        """Raise ConnectorError when the system cannot be read with these settings."""

    @abstractmethod
    def streams(self) -> Sequence[Stream]:
        """The streams this connector reads, records before events."""

    @classmethod
    def record_link(
        cls, settings: Mapping[str, Any], external_id: str, raw: Mapping[str, Any]
    ) -> str | None:
        """Where an agent opens this record in the department's own system (a help desk's
        user page), when the source's settings tell; None when they do not."""
        return None

    def close(self) -> None:  # noqa: B027  (a hook: most connectors hold nothing to release)
        """Release what the connector holds (connections, files); the engine calls it last."""


_REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator adding a connector kind to the registry."""
    _REGISTRY[cls.kind] = cls
    return cls


def connector_class(kind: str) -> type[Connector]:
    """The connector class of a kind, or ConfigurationError naming the known kinds."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigurationError(f"unknown connector kind {kind!r} (known: {known})") from None


def connector_kinds() -> list[str]:
    """Every registered kind."""
    return sorted(_REGISTRY)
