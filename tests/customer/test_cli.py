"""huella customers refresh: golden records follow a change of source priorities."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from app.customer.models import GoldenRecord
from app.db import get_db
from app.source.models import Source
from tests.helpers import add_source, push, record

ANA = {"first_name": "Ana", "last_name": "Ruiz", "birth_date": "1990-04-12"}


def test_refresh_applies_new_priorities(
    app: Flask, client: FlaskClient, cli: FlaskCliRunner, make_token: Callable[..., dict[str, str]]
) -> None:
    for name, priority in (("crm", 10), ("shop", 50)):
        add_source(app, name, priority=priority, tier="text")
    admin = make_token("admin")
    push(client, admin, "crm", record("c-1", **ANA, tier="silver", email="a@example.com"))
    push(client, admin, "shop", record("s-1", **ANA, tier="gold", email="a@example.com"))
    push(client, admin, "crm", record("c-2", full_name="Bo Ek", tier="bronze", email="b@x.org"))

    def tiers() -> list[str]:
        with app.app_context(), get_db(app).unit_of_work() as session:
            rows = session.scalars(select(GoldenRecord.summary).order_by(GoldenRecord.identity_id))
            return [summary["golden"]["tier"] for summary in rows]

    assert tiers() == ["silver", "bronze"]
    with app.app_context(), get_db(app).unit_of_work() as session:
        session.scalars(select(Source).where(Source.name == "crm")).one().priority = 90
    result = cli.invoke(args=["customers", "refresh", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "refreshed 2 customers" in result.output
    assert tiers() == ["gold", "bronze"]
