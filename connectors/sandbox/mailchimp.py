"""A Mailchimp Marketing API 3.0 imitation: one audience's members, campaigns and their
e-mail activity (opens and clicks).

``GET /3.0/lists/{list_id}/members`` pages with ``count`` (at most 1000) and ``offset``,
filters with ``since_last_changed`` (changed after that time) and sorts with
``sort_field=last_changed&sort_dir=ASC``; a member's ``id`` is the MD5 of its lowercased
e-mail, ``contact_id`` is stable, ``status`` is subscribed, unsubscribed, cleaned, pending,
transactional or archived (deleted). ``GET /3.0/campaigns`` and
``GET /3.0/reports/{campaign_id}/email-activity`` give the activity, by recipient.
Authentication is HTTP Basic with any user name and the API key as password, or a bearer
token. Timestamps are ISO 8601 with seconds, as Mailchimp writes them.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from datetime import datetime
from typing import Any, ClassVar

from connectors.sandbox.common import (
    HttpError,
    Request,
    Route,
    SandboxEvent,
    SandboxRecord,
    SandboxServer,
)
from connectors.values import parse_timestamp

MERGE_FIELD_OF_ATTRIBUTE: dict[str, str] = {
    "first_name": "FNAME",
    "last_name": "LNAME",
    "phone": "PHONE",
    "company": "COMPANY",
    "birth_date": "BIRTHDATE",
}
ADDRESS_PART_OF_ATTRIBUTE: dict[str, str] = {
    "address_line1": "addr1",
    "address_line2": "addr2",
    "city": "city",
    "region": "state",
    "postcode": "zip",
    "country": "country",
}
MAX_COUNT = 1000
LIST_ID = "a1b2c3d4e5"


def mailchimp_time(when: datetime) -> str:
    """Mailchimp's timestamp form: ISO 8601 with seconds and an offset."""
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def subscriber_hash(email: str) -> str:
    """The member id Mailchimp derives from an e-mail address."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


class MailchimpSandbox(SandboxServer):
    """One audience and its campaigns the way Mailchimp's Marketing API serves them."""

    name = "mailchimp"
    list_id = LIST_ID
    rate_limit_body: ClassVar[Any] = {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "You have exceeded the limit of 10 simultaneous connections.",
    }

    def routes(self) -> list[tuple[str, str, Route]]:
        """Mailchimp's member, campaign and report endpoints."""
        return [
            ("GET", "/3.0/lists/{list_id}/members", self.list_members),
            ("GET", "/3.0/campaigns", self.list_campaigns),
            ("GET", "/3.0/reports/{campaign_id}/email-activity", self.email_activity),
        ]

    def authorized(self, request: Request) -> bool:
        """Basic auth with the key as password, or a bearer token."""
        header = request.headers.get("authorization", "")
        if header == f"Bearer {self.token}":
            return True
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        return decoded.partition(":")[2] == self.token

    def unauthorized_body(self) -> Any:
        """Mailchimp's problem document for a bad key."""
        return {
            "title": "API Key Invalid",
            "status": 401,
            "detail": "Your API key may be invalid, or you've attempted to access the wrong "
            "datacenter.",
        }

    def expected_attributes(self, record: SandboxRecord) -> dict[str, str]:
        """Mailchimp shows a full name even when only first and last are set."""
        return self.expected_base(record) | (
            {"full_name": name} if (name := self.full_name(record)) else {}
        )

    def full_name(self, record: SandboxRecord) -> str:
        """The member's full name: as held, else first and last."""
        held = self.expected_base(record)
        joined = " ".join(part for part in (held.get("first_name"), held.get("last_name")) if part)
        return held.get("full_name") or joined

    def render(self, record: SandboxRecord) -> dict[str, Any]:
        """A list member object."""
        attributes = record.attributes
        email = attributes.get("email", "")
        merge_fields: dict[str, Any] = {
            tag: attributes.get(name, "") for name, tag in MERGE_FIELD_OF_ATTRIBUTE.items()
        }
        birth = parse_timestamp(attributes.get("birth_date", ""))
        merge_fields["BIRTHDAY"] = birth.strftime("%m/%d") if birth else ""
        address = {
            part: attributes.get(name, "") for name, part in ADDRESS_PART_OF_ATTRIBUTE.items()
        }
        merge_fields["ADDRESS"] = address if any(address.values()) else ""
        return {
            "id": subscriber_hash(email),
            "email_address": email,
            "unique_email_id": subscriber_hash(email)[:10],
            "contact_id": record.external_id,
            "full_name": self.full_name(record),
            "web_id": record.serial,
            "email_type": "html",
            "status": "archived" if record.deleted else record.status,
            "merge_fields": merge_fields,
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": "",
            "timestamp_signup": mailchimp_time(record.created_at),
            "timestamp_opt": mailchimp_time(record.created_at),
            "last_changed": mailchimp_time(record.updated_at),
            "language": "",
            "vip": False,
            "source": "API - Generic",
            "tags_count": 0,
            "tags": [],
            "list_id": self.list_id,
        }

    def render_malformed(self, record: SandboxRecord) -> dict[str, Any]:
        """A member without its e-mail address or ids."""
        body = self.render(record)
        for key in ("id", "contact_id", "email_address"):
            body.pop(key, None)
        return body

    def list_members(self, request: Request) -> bytes:
        """The audience's members, optionally changed since a time, in last-changed order."""
        if request.query["list_id"] != self.list_id:
            raise HttpError(404, {"title": "Resource Not Found", "status": 404})
        self.serving_page()
        count = _count(request.query.get("count"))
        offset = _count(request.query.get("offset"), default=0, minimum=0, maximum=10**9)
        start: tuple[int, str] | None = None
        since_text = request.query.get("since_last_changed")
        if since_text:
            since = parse_timestamp(since_text)
            if since is None:
                raise HttpError(400, {"title": "Invalid Resource", "detail": "since_last_changed"})
            # "Changed after": Mailchimp compares whole seconds.
            start = (int(since.timestamp()) * 1000 + 999, "\uffff")
        if request.query.get("sort_field", "last_changed") != "last_changed":
            raise HttpError(400, {"title": "Invalid Resource", "detail": "sort_field"})
        if request.query.get("sort_dir", "ASC").upper() != "ASC":
            raise HttpError(400, {"title": "Invalid Resource", "detail": "sort_dir"})
        page: list[SandboxRecord] = []
        skipped = 0
        for record in self.ordered(start):
            if skipped < offset:
                skipped += 1
                continue
            page.append(record)
            if len(page) == count:
                break
        if self.faults.repeat_across_pages and (offset or since_text) and page:
            previous = self.previous_record(page[0])
            page = [previous, *page] if previous else page
        head = b'{"members":[' + b",".join(self.rendered(r) for r in page)
        return head + b'],"list_id":"%s","total_items":%d}' % (
            self.list_id.encode(),
            len(self._records),
        )

    def _campaigns(self) -> dict[str, list[SandboxEvent]]:
        by_campaign: dict[str, list[SandboxEvent]] = defaultdict(list)
        for event in self.events:
            name = str(event.properties.get("campaign_id") or event.properties.get("campaign"))
            by_campaign[hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:10]].append(
                event
            )
        return by_campaign

    def list_campaigns(self, request: Request) -> dict[str, Any]:
        """Sent campaigns of the audience, oldest first."""
        count = _count(request.query.get("count"))
        offset = _count(request.query.get("offset"), default=0, minimum=0, maximum=10**9)
        campaigns = sorted(
            (min(e.occurred_at for e in events), campaign_id)
            for campaign_id, events in self._campaigns().items()
        )
        chosen = campaigns[offset : offset + count]
        return {
            "campaigns": [
                {
                    "id": campaign_id,
                    "type": "regular",
                    "status": "sent",
                    "send_time": mailchimp_time(sent),
                    "recipients": {"list_id": self.list_id},
                    "settings": {"subject_line": f"News {campaign_id}", "title": campaign_id},
                }
                for sent, campaign_id in chosen
            ],
            "total_items": len(campaigns),
        }

    def email_activity(self, request: Request) -> dict[str, Any]:
        """Each recipient's opens and clicks of one campaign."""
        campaign_id = request.query["campaign_id"]
        events = self._campaigns().get(campaign_id)
        if events is None:
            raise HttpError(404, {"title": "Resource Not Found", "status": 404})
        count = _count(request.query.get("count"))
        offset = _count(request.query.get("offset"), default=0, minimum=0, maximum=10**9)
        since = parse_timestamp(request.query.get("since") or "")
        by_member: dict[str, list[SandboxEvent]] = defaultdict(list)
        for event in events:
            if since is None or event.occurred_at > since:
                by_member[event.customer_external_id].append(event)
        emails = []
        for contact_id in sorted(by_member)[offset : offset + count]:
            member = self._records.get(contact_id)
            email = member.attributes.get("email", "") if member else ""
            emails.append(_recipient(self.list_id, campaign_id, email, by_member[contact_id]))
        return {"emails": emails, "campaign_id": campaign_id, "total_items": len(by_member)}


def _recipient(
    list_id: str, campaign_id: str, email: str, events: list[SandboxEvent]
) -> dict[str, Any]:
    activity = []
    for event in events:
        action = {
            "action": "click" if event.type == "email_click" else "open",
            "timestamp": mailchimp_time(event.occurred_at),
            "ip": "192.0.2.1",
        }
        if "url" in event.properties:
            action["url"] = str(event.properties["url"])
        activity.append(action)
    return {
        "campaign_id": campaign_id,
        "list_id": list_id,
        "list_is_active": True,
        "email_id": subscriber_hash(email),
        "email_address": email,
        "activity": activity,
    }


def _count(
    value: str | None, *, default: int = 10, minimum: int = 1, maximum: int = MAX_COUNT
) -> int:
    try:
        return max(minimum, min(int(value), maximum)) if value is not None else default
    except ValueError:
        raise HttpError(400, {"title": "Invalid Resource", "detail": "count"}) from None
