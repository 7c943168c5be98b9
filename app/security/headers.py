"""Response headers that keep personal data out of caches and browsers' guesses."""

from __future__ import annotations

from flask import Flask, Response, request


def _harden(response: Response) -> Response:
    # Every API answer may carry a customer's data (a profile, a lookup, a reject's raw row):
    # no proxy or browser keeps a copy. The console's static files keep their own caching.
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    # A JSON body holding a customer's text must never be sniffed into HTML and run.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every response, errors included."""
    app.after_request(_harden)
