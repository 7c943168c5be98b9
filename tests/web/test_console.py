"""The console in a real browser: sign in, find Ana, read every department's data and her
timeline, see why her records belong together, and (admins) sync a department."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Route, expect

from tests.web.conftest import ANA_EMAIL, Console

OpenAs = Callable[..., Any]


def test_an_agent_signs_in_with_the_form_and_out_again(page: Any, console: Console) -> None:
    page.goto("/")
    page.get_by_label("API token").fill("hu_not_a_real_token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("the API token is unknown or revoked")

    page.get_by_label("API token").fill(console.connector_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Not a console token")

    page.get_by_label("API token").fill(console.agent_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find a customer")).to_be_visible()
    expect(page.get_by_text("console agent (agent)")).to_be_visible()
    expect(page.get_by_role("link", name="Review")).to_be_hidden()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_agent_finds_ana_by_name_and_reads_both_departments(signed_in: OpenAs) -> None:
    page = signed_in("agent")
    page.get_by_label(re.compile("E-mail, phone")).fill("ana duarte")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=ana\+duarte"))
    page.get_by_role("link", name="Ana Duarte").click()

    expect(page.get_by_role("heading", name="Ana Duarte", level=1)).to_be_visible()
    records = page.locator("table.side-by-side")
    expect(records.get_by_role("columnheader", name="sales")).to_be_visible()
    expect(records.get_by_role("columnheader", name="support")).to_be_visible()
    expect(records.get_by_role("columnheader", name="crm-1")).to_be_visible()
    expect(records.get_by_role("columnheader", name="sup-9")).to_be_visible()
    expect(records).to_contain_text("Madrid")
    expect(page.get_by_role("link", name="History, merge and split")).to_have_count(0)
    expect(page.locator(".affinities")).to_contain_text(re.compile(r"running gear\s*\d+%"))

    events = page.locator(".events > li")
    expect(events).to_have_count(25)
    expect(events.first).to_contain_text("Page view")
    page.get_by_role("button", name="Load more events").click()
    expect(events).to_have_count(32)
    expect(events.nth(28)).to_contain_text("Parcel never arrived")  # after February's views
    expect(events.last).to_contain_text("Page view")
    expect(page.get_by_role("button", name="Load more events")).to_have_count(0)

    page.get_by_role("checkbox", name=re.compile("^Ticket")).check()
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text("Parcel never arrived")


def test_the_search_box_understands_identifiers(signed_in: OpenAs) -> None:
    page = signed_in("agent")
    box = page.get_by_label(re.compile("E-mail, phone"))
    for typed, understood in [
        (ANA_EMAIL, "Looking up by e-mail"),
        ("+34 600 111 222", "Looking up by phone"),
        ("support:sup-9", "Looking up by support id"),
    ]:
        box.fill(typed)
        expect(page.locator("#understood")).to_contain_text(understood)
        page.keyboard.press("Enter")
        expect(page.locator(".hits > li")).to_have_count(1)
        expect(page.locator(".hits")).to_contain_text("Ana Duarte")
        box = page.get_by_label(re.compile("E-mail, phone"))

    box.fill("nobody@example.com")
    page.keyboard.press("Enter")
    # the count, not the screen reader's copy of it (#announce, filled 50 ms later)
    expect(page.locator("p.count")).to_have_text("No customer found.")

    box.fill("nowhere:42")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Invalid input")
    expect(alert).to_contain_text("no source named 'nowhere'")


def test_the_profile_draws_before_the_timeline_answers(signed_in: OpenAs, page: Any) -> None:
    held: list[Route] = []

    def hold(route: Route) -> None:  # Playwright wants a function it can tag, not a bound method
        held.append(route)

    page.route(re.compile(r"/timeline"), hold)
    api_calls: list[str] = []
    page.on(
        "request", lambda request: api_calls.append(request.url) if "/api/" in request.url else None
    )
    signed_in("agent", f"/?q={ANA_EMAIL}")
    page.get_by_role("link", name="Ana Duarte").click()

    expect(page.get_by_role("heading", name="Ana Duarte", level=1)).to_be_visible()
    expect(page.locator("table.golden")).to_contain_text("a•••@example.com")  # masked for agents
    profile_calls = [url for url in api_calls if "/customers/cus_" in url]
    assert len(profile_calls) == 2, profile_calls  # the profile, then the held timeline
    assert "/timeline" in profile_calls[1]
    expect(page.locator(".events")).to_have_count(0)
    held[0].continue_()
    expect(page.locator(".events > li").first).to_be_visible()


def test_provenance_and_the_evidence(signed_in: OpenAs) -> None:
    page = signed_in("agent", f"/?q={ANA_EMAIL}")
    page.get_by_role("link", name="Ana Duarte").click()
    golden = page.locator("table.golden")
    expect(golden.get_by_role("columnheader", name="Rule")).to_be_hidden()
    page.get_by_role("button", name="Show provenance").click()
    expect(golden.get_by_role("columnheader", name="Rule")).to_be_visible()
    address = golden.get_by_role("row", name=re.compile("^Addresses"))
    expect(address).to_contain_text("Madrid")
    expect(address).to_contain_text("sales crm-1")

    page.get_by_role("link", name="Why these records belong together").click()
    expect(page.get_by_role("heading", name="Why these records belong together")).to_be_visible()
    edge = page.locator(".edge").first
    expect(edge).to_contain_text("sales:crm-1")
    expect(edge).to_contain_text("support:sup-9")
    # levels read as words, the matcher's names for them only on hover
    expect(edge.locator("tr", has_text="Birth date")).to_contain_text("the same")


def test_an_expired_token_sends_the_agent_back_to_sign_in(page: Any) -> None:
    page.add_init_script(
        "sessionStorage.setItem('huella.session', JSON.stringify("
        "{token: 'hu_revoked', name: 'gone', role: 'agent'}))"
    )
    page.goto("/console/sources")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "Please sign in again: the API token is unknown or revoked"
    )


def test_agents_see_sources_but_no_sync(signed_in: OpenAs) -> None:
    page = signed_in("agent", "/console/sources")
    expect(page.get_by_role("rowheader", name="sales")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Sync"))).to_have_count(0)
    page.goto("/console/review")
    expect(page.get_by_role("heading", name="Admins only")).to_be_visible()


def test_the_sources_page_follows_the_list_page_after_page(
    signed_in: OpenAs, console: Console
) -> None:
    largest = console.app.config["PAGE_SIZE_MAX"]
    console.app.config["PAGE_SIZE_MAX"] = 1  # one source a page: two pages, one cursor
    try:
        page = signed_in("agent", "/console/sources")
        expect(page.get_by_role("rowheader", name="sales")).to_be_visible()
        expect(page.get_by_role("rowheader", name="support")).to_be_visible()
    finally:
        console.app.config["PAGE_SIZE_MAX"] = largest


def test_an_admin_syncs_a_department(signed_in: OpenAs, console: Console) -> None:
    page = signed_in("admin", "/console/sources")
    row = page.get_by_role("row", name=re.compile("^sales"))
    expect(row).to_contain_text("succeeded")
    console.add_crm_row(
        id="crm-3",
        first_name="Chloe",
        last_name="Martin",
        email="chloe.martin@example.com",
        phone="+33 6 12 34 56 78",
        birth_date="1992-07-01",
        city="Lyon",
    )
    page.get_by_role("button", name="Sync sales").click()
    expect(row.locator(".status-line")).to_contain_text(
        re.compile(r"succeeded.*1 new"), timeout=15_000
    )
    page.get_by_text("Recent syncs").first.click()
    expect(page.locator("section", has_text="History and rejects")).to_contain_text("#2")


def test_an_admin_merges_a_possible_match_and_undoes_it(signed_in: OpenAs) -> None:
    page = signed_in("admin", "/console/review")
    row = page.get_by_role("row", name=re.compile("sales:crm-4"))
    expect(row).to_contain_text("support:sup-20")
    row.get_by_role("link", name=re.compile("Possible match")).click()

    expect(page.get_by_role("heading", name=re.compile(r"Possible match #\d+"))).to_be_visible()
    compared = page.locator(
        "section", has=page.get_by_role("heading", name="How the pair compares")
    )
    expect(compared.get_by_role("row", name=re.compile("^Last name"))).to_contain_text("the same")
    preview = page.locator("section", has=page.get_by_role("heading", name="If merged (dry run)"))
    expect(preview).to_contain_text("holding 2 records")
    expect(preview.get_by_role("row", name=re.compile("^First name"))).to_contain_text("Marta")

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("Claimed by console admin until")).to_be_visible()
    item_url = page.url
    page.get_by_label("Note (kept in the audit trail)").fill("Same Marta: she confirmed by phone")
    page.get_by_role("button", name="Merge", exact=True).click()
    # the next item opens (or the queue, when none is left), saying what was decided
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Item #\d+: Merge"))
    page.goto(item_url)
    expect(
        page.get_by_role("heading", name=re.compile("Both records, one customer"))
    ).to_be_visible()
    expect(page.locator(".change")).to_contain_text("Same Marta: she confirmed by phone")

    page.get_by_role("heading", name=re.compile("Both records")).get_by_role("link").click()
    departments = page.locator("table.side-by-side")
    expect(departments.get_by_role("columnheader", name="crm-4")).to_be_visible()
    expect(departments.get_by_role("columnheader", name="sup-20")).to_be_visible()

    page.get_by_role("link", name="History, merge and split").click()
    page.get_by_role("combobox", name="Part of support:sup-20").select_option(label="Part 2")
    page.get_by_role("button", name="Preview").last.click()
    expect(page.get_by_text("a new customer: support:sup-20")).to_be_visible()

    page.get_by_role("button", name="Undo…").first.click()
    page.get_by_label(re.compile("Why undo change")).fill("Two Martas after all")
    page.get_by_role("button", name=re.compile(r"Undo change #\d+")).click()
    expect(page.get_by_text(re.compile("^Undone"))).to_be_visible()
    page.get_by_role("link", name="Back to the profile").click()
    expect(departments.get_by_role("columnheader", name="crm-4")).to_be_visible()
    expect(departments.get_by_role("columnheader", name="sup-20")).to_have_count(0)
