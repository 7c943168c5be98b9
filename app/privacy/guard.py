"""What every answer holding customers' data passes through after its view: masking, for the
roles that see masked values (agents, by default), and the read audit, for the roles whose reads
are recorded. Views declare that they answer with customers' data with ``@personal``; one place
then does both for every such route, so that no route can forget either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request

from app.audit import service as audit
from app.db import end_read_session, get_session
from app.privacy.masking import mask_document
from app.settings import get_settings

F = TypeVar("F", bound=Callable[..., Any])
_PERSONAL_ATTRIBUTE = "_huella_personal"


def personal(view: F) -> F:
    """Declare that a view answers with customers' data (masked and audited by role)."""
    setattr(view, _PERSONAL_ATTRIBUTE, True)
    return view


def _is_personal(view: Callable[..., Any]) -> bool:
    while not getattr(view, _PERSONAL_ATTRIBUTE, False):
        if not hasattr(view, "__wrapped__"):
            return False
        view = view.__wrapped__
    return True


def route() -> str:
    """The current request's route as the audit trail names it: its rule, never its values
    (a lookup's address may hold an e-mail)."""
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    return f"{request.method} {rule}"


def _shown(document: Any) -> list[str]:
    """The customers an answer shows: the one its address names, or each one of its page."""
    named = (request.view_args or {}).get("public_id")
    if named:
        return [str(named)]
    items: Iterable[Any] = document.get("data", []) if isinstance(document, dict) else []
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


def _after(response: Response) -> Response:
    if request.endpoint is None or response.status_code != 200 or "api_token" not in g:
        return response
    view = current_app.view_functions.get(request.endpoint)
    if view is None or not _is_personal(view):
        return response
    caller, privacy = g.api_token, get_settings().privacy
    document = response.get_json(silent=True)
    if caller.role in privacy.masked_roles and isinstance(document, dict):
        masked = mask_document(document, privacy.masks)
        masked["masked"] = True
        response.set_data(json.dumps(masked, ensure_ascii=False))
    if caller.role in privacy.audited_roles:
        # Written before the answer leaves: a read that cannot be recorded is not answered.
        # Through the request's own session (views of customers' data only read with it), in a
        # transaction of its own: on SQLite, a transaction that read and then writes fails at
        # once if another wrote meanwhile, while one that starts by writing waits its turn.
        end_read_session()
        session = get_session()
        session.rollback()
        audit.record_read(
            session=session, actor=caller.name, route=route(), identities=_shown(document)
        )
        session.commit()
    return response


def init_app(app: Flask) -> None:
    """Mask and audit every answer of a ``@personal`` view."""
    app.after_request(_after)
