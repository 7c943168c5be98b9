"""Huella as production runs it: gunicorn with several worker processes on PostgreSQL, with
``app.security.gunicorn``'s settings. Covers what only shows across processes or in the
server's own logs: revocation reaching every worker (finding 5), access and error logs free
of customers' data (finding 6), an over-long address answered with a problem document
(finding 4), and a request that comes late on its connection still answered."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from app import create_app, migrate
from app.auth import service as tokens
from app.db import get_db
from app.settings import get_settings
from app.source import service as sources
from tests.conftest import huella_config

ROOT = Path(__file__).resolve().parents[2]
PII_EMAIL = "ximena.quiroga-pii@example.org"
PII_NAME = "Ximena Quiroga"


@dataclass
class Served:
    """A running gunicorn: where it listens, its tokens, and the files its logs go to."""

    base: str
    admin: dict[str, str]
    logs: list[Path]
    process: subprocess.Popen[bytes]

    def call(self, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        # A new connection per call, so calls spread over the worker processes.
        with httpx.Client(base_url=self.base, timeout=10) as client:
            return client.request(method, path, headers=headers, **kwargs)

    def log_text(self) -> str:
        time.sleep(0.2)  # the workers write their last lines
        return "".join(path.read_text(errors="replace") for path in self.logs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def served(
    fresh_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url = fresh_database("postgresql")
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(huella_config(url))
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(session=session, name="crm", kind="push", policy=get_settings(app).sources)
        _, secret = tokens.create(session=session, name="ops", role="admin")
    get_db(app).dispose()
    folder = tmp_path_factory.mktemp("gunicorn")
    access, errors, stderr = folder / "access.log", folder / "error.log", folder / "stderr.log"
    port = free_port()
    env = {
        **os.environ,
        "HUELLA_DATABASE_URL": url,
        "HUELLA_LOG_LEVEL": "INFO",
        "HUELLA_RATE_LIMITS": "{enabled = false}",  # these tests call faster than agents may
    }
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "-c", "python:app.security.gunicorn",
                "-w", "3", "-b", f"127.0.0.1:{port}",
                "--access-logfile", str(access), "--error-logfile", str(errors),
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    served = Served(base, bearer(secret), [access, errors, stderr], process)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(f"gunicorn did not start: {stderr.read_text()}")
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_revoked_token_is_refused_by_every_worker_within_a_second(served: Served) -> None:
    created = served.call(
        "POST", "/api/v1/tokens", served.admin, json={"name": "doomed", "role": "agent"}
    ).json()
    doomed = bearer(created["secret"])
    # Every worker has seen the token, and holds it in its cache.
    assert {served.call("GET", "/api/v1/me", doomed).status_code for _ in range(30)} == {200}
    revoked = served.call("DELETE", f"/api/v1/tokens/{created['token']['id']}", served.admin)
    assert revoked.status_code == 204
    time.sleep(1.0)
    statuses = [served.call("GET", "/api/v1/me", doomed).status_code for _ in range(30)]
    assert statuses == [401] * 30


def test_logs_hold_no_customer_data(served: Served) -> None:
    first, last = PII_NAME.split()
    record = {"external_id": "c-1", "attributes": {"email": PII_EMAIL, "first_name": first}}
    record["attributes"]["last_name"] = last
    pushed = served.call(
        "POST", "/api/v1/sources/crm/records", served.admin, json={"records": [record]}
    )
    assert pushed.status_code == 200, pushed.text
    lookups = [
        served.call("GET", f"/api/v1/customers/lookup/email:{PII_EMAIL}", served.admin),
        served.call("GET", "/api/v1/identities", served.admin, params={"email": PII_EMAIL}),
        served.call("GET", "/api/v1/customers", served.admin, params={"q": PII_NAME}),
        served.call(
            "POST",
            "/api/v1/customers/lookup",
            served.admin,
            json={"reference": f"email:{PII_EMAIL}"},
        ),
    ]
    # The lookup of earlier releases (?email=) answers 308 with the lookup route's address.
    assert [response.status_code for response in lookups] == [200, 308, 200, 200]
    assert PII_EMAIL in lookups[0].text and PII_EMAIL in lookups[3].text
    # Requests that fail, with the e-mail in the address and in the body.
    served.call("GET", f"/api/v1/customers/lookup/email:{PII_EMAIL}?cursor=forged", served.admin)
    served.call("GET", f"/api/v1/customers/lookup/email:{PII_EMAIL}", bearer("hu_wrong"))
    served.call(
        "POST",
        "/api/v1/events",
        served.admin,
        json={"source": "crm", "events": [{"type": "order", "email": PII_EMAIL, "id": "o-1"}]},
    )
    logs = served.log_text()
    assert "/api/v1/customers/lookup/[redacted]" in logs  # the requests were logged
    assert "email=[redacted]" in logs and "q=[redacted]" in logs
    for secret in (PII_EMAIL, PII_EMAIL.replace("@", "%40"), "Ximena", "Quiroga"):
        assert secret not in logs


def test_an_over_long_address_is_a_problem_document(served: Served) -> None:
    response = served.call("GET", "/api/v1/customers?q=" + "a" * 5000, served.admin)
    assert response.status_code == 414
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 414


def test_a_request_sent_late_on_an_open_connection_is_answered(served: Served) -> None:
    # A proxy opens connections before it has requests for them; gunicorn hands a connection
    # that is silent for 5 s back to its poller for keepalive seconds (at 0 it closed it).
    host, port = served.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        time.sleep(6)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: huella\r\n\r\n")
        assert connection.recv(64).startswith(b"HTTP/1.1 200")
