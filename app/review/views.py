"""The review queue and the decisions admins make: merges, keep-aparts, splits and undos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint

from app.audit.models import AuditEntry
from app.audit.schemas import AuditEntrySchema
from app.auth.guard import current_token, roles
from app.db import get_session
from app.ingest import decisions
from app.ingest import undo as undoing
from app.pagination import decode_typed, key_page, page_limit, row_id, score
from app.resolution import explain
from app.resolution.runtime import current_matcher
from app.review import service
from app.review.schemas import (
    BulkDecisionResultSchema,
    BulkDecisionSchema,
    ComparisonSchema,
    DecisionResultSchema,
    DecisionSchema,
    ItemQuerySchema,
    MergePreviewSchema,
    MergeSchema,
    NextItemSchema,
    NextQuerySchema,
    ReviewItemListSchema,
    ReviewItemSchema,
    SplitPreviewSchema,
    SplitSchema,
    UndoSchema,
)
from app.settings import get_settings

Decided = TypeVar("Decided")

blp = Blueprint("review", __name__, url_prefix="/api/v1/review", description="Review")


def _claim_minutes() -> float:
    return get_settings().review_claim_minutes


def _decided(action: Callable[..., Decided], /, **arguments: Any) -> Decided:
    """Make a decision (decide, merge, split, undo) as the signed-in admin, with the app's
    settings and matcher, and commit it."""
    session = get_session()
    outcome = action(
        session=session,
        settings=get_settings(),
        matcher=current_matcher(session),
        actor=current_token().name,
        **arguments,
    )
    session.commit()
    return outcome


def _described(item: Any) -> dict[str, Any]:
    (described,) = service.describe_items(
        session=get_session(), items=[item], minutes=_claim_minutes()
    )
    return described


@blp.get("/items")
@blp.arguments(ItemQuerySchema(), location="query")
@blp.response(200, ReviewItemListSchema)
@roles("admin")
def list_items(args: dict[str, Any]) -> dict[str, Any]:
    """The queue: the items whose decision matters most first (closeness to the auto-match
    threshold, size of the identities involved); filter by kind, source and status."""
    session = get_session()
    limit = page_limit(args["limit"])
    after = decode_typed(args["cursor"], score, row_id)
    items = service.list_items(
        session=session,
        matcher=current_matcher(session),
        limit=limit + 1,
        kind=args["kind"],
        source=args["source"],
        status=args["status"],
        after=(after[0], after[1]) if after else None,
    )
    session.commit()  # keeps the priorities the listing computed
    described = service.describe_items(session=session, items=items, minutes=_claim_minutes())
    return key_page(described, limit, lambda item: [item["priority"], item["id"]])


@blp.get("/items/next")
@blp.arguments(NextQuerySchema(), location="query")
@blp.response(200, NextItemSchema)
@roles("admin")
def next_item(args: dict[str, Any]) -> dict[str, Any]:
    """The item to open next: the most important open one nobody else holds, or the one after
    (``backwards``: before) item ``after`` in the queue's order; ``item`` is null when none is
    left."""
    session = get_session()
    item = service.next_item(
        session=session,
        matcher=current_matcher(session),
        actor=current_token().name,
        minutes=_claim_minutes(),
        **args,
    )
    session.commit()  # keeps the items it closed and the priorities it computed
    return {"item": _described(item) if item is not None else None}


@blp.get("/items/<int:item_id>")
@blp.response(200, ComparisonSchema)
@roles("admin")
def show_item(item_id: int) -> dict[str, Any]:
    """An item side by side: both records and identities, each attribute's level and weight,
    the edges between them, and a dry run of the merge (identities, records, golden record)."""
    session = get_session()
    return explain.compare_item(
        session=session,
        settings=get_settings(),
        matcher=current_matcher(session),
        item_id=item_id,
        minutes=_claim_minutes(),
    )


def _held(action: Callable[..., Any], item_id: int) -> dict[str, Any]:
    """Claim or release an item as the signed-in admin, and commit it."""
    session = get_session()
    item = action(
        session=session, item_id=item_id, actor=current_token().name, minutes=_claim_minutes()
    )
    session.commit()
    return _described(item)


@blp.post("/items/<int:item_id>/claim")
@blp.response(200, ReviewItemSchema)
@roles("admin")
def claim_item(item_id: int) -> dict[str, Any]:
    """Claim an item for a while so other admins leave it alone; 409 if someone else holds it."""
    return _held(service.claim, item_id)


@blp.delete("/items/<int:item_id>/claim")
@blp.response(200, ReviewItemSchema)
@roles("admin")
def release_item(item_id: int) -> dict[str, Any]:
    """Give up one's claim on an item."""
    return _held(service.release, item_id)


