"""Mailchimp Marketing (kind ``mailchimp``), the marketing department's e-mail platform.

Members of one audience come from ``GET /3.0/lists/{list_id}/members`` sorted by
``last_changed`` ascending and filtered with ``since_last_changed`` from the latest change
read (keyset reading, see ``connectors.incremental``; ``offset`` only steps over a tie longer
than a page). A member's ``contact_id`` is its external id: the member ``id`` is the hash of
the e-mail and changes with it. ``status`` becomes the consent for ``email_marketing``
(subscribed: given; unsubscribed or cleaned: withdrawn; pending and transactional say
nothing); ``archived`` members are deletions.

Opens and clicks come from ``GET /3.0/reports/{campaign_id}/email-activity`` of every sent
campaign of the audience (``GET /3.0/campaigns``), from the start of the previous read on
(``since``), and become ``email_open`` / ``email_click`` events.

Authentication: the API key as the password of HTTP Basic (any user name). ``base_url`` is
the key's data centre (``https://us21.api.mailchimp.com`` for a key ending ``-us21``).
Mailchimp allows 10 simultaneous connections and answers 429 beyond; requests here are
sequential. Settings beyond the HTTP ones: ``list_id`` (required), ``token_env`` (required),
``base_url`` (required), ``page_size`` (at most 1000), ``merge_fields`` (merge tag ->
attribute).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from connectors.base import (
    TABLE,
    TEXT,
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
from connectors.incremental import Watermark
from connectors.values import int_setting, parse_timestamp, required_text, secret_from_env

CONSENT_PURPOSE = "email_marketing"
CONSENT_OF_STATUS: dict[str, bool] = {"subscribed": True, "unsubscribed": False, "cleaned": False}
DEFAULT_MERGE_FIELDS: dict[str, str] = {
    "FNAME": "first_name",
    "LNAME": "last_name",
    "PHONE": "phone",
    "COMPANY": "company",
    "BIRTHDATE": "birth_date",
}
ADDRESS_PARTS: dict[str, str] = {
    "addr1": "address_line1",
    "addr2": "address_line2",
    "city": "city",
    "state": "region",
    "zip": "postcode",
    "country": "country",
}
# Activity that arrives late or with a skewed clock is read again: events have stable ids.
ACTIVITY_OVERLAP = timedelta(minutes=5)


@register
class MailchimpConnector(HttpConnector):
    """Audience members (records, consents, deletions) and e-mail activity (events)."""

    kind = "mailchimp"
    default_policy: ClassVar[Mapping[str, Any]] = {"rate_limit": 10.0, "burst": 10}
    settings_schema: ClassVar[Mapping[str, Setting]] = {
        **HttpConnector.settings_schema,
        "list_id": Setting(TEXT, required=True),
        "merge_fields": Setting(TABLE),
    }

    @classmethod
    def record_link(
        cls, settings: Mapping[str, Any], external_id: str, raw: Mapping[str, Any]
    ) -> str | None:
        """The member's page in the audience, on the account's data centre (``us21`` of
        ``https://us21.api.mailchimp.com``), by the member's ``web_id``."""
        host = urlsplit(str(settings.get("base_url") or "")).hostname or ""
        centre = re.fullmatch(r"([a-z0-9]+)\.api\.mailchimp\.com", host)
        web_id = raw.get("web_id")
        if centre is None or web_id in (None, ""):
            return None
        return f"https://{centre.group(1)}.admin.mailchimp.com/lists/members/view?id={quote(str(web_id))}"

    def make_client(self) -> HttpClient:
        """Basic-auth client on the configured base URL."""
        key = secret_from_env(self.settings, "token_env")
        base_url = required_text(self.settings, "base_url")
        return HttpClient(base_url, policy=self.policy, auth=("huella", key))

    def check(self) -> None:
        """The audience can be read with this key."""
        list_id = required_text(self.settings, "list_id")
        self.client.get_json(f"/3.0/lists/{list_id}/members", {"count": 1})

    def streams(self) -> Sequence[Stream]:
        """Members, then e-mail activity."""
        list_id = required_text(self.settings, "list_id")
        page_size = int_setting(self.settings, "page_size", 1000, maximum=1000)
        merge_fields = dict(self.settings.get("merge_fields") or DEFAULT_MERGE_FIELDS)
        return [
            MailchimpMembers(self.client_factory, list_id, page_size, merge_fields),
            MailchimpActivity(self.client_factory, list_id, page_size),
        ]


class MailchimpMembers(Stream):
    """Members changed since the last read, with their consent."""

    name = "members"
    kind = "records"

    def __init__(
        self,
        client: Callable[[], HttpClient],
        list_id: str,
        page_size: int,
        merge_fields: Mapping[str, str],
    ) -> None:
        self.client = client
        self.list_id = list_id
        self.page_size = page_size
        self.merge_fields = merge_fields

    def read(self, state: State | None) -> Iterator[Page]:
        """Yield pages of members in order of last change, from the state's watermark."""
        watermark = Watermark.from_state(state)
        while True:
            params: dict[str, Any] = {
                "count": self.page_size,
                "offset": watermark.skip,
                "sort_field": "last_changed",
                "sort_dir": "ASC",
            }
            if watermark.since is not None:
                # "Changed after" a time in whole seconds: ask from one second earlier so the
                # members changed at exactly the watermark's second come back too.
                since = datetime.fromtimestamp(watermark.since - 1, UTC)
                params["since_last_changed"] = since.isoformat()
            path = f"/3.0/lists/{self.list_id}/members"
            members = self.client().get_json(path, params).get("members") or []
            records, rejects, keys = self._members(members, watermark)
            watermark = watermark.after(keys)
            yield Page(watermark.to_state(), records=records, rejects=rejects)
            if len(members) < self.page_size:
                return

    def _members(
        self, members: list[Any], watermark: Watermark
    ) -> tuple[list[RecordIn], list[Reject], list[tuple[str, int]]]:
        records: list[RecordIn] = []
        rejects: list[Reject] = []
        keys: list[tuple[str, int]] = []
        for index, member in enumerate(members, start=1):
            changed = parse_timestamp(member.get("last_changed"))
            contact_id = member.get("contact_id")
            where = f"members since {watermark.since} item {index}"
            if changed is None:
                rejects.append(Reject(where, "member without a readable last_changed", member))
                continue
            seconds = int(changed.timestamp())
            if not contact_id or not member.get("email_address"):
                keys.append((f"#{where}", seconds))
                rejects.append(Reject(where, "member without contact_id or e-mail", member))
                continue
            keys.append((str(contact_id), seconds))
            if watermark.is_new(str(contact_id), seconds):
                records.append(self._record(member, changed))
        return records, rejects, keys

    def _record(self, member: Mapping[str, Any], changed: datetime) -> RecordIn:
        merge = member.get("merge_fields") or {}
        attributes = {"email": str(member["email_address"]).strip()}
        if member.get("full_name"):
            attributes["full_name"] = str(member["full_name"]).strip()
        attributes |= {
            attribute: str(merge[tag]).strip()
            for tag, attribute in self.merge_fields.items()
            if merge.get(tag) not in (None, "")
        }
        address = merge.get("ADDRESS")
        if isinstance(address, Mapping):
            attributes |= {
                attribute: str(address[part]).strip()
                for part, attribute in ADDRESS_PARTS.items()
                if address.get(part) not in (None, "")
            }
        status = str(member.get("status") or "")
        consent = CONSENT_OF_STATUS.get(status)
        return RecordIn(
            str(member["contact_id"]),
            attributes,
            member,
            updated_at=changed,
            deleted=status == "archived",
            consents={CONSENT_PURPOSE: consent} if consent is not None else {},
        )


class MailchimpActivity(Stream):
    """Opens and clicks of the audience's sent campaigns, campaign by campaign."""

    name = "email_activity"
    kind = "events"

    def __init__(self, client: Callable[[], HttpClient], list_id: str, page_size: int) -> None:
        self.client = client
        self.list_id = list_id
        self.page_size = page_size
        self._contact_ids: dict[str, str] | None = None

    def read(self, state: State | None) -> Iterator[Page]:
        """Yield activity pages; the state names the campaign and offset to go on from."""
        state = dict(state or {})
        self._contact_ids = None
        started = state.get("started") or datetime.now(UTC).isoformat()
        since = state.get("since")
        campaign_index = int(state.get("campaign") or 0)
        offset = int(state.get("offset") or 0)
        campaigns = self._campaigns()
        for index in range(campaign_index, len(campaigns)):
            campaign_id = campaigns[index]
            while True:
                params: dict[str, Any] = {"count": self.page_size, "offset": offset}
                if since:
                    params["since"] = since
                path = f"/3.0/reports/{campaign_id}/email-activity"
                emails = self.client().get_json(path, params).get("emails") or []
                events, rejects = self._events(emails)
                offset += len(emails)
                done = len(emails) < self.page_size
                where = {"campaign": index + 1, "offset": 0} if done else {"campaign": index}
                position = where | ({} if done else {"offset": offset})
                yield Page(
                    {"since": since, "started": started, **position},
                    events=events,
                    rejects=rejects,
                )
                if done:
                    break
            offset = 0
        next_since = (parse_timestamp(started) or datetime.now(UTC)) - ACTIVITY_OVERLAP
        yield Page({"since": next_since.isoformat(), "campaign": 0, "offset": 0})

    def _campaigns(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            params = {
                "list_id": self.list_id,
                "status": "sent",
                "sort_field": "send_time",
                "sort_dir": "ASC",
                "count": 1000,
                "offset": offset,
            }
            campaigns = self.client().get_json("/3.0/campaigns", params).get("campaigns") or []
            ids.extend(str(campaign["id"]) for campaign in campaigns if campaign.get("id"))
            offset += len(campaigns)
            if len(campaigns) < 1000:
                return ids

    def _contact_id(self, email_id: str) -> str | None:
        """The member's stable contact id for the e-mail hash activity reports carry (the map
        is loaded once a read, with a request per thousand members)."""
        if self._contact_ids is None:
            self._contact_ids = self._load_contact_ids()
        return self._contact_ids.get(email_id)

    def _load_contact_ids(self) -> dict[str, str]:
        found: dict[str, str] = {}
        offset = 0
        while True:
            params = {
                "count": 1000,
                "offset": offset,
                "fields": "members.id,members.contact_id",
            }
            path = f"/3.0/lists/{self.list_id}/members"
            members = self.client().get_json(path, params).get("members") or []
            found |= {
                str(m["id"]): str(m["contact_id"])
                for m in members
                if m.get("id") and m.get("contact_id")
            }
            offset += len(members)
            if len(members) < 1000:
                return found

    def _events(self, emails: list[Any]) -> tuple[list[EventIn], list[Reject]]:
        events: list[EventIn] = []
        rejects: list[Reject] = []
        for recipient in emails:
            email_id = str(recipient.get("email_id") or "")
            contact = self._contact_id(email_id) if email_id else None
            campaign_id = recipient.get("campaign_id")
            for action in recipient.get("activity") or []:
                when = parse_timestamp(action.get("timestamp"))
                kind = {"open": "email_open", "click": "email_click"}.get(action.get("action"))
                if kind is None:
                    continue
                if when is None:
                    where = f"campaign {campaign_id} recipient {email_id}"
                    rejects.append(Reject(where, "activity without a readable timestamp", action))
                    continue
                url = action.get("url")
                parts = [campaign_id, contact or email_id, action["action"], when.isoformat()]
                event_id = ":".join(str(part) for part in [*parts, url] if part)
                details = {"campaign_id": campaign_id, **({"url": url} if url else {})}
                events.append(EventIn(kind, when, contact, event_id, details))
        return events, rejects
