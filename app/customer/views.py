"""Customer endpoints: profile, lookup by identifier, search by name, timeline.

Profiles are stored as JSON when they change, so these views send stored text rather than
serialize objects on every read; the schemas document the shapes. They only read, through the
request's read session.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flask import Response, redirect, request, url_for
from flask_smorest import Blueprint
from werkzeug.wrappers import Response as BaseResponse

from app.auth.guard import roles
from app.customer import profiles, timeline
from app.customer.schemas import (
    CustomerPageSchema,
    CustomerSchema,
    LookupQuerySchema,
    LookupSchema,
    ProfileQuerySchema,
    SearchPageSchema,
    SearchQuerySchema,
)
from app.customer.survivorship import display_name
from app.db import get_read_session
from app.event.schemas import TimelineQuerySchema, TimelineSchema
from app.exports import EXPORT_MAX, csv_response
from app.pagination import (
    aware_datetime,
    decode_typed,
    encode_cursor,
    event_id,
    optional,
    page_limit,
    row_id,
    score,
)
from app.privacy.guard import personal
from app.settings import get_settings

blp = Blueprint(
    "customers", __name__, url_prefix="/api/v1/customers", description="The single customer view"
)


def _json(text: str) -> Response:
    return Response(text, mimetype="application/json")


def _page(items: Sequence[str], following: list[Any] | None) -> Response:
    cursor = json.dumps(encode_cursor(following) if following is not None else None)
    return _json(f'{{"data": [{",".join(items)}], "next_cursor": {cursor}}}')


def _moved(endpoint: str, public_id: str) -> BaseResponse:
    """308 to the same view of the surviving customer, keeping the query string."""
    location = url_for(endpoint, public_id=public_id)
    if request.query_string:
        location += "?" + request.query_string.decode()
    return redirect(location, 308)


@blp.get("")
@blp.arguments(SearchQuerySchema(), location="query")
@blp.response(200, SearchPageSchema)
@roles("admin", "agent")
@personal
def search_customers(query: dict[str, Any]) -> Response:
    """Customers by name (fuzzy, ranked by score), narrowed by city, postcode or birth date."""
    session = get_read_session()
    after = decode_typed(query["cursor"], optional(score), row_id)
    hits, following = profiles.search(
        session=session,
        query=profiles.SearchQuery(
            query["q"], query["city"], query["postcode"], query["birth_date"]
        ),
        after=(after[0], after[1]) if after else None,
        limit=page_limit(query["limit"]),
    )
    items = profiles.summaries_json(session=session, settings=get_settings(), hits=hits)
    return _page(items, list(following) if following else None)


@blp.get("/export")
@blp.arguments(SearchQuerySchema(), location="query")
@blp.response(200, {"format": "binary", "type": "string"}, content_type="text/csv")
@roles("admin")
def export_search(query: dict[str, Any]) -> Response:
    """The search's results as CSV (at most 10,000, best first): id, name, e-mails, phones,
    city and score. Admins only: agents read customers one at a time, masked."""
    session = get_read_session()
    search = profiles.SearchQuery(query["q"], query["city"], query["postcode"], query["birth_date"])
    rows: list[list[Any]] = []
    after = None
    while len(rows) < EXPORT_MAX:
        hits, after = profiles.search(
            session=session, query=search, after=after, limit=min(1000, EXPORT_MAX - len(rows))
        )
        rows.extend(
            _export_row(json.loads(item))
            for item in profiles.summaries_json(session=session, settings=get_settings(), hits=hits)
        )
        if after is None:
            break
    header = ["id", "name", "emails", "phones", "addresses", "birth_date", "score"]
    return csv_response("customers.csv", header, rows)


def _export_row(customer: dict[str, Any]) -> list[Any]:
    golden = customer.get("golden") or {}
    return [
        customer["id"],
        display_name(golden) or "",
        golden.get("emails"),
        golden.get("phones"),
        golden.get("addresses"),
        golden.get("birth_date"),
        customer.get("score"),
    ]


@blp.get("/lookup/<path:reference>")
@blp.arguments(LookupQuerySchema(), location="query")
@blp.response(200, CustomerPageSchema)
@roles("admin", "agent")
@personal
def lookup_customers(query: dict[str, Any], reference: str) -> Response:
    """Profiles of the customers a ``type:value`` names: ``email:ana@example.com``,
    ``phone:+34600111222``, ``anonymous:SOURCE:ID`` (a source's visitor), or
    ``SOURCE:EXTERNAL_ID`` (e.g. ``crm:c-17``). A phone written nationally (``06 13 25 74
    39``) is read in ``region`` when given (``?region=FR``), else in every region where it is
    a number."""
    return _lookup(reference, query["limit"], query["cursor"], query["region"])


@blp.post("/lookup")
@blp.arguments(LookupSchema())
@blp.response(200, CustomerPageSchema)
@roles("admin", "agent")
@personal
def lookup_customers_in_body(body: dict[str, Any]) -> Response:
    """The same lookup with the ``reference`` (and ``limit``, ``cursor``) in the body: the
    e-mail or phone stays out of the address, and so out of every access log on the way."""
    return _lookup(body["reference"], body["limit"], body["cursor"], body["region"])


def _lookup(reference: str, limit: int | None, cursor: str | None, region: str | None) -> Response:
    after = decode_typed(cursor, row_id)
    items, last = profiles.lookup(
        session=get_read_session(),
        settings=get_settings(),
        reference=reference,
        after=after[0] if after else None,
        limit=page_limit(limit),
        region=region,
    )
    return _page(items, [last] if last is not None else None)


@blp.get("/<public_id>")
@blp.arguments(ProfileQuerySchema(), location="query")
@blp.response(200, CustomerSchema)
@blp.alt_response(308, description="merged away: Location names the surviving customer")
@roles("admin", "agent")
@personal
def get_customer(query: dict[str, Any], public_id: str) -> BaseResponse:
    """One customer: golden record, records per department, consents and traits."""
    profile = profiles.get_profile(
        session=get_read_session(),
        settings=get_settings(),
        public_id=public_id,
        verbose=query["verbose"],
    )
    if profile.redirect_to is not None:
        return _moved("customers.get_customer", profile.redirect_to)
    return _json(profile.body or "{}")


@blp.get("/<public_id>/timeline")
@blp.arguments(TimelineQuerySchema(), location="query")
@blp.response(200, TimelineSchema)
@blp.alt_response(308, description="merged away: Location names the surviving customer")
@roles("admin", "agent")
@personal
def get_timeline(query: dict[str, Any], public_id: str) -> BaseResponse:
    """The customer's footprint across departments, newest first; filter by type and source."""
    session = get_read_session()
    identity_id, survivor = profiles.identity_of(session=session, public_id=public_id)
    if survivor is not None:
        return _moved("customers.get_timeline", survivor)
    after = decode_typed(query["cursor"], aware_datetime, event_id)
    found, following = timeline.page(
        session=session,
        identity_id=identity_id,
        limit=page_limit(query["limit"]),
        types=query["type"],
        sources=query["source"],
        before=(after[0], after[1]) if after else None,
    )
    cursor = [following[0].isoformat(), following[1]] if following else None
    return _page([event.as_json() for event in found], cursor)
