"""What a source's settings may say, checked when a source is created and again before a sync.

Settings are checked against the schema its connector kind declares: an unknown setting, a
missing required one and one of the wrong type are each refused by name. What a setting names
outside the settings is checked against the configuration, since a source's settings come from
whoever holds an admin token, and a sync acts with the server's own secrets and reach:

- an environment variable (``token_env``) must start with ``connectors.secret_prefix``, so a
  source can never send the database's URL or another server secret anywhere;
- a web address (``base_url``) must be on one of ``connectors.allowed_hosts``, since the
  secret goes with every request to it;
- a file, for a source created through the API, must lie in one of ``connectors.file_folders``;
- a database is never named by address: a ``sql`` source names a connection declared in the
  configuration (``[connections.NAME]``), reads one of its tables or one of the queries the
  operator declared with it, and Huella's own store is never one of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.errors import ConfigError, InvalidInput
from connectors import Setting, connector_class, settings_problems
from connectors.base import TEXT
from connectors.sql import SqlConnector

_DEFAULT_PORTS = {"http": 80, "https": 443}
_DATABASE_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433}
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True, slots=True)
class HostPattern:
    """An allowed origin: ``https://api.hubapi.com``, ``https://*.zendesk.com`` (any
    subdomain), ``http://127.0.0.1:*`` (any port). Without a scheme, https."""

    scheme: str
    host: str
    port: int | None  # None: any port

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        """The pattern written in the configuration; ConfigError when it is not one."""
        scheme, found, rest = text.partition("://")
        if not found:
            scheme, rest = "https", text
        host, _, port = rest.rstrip("/").partition(":")
        if scheme not in _DEFAULT_PORTS or not host or "/" in host:
            raise ConfigError(f"connectors.allowed_hosts: {text!r} is not SCHEME://HOST[:PORT]")
        if port == "*":
            return cls(scheme, host.lower(), None)
        if port and not port.isdigit():
            raise ConfigError(f"connectors.allowed_hosts: bad port in {text!r}")
        return cls(scheme, host.lower(), int(port) if port else _DEFAULT_PORTS[scheme])

    def allows(self, address: str) -> bool:
        """Whether a web address is on this origin (and carries no user name or password)."""
        try:
            parts = urlsplit(address)
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.scheme != self.scheme or parts.username or parts.password or not host:
            return False
        if self.port is not None and port != self.port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


@dataclass(frozen=True, slots=True)
class Connection:
    """A database an operator declared for SQL sources: where its URL is, and its queries."""

    name: str
    url_env: str
    queries: Mapping[str, str] = field(default_factory=dict)

    def url(self) -> str:
        """The connection's URL, from its environment variable."""
        url = os.environ.get(self.url_env, "")
        if not url:
            raise InvalidInput(
                f"connection {self.name!r} has no URL",
                {"settings": {"connection": [f"environment variable {self.url_env} is not set"]}},
            )
        return url


def _sql_source_schema() -> dict[str, Setting]:
    # A SQL source through Huella names a declared connection instead of a URL, and its
    # ``query`` names one of the connection's declared queries instead of holding SQL.
    schema = {k: v for k, v in SqlConnector.settings_schema.items() if k != "url"}
    return {"connection": Setting(TEXT, required=True), **schema}


