"""What the three sandbox systems share: the store of customers and events, switchable
faults, the admin endpoints and a threaded HTTP server on 127.0.0.1.

A sandbox imitates one vendor's public API closely enough that the real connector reads it
unchanged. Each vendor module subclasses ``SandboxServer`` with its routes and payload shapes.

Admin endpoints (no authentication, sandbox only):
    GET  /_sandbox/faults            the faults in force
    POST /_sandbox/faults            change some faults: {"error_every": 3, ...}
    POST /_sandbox/mutate            {"changes": {id: {attribute: value}}, "deletions": [id],
                                      "random_changes": n}
    GET  /_sandbox/records           the sandbox's truth: every record, deleted ones included
"""

from __future__ import annotations

import base64
import bisect
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

JsonBody = bytes


@dataclass
class SandboxRecord:
    """One customer as the sandbox system holds it (canonical attribute names)."""

    external_id: str
    attributes: dict[str, str]
    updated_at: datetime
    created_at: datetime
    deleted: bool = False
    status: str = "subscribed"
    serial: int = 0


@dataclass(frozen=True)
class SandboxEvent:
    """One interaction of a customer the sandbox system holds."""

    external_id: str
    customer_external_id: str
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Faults:
    """Misbehaviour a sandbox can be told to show; every field off by default.

    Request counts cover API requests only, not the admin endpoints.
    """

    rate_limit_every: int = 0
    retry_after: float = 1.0
    error_every: int = 0
    slow_seconds: float = 0.0
    hang_every: int = 0
    hang_seconds: float = 30.0
    repeat_across_pages: bool = False
    change_every_pages: int = 0
    delete_every_pages: int = 0
    malformed_every: int = 0

    def updated(self, changes: Mapping[str, Any]) -> Faults:
        """These faults with some fields changed; ValueError on an unknown field or bad value."""
        known = {item.name: item for item in fields(self)}
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r} (known: {', '.join(known)})")
            current = getattr(self, name)
            values[name] = type(current)(value)
        return replace(self, **values)


class HttpError(Exception):
    """An answer other than 200, in the vendor's error shape."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Request:
    """What a handler needs of one HTTP request."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any


