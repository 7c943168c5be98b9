"""The golden record in a real browser, as an agent reads it: the name in reading order, a
switchboard marked shared and listed last, no city beside a full address in it, one date
format."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.helpers import push, record
from tests.web.conftest import Console

OpenAs = Callable[..., Any]
OFFICE = "+1 202 555 0100"


def test_an_agent_reads_a_golden_record_they_can_trust(signed_in: OpenAs, console: Console) -> None:
    client = console.app.test_client()
    admin = {"Authorization": f"Bearer {console.admin_token}"}
    colleagues = [
        record(f"gr-{n}", full_name=name, phone=OFFICE, email=f"gr{n}@office.example")
        for n, name in enumerate(["Tanaka, Aiko", "Haddad, Omar"])
    ]
    renate = [
        record(
            "gr-renate",
            full_name="Mueller, Renate",
            email="renate.mueller@example.org",
            phone=OFFICE,
            birth_date="02/14/1961",
            city="Zurich",
        ),
        record(
            "gr-renate-2",
            full_name="Renate Mueller",
            email="renate.mueller@example.org",
            phone="+1 202 555 0142",
            birth_date="1961-02-14",
            address_line1="Bahnhofstrasse 3",
            city="Zurich",
            postcode="8001",
        ),
    ]
    push(client, admin, "support", *colleagues, *renate)
    page = signed_in("admin", "/?q=renate.mueller@example.org")  # agents see phones masked
    page.get_by_role("link", name="Renate Mueller").click()
    expect(page.get_by_role("heading", name="Renate Mueller", level=1)).to_be_visible()
    golden = page.locator("table.golden")
    phones = golden.get_by_role("row", name=re.compile("^Phones"))
    expect(phones.locator("li").first).to_contain_text("+1 202 555 0142")
    expect(phones.locator("li", has_text=OFFICE)).to_contain_text("shared")
    addresses = golden.get_by_role("row", name=re.compile("^Addresses"))
    expect(addresses.locator("td").first.locator("li")).to_have_count(1)
    expect(addresses).to_contain_text("Bahnhofstrasse 3")
    birth = golden.get_by_role("row", name=re.compile("^Birth date"))
    expect(birth.locator("td").first).to_have_text("1961-02-14")  # "02/14/1961" in one record