SQL_SOURCE_SCHEMA = _sql_source_schema()


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """The configured limits on what source settings may name."""

    secret_prefix: str
    allowed_hosts: tuple[HostPattern, ...]
    file_folders: tuple[Path, ...] = ()
    connections: Mapping[str, Connection] = field(default_factory=dict)
    own_database: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SourcePolicy:
        """The policy of ``[connectors]`` and ``[connections.NAME]``."""
        connectors = config.get("CONNECTORS") or {}
        declared = config.get("CONNECTIONS") or {}
        connections = {}
        for name, entry in declared.items():
            if not isinstance(entry, Mapping) or not entry.get("url_env"):
                raise ConfigError(f"connections.{name} needs url_env")
            queries = entry.get("queries") or {}
            connections[name] = Connection(name, str(entry["url_env"]), dict(queries))
        return cls(
            secret_prefix=str(connectors.get("secret_prefix") or ""),
            allowed_hosts=tuple(HostPattern.parse(h) for h in connectors.get("allowed_hosts", ())),
            file_folders=tuple(Path(f).resolve() for f in connectors.get("file_folders", ())),
            connections=connections,
            own_database=str(config.get("DATABASE_URL") or ""),
        )

    def allowing(self, *origins: str) -> SourcePolicy:
        """This policy with more allowed origins (the demo's sandboxes)."""
        added = tuple(HostPattern.parse(origin) for origin in origins)
        return replace(self, allowed_hosts=self.allowed_hosts + added)

    def check(self, kind: str, settings: Mapping[str, Any], *, any_file: bool = False) -> None:
        """Refuse settings that break the kind's schema or name what they may not, with an
        InvalidInput naming each offending setting. ``any_file``: the operator's command
        line may name files outside the configured folders."""
        schema = SQL_SOURCE_SCHEMA if kind == "sql" else connector_class(kind).settings_schema
        problems = settings_problems(schema, settings)
        for name, setting in schema.items():
            value = settings.get(name)
            if name in problems or not isinstance(value, str) or not value.strip():
                continue
            if reason := self._names_problem(setting, value, any_file=any_file):
                problems[name] = reason
        if kind == "sql" and "connection" not in problems:
            problems.update(self._sql_problems(settings))
        if problems:
            named = "; ".join(f"{name} {reason}" for name, reason in sorted(problems.items()))
            raise InvalidInput(
                f"the settings of a {kind} source are not valid: {named}",
                {"settings": {name: [reason] for name, reason in sorted(problems.items())}},
            )

    def connector_settings(self, kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings a source's connector runs with, checked again (the configuration may
        have changed since the source was created): a SQL source's connection and query
        name become the connection's URL and the query's SQL."""
        self.check(kind, settings, any_file=True)
        if kind != "sql":
            return dict(settings)
        connection = self.connections[settings["connection"]]
        resolved = {k: v for k, v in settings.items() if k != "connection"}
        resolved["url"] = self._outside_url(connection)
        if settings.get("query"):
            resolved["query"] = connection.queries[settings["query"]]
        return resolved

    def _names_problem(self, setting: Setting, value: str, *, any_file: bool) -> str | None:
        if setting.names == "environment variable" and not value.startswith(self.secret_prefix):
            return f"must name an environment variable starting with {self.secret_prefix}"
        if setting.names == "web address" and not any(h.allows(value) for h in self.allowed_hosts):
            return "is not on an allowed host (connectors.allowed_hosts in the configuration)"
        if setting.names == "file":
            return self._file_problem(Path(value).resolve(), any_file=any_file)
        return None

    def _file_problem(self, path: Path, *, any_file: bool) -> str | None:
        own = _sqlite_file(self.own_database)
        if own is not None and path.name.startswith(own.name) and path.parent == own.parent:
            return "is Huella's own store"
        if any_file or any(path.is_relative_to(folder) for folder in self.file_folders):
            return None
        return "is not in a folder sources may read (connectors.file_folders)"

    def _sql_problems(self, settings: Mapping[str, Any]) -> dict[str, str]:
        name = settings["connection"]
        connection = self.connections.get(name)
        if connection is None:
            known = ", ".join(sorted(self.connections)) or "none is declared"
            return {"connection": f"no connection {name!r} in the configuration ({known})"}
        table, query = settings.get("table"), settings.get("query")
        if bool(table) == bool(query):
            return {"table": "give exactly one of table and query"}
        if query and query not in connection.queries:
            return {"query": f"names no query declared for connection {name!r}"}
        if os.environ.get(connection.url_env) and self._is_own(connection.url()):
            return {"connection": "is Huella's own store, which is never a source"}
        return {}

    def _outside_url(self, connection: Connection) -> str:
        url = connection.url()
        if self._is_own(url):
            raise InvalidInput(
                f"connection {connection.name!r} is Huella's own store",
                {"settings": {"connection": ["Huella's own store is never a source"]}},
            )
        return url

    def _is_own(self, url: str) -> bool:
        return same_database(url, self.own_database)


def _sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def same_database(left: str, right: str) -> bool:
    """Whether two database URLs reach the same database (any driver, user or password)."""
    try:
        a, b = make_url(left), make_url(right)
    except ArgumentError:
        return False
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return _sqlite_file(left) == _sqlite_file(right) is not None
    return _server(a) == _server(b) and a.database == b.database


def _server(url: URL) -> tuple[str, int | None]:
    host = (url.host or "").lower()
    return ("localhost" if host in _LOCAL_HOSTS else host), (
        url.port or _DATABASE_PORTS.get(url.get_backend_name())
    )
