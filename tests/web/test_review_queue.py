"""The review queue in a real browser, as a team works it: who is on each side, several items
decided at once, the next item after a decision, and keys for the common moves."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.helpers import push, record
from tests.web.conftest import Console

OpenAs = Callable[..., Any]


def namesakes(console: Console, first: str, last: str, *ids: str, **extra: str) -> None:
    """Push people of one name and city to support: the matcher cannot tell them apart."""
    client = console.app.test_client()
    headers = {"Authorization": f"Bearer {console.admin_token}"}
    people = [record(i, first_name=first, last_name=last, city="Bergen", **extra) for i in ids]
    push(client, headers, "support", *people)


def test_an_admin_keeps_several_items_apart_at_once(signed_in: OpenAs, console: Console) -> None:
    namesakes(console, "Jonas", "Berglund", "jb-1", "jb-2", "jb-3", email="")
    page = signed_in("admin", "/console/review")
    rows = page.get_by_role("row", name=re.compile("Jonas Berglund"))
    expect(rows).to_have_count(3)  # three customers, three pairs of them
    expect(rows.first).to_contain_text("support")  # the department of each side
    expect(rows.first).to_contain_text("support:jb-")
    for index in range(3):
        rows.nth(index).get_by_role("checkbox").check()
    expect(page.get_by_text("3 items selected.")).to_be_visible()
    page.get_by_label("One note for every selected item").fill("three brothers, says the branch")
    page.get_by_role("button", name="Keep apart", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Keep apart: 3 items decided.")
    expect(page.get_by_role("row", name=re.compile("Jonas Berglund"))).to_have_count(0)
    page.get_by_role("combobox", name="Status").select_option("decided")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row", name=re.compile("Jonas Berglund"))).to_have_count(3)


def drawn(page: Any, url: str) -> None:
    """Wait until the item at ``url`` is on screen (its keys listen from then on)."""
    number = url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name=re.compile(rf"#{number}$"), level=1)).to_be_visible()


def test_keys_move_through_the_queue_and_decide(signed_in: OpenAs, console: Console) -> None:
    namesakes(console, "Karin", "Holm", "kh-1", "kh-2", "kh-3")
    page = signed_in("admin", "/console/review")
    row = page.get_by_role("row", name=re.compile("Karin Holm")).first
    row.get_by_role("link", name=re.compile("Possible match")).click()
    expect(page.get_by_text("Keys: j next")).to_be_visible()
    first = page.url
    expect(page.locator("table.contributions").first).to_contain_text("the same")  # in words

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("Claimed by console admin until")).to_be_visible()
    page.keyboard.press("j")
    expect(page).not_to_have_url(first)
    second = page.url
    drawn(page, second)
    page.keyboard.press("k")
    expect(page).to_have_url(first)
    drawn(page, first)
    page.get_by_role("link", name="Back to the queue").click()
    claimed = page.get_by_role("row", name=re.compile(first.rsplit("/", 1)[1] + r"\b"))
    expect(claimed.first).to_contain_text("console admin")  # who holds the claim

    page.goto(second)
    drawn(page, second)
    page.get_by_label("Note (kept in the audit trail)").fill("typing j here moves nothing")
    expect(page).to_have_url(second)
    page.locator("body").click()
    page.keyboard.press("a")  # keep apart: decided, and the next item opens
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Item #\d+: Keep apart"))
    expect(page).not_to_have_url(second)
    # leave the queue as it was: the rest of Karin's items kept apart
    page.goto("/console/review")
    rows = page.get_by_role("row", name=re.compile("Karin Holm"))
    expect(rows.first).to_be_visible()
    for index in range(rows.count()):
        rows.nth(index).get_by_role("checkbox").check()
    page.get_by_role("button", name="Keep apart", exact=True).click()
    expect(page.get_by_role("row", name=re.compile("Karin Holm"))).to_have_count(0)
