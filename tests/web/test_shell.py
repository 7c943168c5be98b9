"""The console's shell and files, without a browser: addresses, policy, budget, who am I."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app.web import views

WEB = Path(__file__).resolve().parents[2] / "app" / "web"
BUDGET_BYTES = 100_000


def console_files() -> list[Path]:
    return sorted(path for path in WEB.rglob("*") if path.suffix in {".html", ".js", ".css"})


@pytest.mark.parametrize("address", ["/", "/console/", "/console/customers/cus_x/explain"])
def test_every_console_address_serves_the_shell_under_a_strict_policy(
    client: FlaskClient, address: str
) -> None:
    response = client.get(address)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b'<main id="main"' in response.data
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy


def test_console_files_are_cached_for_good_under_their_fingerprint(client: FlaskClient) -> None:
    shell = client.get("/").get_data(as_text=True)
    found = re.search(r'src="(/console/assets/\w+)/js/main\.js"', shell)
    assert found, shell
    assets = found.group(1)
    script = client.get(f"{assets}/js/main.js")
    assert script.status_code == 200
    assert script.mimetype == "text/javascript"
    assert script.cache_control.max_age == 365 * 24 * 3600
    assert script.cache_control.immutable
    script.close()
    stale = client.get("/console/assets/0ld/js/main.js")
    assert stale.status_code == 200
    assert not stale.cache_control.max_age
    stale.close()
    assert client.get(f"{assets}/js/nothing.js").status_code == 404
    assert client.get(f"{assets}/../views.py").status_code == 404


def test_the_fingerprint_changes_with_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a.js").write_text("one")
    monkeypatch.setattr(views, "STATIC", tmp_path)
    before = views.asset_version()
    (tmp_path / "a.js").write_text("two, longer")
    assert views.asset_version() != before


def test_the_console_stays_within_its_page_load_budget() -> None:
    sizes = {path.relative_to(WEB).as_posix(): path.stat().st_size for path in console_files()}
    total = sum(sizes.values())
    assert total < BUDGET_BYTES, f"{total} bytes: {sorted(sizes.items(), key=lambda s: -s[1])}"


def test_the_console_fetches_nothing_from_the_internet() -> None:
    remote = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
    offenders = [
        f"{path.name}: {match.group(0)}"
        for path in console_files()
        for match in remote.finditer(path.read_text())
    ]
    assert offenders == []


def test_the_shell_preloads_every_module(client: FlaskClient) -> None:
    shell = client.get("/").get_data(as_text=True)
    preloaded = set(
        re.findall(r'rel="modulepreload" href="/console/assets/\w+/js/([\w-]+)\.js"', shell)
    )
    assert preloaded == {path.stem for path in (WEB / "static" / "js").glob("*.js")}


def test_me_names_the_token_and_its_role(
    client: FlaskClient, make_token: Callable[..., dict[str, str]]
) -> None:
    me = client.get("/api/v1/me", headers=make_token("agent"))
    assert me.status_code == 200
    assert me.get_json() == {"name": "test agent", "role": "agent", "source": None}
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.mimetype == "application/problem+json"
