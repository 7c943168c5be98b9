"""Security measures every request passes through: limits, headers, rate limits, redaction.

``create_app`` calls ``init_app`` before any other request hook (input limits and throttled
addresses are refused before a token is looked up), and ``start_rate_limits`` once the token
check is installed (a token's rate limit follows its role).
"""

from __future__ import annotations

from flask import Flask

from app.security import headers, limits, rate_limits


def init_app(app: Flask) -> None:
    """Install the request-level measures that run before the token check."""
    limits.init_app(app)
    rate_limits.init_app(app)
    headers.init_app(app)


def start_rate_limits(app: Flask) -> None:
    """Count requests per token and address; after the token check is installed."""
    rate_limits.start(app)
