"""The console as an agent meets it: ``huella demo`` (three sandbox departments synced, served
by the development server as ``make run`` does) opened in a real Chromium.

For each page: how long until its data is on screen, cold (a new tab, nothing cached) and warm
(a reload), the API calls made before that moment, and the bytes the console's own files
weigh. Prints figures; asserts nothing. Needs Chromium (``apt-get install chromium``).

    .venv/bin/python -m bench console [--repeat 5] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEB = Path(__file__).resolve().parents[1] / "app" / "web"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def demo_server(folder: Path) -> Iterator[tuple[str, str]]:
    """``huella demo`` in its own process; yields its address and admin token."""
    port = _free_port()
    env = {**os.environ, "HUELLA_DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"}
    log = folder / "demo.log"
    # Its output goes to a file: a pipe nobody drains would stall the server once full.
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "demo", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while (found := re.search(r"token:\s+(hu_\S+)", log.read_text())) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"huella demo did not start:\n{log.read_text()}")
            time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base, found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _pages(base: str, token: str) -> list[tuple[str, str]]:
    """(name, address) of every kind of page, on a customer several departments hold."""
    headers = {"Authorization": f"Bearer {token}"}
    hits = httpx.get(f"{base}/api/v1/customers", params={"limit": 50}, headers=headers).json()
    spread = max(hits["data"], key=lambda hit: len(hit["records"]))
    email = next(iter(spread["golden"].get("emails") or [""]))
    items = httpx.get(f"{base}/api/v1/review/items", params={"limit": 1}, headers=headers).json()
    pages = [
        ("search", f"/?q={email}"),
        ("profile", f"/console/customers/{spread['id']}"),
        ("explain", f"/console/customers/{spread['id']}/explain"),
        ("sources", "/console/sources"),
        ("review queue", "/console/review"),
        ("history", f"/console/customers/{spread['id']}/history"),
    ]
    if items["data"]:
        pages.append(("review item", f"/console/review/{items['data'][0]['id']}"))
    return pages


# The console marks "huella:page" when a page shows its data; API responses that ended before
# the mark are the calls the page waited for.
_FIGURES = """() => {
  const mark = performance.getEntriesByName("huella:page")[0];
  const waited = performance.getEntriesByType("resource")
    .filter((entry) => entry.name.includes("/api/") && entry.responseEnd <= mark.startTime);
  return [mark.startTime, waited.length];
}"""
_MARKED = "() => performance.getEntriesByName('huella:page').length > 0"


def _measure(context: Any, address: str) -> tuple[float, float, int]:
    """Milliseconds from navigation to the page's data on screen, cold (new tab, empty cache)
    and warm (a reload), and the API calls the page waited for."""
    tab = context.new_page()
    tab.goto(address)
    tab.wait_for_function(_MARKED)
    cold, calls = tab.evaluate(_FIGURES)
    tab.reload()
    tab.wait_for_function(_MARKED)
    warm, _ = tab.evaluate(_FIGURES)
    tab.close()
    return cold, warm, calls


def _report(chromium_path: str, base: str, token: str, repeat: int) -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (a dev dependency)

    files = [p for p in WEB.rglob("*") if p.suffix in {".html", ".js", ".css"}]
    print(f"console files: {len(files)}, {sum(p.stat().st_size for p in files) / 1024:.1f} KiB")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=ARGS)
        session = json.dumps({"token": token, "name": "bench", "role": "admin"})
        for name, address in _pages(base, token):
            colds, warms, calls = [], [], 0
            for _ in range(repeat):
                context = browser.new_context(base_url=base)
                context.add_init_script(f"sessionStorage.setItem('huella.session', '{session}')")
                cold, warm, calls = _measure(context, address)
                colds.append(cold)
                warms.append(warm)
                context.close()
            print(
                f"{name:<13} cold median {statistics.median(colds):6.1f} ms, "
                f"warm median {statistics.median(warms):6.1f} ms, "
                f"waited for {calls} API call(s)",
                flush=True,
            )
        in_app = []
        for _ in range(repeat):
            context = browser.new_context(base_url=base)
            context.add_init_script(f"sessionStorage.setItem('huella.session', '{session}')")
            in_app.append(_click_through(context, _pages(base, token)[0][1]))
            context.close()
        print(f"search → profile inside the console: median {statistics.median(in_app):.1f} ms")
        browser.close()


# Time from a click on the first result until the profile it opens shows its data.
_CLICK = """() => {
  performance.clearMarks("huella:page");
  const began = performance.now();
  document.querySelector(".hits a").click();
  return began;
}"""


def _click_through(context: Any, search: str) -> float:
    """Milliseconds from clicking a search result to its profile on screen (no page load)."""
    tab = context.new_page()
    tab.goto(search)
    tab.wait_for_function(_MARKED)
    began = tab.evaluate(_CLICK)
    tab.wait_for_function(_MARKED)
    shown: float = tab.evaluate("() => performance.getEntriesByName('huella:page')[0].startTime")
    tab.close()
    return shown - began


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the demo, open each console page in Chromium, print the figures."""
    parser = argparse.ArgumentParser(prog="bench console", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"console: skipped, no Chromium at {args.chromium} (apt-get install chromium)")
        return 0
    with tempfile.TemporaryDirectory() as folder, demo_server(Path(folder)) as (base, token):
        _report(args.chromium, base, token, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
