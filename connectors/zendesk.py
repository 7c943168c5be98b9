"""Zendesk Support (kind ``zendesk``), the support department's help desk.

Users come from the cursor-based incremental user export
(``GET /api/v2/incremental/users/cursor.json``): the first request gives ``start_time``
(Unix seconds), every later one the previous answer's ``after_cursor``, until
``end_of_stream``; the last cursor is kept so the next sync asks only for what changed since.
A user with ``active: false`` was deleted. Tickets come from the ticket export the same way
and become ``ticket`` events of their requester; a ticket whose status is ``deleted`` leaves
the timeline (the first export asks Zendesk to leave deleted tickets out: ``exclude_deleted``).

Authentication: an API token as HTTP Basic ``{email}/token:{token}`` when setting ``email``
is given, else an OAuth access token as ``Authorization: Bearer``. Zendesk allows 10
incremental export requests a minute (answering 429 with ``Retry-After`` beyond that); the
default rate limit keeps to it. Settings beyond the HTTP ones: ``base_url`` (e.g.
https://SUBDOMAIN.zendesk.com), ``token_env``, ``email``, ``start_time`` (Unix seconds of
the first export, default 0), ``page_size`` (at most 1000), ``user_fields``
(attribute -> user field key).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from connectors.base import (
    TABLE,
    TEXT,
    WHOLE,
    EventIn,
    Page,
    RecordIn,
    Reject,
    Setting,
    State,
    Stream,
    register,
)
from connectors.http import HttpClient, HttpConnector
from connectors.values import int_setting, parse_timestamp, required_text, secret_from_env

DEFAULT_USER_FIELDS: dict[str, str] = {
    "first_name": "first_name",
    "last_name": "last_name",
    "birth_date": "birthday",
    "address_line1": "address_line1",
    "address_line2": "address_line2",
    "city": "city",
    "postcode": "postcode",
    "region": "region",
    "country": "country",
    "company": "company",
}
STANDARD_FIELDS: dict[str, str] = {"full_name": "name", "email": "email", "phone": "phone"}


@register
class ZendeskConnector(HttpConnector):
    """Users (records, deletions) and tickets (events) from Zendesk's incremental exports."""

    kind = "zendesk"
    default_policy: ClassVar[Mapping[str, Any]] = {"rate_limit": 10 / 60, "burst": 10}
    settings_schema: ClassVar[Mapping[str, Setting]] = {
        **HttpConnector.settings_schema,
        "email": Setting(TEXT),
        "start_time": Setting(WHOLE),
        "user_fields": Setting(TABLE),
    }

    @classmethod
    def record_link(
        cls, settings: Mapping[str, Any], external_id: str, raw: Mapping[str, Any]
    ) -> str | None:
        """The user's page in the agent interface, on a Zendesk account's own host."""
        base = str(settings.get("base_url") or "").rstrip("/")
        if urlsplit(base).scheme != "https" or not base.endswith(".zendesk.com"):
            return None
        return f"{base}/agent/users/{quote(external_id)}"

    def make_client(self) -> HttpClient:
        """API-token (Basic) or OAuth (Bearer) client on the configured base URL."""
        token = secret_from_env(self.settings, "token_env")
        email = self.settings.get("email")
        if email:
            pair = base64.b64encode(f"{email}/token:{token}".encode()).decode()
            header = f"Basic {pair}"
        else:
            header = f"Bearer {token}"
        base_url = required_text(self.settings, "base_url")
        return HttpClient(base_url, policy=self.policy, headers={"Authorization": header})

    def check(self) -> None:
        """One page of the user export can be read with these credentials."""
        self.client.get_json(
            "/api/v2/incremental/users/cursor.json", {"start_time": 0, "per_page": 1}
        )

    def streams(self) -> Sequence[Stream]:
        """Users, then tickets."""
        page_size = int_setting(self.settings, "page_size", 1000, maximum=1000)
        start = int_setting(self.settings, "start_time", 0, minimum=0)
        user_fields = dict(self.settings.get("user_fields") or DEFAULT_USER_FIELDS)
        return [
            ZendeskUsers(self.client_factory, start, page_size, user_fields),
            ZendeskTickets(self.client_factory, start, page_size),
        ]


