"""No personal data in access logs: addresses are logged without their query values and
without the identifier a lookup names.

A lookup's address holds an e-mail or phone (``/api/v1/customers/lookup/email:...``) and a
search's query a name (``?q=``, ``?email=``): an access log keeps them for as long as logs are
kept, out of reach of erasure. Both servers Huella runs under log through here: gunicorn
(``RedactingLogger``, set by ``app.security.gunicorn``) and werkzeug's development server
(``RedactingRequestHandler``, used by ``huella serve`` and ``huella demo``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from gunicorn.glogging import Logger
from werkzeug.serving import WSGIRequestHandler

REDACTED = "[redacted]"
# A lookup names its customer in the path, after /lookup/ (identities: after their id).
_LOOKUP = re.compile(r"(/lookup/)[^?#]*")


def redact_path(path: str) -> str:
    """The path without the identifier a lookup names."""
    return _LOOKUP.sub(rf"\g<1>{REDACTED}", path)


def redact_query(query: str) -> str:
    """The query string with every value redacted, its names kept (``q=[redacted]``)."""
    if not query:
        return ""
    names = (part.partition("=")[0] for part in query.split("&") if part)
    return "&".join(f"{unquote(name)}={REDACTED}" for name in names)


def redact_address(address: str) -> str:
    """A request's address (path and query) as logs may keep it."""
    path, found, query = address.partition("?")
    return redact_path(path) + (f"?{redact_query(query)}" if found else "")


class RedactingLogger(Logger):  # type: ignore[misc]
    """Gunicorn's logger, writing addresses and referrers to the access log redacted."""

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        """Gunicorn's log atoms, with the address atoms (%(r)s %(U)s %(q)s %(f)s) redacted."""
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        address = redact_address(environ.get("RAW_URI") or "")
        atoms["r"] = f"{environ['REQUEST_METHOD']} {address} {environ['SERVER_PROTOCOL']}"
        atoms["U"] = redact_path(environ.get("PATH_INFO") or "")
        atoms["q"] = redact_query(environ.get("QUERY_STRING") or "")
        referrer = environ.get("HTTP_REFERER")
        atoms["f"] = redact_address(referrer) if referrer else "-"
        atoms["{referer}i"] = atoms["f"]
        return atoms


class RedactingRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, logging each request's address redacted."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request as werkzeug does, its address redacted."""
        if hasattr(self, "path"):
            self.path = redact_address(self.path)
        super().log_request(code, size)
