"""Finding 7: rate limits per token (by role) and per address, failed authentications
throttled per address, a 429 problem document with Retry-After; counts shared between server
processes through Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.auth import service as tokens
from app.db import get_db
from tests.conftest import IN_CI, huella_config

Headers = Callable[..., dict[str, str]]
LIMITS = {
    "enabled": True,
    "admin": "6 per minute",
    "agent": "3 per minute",
    "connector": "3 per minute",
    "per_address": "20 per minute",
    "failed_authentications": "3 per minute",
}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"RATE_LIMITS": LIMITS}


def assert_too_many(response: TestResponse) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60


def statuses(client: FlaskClient, headers: dict[str, str], times: int, **environ: str) -> list[int]:
    return [
        client.get("/api/v1/me", headers=headers, environ_base=environ).status_code
        for _ in range(times)
    ]


def test_a_token_past_its_roles_limit_waits(client: FlaskClient, make_token: Headers) -> None:
    agent, other_agent, admin = make_token("agent"), make_token("agent"), make_token("admin")
    assert statuses(client, agent, 3) == [200] * 3
    assert_too_many(client.get("/api/v1/customers?q=ana", headers=agent))
    assert statuses(client, other_agent, 3) == [200] * 3  # each token counts for itself
    assert statuses(client, admin, 7) == [200] * 6 + [429]  # admins are allowed more


def test_failed_authentications_are_throttled_per_address(
    client: FlaskClient, make_token: Headers
) -> None:
    good = make_token("admin")
    wrong = {"Authorization": "Bearer hu_guessed"}
    assert statuses(client, wrong, 3) == [401] * 3
    assert_too_many(client.get("/api/v1/me", headers=wrong))
    assert_too_many(client.get("/api/v1/me", headers=good))  # the address waits, whatever it sends
    assert statuses(client, good, 1, REMOTE_ADDR="10.9.8.7") == [200]  # another address does not


def test_every_request_of_an_address_counts(client: FlaskClient, make_token: Headers) -> None:
    tokens = [make_token("admin") for _ in range(4)]
    answers = [status for token in tokens for status in statuses(client, token, 6)]
    assert answers[:20] == [200] * 20 and set(answers[20:]) == {429}


def test_probes_and_the_console_are_not_counted(client: FlaskClient) -> None:
    for _ in range(25):
        assert client.get("/healthz").status_code == 200
        assert client.get("/openapi.json").status_code == 200


def test_disabled_limits_count_nothing(database_url: str) -> None:
    app = create_app(huella_config(database_url, RATE_LIMITS={**LIMITS, "enabled": False}))
    client = app.test_client()
    assert {client.get("/api/v1/me").status_code for _ in range(10)} == {401}


def redis_url() -> str:
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if IN_CI:
            pytest.fail("Redis is not reachable; CI requires the Redis tests", pytrace=False)
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return url


def test_server_processes_share_their_counts_through_redis(live_app: Flask) -> None:
    url = live_app.config["DATABASE_URL"]
    shared = {**LIMITS, "storage_uri": redis_url(), "key_prefix": f"test-{uuid.uuid4().hex}"}
    # Two applications stand for two worker processes: each has its own Flask-Limiter.
    workers = [create_app(huella_config(url, RATE_LIMITS=shared)) for _ in range(2)]
    with live_app.app_context(), get_db(live_app).unit_of_work() as session:
        _, secret = tokens.create(session=session, name="desk", role="agent")
    agent = {"Authorization": f"Bearer {secret}"}
    clients = [worker.test_client() for worker in workers]
    answers = [clients[n % 2].get("/api/v1/me", headers=agent).status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]
    for worker in workers:
        get_db(worker).dispose()
