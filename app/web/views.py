"""The console's pages.

Every console address serves the same shell; the browser draws the page from the address and
fetches its data from the API with the token the user signed in with.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, render_template, send_from_directory

# Nothing but the console's own files may load or be contacted: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STATIC = Path(__file__).resolve().parent / "static"
MODULES = ("main", "api", "ui", "search", "customer", "explain", "sources", "review", "tokens")
A_YEAR = 365 * 24 * 3600

blp = Blueprint("web", __name__, template_folder="templates")


def asset_version() -> str:
    """A fingerprint of the console's files that changes whenever one of them does."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            facts = path.stat()
            name = path.relative_to(STATIC).as_posix()
            digest.update(f"{name}:{facts.st_size}:{facts.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


@blp.get("/")
@blp.get("/console/")
@blp.get("/console/<path:page>")
def console(page: str = "") -> Response:
    """The console's shell; the page itself is drawn in the browser from the address."""
    html = render_template(
        "console.html", assets=f"/console/assets/{asset_version()}", modules=MODULES
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.cache_control.no_cache = True
    return response


@blp.get("/console/assets/<version>/<path:filename>")
def asset(version: str, filename: str) -> Response:
    """A console file under its fingerprint: cached for good, since new content gets a new
    address (an old fingerprint is still answered, but not cached)."""
    current = version == asset_version()
    response = send_from_directory(STATIC, filename, max_age=A_YEAR if current else 0)
    response.cache_control.immutable = current
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
