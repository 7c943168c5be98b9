"""HubSpot CRM (kind ``hubspot``), the sales department's system.

Contacts are read with the CRM v3 search endpoint (``POST /crm/v3/objects/contacts/search``)
sorted by ``lastmodifieddate`` and filtered from the latest modification read, which is
incremental, never meets search's 10,000-result window, and loses nothing when contacts
change mid-sync (see ``connectors.incremental``). Archived contacts, which search leaves out,
are then listed with ``GET /crm/v3/objects/contacts?archived=true`` and become deletions.
Deals are listed with ``GET /crm/v3/objects/deals?associations=contacts`` (``after`` paging)
and become events of their first associated contact: ``order`` for deals of the e-commerce
pipeline (``ecommerce``, as HubSpot's commerce integrations name it), ``deal`` for others.
A contact's ``hs_email_optout`` ("unsubscribed from all e-mail") becomes a withdrawn
``email_marketing`` consent; a contact that has not opted out has recorded no choice.

Authentication: a private app's access token as ``Authorization: Bearer``. HubSpot allows
about 10 requests a second (100 per 10 s) and 5 a second on search; the default rate limit
stays under both. Settings beyond the HTTP ones (see ``HttpConnector``): ``base_url``
(required: HubSpot's is https://api.hubapi.com), ``token_env`` (required), ``page_size``
(search, at most 200), ``properties`` (attribute -> contact property), ``lookback_seconds``
(re-read that much before the last modification on each sync, for search's indexing delay).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from connectors.base import (
    TABLE,
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
from connectors.incremental import Watermark
from connectors.values import int_setting, parse_timestamp, required_text, secret_from_env

DEFAULT_PROPERTIES: dict[str, str] = {
    "first_name": "firstname",
    "last_name": "lastname",
    "full_name": "full_name",
    "email": "email",
    "phone": "phone",
    "birth_date": "date_of_birth",
    "address_line1": "address",
    "address_line2": "address2",
    "city": "city",
    "postcode": "zip",
    "region": "state",
    "country": "country",
    "company": "company",
}
MODIFIED = "lastmodifieddate"
OPTED_OUT = "hs_email_optout"
CONSENT_PURPOSE = "email_marketing"
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "createdate",
)
ORDER_PIPELINE = "ecommerce"


@register
class HubSpotConnector(HttpConnector):
    """Contacts (records, deletions) and deals (events) from HubSpot's CRM v3 API."""

    kind = "hubspot"
    default_policy: ClassVar[Mapping[str, Any]] = {"rate_limit": 4.0, "burst": 4}
    settings_schema: ClassVar[Mapping[str, Setting]] = {
        **HttpConnector.settings_schema,
        "properties": Setting(TABLE),
        "lookback_seconds": Setting(WHOLE),
        "portal_id": Setting(WHOLE),
    }

    @classmethod
    def record_link(
        cls, settings: Mapping[str, Any], external_id: str, raw: Mapping[str, Any]
    ) -> str | None:
        """The contact's record in HubSpot, when the source names its account (``portal_id``:
        the API's address does not say which account it is)."""
        portal = settings.get("portal_id")
        if portal in (None, ""):
            return None
        return f"https://app.hubspot.com/contacts/{int(portal)}/record/0-1/{quote(external_id)}"

    def make_client(self) -> HttpClient:
        """Bearer-token client on the configured base URL."""
        token = secret_from_env(self.settings, "token_env")
        return HttpClient(
            required_text(self.settings, "base_url"),
            policy=self.policy,
            headers={"Authorization": f"Bearer {token}"},
        )

    def check(self) -> None:
        """One contact can be listed with these credentials."""
        self.client.get_json("/crm/v3/objects/contacts", {"limit": 1})

    def streams(self) -> Sequence[Stream]:
        """Contacts, then deals."""
        mapping = dict(self.settings.get("properties") or DEFAULT_PROPERTIES)
        return [
            HubSpotContacts(
                self.client_factory,
                mapping,
                page_size=int_setting(self.settings, "page_size", 200, maximum=200),
                lookback_ms=1000 * int_setting(self.settings, "lookback_seconds", 0, minimum=0),
            ),
            HubSpotDeals(self.client_factory),
        ]


