"""The demo of ``make run``: three sandbox department systems, connected and synced for real.

The sandboxes imitate a HubSpot CRM (sales), a Zendesk help desk (support) and a Mailchimp
list (marketing) on 127.0.0.1, serving the same generated people spelled three ways; Huella
pulls them through its real connectors over HTTP.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service as tokens
from app.auth.service import TokenRefused
from app.customer.survivorship import display_name
from app.errors import NotFound
from app.identity.models import RecordIdentifier
from app.settings import EXTENSION, get_settings
from app.settings.sources import SourcePolicy
from app.source import service as sources
from app.source.models import SourceRecord
from connectors.sandbox import SANDBOX_TOKEN, Sandboxes, connector_settings, start_sandboxes

DEMO_PEOPLE = 400
DEMO_SEED = 7
KINDS = {"sales": "hubspot", "support": "zendesk", "marketing": "mailchimp"}


def token_env(policy: SourcePolicy) -> str:
    """The environment variable holding the sandboxes' secret, as sources may name one."""
    return f"{policy.secret_prefix}DEMO_SANDBOX"


def start(app: Flask) -> Sandboxes:
    """Start the three sandbox systems; their secret goes where the connectors look for it,
    and sources may reach them (only them, besides the configured hosts)."""
    sandboxes = start_sandboxes(DEMO_PEOPLE, DEMO_SEED)
    settings = get_settings(app)
    policy = settings.sources.allowing(*(sandbox.url for sandbox in sandboxes))
    app.extensions[EXTENSION] = replace(settings, sources=policy)
    os.environ[token_env(policy)] = SANDBOX_TOKEN
    return sandboxes


def connect(
    *, session: Session, sandboxes: Sandboxes, policy: SourcePolicy
) -> dict[str, dict[str, Any] | None]:
    """Create the three sources, or point them at this run's sandboxes; returns their names,
    each with the settings it had before (None: created now), for ``restore``."""
    before: dict[str, dict[str, Any] | None] = {}
    servers = {
        "sales": sandboxes.hubspot,
        "support": sandboxes.zendesk,
        "marketing": sandboxes.mailchimp,
    }
    for name, server in servers.items():
        # The sandboxes are local: no need for the vendors' own rate limits.
        settings = connector_settings(server, token_env(policy), rate_limit=0)
        try:
            source = sources.get_by_name(session=session, name=name)
        except NotFound:
            before[name] = None
            sources.create(
                session=session, name=name, kind=KINDS[name], policy=policy, settings=settings
            )
        else:
            before[name] = dict(source.settings)
            policy.check(source.kind, settings)
            source.settings = settings
    return before


def restore(*, session: Session, before: dict[str, dict[str, Any] | None]) -> None:
    """Point the sources that existed before this run back where they pointed (another
    `make run` may be serving them), once this run's sandboxes are about to exit."""
    for name, settings in before.items():
        if settings is not None:
            sources.get_by_name(session=session, name=name).settings = settings


def tour_values(*, session: Session) -> dict[str, str]:
    """What the README's tour looks up, from one customer whom two departments or more hold:
    their e-mail, a phone as a department wrote it, a support record, their id and name.
    Empty when the store holds no such customer."""
    spread = (
        select(SourceRecord.identity_id)
        .join(RecordIdentifier, RecordIdentifier.record_id == SourceRecord.id)
        .where(SourceRecord.deleted_at.is_(None), SourceRecord.identity_id.is_not(None))
        .group_by(SourceRecord.identity_id)
        .having(
            func.count(func.distinct(SourceRecord.source_id)) >= 3,
            func.count(func.distinct(RecordIdentifier.kind)) >= 2,  # an e-mail and a phone
        )
        .order_by(SourceRecord.identity_id)
        .limit(1)
        .scalar_subquery()
    )
    records = session.scalars(
        select(SourceRecord)
        .where(SourceRecord.identity_id == spread, SourceRecord.deleted_at.is_(None))
        .order_by(SourceRecord.id)
    ).all()
    if not records:
        return {}
    identity = records[0].identity
    values: dict[str, str] = {"CUSTOMER": identity.public_id if identity else ""}
    for record in records:
        attributes = record.attributes
        values.setdefault("NAME", display_name(attributes) or "")
        for name in ("phone", "email"):
            if attributes.get(name):
                values.setdefault(name.upper(), attributes[name])
        if record.source.name in ("support", "sales"):
            key = "RECORD" if record.source.name == "support" else "SALES"
            values.setdefault(key, f"{record.source.name}:{record.external_id}")
    return {name: value for name, value in values.items() if value}


def sample_email(*, session: Session) -> str | None:
    """An e-mail of a customer whom at least two departments hold, for the tour."""
    spread = (
        select(SourceRecord.identity_id)
        .where(SourceRecord.deleted_at.is_(None), SourceRecord.identity_id.is_not(None))
        .group_by(SourceRecord.identity_id)
        .having(func.count(func.distinct(SourceRecord.source_id)) >= 2)
        .order_by(SourceRecord.identity_id)
        .limit(1)
        .scalar_subquery()
    )
    return session.scalar(
        select(RecordIdentifier.value)
        .join(SourceRecord, SourceRecord.id == RecordIdentifier.record_id)
        .where(RecordIdentifier.kind == "email", SourceRecord.identity_id == spread)
        .limit(1)
    )


# Where `make run` keeps its admin token's secret between runs (var/ is never committed).
TOKEN_FILE = Path("var") / "demo-admin-token"


def admin_token(*, session: Session, path: Path = TOKEN_FILE) -> tuple[str, bool]:
    """The demo's admin token: the one an earlier run kept, while it still works, else a new
    one (kept for the next run, readable by its owner only). Returns the secret and whether it
    is new, so every `make run` does not add a token."""
    if secret := _kept(path):
        try:
            tokens.authenticate(session=session, secret=secret)
        except TokenRefused:
            pass  # another store, or revoked: make a new one
        else:
            return secret, False
    _, secret = tokens.create(session=session, name="demo admin", role="admin")
    _keep(path, secret)
    return secret, True


def _kept(path: Path) -> str:
    """The secret an earlier run kept in ``path`` ("" when none)."""
    return path.read_text().strip() if path.is_file() else ""


def _keep(path: Path, secret: str) -> None:
    """Keep a secret for the next run, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")


# Where `make run` keeps the suppression key it made when the environment sets none.
KEY_FILE = Path("var") / "demo-suppression-key"


def suppression_key(app: Flask, *, path: Path = KEY_FILE) -> tuple[str, str] | None:
    """The demo's suppression key, when the environment sets none: the one an earlier run kept,
    else a new one (kept, readable by its owner only). It goes where every Huella process looks
    for it, so that the demo's server can erase and a second terminal's commands share its key;
    returns (variable, key) for the export line, or None when the environment sets a key."""
    settings = get_settings(app)
    if settings.privacy.suppression_key is not None:
        return None
    secret = _kept(path)
    if not secret:
        secret = secrets.token_hex(32)
        _keep(path, secret)
    privacy = replace(settings.privacy, suppression_key=secret.encode())
    app.extensions[EXTENSION] = replace(settings, privacy=privacy)
    os.environ[privacy.key_env] = secret
    return privacy.key_env, secret
