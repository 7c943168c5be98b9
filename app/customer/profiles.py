"""Reading the single customer view: profiles (golden record, records per department, consents,
traits), lookup by a reference, search by name (the timeline is :mod:`app.customer.timeline`).
What keeps it current is :mod:`app.customer.service`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.orm import Session, aliased

from app.customer import search as keys
from app.customer.models import CustomerTraits, GoldenRecord, SearchToken
from app.customer.records import live_records_where
from app.customer.service import (
    EMPTY_DETAIL,
    EMPTY_SUMMARY,
    golden_document,
    shared_identifiers,
)
from app.db import (
    Reused,
    among,
    among_parameter,
    chunks,
    json_text,
    read_rows,
)
from app.errors import InvalidInput, NotFound
from app.event import service as events
from app.identity.identifiers import phone_readings
from app.identity.models import Identity, RecordIdentifier
from app.identity.service import survivor_of
from app.privacy.consent import Choice, in_force, withdrawn
from app.privacy.models import Consent
from app.settings import Settings
from app.source.models import Source, SourceRecord
from connectors import ConnectorError, connector_class

# --- reading profiles ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """A profile ready to send (``body``), or the survivor a merged-away id redirects to."""

    public_id: str
    body: str | None = None
    redirect_to: str | None = None


def _merge_objects(*objects: str) -> str:
    """One JSON object holding the members of several JSON object texts (no re-encoding)."""
    inner = [text.strip()[1:-1].strip() for text in objects]
    return "{" + ",".join(part for part in inner if part) + "}"


def _consents_column(dialect: str) -> Any:
    """Every consent of the identity's live records as one JSON array of
    [purpose, granted, observed_at, source, external_id], so a profile is one query."""
    record = aliased(SourceRecord)
    parts = (Consent.purpose, Consent.granted, Consent.observed_at, Source.name, record.external_id)
    aggregate: Any
    if dialect == "postgresql":
        aggregate = cast(func.json_agg(func.json_build_array(*parts)), Text)
    else:
        aggregate = func.json_group_array(func.json_array(*parts))
    return (
        select(aggregate)
        .select_from(Consent)
        .join(record, record.id == Consent.record_id)
        .join(Source, Source.id == record.source_id)
        .where(record.identity_id == Identity.id, record.deleted_at.is_(None))
        .scalar_subquery()
        .label("consents")
    )


def _profile_select(dialect: str) -> Select[Any]:
    """The profile query without its condition (built once per statement below: reads serve
    most requests, and building the statement costs more than running it). It selects
    columns, not entities, so it runs on the session's connection: the ORM's result handling
    would cost more than the query does."""
    return (
        select(
            Identity.id,
            Identity.public_id,
            Identity.merged_into_id,
            Identity.created_at,
            GoldenRecord.computed_at,
            cast(GoldenRecord.summary, Text).label("document"),
            cast(CustomerTraits.traits, Text).label("traits"),
            _consents_column(dialect),
        )
        .outerjoin(GoldenRecord, GoldenRecord.identity_id == Identity.id)
        .outerjoin(CustomerTraits, CustomerTraits.identity_id == Identity.id)
    )


# Profiles by ``public_id``, or by a list of ``ids``.
_PROFILE_BY_PUBLIC_ID = Reused(
    lambda dialect: _profile_select(dialect).where(Identity.public_id == bindparam("public_id"))
)
_PROFILES_BY_ID = Reused(
    lambda dialect: _profile_select(dialect).where(
        Identity.id.in_(bindparam("ids", expanding=True))
    )
)


def _profile_rows(
    session: Session, public_id: str | None = None, ids: Sequence[int] = ()
) -> list[Row[Any]]:
    statement = (_PROFILE_BY_PUBLIC_ID if public_id is not None else _PROFILES_BY_ID)(session)
    parameters = {"public_id": public_id} if public_id is not None else {"ids": list(ids)}
    return list(read_rows(session, statement, parameters))


def _moment(text: str) -> datetime:
    # Raw JSON carries the database's own spelling of a time; both backends store UTC.
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def consents_from(aggregated: str | None, settings: Settings) -> dict[str, Any]:
    """Per purpose: the choice in force (the most restrictive any department recorded, else the
    purpose's default), whether departments disagree, and what each department recorded."""
    return in_force(
        (
            Choice(purpose, bool(granted), _moment(observed), source, external_id)
            for purpose, granted, observed, source, external_id in json.loads(aggregated or "[]")
            if purpose is not None
        ),
        settings.privacy.purposes,
    )


def _profile_json(row: Row[Any], settings: Settings, document: str | None = None) -> str:
    """The profile of a row, with the stored summary unless another ``document`` is given."""
    consents = consents_from(row.consents, settings)
    head = {
        "id": row.public_id,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.computed_at.isoformat() if row.computed_at else None,
        "consents": consents,
        "withdrawn": withdrawn(consents),
    }
    traits = f'{{"traits": {row.traits or "null"}}}'
    return _merge_objects(json.dumps(head), document or row.document or EMPTY_SUMMARY, traits)


def _verbose_document(session: Session, settings: Settings, identity_id: int) -> str:
    """The verbose golden record, computed from the live records when asked for: few read
    it, and storing it beside the summary doubled what every change to an identity wrote."""
    records = live_records_where(session, SourceRecord.identity_id == identity_id)
    if not records:
        return EMPTY_DETAIL
    shared = shared_identifiers(session, settings, records)
    document = golden_document(records, settings, verbose=True, shared=shared)
    links = record_links(session=session, identity_id=identity_id)
    for source, entries in document["records"].items():
        for entry in entries:
            entry["link"] = links.get((source, entry["external_id"]))
    return json_text(document)


def record_links(*, session: Session, identity_id: int) -> dict[tuple[str, str], str]:
    """Where each live record of an identity opens in its department's own system (a HubSpot
    contact, a Zendesk user, a Mailchimp member), when its source's settings tell."""
    rows = session.execute(
        select(
            SourceRecord.external_id, SourceRecord.raw, Source.name, Source.kind, Source.settings
        )
        .join(Source, Source.id == SourceRecord.source_id)
        .where(SourceRecord.identity_id == identity_id, SourceRecord.deleted_at.is_(None))
    )
    links: dict[tuple[str, str], str] = {}
    for external_id, raw, source, kind, source_settings in rows:
        try:
            connector = connector_class(kind)
        except ConnectorError:  # a kind this release no longer knows
            continue
        link = connector.record_link(source_settings or {}, external_id, raw or {})
        if link:
            links[(source, external_id)] = link
    return links


def get_profile(
    *, session: Session, settings: Settings, public_id: str, verbose: bool = False
) -> Profile:
    """An identity's profile as JSON text: golden record, records per department, consents,
    traits (verbose: every value with its provenance). A merged-away id names its survivor."""
    rows = _profile_rows(session, public_id=public_id)
    if not rows:
        raise NotFound(f"no customer {public_id!r}")
    row = rows[0]
    if row.merged_into_id is not None:
        _, survivor = survivor_of(session, row.merged_into_id)
        return Profile(public_id, redirect_to=survivor)
    document = _verbose_document(session, settings, row.id) if verbose else None
    return Profile(public_id, body=_profile_json(row, settings, document))


def profiles_json(
    *, session: Session, settings: Settings, identity_ids: Sequence[int]
) -> list[str]:
    """Profiles (not verbose) of these identities, in the order given."""
    if not identity_ids:
        return []
    rows = {row.id: row for row in _profile_rows(session, ids=identity_ids)}
    return [_profile_json(rows[i], settings) for i in identity_ids if i in rows]


def identity_of(*, session: Session, public_id: str) -> tuple[int, str | None]:
    """An identity's internal id, and its survivor's public id when it was merged away."""
    row = session.execute(
        select(Identity.id, Identity.merged_into_id).where(Identity.public_id == public_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no customer {public_id!r}")
    if row.merged_into_id is None:
        return row.id, None
    return row.id, survivor_of(session, row.merged_into_id)[1]


# --- lookup and search ----------------------------------------------------------------------


def subject_of_reference(*, session: Session, settings: Settings, reference: str) -> str:
    """The subject a ``type:value`` reference names: ``email:...``, ``phone:...``,
    ``anonymous:SOURCE:ID`` (a source's anonymous visitor) or ``SOURCE:EXTERNAL_ID``."""
    kind, separator, value = reference.partition(":")
    if not separator or not kind or not value:
        raise InvalidInput(
            "look up by type:value",
            {"reference": ["email:..., phone:..., anonymous:SOURCE:ID or SOURCE:EXTERNAL_ID"]},
        )
    if kind == "anonymous":
        source_name, _, anonymous_id = value.partition(":")
        source_id = session.scalar(select(Source.id).where(Source.name == source_name))
        if source_id is None or not anonymous_id:
            raise InvalidInput(
                "look up an anonymous visitor by anonymous:SOURCE:ID",
                {"reference": [f"no source named {source_name!r}, or no id after it"]},
            )
        return f"anonymous:{events.anonymous_key(source_id, anonymous_id)}"
    named = {kind: value} if kind in ("email", "phone") else {"record": reference}
    return events.subject_of(session=session, settings=settings, reference=named)


def _holder_profiles(dialect: str, value: ColumnElement[bool]) -> Select[Any]:
    """Profiles of the identities holding an identifier of a kind whose ``value`` condition
    holds, a page at a time, in one query."""
    holders = (
        select(SourceRecord.identity_id)
        .join(RecordIdentifier, RecordIdentifier.record_id == SourceRecord.id)
        .where(RecordIdentifier.kind == bindparam("kind"), value, SourceRecord.deleted_at.is_(None))
    )
    return (
        _profile_select(dialect)
        .where(Identity.id.in_(holders), Identity.id > bindparam("after"))
        .order_by(Identity.id)
        .limit(bindparam("limit"))
    )


# Holders of one e-mail or phone (``value``), or of any of several phones (``values``).
_HOLDER_PROFILES = Reused(
    lambda dialect: _holder_profiles(dialect, RecordIdentifier.value == bindparam("value"))
)
_HOLDERS_OF_ANY = Reused(
    lambda dialect: _holder_profiles(
        dialect, among_parameter(dialect, RecordIdentifier.value, "values")
    )
)


def lookup(
    *,
    session: Session,
    settings: Settings,
    reference: str,
    after: int | None,
    limit: int,
    region: str | None = None,
) -> tuple[list[str], int | None]:
    """Profiles of the identities a ``type:value`` reference names, by id after ``after``;
    and the id to resume after when more follow. A phone written nationally is read in
    ``region`` when given, else in every region it can be read in (see ``phone_readings``)."""
    kind, _, typed = reference.partition(":")
    if kind == "phone":
        readings = phone_readings(typed, settings.match, region)
        if not readings:
            where = f" in {region}" if region else ""
            raise InvalidInput(
                f"not a valid phone{where}", {"phone": [f"not a valid phone{where}"]}
            )
        if len(readings) > 1:
            named = {"kind": "phone", "values": list(readings)}
            return _holders_page(session, settings, _HOLDERS_OF_ANY, named, after, limit)
        reference = f"phone:{readings[0]}"
    subject = subject_of_reference(session=session, settings=settings, reference=reference)
    kind, _, value = subject.partition(":")
    if kind in ("email", "phone"):
        named = {"kind": kind, "value": value}
        return _holders_page(session, settings, _HOLDER_PROFILES, named, after, limit)
    found = sorted(events.identities_of_subjects(session=session, subjects=[subject]))
    found = [i for i in found if after is None or i > after]
    ids = found[:limit]
    return profiles_json(session=session, settings=settings, identity_ids=ids), (
        ids[-1] if len(found) > limit else None
    )


def _holders_page(
    session: Session,
    settings: Settings,
    statement: Reused,
    named: Mapping[str, Any],
    after: int | None,
    limit: int,
) -> tuple[list[str], int | None]:
    """A page of holders' profiles by id after ``after``, and the id to resume after."""
    parameters = {**named, "after": after or 0, "limit": limit + 1}
    rows = list(read_rows(session, statement(session), parameters))
    page = rows[:limit]
    following = page[-1].id if len(rows) > limit else None
    return [_profile_json(row, settings) for row in page], following


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to search for: words of a name, and filters that must all hold."""

    text: str | None = None
    city: str | None = None
    postcode: str | None = None
    birth_date: date | None = None

    def filter_keys(self) -> list[str]:
        """The keys every result must have."""
        found = []
        if self.city:
            found.append(keys.city_key(self.city))
        if self.postcode:
            found.append(keys.postcode_key(self.postcode))
        if self.birth_date:
            found.append(keys.birth_date_key(self.birth_date))
        return found


@dataclass(frozen=True, slots=True)
class SearchHit:
    """An identity a search found, with its score (None when no name was searched)."""

    identity_id: int
    score: float | None


def _filtered(query: Any, filter_keys: Sequence[str], identity_column: Any) -> Any:
    for key in filter_keys:
        holder = aliased(SearchToken)
        query = query.where(
            identity_column.in_(select(holder.identity_id).where(holder.token == key))
        )
    return query


def search(
    *,
    session: Session,
    query: SearchQuery,
    after: tuple[float | None, int] | None,
    limit: int,
    candidate_cap: int = 2000,
) -> tuple[list[SearchHit], tuple[float | None, int] | None]:
    """Customers matching a name (ranked by score) and filters; returns a page and the key to
    resume after, when more follow.

    Candidates come from the search-key index: identities sharing a key with every word of
    the name (all but one, for three words or more), at most ``candidate_cap`` of them; only
    those are scored.
    """
    word_keys = keys.query_word_keys(query.text or "")
    filter_keys = query.filter_keys()
    if not word_keys:
        if query.text and query.text.strip():
            return [], None  # only initials or punctuation: nothing to look for
        return _list_filtered(session, filter_keys, after, limit)
    required = len(word_keys) - 1 if len(word_keys) >= 3 else len(word_keys)
    every_key = sorted(set().union(*word_keys))
    hits = func.count(
        func.distinct(
            case(*((SearchToken.token.in_(sorted(k)), i) for i, k in enumerate(word_keys)))
        )
    )
    candidates_query = _filtered(
        select(SearchToken.identity_id).where(SearchToken.token.in_(every_key)),
        filter_keys,
        SearchToken.identity_id,
    )
    candidates = list(
        session.scalars(
            candidates_query.group_by(SearchToken.identity_id)
            .having(hits >= required)
            .order_by(hits.desc(), SearchToken.identity_id)
            .limit(candidate_cap)
        )
    )
    scored: list[SearchHit] = []
    for chunk in chunks(candidates):
        for identity_id, names in session.execute(
            select(GoldenRecord.identity_id, GoldenRecord.search_names).where(
                among(session, GoldenRecord.identity_id, chunk)
            )
        ):
            scored.append(
                SearchHit(identity_id, keys.name_score(query.text or "", names.split("\n")))
            )
    scored.sort(key=lambda h: (-(h.score or 0.0), h.identity_id))
    if after is not None:
        last_score, last_id = float(after[0] or 0.0), after[1]
        scored = [h for h in scored if ((h.score or 0.0), -h.identity_id) < (last_score, -last_id)]
    page = scored[:limit]
    more = len(scored) > limit
    return page, ((page[-1].score, page[-1].identity_id) if more else None)


def _list_filtered(
    session: Session,
    filter_keys: Sequence[str],
    after: tuple[float | None, int] | None,
    limit: int,
) -> tuple[list[SearchHit], tuple[float | None, int] | None]:
    query = select(GoldenRecord.identity_id)
    if after is not None:
        query = query.where(GoldenRecord.identity_id > after[1])
    query = _filtered(query, filter_keys, GoldenRecord.identity_id)
    ids = list(session.scalars(query.order_by(GoldenRecord.identity_id).limit(limit + 1)))
    page = [SearchHit(i, None) for i in ids[:limit]]
    return page, ((None, page[-1].identity_id) if len(ids) > limit else None)


def summaries_json(*, session: Session, settings: Settings, hits: Sequence[SearchHit]) -> list[str]:
    """Search results: each identity's id, score, golden values and records, and the purposes
    a department recorded a withdrawal of (``withdrawn``), in hit order."""
    if not hits:
        return []
    dialect = session.get_bind().dialect.name
    rows = {
        row.identity_id: row
        for row in session.execute(
            select(
                GoldenRecord.identity_id,
                Identity.public_id,
                cast(GoldenRecord.summary, Text).label("document"),
                _consents_column(dialect),
            )
            .join(Identity, Identity.id == GoldenRecord.identity_id)
            .where(GoldenRecord.identity_id.in_([h.identity_id for h in hits]))
        )
    }
    found = []
    for hit in hits:
        row = rows.get(hit.identity_id)
        if row is None:
            continue
        head = {
            "id": row.public_id,
            "score": hit.score,
            "withdrawn": withdrawn(consents_from(row.consents, settings)),
        }
        found.append(_merge_objects(json.dumps(head), row.document))
    return found
