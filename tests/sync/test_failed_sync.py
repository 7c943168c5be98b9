"""A sync that fails mid-way (the department's system keeps answering 500) keeps every page
it stored, records the failure, and the next sync finishes the job from there."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import get_db
from app.ingest import sync as runner
from app.ingest.flows import IngestReport
from app.resolution.runtime import current_matcher
from app.settings import get_settings
from app.source.models import SourceRecord
from connectors import Page
from connectors.sandbox import Sandboxes, connector_settings
from tests.helpers import add_source

TOKEN_ENV = "HUELLA_SECRET_FAILED_SYNC"


@pytest.fixture
def sandboxes(department_sandboxes: Callable[..., Sandboxes]) -> Sandboxes:
    return department_sandboxes(TOKEN_ENV, 120, seed=5)


def stored_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SourceRecord)) or 0


def test_a_failed_sync_keeps_its_stored_pages_and_the_next_one_resumes(
    app: Flask, sandboxes: Sandboxes, session: Session
) -> None:
    database = get_db(app)
    server = sandboxes.zendesk
    settings = connector_settings(
        server, TOKEN_ENV, page_size=10, tries=2, backoff=0.01, backoff_max=0.02, rate_limit=0
    )
    add_source(app, "support", "zendesk", settings=settings)

    def break_after_two_pages(_stream: str, _page: Page, report: IngestReport) -> None:
        if report.pages == 2:
            server.set_faults(error_every=1)  # from now on every request is a 500

    failed = runner.run_sync(
        database=database,
        settings=get_settings(app),
        source_name="support",
        matcher_for=current_matcher,
        on_page=break_after_two_pages,
    )
    assert failed.status == "failed" and "500" in (failed.error or "")
    kept = stored_count(session)
    # Pages read ahead before the fault may have been stored too; never more than were read.
    assert 20 <= kept < len(server.records())
    assert failed.counts["created"] == kept

    server.set_faults(error_every=0)
    resumed = runner.run_sync(
        database=database,
        settings=get_settings(app),
        source_name="support",
        matcher_for=current_matcher,
    )
    assert resumed.status == "succeeded"
    assert resumed.counts["created"] == len(server.records()) - kept
    assert stored_count(session) == len(server.records())
