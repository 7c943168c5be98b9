"""A HubSpot CRM v3 imitation: contacts (list, search, archived) and deals with their
contact associations.

Shapes follow HubSpot's public API: objects are ``{"id", "properties", "createdAt",
"updatedAt", "archived"}`` with every property value a string; lists page with an opaque
``after`` in ``paging.next``; search is ``POST .../search`` with ``filterGroups`` (OR of
AND-ed filters), one sort, ``limit`` at most 200 and ``after`` an offset that may not pass
10,000; archived objects are left out of search and listed with ``archived=true``. Rate
limiting answers 429 with HubSpot's error body. Every property is returned whatever
``properties`` asks for.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from connectors.hubspot import DEFAULT_PROPERTIES
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
from connectors.values import isoformat_z, parse_timestamp

LIST_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_WINDOW = 10_000
MODIFIED = "lastmodifieddate"


class HubSpotSandbox(SandboxServer):
    """Contacts and deals the way HubSpot's CRM v3 API serves them."""

    name = "hubspot"
    rate_limit_body: ClassVar[Any] = {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "SECONDLY",
    }

    def routes(self) -> list[tuple[str, str, Route]]:
        """HubSpot's contact and deal endpoints."""
        return [
            ("GET", "/crm/v3/objects/contacts", self.list_contacts),
            ("POST", "/crm/v3/objects/contacts/search", self.search_contacts),
            ("GET", "/crm/v3/objects/deals", self.list_deals),
        ]

    def unauthorized_body(self) -> Any:
        """HubSpot's 401 body."""
        return {
            "status": "error",
            "message": "Authentication credentials not found.",
            "category": "INVALID_AUTHENTICATION",
        }

    def render(self, record: SandboxRecord) -> dict[str, Any]:
        """A contact object."""
        properties = {
            DEFAULT_PROPERTIES[name]: value
            for name, value in record.attributes.items()
            if name in DEFAULT_PROPERTIES
        }
        properties |= {
            "hs_email_optout": "true" if record.status == "unsubscribed" else "false",
            "hs_object_id": record.external_id,
            "createdate": isoformat_z(record.created_at),
            "lastmodifieddate": isoformat_z(record.updated_at),
        }
        body: dict[str, Any] = {
            "id": record.external_id,
            "properties": properties,
            "createdAt": isoformat_z(record.created_at),
            "updatedAt": isoformat_z(record.updated_at),
            "archived": record.deleted,
        }
        if record.deleted:
            body["archivedAt"] = isoformat_z(record.updated_at)
        return body

    def list_contacts(self, request: Request) -> bytes:
        """GET /crm/v3/objects/contacts: by id, ``after`` paging, live or archived ones."""
        archived = request.query.get("archived", "false") == "true"
        limit = _limit(request.query.get("limit"), LIST_LIMIT, LIST_LIMIT)
        after = int(unopaque(request.query["after"])[0]) if request.query.get("after") else 0
        chosen = sorted(
            (r for r in self._records.values() if r.deleted == archived and _id(r) >= after),
            key=_id,
        )
        page, rest = chosen[:limit], chosen[limit:]
        if self.faults.repeat_across_pages and after:
            page = [r for r in self._records.values() if _id(r) == after - 1][:1] + page
        paging = {"next": {"after": opaque(_id(rest[0]))}} if rest else None
        return _results(self, page, paging)

    def search_contacts(self, request: Request) -> bytes:
        """POST /crm/v3/objects/contacts/search: filters on properties, one sort, offsets."""
        self.serving_page()
        body = request.body if isinstance(request.body, dict) else {}
        limit = _limit(body.get("limit"), 10, SEARCH_LIMIT)
        offset = int(body.get("after") or 0)
        if offset + limit > SEARCH_WINDOW:
            raise HttpError(
                400,
                {
                    "status": "error",
                    "message": "Search results are limited to 10,000; narrow the filters.",
                    "category": "VALIDATION_ERROR",
                },
            )
        groups = body.get("filterGroups") or []
        sorts = body.get("sorts") or []
        matched = self._by_modification(groups, sorts, offset + limit + 1)
        if matched is None:
            matched = [
                r for r in self.ordered() if not r.deleted and _matches(self.render(r), groups)
            ]
            if sorts:
                prop = sorts[0].get("propertyName", "")
                descending = sorts[0].get("direction") == "DESCENDING"
                matched.sort(key=lambda r: _sortable(self.render(r), prop), reverse=descending)
        page = matched[offset : offset + limit]
        if self.faults.repeat_across_pages and (offset or groups) and page:
            previous = self.previous_record(page[0])
            page = [previous, *page] if previous else page
        more = offset + limit < len(matched)
        paging = {"next": {"after": str(offset + limit)}} if more else None
        return _results(self, page, paging, total=len(matched) if not more else None)

    def _by_modification(
        self, groups: list[dict[str, Any]], sorts: list[dict[str, Any]], enough: int
    ) -> list[SandboxRecord] | None:
        """The common incremental query (lastmodifieddate bounds, ascending) from the index;
        None when the query has another shape."""
        if len(groups) > 1 or any(
            s.get("propertyName") != MODIFIED or s.get("direction") == "DESCENDING" for s in sorts
        ):
            return None
        filters = groups[0].get("filters", []) if groups else []
        if any(f.get("propertyName") != MODIFIED for f in filters):
            return None
        start: tuple[int, str] | None = None
        for item in filters:
            bound = _number(item.get("value"))
            if bound is None or item.get("operator") not in ("GT", "GTE", "LT", "LTE"):
                return None
            if item["operator"] == "GTE":
                start = max(start or (0, ""), (int(bound) - 1, "\uffff"))
            elif item["operator"] == "GT":
                start = max(start or (0, ""), (int(bound), "\uffff"))
        lower_only = all(item["operator"] in ("GT", "GTE") for item in filters)
        matched: list[SandboxRecord] = []
        for record in self.ordered(start):
            if record.deleted:
                continue
            if lower_only or _matches(self.render(record), groups):
                matched.append(record)
                if len(matched) >= enough:
                    break
        return matched

    def list_deals(self, request: Request) -> dict[str, Any]:
        """GET /crm/v3/objects/deals with ``associations=contacts``: deals by id."""
        limit = _limit(request.query.get("limit"), LIST_LIMIT, LIST_LIMIT)
        after = int(unopaque(request.query["after"])[0]) if request.query.get("after") else 0
        with_contacts = "contacts" in request.query.get("associations", "")
        deals = self.events[after : after + limit]
        results = []
        for index, event in enumerate(deals, start=after):
            deal_id = str(index + 1)
            pipeline = "ecommerce" if event.type == "order" else "default"
            properties = {
                "dealname": str(event.properties.get("name") or f"Deal {deal_id}"),
                "amount": str(event.properties.get("amount", "")),
                "deal_currency_code": str(event.properties.get("currency") or ""),
                "dealstage": str(event.properties.get("stage") or "closedwon"),
                "pipeline": pipeline,
                "closedate": isoformat_z(event.occurred_at),
                "createdate": isoformat_z(event.occurred_at),
                "hs_lastmodifieddate": isoformat_z(event.occurred_at),
                "hs_object_id": deal_id,
            }
            deal: dict[str, Any] = {
                "id": deal_id,
                "properties": properties,
                "createdAt": isoformat_z(event.occurred_at),
                "updatedAt": isoformat_z(event.occurred_at),
                "archived": False,
            }
            if with_contacts:
                link = {"id": event.customer_external_id, "type": "deal_to_contact"}
                deal["associations"] = {"contacts": {"results": [link]}}
            results.append(deal)
        answer: dict[str, Any] = {"results": results}
        if after + limit < len(self.events):
            answer["paging"] = {"next": {"after": opaque(after + limit)}}
        return answer


