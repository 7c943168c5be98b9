"""A record the department deletes ends as a tombstone and leaves its identity."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.source.models import Source, SourceRecord
from connectors.sandbox import Sandboxes, connector_settings
from tests.helpers import add_source

TOKEN_ENV = "HUELLA_SECRET_DELETION_TEST"


@pytest.fixture
def sandboxes(department_sandboxes: Callable[..., Sandboxes]) -> Sandboxes:
    return department_sandboxes(TOKEN_ENV, 120, seed=4)


def connect(app: Flask, sandboxes: Sandboxes) -> None:
    servers = {"sales": sandboxes.hubspot, "support": sandboxes.zendesk}
    kinds = {"sales": "hubspot", "support": "zendesk"}
    for name, server in servers.items():
        add_source(
            app, name, kinds[name], settings=connector_settings(server, TOKEN_ENV, rate_limit=0)
        )


def test_a_deleted_record_becomes_a_tombstone_and_leaves_its_identity(
    app: Flask, cli: FlaskCliRunner, session: Session, sandboxes: Sandboxes
) -> None:
    connect(app, sandboxes)
    assert cli.invoke(args=["sync", "--all"]).exit_code == 0
    # A customer both departments hold: one identity with a sales and a support record.
    rows = session.execute(
        select(SourceRecord.identity_id, Source.name, SourceRecord.external_id)
        .join(Source)
        .where(SourceRecord.identity_id.is_not(None))
    ).all()
    holders: dict[int, dict[str, str]] = {}
    for identity_id, source, external_id in rows:
        holders.setdefault(identity_id, {})[source] = external_id
    identity_id, shared = next((i, h) for i, h in sorted(holders.items()) if len(h) == 2)

    sandboxes.hubspot.mutate(deletions=[shared["sales"]])
    result = cli.invoke(args=["sync", "sales"])
    assert "1 deleted" in result.output, result.output

    session.expire_all()
    deleted = session.scalars(
        select(SourceRecord)
        .join(Source)
        .where(Source.name == "sales", SourceRecord.external_id == shared["sales"])
    ).one()
    assert deleted.deleted_at is not None and deleted.identity_id is None
    kept = session.scalars(
        select(SourceRecord)
        .join(Source)
        .where(Source.name == "support", SourceRecord.external_id == shared["support"])
    ).one()
    assert kept.identity_id == identity_id