@blp.post("/items/<int:item_id>/decision")
@blp.arguments(DecisionSchema())
@blp.response(201, DecisionResultSchema)
@roles("admin")
def decide(body: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Decide an item: merge (must-link), keep_apart (cannot-link) or dismiss, with a note.
    Every later resolution honours the decision; 409 when the item is decided or claimed."""
    item, change = _decided(
        decisions.decide,
        item_id=item_id,
        decision=body["decision"],
        note=body["note"],
        minutes=_claim_minutes(),
    )
    return {"item": _described(item), "change": change}


@blp.post("/decisions")
@blp.arguments(BulkDecisionSchema())
@blp.response(200, BulkDecisionResultSchema)
@roles("admin")
def decide_many(body: dict[str, Any]) -> dict[str, Any]:
    """Decide several items the same way (merge, keep_apart or dismiss) with one note. Items
    that cannot be decided are listed in ``refused`` with the reason; the others are decided."""
    decided, refused = _decided(
        decisions.decide_many,
        item_ids=body["items"],
        decision=body["decision"],
        note=body["note"],
        minutes=_claim_minutes(),
    )
    return {
        "decided": [{"item": _described(item), "change": change} for item, change in decided],
        "refused": refused,
    }


@blp.post("/merges")
@blp.arguments(MergeSchema())
@blp.response(201, AuditEntrySchema)
@roles("admin")
def merge(body: dict[str, Any]) -> AuditEntry:
    """Merge identities: the oldest id survives, the others redirect to it, and they stay one."""
    return _decided(decisions.merge, public_ids=body["identities"], note=body["note"])


@blp.post("/merges/preview")
@blp.arguments(MergeSchema())
@blp.response(200, MergePreviewSchema)
@roles("admin")
def preview_merge(body: dict[str, Any]) -> dict[str, Any]:
    """What a merge would give, without making it."""
    return service.preview_merge(
        session=get_session(), settings=get_settings(), public_ids=body["identities"]
    )


@blp.post("/splits")
@blp.arguments(SplitSchema())
@blp.response(201, AuditEntrySchema)
@roles("admin")
def split(body: dict[str, Any]) -> AuditEntry:
    """Split an identity by choosing which records go where (those left out form one more
    part); the largest part keeps the id, and the parts stay apart."""
    return _decided(
        decisions.split, public_id=body["identity"], parts=body["parts"], note=body["note"]
    )


@blp.post("/splits/preview")
@blp.arguments(SplitSchema())
@blp.response(200, SplitPreviewSchema)
@roles("admin")
def preview_split(body: dict[str, Any]) -> dict[str, Any]:
    """What a split would give, without making it."""
    return service.preview_split(
        session=get_session(), public_id=body["identity"], parts=body["parts"]
    )


@blp.post("/undos")
@blp.arguments(UndoSchema())
@blp.response(201, AuditEntrySchema)
@roles("admin")
def undo(body: dict[str, Any]) -> AuditEntry:
    """Undo a merge, split or decision (an audit entry): ids, members and redirects come back."""
    return _decided(undoing.undo_entry, entry_id=body["change"], note=body["note"])
