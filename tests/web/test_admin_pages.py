"""Admins' pages in a real browser: tokens created (the secret shown once) and revoked, and
sources paused, edited and removed; a push source has no Sync button."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.helpers import add_source
from tests.web.conftest import Console

OpenAs = Callable[..., Any]


def test_an_admin_creates_and_revokes_a_token(signed_in: OpenAs) -> None:
    page = signed_in("admin", "/console/tokens")
    expect(page.get_by_role("heading", name="Tokens", level=1)).to_be_visible()
    page.get_by_label("Name", exact=True).fill("night shift agent")
    page.get_by_label("Role", exact=True).select_option("agent")
    page.get_by_label(re.compile("^Expires in")).fill("12h")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("status")).to_contain_text("Copy its secret now")
    secret = page.locator("code.secret").inner_text()
    assert secret.startswith("hu_")
    row = page.get_by_role("row", name=re.compile("night shift agent"))
    expect(row).to_contain_text("active")
    page.get_by_role("button", name="Revoke night shift agent").click()
    expect(page.get_by_role("row", name=re.compile("night shift agent"))).to_contain_text("revoked")
    refused = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status == 401


def test_an_admin_pauses_edits_and_removes_a_source(signed_in: OpenAs, console: Console) -> None:
    legacy = {"base_url": "http://127.0.0.1:9", "token_env": "HUELLA_SECRET_LEGACY"}
    add_source(console.app, "legacy", "hubspot", settings=legacy)
    page = signed_in("admin", "/console/sources")
    support = page.locator("tr[data-source=support]")
    expect(support.get_by_role("button", name="Pause support")).to_be_visible()
    expect(support.get_by_role("button", name=re.compile("Sync"))).to_have_count(0)  # push
    legacy = page.locator("tr[data-source=legacy]")
    expect(legacy.get_by_role("button", name="Sync legacy")).to_be_visible()

    legacy.get_by_role("button", name="Pause legacy").click()
    legacy = page.locator("tr[data-source=legacy]")
    expect(legacy).to_contain_text("paused")
    expect(legacy.get_by_role("button", name="Sync legacy")).to_have_count(0)
    legacy.get_by_role("button", name="Resume legacy").click()
    expect(
        page.locator("tr[data-source=legacy]").get_by_role("button", name="Sync legacy")
    ).to_be_visible()

    legacy = page.locator("tr[data-source=legacy]")
    legacy.get_by_role("button", name="Settings…").click()
    box = legacy.get_by_label("Settings of legacy")
    box.fill(
        '{"base_url": "http://127.0.0.1:9", "token_env": "HUELLA_SECRET_LEGACY", "page_size": 7}'
    )
    legacy.get_by_role("button", name="Save legacy").click()
    expect(page.locator("tr[data-source=legacy]").get_by_label("Settings of legacy")).to_have_value(
        re.compile('"page_size": 7')
    )
    legacy = page.locator("tr[data-source=legacy]")
    legacy.get_by_role("button", name="Remove…").click()
    legacy.get_by_role("button", name="Remove legacy and its records").click()
    expect(page.locator("tr[data-source=legacy]")).to_have_count(0)


def test_profiles_search_results_and_the_audit_download(signed_in: OpenAs, tmp_path: Any) -> None:
    page = signed_in("admin", "/?q=ana%20duarte")
    with page.expect_download() as results:
        page.get_by_role("button", name="Download results (CSV)").click()
    saved = tmp_path / "customers.csv"
    results.value.save_as(saved)
    assert saved.read_text().splitlines()[0].startswith("id,name,emails")
    assert "Ana Duarte" in saved.read_text()

    page.get_by_role("link", name="Ana Duarte").click()
    with page.expect_download() as profile:
        page.get_by_role("button", name="Download profile (JSON)").click()
    document = json.loads(Path(profile.value.path()).read_text())
    assert document["id"].startswith("cus_") and "sales" in document["records"]

    page.goto("/console/review")
    with page.expect_download() as audit:
        page.get_by_role("button", name="Download the audit (CSV)").click()
    assert Path(audit.value.path()).read_text().startswith("id,at,actor,action")