class _CursorExport(Stream):
    """One cursor-based incremental export: ``start_time`` first, then ``after_cursor``."""

    resource: ClassVar[str]

    def __init__(self, client: Callable[[], HttpClient], start_time: int, page_size: int) -> None:
        self.client = client
        self.start_time = start_time
        self.page_size = page_size

    def read(self, state: State | None) -> Iterator[Page]:
        """Yield pages until the export reaches the end of its stream."""
        cursor = (state or {}).get("cursor")
        path = f"/api/v2/incremental/{self.resource}/cursor.json"
        while True:
            params: dict[str, Any] = {"per_page": self.page_size, **self.extra_params(cursor)}
            if cursor:
                params["cursor"] = cursor
            else:
                params["start_time"] = self.start_time
            answer = self.client().get_json(path, params)
            items = answer.get(self.resource) or []
            cursor = answer.get("after_cursor") or cursor
            yield self.page(items, {"cursor": cursor})
            if answer.get("end_of_stream", True) or not items:
                return

    def page(self, items: list[Any], state: State) -> Page:
        """The page of this export's items."""
        raise NotImplementedError

    def extra_params(self, cursor: str | None) -> dict[str, Any]:
        """Parameters this export adds to its requests (``cursor``: where it resumes)."""
        return {}


class ZendeskUsers(_CursorExport):
    """End users, deleted ones as deletions."""

    name = "users"
    kind = "records"
    resource = "users"

    def __init__(
        self,
        client: Callable[[], HttpClient],
        start_time: int,
        page_size: int,
        user_fields: Mapping[str, str],
    ) -> None:
        super().__init__(client, start_time, page_size)
        self.user_fields = user_fields

    def page(self, items: list[Any], state: State) -> Page:
        """Users as records; a user without an id or readable ``updated_at`` is rejected."""
        records: list[RecordIn] = []
        rejects: list[Reject] = []
        for index, user in enumerate(items, start=1):
            updated = parse_timestamp(user.get("updated_at"))
            if user.get("id") in (None, "") or updated is None:
                where = f"user {user.get('id')} (item {index} after cursor {state['cursor']})"
                rejects.append(Reject(where, "user without an id or readable updated_at", user))
                continue
            records.append(self._record(user, updated))
        return Page(state, records=records, rejects=rejects)

    def _record(self, user: Mapping[str, Any], updated: Any) -> RecordIn:
        fields = user.get("user_fields") or {}
        attributes = {
            attribute: str(user[key]).strip()
            for attribute, key in STANDARD_FIELDS.items()
            if user.get(key) not in (None, "")
        }
        attributes |= {
            attribute: str(fields[key]).strip()
            for attribute, key in self.user_fields.items()
            if fields.get(key) not in (None, "")
        }
        deleted = user.get("active") is False
        return RecordIn(str(user["id"]), attributes, user, updated_at=updated, deleted=deleted)


class ZendeskTickets(_CursorExport):
    """Tickets as ``ticket`` events of their requester."""

    name = "tickets"
    kind = "events"
    resource = "tickets"

    def extra_params(self, cursor: str | None) -> dict[str, Any]:
        """A first export leaves deleted tickets out (``exclude_deleted``): there is nothing
        of theirs to remove yet. Resumed exports ask for them, so a ticket deleted since the
        last sync leaves the customer's timeline."""
        return {} if cursor else {"exclude_deleted": "true"}

    def page(self, items: list[Any], state: State) -> Page:
        """Tickets as events (a deleted one as a deletion); a ticket without an id or creation
        time is rejected."""
        events: list[EventIn] = []
        rejects: list[Reject] = []
        for ticket in items:
            created = parse_timestamp(ticket.get("created_at"))
            if ticket.get("id") in (None, "") or created is None:
                where = f"ticket {ticket.get('id')}"
                rejects.append(Reject(where, "ticket without an id or created_at", ticket))
                continue
            requester = ticket.get("requester_id")
            details = {
                "subject": ticket.get("subject"),
                "status": ticket.get("status"),
                "priority": ticket.get("priority"),
                "channel": (ticket.get("via") or {}).get("channel"),
            }
            customer = str(requester) if requester is not None else None
            deleted = ticket.get("status") == "deleted"
            events.append(
                EventIn("ticket", created, customer, str(ticket["id"]), details, deleted=deleted)
            )
        return Page(state, events=events, rejects=rejects)
