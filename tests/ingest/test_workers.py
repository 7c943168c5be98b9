"""Syncs on real workers: the API only queues, ``huella worker`` processes run what is queued
(Redis or RabbitMQ as the broker), and a worker killed mid-sync leaves the run to another one,
which resumes it from the committed cursor: nothing lost, nothing doubled."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import redis
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from app import create_app
from app.auth import service as tokens
from app.db import get_db
from app.event.models import Event, EventBatch
from app.identity.models import Identity
from app.ingest.worker import celery_of
from app.resolution.models import ModelVersion
from app.settings import EXTENSION as SETTINGS
from app.settings import get_settings
from app.source import service as sources
from app.source.models import Source, SourceRecord
from app.sync.models import SyncRun
from connectors.sandbox import (
    SANDBOX_TOKEN,
    Faults,
    SandboxServer,
    connector_settings,
    start_sandboxes,
)
from tests.conftest import huella_config
from tests.helpers import add_source, job_of, push, record
from tests.workers import BROKERS, REDIS_URL, Workers, broker_config, require_broker, wait_for

TOKEN_ENV = "HUELLA_SECRET_WORKER_TEST"


@pytest.fixture
def huella_app() -> Iterator[Callable[..., Flask]]:
    """Make the web application of the test, queueing to the test's broker; its connections
    are closed at the end."""
    made: list[Flask] = []

    def make(url: str, config: dict[str, Any]) -> Flask:
        made.append(create_app(huella_config(url, **config)))
        return made[-1]

    yield make
    for app in made:
        get_db(app).dispose()
        if (celery := celery_of(app)) is not None:
            celery.close()


def connect_sales(app: Flask, server: SandboxServer) -> dict[str, str]:
    """A source reading the CRM sandbox ten records a page, and an admin's headers."""
    settings = connector_settings(
        server, TOKEN_ENV, page_size=10, backoff=0.01, backoff_max=0.05, timeout=5, rate_limit=0
    )
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(
            session=session,
            name="sales",
            kind="hubspot",
            policy=get_settings(app).sources,
            settings=settings,
        )
        _, secret = tokens.create(session=session, name="admin", role="admin")
    return {"Authorization": f"Bearer {secret}"}


