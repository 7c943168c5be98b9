"""Deep links: each department's record opens in its own system when the source's settings
tell where that is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.db import get_db
from app.settings import get_settings
from app.source import service as sources
from connectors import RecordIn, connector_class


@pytest.mark.parametrize(
    ("kind", "settings", "external_id", "raw", "link"),
    [
        (
            "zendesk",
            {"base_url": "https://acme.zendesk.com"},
            "361",
            {},
            "https://acme.zendesk.com/agent/users/361",
        ),
        ("zendesk", {"base_url": "http://127.0.0.1:8080"}, "361", {}, None),  # a sandbox
        (
            "mailchimp",
            {"base_url": "https://us21.api.mailchimp.com/3.0"},
            "9f2c",
            {"web_id": 4417},
            "https://us21.admin.mailchimp.com/lists/members/view?id=4417",
        ),
        ("mailchimp", {"base_url": "https://us21.api.mailchimp.com"}, "9f2c", {}, None),
        (
            "hubspot",
            {"base_url": "https://api.hubapi.com", "portal_id": 62515},
            "1501",
            {},
            "https://app.hubspot.com/contacts/62515/record/0-1/1501",
        ),
        ("hubspot", {"base_url": "https://api.hubapi.com"}, "1501", {}, None),  # which account?
        ("file", {"path": "x.csv", "id_column": "id"}, "7", {}, None),
    ],
)
def test_a_record_links_to_its_own_system(
    kind: str, settings: dict[str, Any], external_id: str, raw: dict[str, Any], link: str | None
) -> None:
    assert connector_class(kind).record_link(settings, external_id, raw) == link


def test_the_profile_carries_each_records_link(
    app: Flask,
    client: FlaskClient,
    cli: FlaskCliRunner,
    make_token: Callable[..., dict[str, str]],
) -> None:
    with app.app_context(), get_db(app).unit_of_work() as session:
        desk = sources.create(
            session=session,
            name="support",
            kind="zendesk",
            policy=get_settings(app).sources,
            settings={"base_url": "https://acme.zendesk.com", "token_env": "HUELLA_SECRET_DESK"},
        )
        sources.upsert_records(
            session=session,
            source=desk,
            records=[RecordIn("361", {"email": "ana@example.org"}, {"id": 361})],
        )
    assert cli.invoke(args=["resolve"]).exit_code == 0
    admin = make_token("admin")
    found = client.get("/api/v1/customers/lookup/support:361", headers=admin).get_json()
    customer = found["data"][0]["id"]
    verbose = client.get(f"/api/v1/customers/{customer}?verbose=true", headers=admin).get_json()
    (record,) = verbose["records"]["support"]
    assert record["link"] == "https://acme.zendesk.com/agent/users/361"
