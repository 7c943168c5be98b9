"""Rate limits on the API: per token by its role, per client address, and on failed
authentications per address. Flask-Limiter keeps the counts: in memory in the embedded default,
in Redis in production (``[rate_limits] storage_uri``), where every worker process shares them.

Over a limit the answer is a 429 problem document with ``Retry-After``. Probes, the console's
files and the OpenAPI document are not counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from flask_limiter import ApplicationLimit, Limiter
from limits import RateLimitItem, parse
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix


def _outside_api() -> bool:
    return not request.path.startswith("/api/")


def _address() -> str:
    return request.remote_addr or "unknown"


# The request's caller (app.auth's Caller, with token_id and role) is read from ``g`` where
# the token check leaves it: security measures know no domain.


def _caller_key() -> str:
    caller: Any = g.get("api_token")
    return f"token:{caller.token_id}" if caller is not None else f"address:{_address()}"


class RateLimits:
    """The configured limits, and the Flask-Limiter that counts against them."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.by_role = {role: str(config[role]) for role in ("admin", "agent", "connector")}
        self.failed_authentications: RateLimitItem = parse(str(config["failed_authentications"]))
        self.key_prefix = str(config["key_prefix"])
        self.limiter = Limiter(
            _caller_key,
            application_limits=[
                ApplicationLimit(self._role_limit, scope="token", exempt_when=_outside_api),
                ApplicationLimit(
                    str(config["per_address"]),
                    key_function=_address,
                    scope="address",
                    exempt_when=_outside_api,
                ),
            ],
            storage_uri=str(config["storage_uri"]),
            strategy="moving-window",
            headers_enabled=True,
            retry_after="delta-seconds",
            key_prefix=self.key_prefix,
            enabled=bool(config["enabled"]),
        )

    def _role_limit(self) -> str:
        caller: Any = g.get("api_token")
        # Without a token the request was refused before this check (a 401): the address limit
        # and the failed-authentication limit count it.
        return self.by_role[caller.role] if caller is not None else self.by_role["admin"]

    def _failed_key(self) -> tuple[str, ...]:
        return (self.key_prefix, "failed-authentications", _address())

    def refuse_throttled_address(self) -> None:
        """Before the token is even looked up: an address past its failed authentications
        waits, whatever it sends now."""
        if not self.limiter.enabled or _outside_api():
            return
        strategy = self.limiter.limiter
        if not strategy.test(self.failed_authentications, *self._failed_key()):
            reset_at, _ = strategy.get_window_stats(
                self.failed_authentications, *self._failed_key()
            )
            wait = max(1, math.ceil(reset_at - time.time()))
            raise TooManyRequests(
                f"too many failed authentications from this address; retry in {wait} s",
                retry_after=wait,
            )

    def count_failed_authentication(self, response: Response) -> Response:
        """After a 401 on the API, count one failed authentication for the address."""
        if self.limiter.enabled and response.status_code == 401 and not _outside_api():
            self.limiter.limiter.hit(self.failed_authentications, *self._failed_key())
        return response


def init_app(app: Flask) -> None:
    """Throttle failed authentications before the token check runs (call this first)."""
    limits = RateLimits(app.config["RATE_LIMITS"])
    proxies = int(app.config["RATE_LIMITS"]["proxies"])
    if proxies:
        # The client's address, as the proxies in front of Huella saw it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    app.extensions["huella.rate_limits"] = limits
    app.before_request(limits.refuse_throttled_address)
    app.after_request(limits.count_failed_authentication)


def start(app: Flask) -> None:
    """Count requests per token and per address (call this after the token check is
    installed: a token's limit follows its role)."""
    limits: RateLimits = app.extensions["huella.rate_limits"]
    limits.limiter.init_app(app)