class HubSpotContacts(Stream):
    """Contacts changed since the last read, then contacts archived since then."""

    name = "contacts"
    kind = "records"

    def __init__(
        self,
        client: Callable[[], HttpClient],
        mapping: Mapping[str, str],
        *,
        page_size: int = 200,
        lookback_ms: int = 0,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.page_size = page_size
        self.lookback_ms = lookback_ms

    def read(self, state: State | None) -> Iterator[Page]:
        """Yield changed contacts page by page, then the archived ones as deletions."""
        state = dict(state or {})
        watermark = Watermark.from_state(state.get("changes"))
        archived_since = int(state.get("archived_since") or 0)
        if state.get("phase") != "archived":
            if state.get("phase") == "done":
                watermark = watermark.rewound(self.lookback_ms)
            for page in self._changes(watermark, archived_since):
                yield page
                watermark = Watermark.from_state(page.state["changes"])
            state = {"after": None}
        yield from self._archived(watermark, archived_since, state.get("after"))

    def _changes(self, watermark: Watermark, archived_since: int) -> Iterator[Page]:
        properties = sorted({*self.mapping.values(), MODIFIED, OPTED_OUT})
        while True:
            body: dict[str, Any] = {
                "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
                "properties": properties,
                "limit": self.page_size,
            }
            if watermark.since is not None:
                bound = {"propertyName": MODIFIED, "operator": "GTE", "value": watermark.since}
                body["filterGroups"] = [{"filters": [bound]}]
            if watermark.skip:
                body["after"] = str(watermark.skip)
            answer = self.client().post_json("/crm/v3/objects/contacts/search", body)
            results = answer.get("results") or []
            records, rejects, keys = self._contacts(results, watermark)
            watermark = watermark.after(keys)
            finished = not (answer.get("paging") or {}).get("next")
            phase = "archived" if finished else "changes"
            state = {
                "phase": phase,
                "changes": watermark.to_state(),
                "archived_since": archived_since,
            }
            yield Page(state, records=records, rejects=rejects)
            if finished:
                return

    def _contacts(
        self, results: list[Any], watermark: Watermark
    ) -> tuple[list[RecordIn], list[Reject], list[tuple[str, int]]]:
        records: list[RecordIn] = []
        rejects: list[Reject] = []
        keys: list[tuple[str, int]] = []
        for index, contact in enumerate(results, start=1):
            properties = contact.get("properties") or {}
            modified = parse_timestamp(properties.get(MODIFIED) or contact.get("updatedAt"))
            contact_id = contact.get("id")
            where = f"contacts since {watermark.since} item {index}"
            if modified is None:
                rejects.append(
                    Reject(where, "contact without a readable lastmodifieddate", contact)
                )
                continue
            millis = int(modified.timestamp() * 1000)
            if not contact_id:
                keys.append((f"#{where}", millis))
                rejects.append(Reject(where, "contact without an id", contact))
                continue
            keys.append((str(contact_id), millis))
            if watermark.is_new(str(contact_id), millis):
                records.append(self._record(contact, properties, modified))
        return records, rejects, keys

    def _record(
        self, contact: Mapping[str, Any], properties: Mapping[str, Any], modified: Any
    ) -> RecordIn:
        attributes = {
            attribute: str(properties[name]).strip()
            for attribute, name in self.mapping.items()
            if properties.get(name) not in (None, "")
        }
        opted_out = str(properties.get(OPTED_OUT) or "").strip().lower() == "true"
        return RecordIn(
            str(contact["id"]),
            attributes,
            contact,
            updated_at=modified,
            consents={CONSENT_PURPOSE: False} if opted_out else {},
        )

    def _archived(
        self, watermark: Watermark, archived_since: int, after: str | None
    ) -> Iterator[Page]:
        newest = archived_since
        while True:
            params: dict[str, Any] = {"archived": "true", "limit": 100}
            if after:
                params["after"] = after
            answer = self.client().get_json("/crm/v3/objects/contacts", params)
            records: list[RecordIn] = []
            for contact in answer.get("results") or []:
                when = parse_timestamp(contact.get("archivedAt") or contact.get("updatedAt"))
                stamp = int(when.timestamp() * 1000) if when else 0
                if contact.get("id") and stamp >= archived_since:
                    newest = max(newest, stamp)
                    records.append(
                        RecordIn(str(contact["id"]), {}, contact, updated_at=when, deleted=True)
                    )
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            state: State = {
                "phase": "archived" if after else "done",
                "changes": watermark.to_state(),
                "archived_since": archived_since if after else newest,
                "after": after,
            }
            yield Page(state, records=records)
            if not after:
                return


class HubSpotDeals(Stream):
    """Deals as ``deal`` events of their first associated contact, in id order."""

    name = "deals"
    kind = "events"

    def __init__(self, client: Callable[[], HttpClient]) -> None:
        self.client = client

    def read(self, state: State | None) -> Iterator[Page]:
        """Yield deals from the state's cursor; the last page is read again next time, since
        HubSpot's cursors are opaque and only a listed page gives one."""
        after = (state or {}).get("after")
        while True:
            params: dict[str, Any] = {
                "limit": 100,
                "properties": ",".join(DEAL_PROPERTIES),
                "associations": "contacts",
            }
            if after:
                params["after"] = after
            answer = self.client().get_json("/crm/v3/objects/deals", params)
            events, rejects = _deals(answer.get("results") or [])
            following = ((answer.get("paging") or {}).get("next") or {}).get("after")
            yield Page({"after": following or after}, events=events, rejects=rejects)
            if not following:
                return
            after = following


def _deals(results: list[Any]) -> tuple[list[EventIn], list[Reject]]:
    events: list[EventIn] = []
    rejects: list[Reject] = []
    for deal in results:
        properties = deal.get("properties") or {}
        when = parse_timestamp(properties.get("closedate") or properties.get("createdate"))
        if not deal.get("id") or when is None:
            rejects.append(Reject(f"deal {deal.get('id')}", "deal without id or date", deal))
            continue
        links = ((deal.get("associations") or {}).get("contacts") or {}).get("results") or []
        contact = str(links[0]["id"]) if links and links[0].get("id") else None
        details = {
            "name": properties.get("dealname"),
            "amount": properties.get("amount"),
            "currency": properties.get("deal_currency_code"),
            "stage": properties.get("dealstage"),
            "pipeline": properties.get("pipeline"),
        }
        kind = "order" if properties.get("pipeline") == ORDER_PIPELINE else "deal"
        events.append(EventIn(kind, when, contact, str(deal["id"]), details))
    return events, rejects
