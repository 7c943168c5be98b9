"""The one HTTP client every HTTP connector uses: timeouts, bounded retries with jittered
exponential backoff, ``Retry-After`` honoured, and a per-source request rate.

Built on httpx (transport) and tenacity (the retry loop). A connector makes one client per
source from its settings (``HttpClient.from_settings``) and shares it between its streams, so
the rate limit holds for the whole source.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import orjson
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from connectors.base import (
    NUMBER,
    TEXT,
    WHOLE,
    ConfigurationError,
    Connector,
    ConnectorError,
    Setting,
)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """How patient a client is: timeouts, retries and request rate of one source."""

    timeout: float = 30.0
    connect_timeout: float = 10.0
    tries: int = 6
    backoff: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 300.0
    rate_limit: float = 0.0
    burst: int = 1

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **defaults: Any) -> HttpPolicy:
        """A policy from a source's settings; ``defaults`` are the connector's own (vendor) ones."""
        base = cls(**defaults)
        values: dict[str, Any] = {}
        for name in ("timeout", "connect_timeout", "backoff", "backoff_max", "max_retry_after"):
            values[name] = _number(settings, name, getattr(base, name))
        values["rate_limit"] = _number(settings, "rate_limit", base.rate_limit)
        values["tries"] = int(_number(settings, "tries", base.tries))
        values["burst"] = int(_number(settings, "burst", base.burst))
        policy = cls(**values)
        if policy.tries < 1:
            raise ConfigurationError("setting 'tries' must be at least 1")
        return policy


def _number(settings: Mapping[str, Any], name: str, default: float) -> float:
    value = settings.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"setting {name!r} must be a number, not {value!r}") from None
    if number < 0:
        raise ConfigurationError(f"setting {name!r} must not be negative")
    return number


class TokenBucket:
    """Allows ``rate`` acquisitions a second on average, ``burst`` at once; thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = float(max(burst, 1))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; return the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            # A negative balance is a debt the caller pays by waiting; later callers queue up.
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or HTTP date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _RetryableStatusError(Exception):
    """A response worth trying again (429, 5xx), carrying how long the server asked us to wait."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


class _WaitRetryAfterOrBackoff:
    """Waits what the server asked for when it said, else full-jitter exponential backoff."""

    def __init__(self, policy: HttpPolicy) -> None:
        self.policy = policy
        self.backoff = wait_random_exponential(multiplier=policy.backoff, max=policy.backoff_max)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryableStatusError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_retry_after)
        return float(self.backoff(state))


class HttpClient:
    """JSON over HTTP for one source, with the retry, timeout and rate rules of its policy."""

    def __init__(
        self,
        base_url: str,
        *,
        policy: HttpPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> None:
        if not base_url:
            raise ConfigurationError("setting 'base_url' is required")
        self.policy = policy or HttpPolicy()
        self.base_url = base_url.rstrip("/")
        self.bucket = TokenBucket(self.policy.rate_limit, self.policy.burst)
        timeout = httpx.Timeout(self.policy.timeout, connect=self.policy.connect_timeout)
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Accept": "application/json", "User-Agent": "huella-connector/0.1"}
            | dict(headers or {}),
            auth=auth,
            timeout=timeout,
        )
        self.requests_sent = 0

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and decode its JSON body, retrying per the policy."""
        return _decode(self.request("GET", path, params=params))

    def post_json(self, path: str, body: Any, params: Mapping[str, Any] | None = None) -> Any:
        """POST a JSON body to ``path`` and decode the JSON answer, retrying per the policy."""
        return _decode(self.request("POST", path, params=params, json=body))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one logical request; ConnectorError once the tries are spent or it is refused."""
        url = f"{self.base_url}{path}" if path.startswith("/") else path
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.tries),
            wait=_WaitRetryAfterOrBackoff(self.policy),
            retry=retry_if_exception_type((_RetryableStatusError, httpx.TransportError)),
        )
        try:
            return retrying(self._send_once, method, path, params, json)
        except RetryError as spent:
            raise _exhausted(method, url, self.policy.tries, spent) from spent

    def _send_once(
        self, method: str, path: str, params: Mapping[str, Any] | None, json: Any
    ) -> httpx.Response:
        self.bucket.acquire()
        self.requests_sent += 1
        response = self._client.request(method, path, params=params, json=json)
        if response.status_code in RETRYABLE_STATUSES:
            retry_after = None
            if response.status_code in RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _RetryableStatusError(response, retry_after)
        if response.status_code >= 400:
            raise _refused(method, response)
        return response


def _exhausted(method: str, url: str, tries: int, spent: RetryError) -> ConnectorError:
    error = spent.last_attempt.exception()
    if isinstance(error, _RetryableStatusError):
        status = error.response.status_code
        what = f"HTTP {status}{_snippet(error.response)}"
        return ConnectorError(f"{method} {url} failed after {tries} tries: {what}")
    reason = type(error).__name__ if error else "unknown error"
    detail = f" ({error})" if error and str(error) else ""
    return ConnectorError(f"{method} {url} failed after {tries} tries: {reason}{detail}")


def _refused(method: str, response: httpx.Response) -> ConnectorError:
    status = response.status_code
    hint = " (check the credentials)" if status in (401, 403) else ""
    return ConnectorError(
        f"{method} {response.request.url} answered HTTP {status}{hint}{_snippet(response)}"
    )


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f": {text[:200]}" if text else ""


# orjson reads integers past 64 bits as floats, losing digits; bodies with such numbers (or
# with NaN, which orjson refuses) go to the standard library, which keeps them exactly. A long
# number starts where a JSON value can (digits inside a hash or an id string do not count).
_LONG_NUMBER = re.compile(rb"(?:^|[:\[,\s-])\d{19}")


def _decode(response: httpx.Response) -> Any:
    body = response.content
    if not _LONG_NUMBER.search(body):
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(body)
    try:
        return json.loads(body)
    except ValueError:
        raise ConnectorError(
            f"{response.request.method} {response.request.url} answered with a body that is "
            f"not JSON{_snippet(response)}"
        ) from None


class HttpConnector(Connector):
    """A connector that reads an HTTP API: one client per source, built from its settings.

    Common settings: ``base_url``, ``token_env`` (the NAME of the environment variable that
    holds the secret), ``timeout``, ``connect_timeout``, ``tries``, ``backoff``,
    ``backoff_max``, ``max_retry_after``, ``rate_limit`` (requests a second; 0: unlimited),
    ``burst`` and ``page_size``.
    """

    default_policy: ClassVar[Mapping[str, Any]] = {}
    settings_schema: ClassVar[Mapping[str, Setting]] = {
        "base_url": Setting(TEXT, required=True, names="web address"),
        "token_env": Setting(TEXT, required=True, names="environment variable"),
        "page_size": Setting(WHOLE),
        **{name: Setting(NUMBER) for name in ("timeout", "connect_timeout", "backoff")},
        **{name: Setting(NUMBER) for name in ("backoff_max", "max_retry_after", "rate_limit")},
        "tries": Setting(WHOLE),
        "burst": Setting(WHOLE),
    }

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.policy = HttpPolicy.from_settings(settings, **self.default_policy)
        self._client: HttpClient | None = None

    @property
    def client(self) -> HttpClient:
        """The source's client, made on first use (so a missing secret fails the read, not
        the construction)."""
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def make_client(self) -> HttpClient:
        """A client with this vendor's authentication."""
        raise NotImplementedError

    def client_factory(self) -> HttpClient:
        """The shared client, for streams to call when they first read (so a missing secret
        fails the read, not the construction)."""
        return self.client

    def close(self) -> None:
        """Release the client's connections."""
        if self._client is not None:
            self._client.close()
            self._client = None
