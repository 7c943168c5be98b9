"""A sync killed mid-way (SIGKILL) under 429s, 500s, repeated and changing records resumes
and ends with the store equal to the department's system: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from app import create_app, migrate
from app.db import get_db
from app.source.models import Source, SourceRecord
from app.sync.models import SyncRun
from connectors.sandbox import (
    SANDBOX_TOKEN,
    Faults,
    Sandboxes,
    SandboxServer,
    connector_settings,
    start_sandboxes,
)
from tests.conftest import BACKENDS, config_file, huella_config
from tests.helpers import add_source

KINDS = {"sales": "hubspot", "support": "zendesk", "marketing": "mailchimp"}
TOKEN_ENV = "HUELLA_SECRET_CRASH_TEST"
HOSTILE = Faults(
    rate_limit_every=5,
    retry_after=0.01,
    error_every=7,
    repeat_across_pages=True,
    change_every_pages=2,
    slow_seconds=0.01,
)


def server_of(sandboxes: Sandboxes, department: str) -> SandboxServer:
    return {
        "sales": sandboxes.hubspot,
        "support": sandboxes.zendesk,
        "marketing": sandboxes.mailchimp,
    }[department]


def huella(url: str, config: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HUELLA_DATABASE_URL": url,
        "HUELLA_CONFIG": str(config),
        TOKEN_ENV: SANDBOX_TOKEN,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 0, output
    return output


def stored_records(engine: Engine, source: str) -> dict[str, tuple[dict[str, Any], bool]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(SourceRecord.external_id, SourceRecord.attributes, SourceRecord.deleted_at)
            .join(Source)
            .where(Source.name == source)
        ).all()
    found = {
        external_id: (attributes, deleted is not None) for external_id, attributes, deleted in rows
    }
    assert len(found) == len(rows)  # never two records for one external id
    return found


def created_so_far(engine: Engine) -> int:
    with engine.connect() as connection:
        counts = connection.scalar(select(SyncRun.counts).order_by(SyncRun.id.desc()).limit(1))
    return int((counts or {}).get("created", 0))


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("department", ["sales", "support", "marketing"])
def test_killed_sync_resumes_to_an_exact_copy(
    fresh_database: Callable[[str], str], backend: str, department: str, tmp_path: Path
) -> None:
    config = config_file(tmp_path)
    url = fresh_database(backend)
    engine = create_engine(url)
    migrate.upgrade(engine)
    sandboxes = start_sandboxes(200, seed=11, faults=HOSTILE)
    server = server_of(sandboxes, department)
    try:
        app = create_app(huella_config(url))
        settings = connector_settings(
            server, TOKEN_ENV, page_size=10, backoff=0.01, backoff_max=0.05, timeout=5, rate_limit=0
        )
        add_source(app, department, KINDS[department], settings=settings)
        get_db(app).dispose()

        first = huella(url, config, "sync", department)
        deadline = time.monotonic() + 60
        while created_so_far(engine) < 30 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first.poll() is None, "the sync finished before it could be killed"
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.stdout is not None
        first.stdout.close()
        partial = created_so_far(engine)
        assert 0 < partial < len(server.records())

        server.set_faults(change_every_pages=0)  # 429s, 500s, repeats and slowness stay on
        resumed = finish(huella(url, config, "sync", department))
        assert f"{department}: succeeded" in resumed

        stored = stored_records(engine, department)
        for record in server.records():
            if record.deleted:
                assert stored.get(record.external_id, ({}, True))[1], record.external_id
            else:
                assert stored[record.external_id] == (server.expected_attributes(record), False)
        assert set(stored) <= {r.external_id for r in server.records()}

        server.set_faults(Faults())
        again = finish(huella(url, config, "sync", department))
        assert "0 new, 0 updated, 0 deleted" in again and "0 events" in again
        full = finish(huella(url, config, "sync", department, "--full"))
        assert "0 new, 0 updated, 0 deleted" in full and "0 events" in full
        assert stored_records(engine, department) == stored
        with engine.connect() as connection:
            statuses = connection.scalars(select(SyncRun.status).order_by(SyncRun.id)).all()
        assert statuses == ["interrupted", "succeeded", "succeeded", "succeeded"]
    finally:
        sandboxes.stop()
        engine.dispose()
