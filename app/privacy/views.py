"""Privacy endpoints: erasing a customer; revealing a customer's masked values, with a reason;
reading and recording consents; the footprint view; the subject export."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, url_for
from flask_smorest import Blueprint
from werkzeug.wrappers import Response as BaseResponse

from app.audit import service as audit
from app.auth.guard import current_token, roles
from app.customer import profiles
from app.customer.footprint import footprint
from app.customer.schemas import CustomerSchema
from app.db import get_session
from app.errors import NotFound
from app.ingest import erasure, worker
from app.ingest.consent import consents_of, record_choice
from app.ingest.erasure import Erasure, erase
from app.ingest.subject import export_subject
from app.privacy.guard import personal, route
from app.privacy.schemas import (
    ConsentChoiceSchema,
    ConsentsSchema,
    ErasureRequestSchema,
    ErasureSchema,
    FootprintSchema,
    RevealSchema,
    SubjectExportSchema,
)
from app.resolution.runtime import current_matcher
from app.resolution.views import accepted
from app.settings import get_settings
from app.sync import service as sync
from app.sync.schemas import JobSchema

blp = Blueprint(
    "privacy",
    __name__,
    url_prefix="/api/v1/customers",
    description="Privacy: erasure that stays erased",
)


@blp.delete("/<public_id>")
@blp.arguments(ErasureRequestSchema())
@blp.response(200, ErasureSchema)
@blp.alt_response(
    202, schema=JobSchema, description="queued for the workers: follow the job at Location"
)
@roles("admin")
def erase_customer(body: dict[str, Any], public_id: str) -> Erasure | Response:
    """Erase a customer from every table that holds personal data (every department's records,
    events, consents, what resolution and the customer view keep, review items, rejects) and put
    digests of their record ids, e-mails and phones on the suppression list, which every sync,
    push, import and event checks first. The audit trail keeps the fact, nothing personal.

    The request checks what it can (the customer, the reason) and answers 202 with the job the
    workers run, whose result is the erasure's report. ``dry_run`` answers the counts of what
    would go at once (200); so does erasing an erased customer (``already_erased``)."""
    if ":" in public_id:
        raise NotFound(f"no customer {public_id!r}")  # only ids here: no e-mail in addresses
    session, settings, actor = get_session(), get_settings(), current_token().name
    if body["dry_run"]:
        report = erase(
            session=session,
            settings=settings,
            matcher=current_matcher(session),
            reference=public_id,
            actor=actor,
            reason=body["reason"],
            dry_run=True,
        )
        session.commit()
        return report
    answered = erasure.check(
        session=session, settings=settings, reference=public_id, reason=body["reason"]
    )
    if answered is not None:
        return answered
    job = sync.queue_job(session=session, kind="erase", subject=public_id, actor=actor)
    worker.hand_over(
        session, job, "huella.erase", reference=public_id, reason=body["reason"], actor=actor
    )
    return accepted(job)


@blp.post("/<public_id>/reveal")
@blp.arguments(RevealSchema())
@blp.response(200, CustomerSchema)
@blp.alt_response(308, description="merged away: Location names the surviving customer")
@roles("admin", "agent")
def reveal_customer(body: dict[str, Any], public_id: str) -> BaseResponse:
    """One customer's profile with every value unmasked, for a role that otherwise sees them
    masked; the audit trail records who revealed whom, when and why
    (``GET /api/v1/audit?kind=read``)."""
    session = get_session()
    # Recorded first: a transaction that starts by writing waits for SQLite's lock, one that
    # read first fails if another wrote meanwhile. A customer that is not there rolls it back.
    audit.record_read(
        session=session,
        actor=current_token().name,
        route=route(),
        identities=[public_id],
        action="reveal",
        reason=body["reason"],
    )
    profile = profiles.get_profile(
        session=session, settings=get_settings(), public_id=public_id, verbose=body["verbose"]
    )
    if profile.redirect_to is not None:
        session.rollback()
        return redirect(url_for("privacy.reveal_customer", public_id=profile.redirect_to), 308)
    session.commit()
    return Response(profile.body or "{}", mimetype="application/json")


@blp.get("/<public_id>/consents")
@blp.response(200, ConsentsSchema)
@roles("admin", "agent")
@personal
def get_consents(public_id: str) -> dict[str, Any]:
    """The customer's consents per purpose: the choice in force (the most restrictive any
    department recorded; one withdrawal withdraws), whether departments disagree, and each
    department's choice with its time."""
    return consents_of(session=get_session(), settings=get_settings(), public_id=public_id)


@blp.put("/<public_id>/consents")
@blp.arguments(ConsentChoiceSchema())
@blp.response(200, ConsentsSchema)
@roles("admin", "agent")
def put_consent(body: dict[str, Any], public_id: str) -> dict[str, Any]:
    """Record the customer's choice of a purpose as a department heard it (on that
    department's records of them); audited. Answers the consents now in force."""
    session = get_session()
    found = record_choice(
        session=session,
        settings=get_settings(),
        public_id=public_id,
        actor=current_token().name,
        **body,
    )
    session.commit()
    return found


@blp.get("/<public_id>/footprint")
@blp.response(200, FootprintSchema)
@blp.alt_response(308, description="merged away: Location names the surviving customer")
@roles("admin", "agent")
@personal
def get_footprint(public_id: str) -> Any:
    """Who holds what: per department, its records of the customer with the attributes each
    holds, since when and under which consents; per attribute, the departments holding it."""
    found, survivor = footprint(session=get_session(), settings=get_settings(), public_id=public_id)
    if survivor is not None:
        return redirect(url_for("privacy.get_footprint", public_id=survivor), 308)
    return found


@blp.get("/<public_id>/export")
@blp.response(200, SubjectExportSchema)
@roles("admin")
@personal
def export_customer(public_id: str) -> dict[str, Any]:
    """Everything held about the customer, as one machine-readable JSON document (a subject
    access request): every department's records with raw values and times, the golden record
    with provenance, consents, events, anonymous visitors, traits and how they are computed,
    the history of merges and splits, and who read their data. A merged-away id exports its
    survivor."""
    return export_subject(session=get_session(), settings=get_settings(), public_id=public_id)
