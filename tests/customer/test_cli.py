"""huella customers refresh: golden records follow a change of source priorities."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from app.customer.models import GoldenRecord
from app.db import get_db
from app.source import service as sources
from app.source.models import Source
from tests.helpers import push, record


def test_refresh_applies_new_priorities(
    app: Flask, client: FlaskClient, cli: FlaskCliRunner, make_token: Callable[..., dict[str, str]]
) -> None:
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(session=session, name="crm", kind="push", priority=10)
        sources.create(session=session, name="shop", kind="push", priority=50)
    admin = make_token("admin")
    push(client, admin, "crm", record("c-1", last_name="Ruiz", email="a@example.com"))
    push(client, admin, "shop", record("s-1", last_name="Diaz", email="a@example.com"))
    push(client, admin, "crm", record("c-2", last_name="Solo", email="b@example.com"))

    def last_names() -> list[str]:
        with app.app_context(), get_db(app).unit_of_work() as session:
            rows = session.scalars(select(GoldenRecord.summary).order_by(GoldenRecord.identity_id))
            return [summary["golden"]["last_name"] for summary in rows]

    assert last_names() == ["Ruiz", "Solo"]
    with app.app_context(), get_db(app).unit_of_work() as session:
        session.scalars(select(Source).where(Source.name == "crm")).one().priority = 90
    result = cli.invoke(args=["customers", "refresh", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "refreshed 2 customers" in result.output
    assert last_names() == ["Diaz", "Solo"]
