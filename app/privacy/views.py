"""Privacy endpoints: erasing a customer."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.auth.guard import current_token, roles
from app.db import get_session
from app.errors import NotFound
from app.ingest.erasure import Erasure, erase
from app.privacy.schemas import ErasureRequestSchema, ErasureSchema
from app.resolution.runtime import current_matcher
from app.settings import get_settings

blp = Blueprint(
    "privacy",
    __name__,
    url_prefix="/api/v1/customers",
    description="Privacy: erasure that stays erased",
)


@blp.delete("/<public_id>")
@blp.arguments(ErasureRequestSchema())
@blp.response(200, ErasureSchema)
@roles("admin")
def erase_customer(body: dict[str, Any], public_id: str) -> Erasure:
    """Erase a customer from every table that holds personal data (every department's records,
    events, consents, what resolution and the customer view keep, review items, rejects) and put
    digests of their record ids, e-mails and phones on the suppression list, which every sync,
    push, import and event checks first. The audit trail keeps the fact, nothing personal.
    ``dry_run`` counts what would go. Erasing an erased customer answers ``already_erased``."""
    if ":" in public_id:
        raise NotFound(f"no customer {public_id!r}")  # only ids here: no e-mail in addresses
    session = get_session()
    report = erase(
        session=session,
        settings=get_settings(),
        matcher=current_matcher(session),
        reference=public_id,
        actor=current_token().name,
        reason=body["reason"],
        dry_run=body["dry_run"],
    )
    session.commit()
    return report
