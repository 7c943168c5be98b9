"""Every ORM model, imported once so the metadata (and Alembic) sees the whole schema."""

from app.audit.models import AuditEntry, AuditSubject, ReadEntry, ReadSubject
from app.auth.models import ApiToken
from app.customer.models import CustomerTraits, GoldenRecord, SearchToken
from app.db import Base, LockStripe
from app.event.models import AnonymousLink, Event
from app.identity.models import Identity, RecordIdentifier
from app.privacy.models import Consent, Suppression
from app.resolution.models import BlockingKey, MatchEdge, MatchValues, ModelVersion
from app.review.models import LinkConstraint, ReviewItem
from app.source.models import Source, SourceRecord
from app.sync.models import RecordReject, StreamState, SyncRun

__all__ = [
    "AnonymousLink",
    "ApiToken",
    "AuditEntry",
    "AuditSubject",
    "Base",
    "BlockingKey",
    "Consent",
    "CustomerTraits",
    "Event",
    "GoldenRecord",
    "Identity",
    "LinkConstraint",
    "LockStripe",
    "MatchEdge",
    "MatchValues",
    "ModelVersion",
    "ReadEntry",
    "ReadSubject",
    "RecordIdentifier",
    "RecordReject",
    "ReviewItem",
    "SearchToken",
    "Source",
    "SourceRecord",
    "StreamState",
    "Suppression",
    "SyncRun",
]
