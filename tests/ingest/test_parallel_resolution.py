"""Resolution in parallel: worker processes syncing three departments that hold the same
people, at the same time, ten records a page, on PostgreSQL, end with the partition one
``huella resolve --full`` of the same records gives, and the database never broke a deadlock."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine

from app import create_app
from app.auth import service as tokens
from app.db import get_db
from app.ingest.worker import celery_of
from app.settings import get_settings
from app.source import service as sources
from app.source.models import Source, SourceRecord
from app.sync.models import SyncRun
from bench.measure import deadlocks
from connectors.sandbox import SANDBOX_TOKEN, Faults, connector_settings, start_sandboxes
from tests.conftest import huella_config
from tests.workers import REDIS_URL, Workers, broker_config, require_broker, wait_for

TOKEN_ENV = "HUELLA_SECRET_PARALLEL_TEST"
KINDS = {"sales": "hubspot", "support": "zendesk", "marketing": "mailchimp"}
Partition = set[frozenset[str]]


def partition(engine: Engine) -> Partition:
    """The live records grouped by identity, as SOURCE:EXTERNAL_ID."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Source.name, SourceRecord.external_id, SourceRecord.identity_id)
            .join(Source)
            .where(SourceRecord.deleted_at.is_(None))
        ).all()
    groups: dict[int | None, set[str]] = {}
    for name, external_id, identity_id in rows:
        assert identity_id is not None, f"{name}:{external_id} was left unresolved"
        groups.setdefault(identity_id, set()).add(f"{name}:{external_id}")
    return {frozenset(group) for group in groups.values()}


@pytest.mark.slow
def test_workers_resolving_at_once_give_the_partition_of_a_full_resolution(
    database: tuple[str, Engine], workers: Callable[..., Workers]
) -> None:
    require_broker(REDIS_URL)
    url, engine = database
    config = broker_config(REDIS_URL, redelivery_seconds=600)
    # Under the store's first fit (1,000 records): one model from the first page to the end.
    sandboxes = start_sandboxes(300, seed=21, faults=Faults(slow_seconds=0.01))
    app: Flask = create_app(huella_config(url, **config))
    try:
        servers = dict(zip(KINDS, sandboxes, strict=True))
        with app.app_context(), get_db(app).unit_of_work() as session:
            for name, kind in KINDS.items():
                sources.create(
                    session=session,
                    name=name,
                    kind=kind,
                    policy=get_settings(app).sources,
                    settings=connector_settings(
                        servers[name], TOKEN_ENV, page_size=10, rate_limit=0
                    ),
                )
            _, secret = tokens.create(session=session, name="admin", role="admin")
        group = workers(url, config, **{TOKEN_ENV: SANDBOX_TOKEN})
        for _ in KINDS:
            group.start("--pool=solo")
        before = deadlocks(engine)

        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        for name in KINDS:  # three syncs queued at once, one for each worker
            assert (
                client.post(f"/api/v1/sources/{name}/sync", json={}, headers=headers).status_code
                == 202
            )

        def finished() -> bool:
            with engine.connect() as connection:
                statuses = connection.scalars(select(SyncRun.status)).all()
            return all(status not in ("queued", "running") for status in statuses)

        wait_for("the three syncs to finish", finished, timeout=300, every=0.5)
        with engine.connect() as connection:
            runs = connection.execute(
                select(SyncRun.status, SyncRun.started_at, SyncRun.finished_at)
            ).all()
        assert [run.status for run in runs] == ["succeeded"] * 3, group.started[0].output()
        # They did run at the same time (else this would prove nothing).
        assert any(
            a.started_at < b.finished_at and b.started_at < a.finished_at
            for a, b in itertools.combinations(runs, 2)
        )
        in_parallel = partition(engine)
        assert sum(len(group) for group in in_parallel) > 500
        assert any(len(group) == 3 for group in in_parallel)  # people all three departments hold
        assert deadlocks(engine) == before

        resolved = group.run("resolve", "--full")
        assert "resolved" in resolved
        assert partition(engine) == in_parallel
    finally:
        sandboxes.stop()
        get_db(app).dispose()
        if (celery := celery_of(app)) is not None:
            celery.close()
