"""The footprint view, "who holds what": for one customer, which department holds which of
their attributes, since when, in which of its records, under which consents."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from app.customer.profiles import identity_of
from app.privacy import service as privacy
from app.privacy.consent import Choice, in_force
from app.settings import Settings
from app.source import service as sources


def footprint(
    *, session: Session, settings: Settings, public_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    """A customer's footprint, or (None, the survivor's id) for a merged-away id: per
    department, each live record with the attributes it holds, since when and the consents it
    carries; per attribute, the departments holding it; the consents in force."""
    identity_id, survivor = identity_of(session=session, public_id=public_id)
    if survivor is not None:
        return None, survivor
    records = [
        r
        for r in sources.records_of_identities(session=session, identity_ids=[identity_id])
        if r.is_live
    ]
    recorded = privacy.choices_of(session=session, record_ids=[r.id for r in records])
    departments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    holders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    choices: list[Choice] = []
    for record in sorted(records, key=lambda r: (r.source.name, r.external_id)):
        source = record.source.name
        since = record.first_seen_at.isoformat()
        carried = recorded.get(record.id, [])
        choices += [
            Choice(p, granted, when, source, record.external_id) for p, granted, when in carried
        ]
        departments[source].append(
            {
                "external_id": record.external_id,
                "since": since,
                "updated_at": record.updated_at.isoformat(),
                "source_updated_at": (
                    record.source_updated_at.isoformat() if record.source_updated_at else None
                ),
                "attributes": sorted(record.attributes),
                "consents": {
                    purpose: {"granted": granted, "observed_at": when.isoformat()}
                    for purpose, granted, when in sorted(carried)
                },
            }
        )
        for attribute in sorted(record.attributes):
            holders[attribute].append(
                {"source": source, "external_id": record.external_id, "since": since}
            )
    document = {
        "id": public_id,
        "departments": [
            {"source": source, "records": held} for source, held in sorted(departments.items())
        ],
        "attributes": dict(sorted(holders.items())),
        "consents": in_force(choices, settings.privacy.purposes),
    }
    return document, None
