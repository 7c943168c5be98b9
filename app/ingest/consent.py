"""Recording a customer's choice of a purpose, as someone tells it to a department: the choice
goes on that department's records of the customer, the audit trail records who recorded it, and
the customer's traits follow (affinities need the profiling purpose)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.customer import profiles
from app.customer import service as customers
from app.db import hold_identity_lock, utcnow
from app.errors import InvalidInput
from app.privacy import service as privacy
from app.settings import Settings
from app.source import service as sources

CONSENT = "consent"


def record_choice(
    *,
    session: Session,
    settings: Settings,
    public_id: str,
    purpose: str,
    granted: bool,
    source: str,
    actor: str,
    observed_at: datetime | None = None,
) -> dict[str, Any]:
    """Record that the customer granted (or withdrew) a purpose, on their records of
    ``source``; returns their consents in force. InvalidInput for a purpose not configured or a
    department that holds no record of them."""
    if purpose not in settings.privacy.purposes:
        known = ", ".join(sorted(settings.privacy.purposes))
        raise InvalidInput("unknown purpose", {"purpose": [f"one of {known}"]})
    hold_identity_lock(session)  # traits change
    identity_id, survivor = profiles.identity_of(session=session, public_id=public_id)
    if survivor is not None:
        identity_id, _ = profiles.identity_of(session=session, public_id=survivor)
    held = [
        r
        for r in sources.records_of_identities(session=session, identity_ids=[identity_id])
        if r.is_live and r.source.name == source
    ]
    if not held:
        raise InvalidInput(
            "no record of this customer there",
            {"source": [f"{source!r} holds no record of {survivor or public_id}"]},
        )
    when = observed_at or utcnow()
    privacy.upsert_consents(
        session=session, choices=[(r.id, {purpose: granted}, when) for r in held]
    )
    audit.record(
        session=session,
        action=CONSENT,
        identities=[survivor or public_id],
        actor=actor,
        after={"purpose": purpose, "granted": granted, "source": source},
    )
    customers.refresh_traits(session=session, settings=settings, identity_ids=[identity_id])
    return consents_of(session=session, settings=settings, public_id=survivor or public_id)


def consents_of(*, session: Session, settings: Settings, public_id: str) -> dict[str, Any]:
    """A customer's consents in force, per purpose, as the profile shows them."""
    profile = profiles.get_profile(session=session, settings=settings, public_id=public_id)
    if profile.redirect_to is not None:
        return consents_of(session=session, settings=settings, public_id=profile.redirect_to)
    document = json.loads(profile.body or "{}")
    return {"id": document["id"], "consents": document["consents"]}
