"""Masking in the console: an agent sees masked values, reveals them with a reason, and the
audit trail lists the reveal."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from playwright.sync_api import expect

from tests.web.conftest import ANA_EMAIL, Console

OpenAs = Callable[..., Any]


def test_an_agent_sees_masked_values_and_reveals_them_with_a_reason(
    signed_in: OpenAs, console: Console
) -> None:
    page = signed_in("agent", f"/?q={ANA_EMAIL}")
    page.get_by_role("link", name="Ana Duarte").click()
    expect(page).to_have_url(re.compile(r"/console/customers/cus_\w+$"))
    ana = page.url.rsplit("/", 1)[1]
    golden = page.locator("table.golden")
    expect(golden).to_contain_text("a•••@example.com")
    expect(golden).to_contain_text("••••-02-14")  # her birth date, year hidden
    expect(golden).not_to_contain_text(ANA_EMAIL)
    expect(page.locator("table.side-by-side")).not_to_contain_text("600 111 222")

    page.get_by_role("button", name="Reveal").click()  # no reason yet: the form holds it back
    expect(golden).not_to_contain_text(ANA_EMAIL)
    page.get_by_label("Reason for revealing").fill("ticket 1234: parcel address check")
    page.get_by_role("button", name="Reveal").click()
    expect(page.get_by_role("status")).to_contain_text("Values revealed")
    golden = page.locator("table.golden")
    expect(golden).to_contain_text(ANA_EMAIL)
    expect(golden).to_contain_text("1988-02-14")
    expect(page.get_by_role("button", name="Reveal")).to_have_count(0)

    admin = {"Authorization": f"Bearer {console.admin_token}"}
    client: FlaskClient = console.app.test_client()
    reads = client.get("/api/v1/audit?kind=read&action=reveal", headers=admin).get_json()
    latest = reads["data"][0]
    assert (latest["actor"], latest["reason"], latest["identities"]) == (
        "console agent",
        "ticket 1234: parcel address check",
        [ana],
    )
    # ... and her masked profile, read before, is in the read audit too.
    earlier = client.get("/api/v1/audit?kind=read&action=read", headers=admin).get_json()["data"]
    assert any(r["actor"] == "console agent" and r["identities"] == [ana] for r in earlier)


def test_an_admin_sees_every_value_and_no_reveal_form(signed_in: OpenAs) -> None:
    page = signed_in("admin", f"/?q={ANA_EMAIL}")
    page.get_by_role("link", name="Ana Duarte").click()
    expect(page.locator("table.golden")).to_contain_text(ANA_EMAIL)
    expect(page.get_by_role("button", name="Reveal")).to_have_count(0)


def test_the_customer_page_shows_who_holds_what(signed_in: OpenAs) -> None:
    page = signed_in("agent", f"/?q={ANA_EMAIL}")
    page.get_by_role("link", name="Ana Duarte").click()
    page.get_by_text("Who holds what").click()
    held = page.locator("table.footprint-table")
    expect(held.get_by_role("columnheader", name="sales crm-1")).to_be_visible()
    expect(held.get_by_role("columnheader", name="support sup-9")).to_be_visible()
    expect(held.get_by_role("row", name=re.compile("^Phone"))).to_contain_text("since")
    expect(held.get_by_role("row", name=re.compile("^Consents"))).to_contain_text(
        "Profiling: granted"
    )