def _id(record: SandboxRecord) -> int:
    return int(record.external_id)


def _limit(value: Any, default: int, maximum: int) -> int:
    try:
        return max(1, min(int(value), maximum)) if value is not None else default
    except (TypeError, ValueError):
        raise HttpError(400, {"status": "error", "message": f"bad limit {value!r}"}) from None


def _results(
    sandbox: SandboxServer,
    page: list[SandboxRecord],
    paging: dict[str, Any] | None,
    total: int | None = None,
) -> bytes:
    head = b'{"total":%d,"results":[' % total if total is not None else b'{"results":['
    tail = b"]" + (b',"paging":' + json.dumps(paging).encode() if paging else b"") + b"}"
    return head + b",".join(sandbox.rendered(record) for record in page) + tail


def _sortable(body: dict[str, Any], prop: str) -> tuple[float, str]:
    value = body.get("properties", {}).get(prop, "")
    number = _number(value)
    return (number if number is not None else float("inf"), str(value))


def _number(value: Any) -> float | None:
    """HubSpot compares dates as epoch milliseconds; ISO dates are turned into them."""
    text = str(value)
    try:
        return float(text)
    except ValueError:
        when = parse_timestamp(text)
        return float(millis(when)) if when else None


def _matches(body: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    properties = body.get("properties", {})
    return any(
        all(_filter(properties, item) for item in group.get("filters", [])) for group in groups
    )


def _filter(properties: dict[str, Any], item: dict[str, Any]) -> bool:
    operator = str(item.get("operator", "EQ"))
    have = properties.get(item.get("propertyName", ""))
    if operator == "HAS_PROPERTY":
        return have not in (None, "")
    if have in (None, ""):
        return bool(operator == "NOT_HAS_PROPERTY")
    left, right = _number(have), _number(item.get("value"))
    if left is None or right is None:
        left_text, right_text = str(have), str(item.get("value"))
        comparisons = {"EQ": left_text == right_text, "NEQ": left_text != right_text}
        return comparisons.get(operator, False)
    outcomes: dict[str, bool] = {
        "EQ": left == right,
        "NEQ": left != right,
        "GT": left > right,
        "GTE": left >= right,
        "LT": left < right,
        "LTE": left <= right,
    }
    return outcomes.get(operator, False)
