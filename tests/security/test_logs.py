"""Finding 6: customers' data stays out of logs (the gunicorn side is in test_gunicorn)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import httpx
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import make_server

from app.db import get_db
from app.security.logs import RedactingRequestHandler, redact_address

Headers = Callable[..., dict[str, str]]
EMAIL = "wilhelmina.pii@example.org"


@pytest.mark.parametrize(
    ("address", "logged"),
    [
        ("/api/v1/customers/lookup/email:a@b.org", "/api/v1/customers/lookup/[redacted]"),
        (
            "/api/v1/customers/lookup/email:a@b.org?limit=5",
            "/api/v1/customers/lookup/[redacted]?limit=[redacted]",
        ),
        (
            "/api/v1/identities?email=a%40b.org&x",
            "/api/v1/identities?email=[redacted]&x=[redacted]",
        ),
        ("/api/v1/customers?q=Ana+Ruiz", "/api/v1/customers?q=[redacted]"),
        ("/api/v1/customers/cus_12/timeline", "/api/v1/customers/cus_12/timeline"),
        ("/api/v1/sources?", "/api/v1/sources?"),
    ],
)
def test_addresses_are_logged_without_identifiers(address: str, logged: str) -> None:
    assert redact_address(address) == logged


def test_a_failed_statement_does_not_quote_its_parameters(app: Flask) -> None:
    with get_db(app).engine.connect() as connection, pytest.raises(DBAPIError) as failure:
        connection.execute(
            text("SELECT * FROM no_such_table WHERE email = :email"), {"email": EMAIL}
        )
    assert "no_such_table" in str(failure.value)
    assert EMAIL not in str(failure.value)


def test_the_development_server_logs_addresses_redacted(
    app: Flask, make_token: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=RedactingRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    admin = make_token("admin")
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            base = f"http://127.0.0.1:{server.server_port}"
            httpx.get(f"{base}/api/v1/customers/lookup/email:{EMAIL}", headers=admin)
            httpx.get(f"{base}/api/v1/identities", params={"email": EMAIL}, headers=admin)
    finally:
        server.shutdown()
        thread.join()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/api/v1/customers/lookup/[redacted]" in logged
    assert EMAIL not in logged and EMAIL.replace("@", "%40") not in logged
