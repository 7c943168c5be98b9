"""A Zendesk Support imitation: the cursor-based incremental exports of users and tickets.

``GET /api/v2/incremental/users/cursor.json?start_time=T`` (then ``?cursor=C``) answers
``{"users": [...], "after_cursor", "after_url", "before_cursor", "before_url",
"end_of_stream"}`` in order of ``updated_at``; ``per_page`` is at most 1000. A deleted user
stays in the export with ``active: false``. Tickets export the same way under ``tickets``; a
deleted ticket comes again at the end of the export with status ``deleted``, unless the
request says ``exclude_deleted=true``.
Authentication is HTTP Basic ``{email}/token:{api_token}`` or an OAuth bearer token; rate
limiting answers 429 with ``Retry-After``. Zendesk holds back items changed in the last
minute; the sandbox does not, so tests need not wait.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

from connectors.sandbox.common import (
    HttpError,
    Request,
    Route,
    SandboxRecord,
    SandboxServer,
    millis,
    opaque,
    unopaque,
)
from connectors.zendesk import DEFAULT_USER_FIELDS

PER_PAGE = 1000


def _zendesk_time(when: Any) -> str:
    return str(when.strftime("%Y-%m-%dT%H:%M:%SZ"))


class ZendeskSandbox(SandboxServer):
    """Users and tickets the way Zendesk's incremental export API serves them."""

    name = "zendesk"
    rate_limit_body: ClassVar[Any] = {
        "error": "APIRateLimitExceeded",
        "description": "Number of allowed incremental export API requests per minute exceeded",
    }
    agent_email = "sandbox@example.com"
    # Tickets in the order the export serves them (an index into ``events``; a deleted ticket
    # is served again at the end), and the tickets deleted.
    _feed: list[int] | None = None
    deleted_tickets: frozenset[int] = frozenset()

    @property
    def feed(self) -> list[int]:
        """Ticket indices in export order."""
        if self._feed is None:
            self._feed = list(range(len(self.events)))
        return self._feed

    def delete_ticket(self, number: int) -> None:
        """Delete ticket ``number`` (1 is the first): the export serves it again, deleted."""
        self.feed.append(number - 1)
        self.deleted_tickets = self.deleted_tickets | {number}

    def routes(self) -> list[tuple[str, str, Route]]:
        """Zendesk's incremental export endpoints."""
        return [
            ("GET", "/api/v2/incremental/users/cursor.json", self.export_users),
            ("GET", "/api/v2/incremental/tickets/cursor.json", self.export_tickets),
        ]

    def authorized(self, request: Request) -> bool:
        """API token over Basic auth, or an OAuth bearer token."""
        header = request.headers.get("authorization", "")
        basic = base64.b64encode(f"{self.agent_email}/token:{self.token}".encode()).decode()
        return header in (f"Basic {basic}", f"Bearer {self.token}")

    def unauthorized_body(self) -> Any:
        """Zendesk's 401 body."""
        return {"error": "Couldn't authenticate you"}

    def display_name(self, record: SandboxRecord) -> str:
        """Zendesk requires a name: the full name, else first and last, else the e-mail."""
        held = self.expected_base(record)
        joined = " ".join(part for part in (held.get("first_name"), held.get("last_name")) if part)
        return held.get("full_name") or joined or held.get("email") or "Unknown"

    def expected_attributes(self, record: SandboxRecord) -> dict[str, str]:
        """The record's attributes, with the display name Zendesk holds as the full name."""
        return self.expected_base(record) | {"full_name": self.display_name(record)}

    def render(self, record: SandboxRecord) -> dict[str, Any]:
        """A user object."""
        attributes = record.attributes
        user_fields = {key: attributes.get(name) for name, key in DEFAULT_USER_FIELDS.items()}
        return {
            "id": int(record.external_id),
            "url": f"{self.url}/api/v2/users/{record.external_id}.json",
            "name": self.display_name(record),
            "email": attributes.get("email"),
            "phone": attributes.get("phone"),
            "created_at": _zendesk_time(record.created_at),
            "updated_at": _zendesk_time(record.updated_at),
            "active": not record.deleted,
            "role": "end-user",
            "verified": True,
            "time_zone": "Madrid",
            "locale": "es",
            "external_id": None,
            "organization_id": None,
            "tags": [],
            "user_fields": user_fields,
        }

    def export_users(self, request: Request) -> bytes:
        """Users changed at or after ``start_time``, or after ``cursor``."""
        self.serving_page()
        per_page = _per_page(request.query.get("per_page"))
        if request.query.get("cursor"):
            modified, last_id = unopaque(request.query["cursor"])
            after: tuple[int, str] = (int(modified), str(last_id))
        elif "start_time" in request.query:
            after = (_start_time(request.query["start_time"]) * 1000 - 1, "\uffff")
        else:
            raise HttpError(400, {"error": "InvalidPaginationParameter"})
        page: list[SandboxRecord] = []
        for record in self.ordered(after):
            page.append(record)
            if len(page) == per_page:
                break
        if self.faults.repeat_across_pages and request.query.get("cursor"):
            previous = self._records.get(after[1])
            page = ([previous] if previous else []) + page[: per_page - 1]
        position = self.order_key(page[-1]) if page else after
        cursor = opaque(*position)
        end = len(page) < per_page or not any(True for _ in self.ordered(position))
        head = b'{"users":[' + b",".join(self.rendered(r) for r in page) + b"],"
        return head + self._cursor_fields("users", cursor, end)

    def export_tickets(self, request: Request) -> dict[str, Any]:
        """Tickets created at or after ``start_time``, or after ``cursor``."""
        per_page = _per_page(request.query.get("per_page"))
        if request.query.get("cursor"):
            index = int(unopaque(request.query["cursor"])[0])
        elif "start_time" in request.query:
            start = _start_time(request.query["start_time"]) * 1000
            index = next(
                (i for i, t in enumerate(self.feed) if millis(self.events[t].occurred_at) >= start),
                len(self.feed),
            )
        else:
            raise HttpError(400, {"error": "InvalidPaginationParameter"})
        served = self.feed[index : index + per_page]
        if request.query.get("exclude_deleted") == "true":
            served = [t for t in served if t + 1 not in self.deleted_tickets]
        tickets: list[dict[str, Any]] = [
            {
                "id": number,
                "url": f"{self.url}/api/v2/tickets/{number}.json",
                "subject": str(event.properties.get("subject") or "Help"),
                "status": "deleted"
                if number in self.deleted_tickets
                else str(event.properties.get("status") or "solved"),
                "priority": event.properties.get("priority") or "normal",
                "type": "question",
                "requester_id": int(event.customer_external_id),
                "submitter_id": int(event.customer_external_id),
                "created_at": _zendesk_time(event.occurred_at),
                "updated_at": _zendesk_time(event.occurred_at),
                "via": {"channel": str(event.properties.get("channel") or "email")},
                "tags": [],
                "generated_timestamp": int(event.occurred_at.timestamp()),
            }
            for number, event in ((t + 1, self.events[t]) for t in served)
        ]
        after = min(index + per_page, len(self.feed))
        fields = json.loads(
            b"{" + self._cursor_fields("tickets", opaque(after), after >= len(self.feed))
        )
        return {"tickets": tickets, **fields}

    def _cursor_fields(self, kind: str, cursor: str, end: bool) -> bytes:
        url = f"{self.url}/api/v2/incremental/{kind}/cursor.json?cursor={cursor}"
        fields = {
            "after_url": url,
            "after_cursor": cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": end,
        }
        return json.dumps(fields)[1:].encode()


def _per_page(value: str | None) -> int:
    try:
        return max(1, min(int(value), PER_PAGE)) if value else PER_PAGE
    except ValueError:
        raise HttpError(400, {"error": "InvalidPaginationParameter"}) from None


def _start_time(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise HttpError(400, {"error": "InvalidValue", "description": "start_time"}) from None