def opaque(*parts: Any) -> str:
    """An opaque cursor token holding ``parts``."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def unopaque(token: str) -> list[Any]:
    """The parts of a cursor made by ``opaque``; HttpError 400 when it is not one."""
    try:
        padded = token + "=" * (-len(token) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        raise HttpError(400, {"error": "InvalidCursor", "description": "bad cursor"}) from None
    if not isinstance(parts, list):
        raise HttpError(400, {"error": "InvalidCursor", "description": "bad cursor"})
    return parts


def millis(when: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(when.timestamp() * 1000)


Route = Callable[[Request], Any]


class SandboxServer:
    """A vendor imitation over a store of records and events, with switchable faults."""

    name: ClassVar[str] = "sandbox"
    rate_limit_body: ClassVar[Any] = {"error": "rate limited"}

    def __init__(
        self,
        records: Iterable[SandboxRecord],
        events: Iterable[SandboxEvent] = (),
        *,
        port: int = 0,
        token: str = "sandbox-token",
        faults: Faults | None = None,
        seed: int = 0,
    ) -> None:
        self.token = token
        self.faults = faults or Faults()
        self.random = random.Random(seed)
        self.lock = threading.RLock()
        self.released = threading.Event()
        self._records: dict[str, SandboxRecord] = {}
        self._order: list[tuple[int, str]] = []
        self._rendered: dict[str, bytes] = {}
        self._last_tick = 0
        self.requests = 0
        self.pages_served = 0
        for serial, record in enumerate(records, start=1):
            self._add(replace(record, serial=serial, attributes=dict(record.attributes)))
        self.events: list[SandboxEvent] = sorted(
            events, key=lambda event: (event.occurred_at, event.external_id)
        )
        self._server = _Server(("127.0.0.1", port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=self.name, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL the sandbox answers on."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SandboxServer:
        """Start answering requests in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, release hanging responses and close the port."""
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the faults, or change some of their fields; return the faults now in force."""
        with self.lock:
            self.faults = (faults or self.faults).updated(changes)
            return self.faults

    # The store -------------------------------------------------------------------------

    def records(self) -> list[SandboxRecord]:
        """Every record as it is now, deleted ones included, in id order."""
        with self.lock:
            return [replace(record) for record in self._records.values()]

    def expected_attributes(self, record: SandboxRecord) -> dict[str, str]:
        """The canonical attributes a faithful connector reads from this vendor's payload."""
        return self.expected_base(record)

    def expected_base(self, record: SandboxRecord) -> dict[str, str]:
        """The record's non-blank attributes, trimmed (blank values are not sent as values)."""
        return {name: value.strip() for name, value in record.attributes.items() if value.strip()}

    def mutate(
        self,
        changes: Mapping[str, Mapping[str, str | None]] | None = None,
        deletions: Iterable[str] = (),
        *,
        random_changes: int = 0,
    ) -> list[str]:
        """Change attributes (None removes one) and delete records, each getting a new
        ``updated_at``; ``random_changes`` changes that many random live records.
        Return the ids touched."""
        touched: list[str] = []
        with self.lock:
            for external_id, values in (changes or {}).items():
                record = self._get(external_id)
                for name, value in values.items():
                    if value is None:
                        record.attributes.pop(name, None)
                    else:
                        record.attributes[name] = value
                self._touch(record)
                touched.append(external_id)
            for external_id in deletions:
                record = self._get(external_id)
                record.deleted = True
                self._touch(record)
                touched.append(external_id)
            for _ in range(random_changes):
                touched.append(self._change_random())
        return touched

    def _get(self, external_id: str) -> SandboxRecord:
        try:
            return self._records[external_id]
        except KeyError:
            raise KeyError(f"{self.name} has no record {external_id!r}") from None

    def _change_random(self) -> str:
        live = [record for record in self._records.values() if not record.deleted]
        record = self.random.choice(live)
        number = self.random.randrange(1000, 9999)
        if "email" in record.attributes:
            local, _, domain = record.attributes["email"].partition("@")
            record.attributes["email"] = f"{local.split('+')[0]}+{number}@{domain}"
        else:
            record.attributes["city"] = f"Changed {number}"
        self._touch(record)
        return record.external_id

    def _delete_random(self) -> str:
        live = [record for record in self._records.values() if not record.deleted]
        record = self.random.choice(live)
        record.deleted = True
        self._touch(record)
        return record.external_id

    def _add(self, record: SandboxRecord) -> None:
        self._records[record.external_id] = record
        bisect.insort(self._order, (millis(record.updated_at), record.external_id))
        self._last_tick = max(self._last_tick, millis(record.updated_at))

    def _touch(self, record: SandboxRecord) -> None:
        """Give a changed record a new, strictly later modification time."""
        old = (millis(record.updated_at), record.external_id)
        del self._order[bisect.bisect_left(self._order, old)]
        self._last_tick = max(self._last_tick + 1, int(time.time() * 1000))
        record.updated_at = datetime.fromtimestamp(self._last_tick / 1000, UTC)
        bisect.insort(self._order, (self._last_tick, record.external_id))
        self._rendered.pop(record.external_id, None)

    def ordered(self, after: tuple[int, str] | None = None) -> Iterable[SandboxRecord]:
        """Records in (modification time, id) order, strictly after the key ``after``."""
        start = bisect.bisect_right(self._order, after) if after else 0
        for index in range(start, len(self._order)):
            yield self._records[self._order[index][1]]

    def previous_record(self, record: SandboxRecord) -> SandboxRecord | None:
        """The live record just before ``record`` in modification order (the one a repeat
        fault serves again at the top of the next page)."""
        index = bisect.bisect_left(self._order, self.order_key(record)) - 1
        while index >= 0:
            candidate = self._records[self._order[index][1]]
            if not candidate.deleted:
                return candidate
            index -= 1
        return None

    def order_key(self, record: SandboxRecord) -> tuple[int, str]:
        """The key of a record in the modification order."""
        return (millis(record.updated_at), record.external_id)

    def rendered(self, record: SandboxRecord) -> bytes:
        """The record's JSON in the vendor's shape (malformed when the faults say so)."""
        every = self.faults.malformed_every
        if every and record.serial % every == 0:
            return json.dumps(self.render_malformed(record)).encode()
        cached = self._rendered.get(record.external_id)
        if cached is None:
            cached = json.dumps(self.render(record), separators=(",", ":")).encode()
            self._rendered[record.external_id] = cached
        return cached

    def render(self, record: SandboxRecord) -> dict[str, Any]:
        """The vendor's JSON object for a record."""
        raise NotImplementedError

    def render_malformed(self, record: SandboxRecord) -> dict[str, Any]:
        """A broken variant of the vendor's object: no id."""
        body = self.render(record)
        body.pop("id", None)
        return body

    def serving_page(self) -> None:
        """Count a page of the main record listing about to be served, first applying the
        mid-sync changes and deletions the faults ask for (so they happen during a sync)."""
        self.pages_served += 1
        faults = self.faults
        if faults.change_every_pages and self.pages_served % faults.change_every_pages == 0:
            self._change_random()
        if faults.delete_every_pages and self.pages_served % faults.delete_every_pages == 0:
            self._delete_random()

    # HTTP ---------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Route]]:
        """(method, path pattern, handler) of the vendor API; ``{name}`` matches a segment."""
        raise NotImplementedError

    def authorized(self, request: Request) -> bool:
        """Whether the request carries this sandbox's credentials."""
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def unauthorized_body(self) -> Any:
        """The vendor's answer to missing or wrong credentials."""
        return {"error": "Unauthorized"}

    def answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request, faults applied."""
        if request.path.startswith("/_sandbox/"):
            return _json_answer(200, self._admin(request))
        with self.lock:
            self.requests += 1
            count, faults = self.requests, self.faults
        if faults.slow_seconds:
            self.released.wait(faults.slow_seconds)
        if faults.hang_every and count % faults.hang_every == 0:
            self.released.wait(faults.hang_seconds)
        if faults.rate_limit_every and count % faults.rate_limit_every == 0:
            headers = {"Retry-After": _seconds(faults.retry_after)}
            return _json_answer(429, self.rate_limit_body, headers)
        if faults.error_every and count % faults.error_every == 0:
            return _json_answer(500, {"error": "InternalServerError"})
        if not self.authorized(request):
            return _json_answer(401, self.unauthorized_body())
        try:
            handler, params = self._route(request)
            with self.lock:
                result = handler(replace(request, query={**request.query, **params}))
        except HttpError as error:
            return _json_answer(error.status, error.body, error.headers)
        if isinstance(result, bytes):
            return 200, {"Content-Type": "application/json"}, result
        return _json_answer(200, result)

    def _route(self, request: Request) -> tuple[Route, dict[str, str]]:
        segments = request.path.strip("/").split("/")
        for method, pattern, handler in self.routes():
            wanted = pattern.strip("/").split("/")
            if method != request.method or len(wanted) != len(segments):
                continue
            params: dict[str, str] = {}
            for want, got in zip(wanted, segments, strict=True):
                if want.startswith("{") and want.endswith("}"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return handler, params
        raise HttpError(404, {"error": "NotFound", "path": request.path})

    def _admin(self, request: Request) -> Any:
        if request.path == "/_sandbox/faults":
            if request.method == "POST":
                try:
                    self.set_faults(**(request.body or {}))
                except (ValueError, TypeError) as error:
                    return {"error": str(error)}
            return asdict(self.faults)
        if request.path == "/_sandbox/mutate" and request.method == "POST":
            body = request.body or {}
            touched = self.mutate(
                body.get("changes") or {},
                body.get("deletions") or (),
                random_changes=int(body.get("random_changes") or 0),
            )
            return {"touched": touched}
        if request.path == "/_sandbox/records":
            with self.lock:
                return [_record_json(record) for record in self._records.values()]
        return {"error": f"unknown admin path {request.path}"}


def _record_json(record: SandboxRecord) -> dict[str, Any]:
    return {
        "external_id": record.external_id,
        "attributes": record.attributes,
        "updated_at": record.updated_at.isoformat(),
        "deleted": record.deleted,
        "status": record.status,
    }


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _json_answer(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many short keep-alive connections from benchmarks and retries.
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK of the headers, 40 ms a response on Linux, which real APIs don't cost.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the sandbox is not a production server."""

    def _handle(self) -> None:
        split = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {key.lower(): value for key, value in self.headers.items()}
        request = Request(self.command, split.path, query, headers, body)
        status, answer_headers, payload = self.server.sandbox.answer(request)
        try:
            self.send_response(status)
            for name, value in answer_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self) -> None:
        """Answer a GET."""
        self._handle()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._handle()