def runs(engine: Engine) -> list[tuple[int, str, dict[str, Any]]]:
    with engine.connect() as connection:
        rows = connection.execute(select(SyncRun.id, SyncRun.status, SyncRun.counts)).all()
    return [(row.id, row.status, row.counts) for row in rows]


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    """The CRM's live records as stored, by external id."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(SourceRecord.external_id, SourceRecord.attributes)
            .join(Source)
            .where(Source.name == "sales", SourceRecord.deleted_at.is_(None))
        ).all()
    return {row.external_id: row.attributes for row in rows}


def identities(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Identity)) or 0)


def expected(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {r.external_id: server.expected_attributes(r) for r in server.records() if not r.deleted}


@pytest.mark.slow
@pytest.mark.parametrize("broker", list(BROKERS))
def test_the_api_queues_a_sync_and_a_worker_runs_it(
    database: tuple[str, Engine],
    workers: Callable[..., Workers],
    huella_app: Callable[..., Flask],
    broker: str,
) -> None:
    require_broker(BROKERS[broker])
    url, engine = database
    config = broker_config(BROKERS[broker])
    sandboxes = start_sandboxes(60, seed=3)
    try:
        app = huella_app(url, config)
        headers = connect_sales(app, sandboxes.hubspot)
        answer = app.test_client().post("/api/v1/sources/sales/sync", json={}, headers=headers)
        assert answer.status_code == 202, answer.get_json()
        assert answer.get_json()["status"] == "queued"
        assert [status for _, status, _ in runs(engine)] == ["queued"]  # nobody runs it here

        group = workers(url, config, **{TOKEN_ENV: SANDBOX_TOKEN})
        worker = group.start("--pool=solo")
        wait_for(
            "the worker to finish the sync",
            lambda: [s for _, s, _ in runs(engine)] == ["succeeded"],
            timeout=90,
        )
        assert stored(engine) == expected(sandboxes.hubspot)
        assert "huella.sync" in worker.output()

        # The commands hand long work to the workers too.
        queued = group.run("resolve", "--full", "--enqueue")
        assert "queued huella.resolve as task" in queued
        wait_for(
            "the worker to resolve everything",
            lambda: re.search(r"huella\.resolve\[[^]]+\] succeeded", worker.output()),
            timeout=60,
        )
        assert identities(engine) > 0
    finally:
        sandboxes.stop()


@pytest.mark.slow
def test_a_worker_killed_mid_sync_leaves_the_run_to_another_that_resumes_it(
    database: tuple[str, Engine], workers: Callable[..., Workers], huella_app: Callable[..., Flask]
) -> None:
    require_broker(REDIS_URL)
    url, engine = database
    config = broker_config(REDIS_URL, redelivery_seconds=2)
    # Slow pages, 429s and 500s: a sync long enough to kill, and a bumpy one.
    faults = Faults(slow_seconds=0.15, rate_limit_every=7, retry_after=0.01, error_every=9)
    sandboxes = start_sandboxes(200, seed=11, faults=faults)
    try:
        app = huella_app(url, config)
        headers = connect_sales(app, sandboxes.hubspot)
        group = workers(url, config, **{TOKEN_ENV: SANDBOX_TOKEN})
        first = group.start("--pool=solo")
        answer = app.test_client().post("/api/v1/sources/sales/sync", json={}, headers=headers)
        assert answer.status_code == 202
        run_id = answer.get_json()["id"]

        wait_for("the first worker to store 30 records", lambda: len(stored(engine)) >= 30)
        first.kill()
        [(_, status, _)] = runs(engine)
        partial = len(stored(engine))
        assert status == "running", "the sync finished before its worker could be killed"
        assert partial < len(expected(sandboxes.hubspot))

        second = group.start("--pool=solo")
        wait_for(
            "another worker to finish the run",
            lambda: runs(engine)[0][1] not in ("queued", "running"),
            timeout=120,
        )
        [(resumed_id, status, counts)] = runs(engine)
        assert (resumed_id, status) == (run_id, "succeeded"), second.output()
        assert "huella.sync" in second.output()
        assert stored(engine) == expected(sandboxes.hubspot)
        # One run, resumed after its last committed page: each record created once, and
        # nothing read twice (a sync started again from the beginning would find the first
        # pages unchanged).
        assert counts["created"] == len(sandboxes.hubspot.records())
        assert counts["unchanged"] == 0
    finally:
        sandboxes.stop()


@pytest.mark.slow
def test_a_sync_scheduled_every_second_runs_on_the_workers(
    database: tuple[str, Engine], workers: Callable[..., Workers], huella_app: Callable[..., Flask]
) -> None:
    require_broker(REDIS_URL)
    url, engine = database
    config = broker_config(REDIS_URL)
    sandboxes = start_sandboxes(30, seed=4)
    try:
        app = huella_app(url, config)
        headers = connect_sales(app, sandboxes.hubspot)
        client = app.test_client()
        scheduled = client.put(
            "/api/v1/sources/sales/schedule", json={"schedule": "1s"}, headers=headers
        )
        assert scheduled.status_code == 200, scheduled.get_json()
        group = workers(url, config, **{TOKEN_ENV: SANDBOX_TOKEN})
        group.start("--pool=solo")
        schedulers = [group.start(command="scheduler") for _ in range(2)]

        wait_for(
            "three scheduled syncs to succeed",
            lambda: sum(status == "succeeded" for _, status, _ in runs(engine)) >= 3,
            timeout=90,
        )
        assert stored(engine) == expected(sandboxes.hubspot)
        # Never two syncs of the source at once: each run began after the one before ended.
        with engine.connect() as connection:
            spans = connection.execute(
                select(SyncRun.started_at, SyncRun.finished_at)
                .where(SyncRun.status == "succeeded")
                .order_by(SyncRun.started_at)
            ).all()
        for before, after in itertools.pairwise(spans):
            assert before.finished_at <= after.started_at
        # One scheduler leads, the other stands by.
        wait_for(
            "a scheduler to stand by", lambda: any("standing by" in s.output() for s in schedulers)
        )
        sales = client.get("/api/v1/sources/sales", headers=headers).get_json()
        assert sales["schedule"] == "1s" and sales["next_sync_at"] is not None
    finally:
        sandboxes.stop()


@pytest.mark.slow
def test_events_are_queued_at_once_and_a_killed_worker_loses_none(
    database: tuple[str, Engine], workers: Callable[..., Workers], huella_app: Callable[..., Flask]
) -> None:
    require_broker(REDIS_URL)
    url, engine = database
    config = broker_config(REDIS_URL, redelivery_seconds=2)
    app = huella_app(url, config)
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(session=session, name="web", kind="push", policy=get_settings(app).sources)
        _, secret = tokens.create(
            session=session,
            name="site",
            role="connector",
            source=sources.get_by_name(session=session, name="web"),
        )
    headers = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    batches, size = 12, 1000
    for number in range(batches):
        views = [
            {"type": "page_view", "id": f"v-{number}-{i}", "anonymous_id": f"c-{i % 300}"}
            for i in range(size)
        ]
        answer = client.post("/api/v1/events", json={"events": views}, headers=headers)
        assert answer.status_code == 202, answer.get_json()
        assert (answer.get_json()["status"], answer.get_json()["queued"]) == ("queued", size)

    def written() -> int:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Event)) or 0)

    group = workers(url, config)
    first = group.start("--pool=solo")
    wait_for("the first worker to write some events", lambda: written() > 0, timeout=120)
    first.kill()
    assert written() < batches * size, "every event was written before the worker was killed"

    group.start("--pool=solo")
    wait_for(
        "another worker to write every batch",
        lambda: written() == batches * size,
        timeout=180,
        every=0.5,
    )
    with engine.connect() as connection:
        outcomes = connection.execute(select(EventBatch.status, EventBatch.outcome)).all()
        distinct = connection.scalar(select(func.count(func.distinct(Event.external_id))))
    assert distinct == batches * size  # each event once
    assert {status for status, _ in outcomes} == {"done"}
    assert sum(outcome["accepted"] for _, outcome in outcomes) == batches * size
    first_batch = client.get("/api/v1/events/batches/1", headers=headers).get_json()
    assert (first_batch["status"], first_batch["accepted"], first_batch["rejected"]) == (
        "done",
        size,
        0,
    )


def test_a_push_that_finds_the_store_outgrown_asks_the_workers_to_fit_it(
    database: tuple[str, Engine], huella_app: Callable[..., Flask]
) -> None:
    """Fitting reads every record and re-resolves them all (minutes on a large store): with
    workers, the push that finds it due is answered at once and a worker fits."""
    require_broker(REDIS_URL)
    url, engine = database
    config = broker_config(REDIS_URL)
    app = huella_app(url, config)
    settings = app.extensions[SETTINGS]
    model = dataclasses.replace(settings.match.model, fit_from=3)
    app.extensions[SETTINGS] = dataclasses.replace(
        settings, match=dataclasses.replace(settings.match, model=model)
    )
    with app.app_context(), get_db(app).unit_of_work() as session:
        sources.create(session=session, name="crm", kind="push", policy=get_settings(app).sources)
        _, secret = tokens.create(session=session, name="admin", role="admin")
    people = [
        {"external_id": str(n), "attributes": {"email": f"p{n}@example.com", "first_name": name}}
        for n, name in enumerate(["Ana", "Luis", "Marta", "Pablo"])
    ]
    answer = app.test_client().post(
        "/api/v1/sources/crm/records",
        json={"records": people},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["created"] == 4
    with engine.connect() as connection:  # nothing fitted inside the request
        assert connection.scalar(select(func.count()).select_from(ModelVersion)) == 0
    options = config["BROKER_OPTIONS"]
    queued = redis.Redis.from_url(REDIS_URL).lrange(
        options["global_keyprefix"] + config["TASK_QUEUE"], 0, -1
    )
    assert [orjson.loads(message)["headers"]["task"] for message in queued] == ["huella.fit"]


@pytest.mark.parametrize(
    "command",
    [
        ["worker"],
        ["ping-workers"],
        ["resolve", "--enqueue"],
        ["customers", "refresh", "--enqueue"],
        ["sync", "crm", "--enqueue"],
        ["erase", "cus_x", "--reason", "asked", "--enqueue"],
    ],
)
def test_workers_need_a_broker(cli: FlaskCliRunner, app: Flask, command: list[str]) -> None:
    add_source(app, "crm")
    result = cli.invoke(args=command)
    assert result.exit_code == 1
    assert "no broker is configured" in result.output
    assert "HUELLA_BROKER_URL" in result.output


@pytest.mark.slow
def test_an_erasure_and_a_source_removal_asked_over_the_api_run_on_a_worker(
    database: tuple[str, Engine],
    workers: Callable[..., Workers],
    huella_app: Callable[..., Flask],
) -> None:
    """The web process only queues them (202 and the job to follow); a worker erases the
    customer and removes the department, and the job says how it went."""
    require_broker(REDIS_URL)
    url, engine = database
    config = broker_config(REDIS_URL)
    app = huella_app(url, config)
    client = app.test_client()
    for name in ("crm", "desk"):
        add_source(app, name)
    with app.app_context(), get_db(app).unit_of_work() as session:
        _, secret = tokens.create(session=session, name="admin", role="admin")
    headers = {"Authorization": f"Bearer {secret}"}
    ana = {"email": "ana.duarte@example.com", "first_name": "Ana", "last_name": "Duarte"}
    luis = {"email": "luis.ortega@example.net", "first_name": "Luis", "last_name": "Ortega"}
    push(client, headers, "crm", record("1", **ana), record("2", **luis))
    push(client, headers, "desk", record("9", **luis))
    [found] = client.get("/api/v1/customers/lookup/crm:1", headers=headers).get_json()["data"]

    erased = client.delete(
        f"/api/v1/customers/{found['id']}", json={"reason": "request 12"}, headers=headers
    )
    removed = client.delete("/api/v1/sources/desk", headers=headers)
    for answer in (erased, removed):
        assert answer.status_code == 202, answer.get_json()
        assert answer.get_json()["status"] == "queued"  # nobody runs it in the web process
    assert client.get(erased.headers["Location"], headers=headers).get_json()["status"] == "queued"

    worker = workers(url, config).start("--pool=solo")
    jobs = [job_of(client, headers, answer, timeout=90) for answer in (erased, removed)]
    assert [(j["kind"], j["status"]) for j in jobs] == [
        ("erase", "succeeded"),
        ("remove_source", "succeeded"),
    ], jobs
    assert jobs[0]["result"]["records"] == {"crm": 1}
    assert (jobs[1]["result"]["source"], jobs[1]["result"]["records"]) == ("desk", 1)
    assert "huella.erase" in worker.output() and "huella.remove_source" in worker.output()
    assert stored_records(engine) == [("crm", "2")]
    lookup = client.get("/api/v1/customers/lookup/crm:1", headers=headers).get_json()
    assert lookup["data"] == []


def stored_records(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Source.name, SourceRecord.external_id).join(Source).order_by(Source.name)
        ).all()
    return [(row.name, row.external_id) for row in rows]
