"""The shared HTTP client against a real local server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from connectors.base import ConfigurationError, ConnectorError
from connectors.http import HttpClient, HttpPolicy, TokenBucket, parse_retry_after
from tests.connectors.scripted_server import Reply, scripted

FAST = HttpPolicy(timeout=0.5, connect_timeout=0.5, tries=4, backoff=0.01, backoff_max=0.05)


def test_a_good_answer_is_decoded() -> None:
    with scripted(Reply(body={"hello": "world"})) as server, HttpClient(server.url) as client:
        assert client.get_json("/x", {"a": 1}) == {"hello": "world"}
        assert server.seen[0].path == "/x?a=1"


def test_numbers_are_decoded_exactly_however_long() -> None:
    # A 64-bit float cannot hold a 25-digit id; NaN is not strict JSON but some APIs send it.
    body = b'{"id": 1234567890123456789012345, "ratio": 0.5, "score": NaN}'
    with scripted(Reply(body=body)) as server, HttpClient(server.url) as client:
        answer = client.get_json("/x")
    assert answer["id"] == 1234567890123456789012345
    assert answer["ratio"] == 0.5
    assert answer["score"] != answer["score"]  # NaN


def test_500s_are_retried_until_an_answer_comes() -> None:
    replies = [Reply(500), Reply(502), Reply(body={"n": 3})]
    with scripted(*replies) as server, HttpClient(server.url, policy=FAST) as client:
        assert client.get_json("/x") == {"n": 3}
        assert len(server.seen) == 3


def test_429_waits_for_retry_after_seconds() -> None:
    replies = [Reply(429, headers={"Retry-After": "0.3"}), Reply(body={"ok": 1})]
    with scripted(*replies) as server, HttpClient(server.url, policy=FAST) as client:
        assert client.get_json("/x") == {"ok": 1}
        first, second = server.seen
        assert second.at - first.at >= 0.3


def test_503_honours_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2.2), usegmt=True)
    replies = [Reply(503, headers={"Retry-After": when}), Reply(body={"ok": 1})]
    with scripted(*replies) as server, HttpClient(server.url, policy=FAST) as client:
        assert client.get_json("/x") == {"ok": 1}
        first, second = server.seen
        # HTTP dates have whole seconds: the wait is at least what remains of that second.
        assert second.at - first.at >= 0.15


def test_retry_after_is_capped_by_the_policy() -> None:
    policy = HttpPolicy(tries=2, backoff=0.01, max_retry_after=0.1)
    replies = [Reply(429, headers={"Retry-After": "3600"}), Reply(body={"ok": 1})]
    with scripted(*replies) as server, HttpClient(server.url, policy=policy) as client:
        started = time.monotonic()
        assert client.get_json("/x") == {"ok": 1}
        assert time.monotonic() - started < 2


def test_a_hanging_response_times_out_and_is_retried() -> None:
    replies = [Reply(delay=5), Reply(body={"ok": 1})]
    with scripted(*replies) as server, HttpClient(server.url, policy=FAST) as client:
        started = time.monotonic()
        assert client.get_json("/x") == {"ok": 1}
        assert time.monotonic() - started < 2
        assert len(server.seen) == 2


def test_the_last_failure_names_url_and_status() -> None:
    with scripted(Reply(503, body={"error": "down"})) as server:
        with HttpClient(server.url, policy=FAST) as client, pytest.raises(ConnectorError) as err:
            client.get_json("/api/things")
        assert len(server.seen) == FAST.tries
    message = str(err.value)
    assert f"{server.url}/api/things" in message
    assert "HTTP 503" in message
    assert "after 4 tries" in message


def test_an_unreachable_server_fails_after_the_tries() -> None:
    with scripted() as server:
        url = server.url
    with HttpClient(url, policy=FAST) as client, pytest.raises(ConnectorError) as err:
        client.get_json("/x")
    assert "ConnectError" in str(err.value)
    assert url in str(err.value)


def test_a_client_error_is_not_retried() -> None:
    with scripted(Reply(401, body={"error": "bad token"})) as server:
        with HttpClient(server.url, policy=FAST) as client, pytest.raises(ConnectorError) as err:
            client.get_json("/x")
        assert len(server.seen) == 1
    assert "HTTP 401" in str(err.value)
    assert "credentials" in str(err.value)


def test_a_body_that_is_not_json_is_an_error() -> None:
    with (
        scripted(Reply(body=b"<html>oops</html>")) as server,
        HttpClient(server.url, policy=FAST) as client,
        pytest.raises(ConnectorError) as err,
    ):
        client.get_json("/x")
    assert "not JSON" in str(err.value)


def test_the_rate_limit_spaces_requests() -> None:
    policy = HttpPolicy(rate_limit=20, burst=1)
    with scripted(Reply()) as server, HttpClient(server.url, policy=policy) as client:
        started = time.monotonic()
        for _ in range(6):
            client.get_json("/x")
        # Six requests at 20/s with no burst take at least five intervals of 50 ms.
        assert time.monotonic() - started >= 0.24


def test_headers_are_sent() -> None:
    headers = {"Authorization": "Bearer abc"}
    with scripted(Reply()) as server, HttpClient(server.url, headers=headers) as client:
        client.get_json("/x")
    assert server.seen[0].headers["Authorization"] == "Bearer abc"


def test_token_bucket_allows_a_burst_then_paces() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(10, burst=3, clock=lambda: now[0], sleep=sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(0.1)
    assert waits[4] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected


def test_policy_from_settings_reads_numbers_and_rejects_nonsense() -> None:
    policy = HttpPolicy.from_settings({"timeout": "2.5", "tries": 3}, rate_limit=10.0)
    assert (policy.timeout, policy.tries, policy.rate_limit) == (2.5, 3, 10.0)
    with pytest.raises(ConfigurationError, match="timeout"):
        HttpPolicy.from_settings({"timeout": "soon"})
    with pytest.raises(ConfigurationError, match="tries"):
        HttpPolicy.from_settings({"tries": 0})
