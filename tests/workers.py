"""Real brokers and real ``huella worker`` processes, started and stopped by the tests.

Redis at 127.0.0.1:6379 and RabbitMQ at 127.0.0.1:5672 (``HUELLA_TEST_REDIS_URL``,
``HUELLA_TEST_AMQP_URL``) are what the development machines and CI run; without them these
tests skip, except with CI=true, where they fail. Each test keeps to keys and a queue of its
own, so tests running at once (and anyone else's workers on the same Redis) never take each
other's tasks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import IN_CI, connectors_config

REDIS_URL = os.environ.get("HUELLA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Without a user, RabbitMQ's client logs in as its default development user.
AMQP_URL = os.environ.get("HUELLA_TEST_AMQP_URL", "amqp://127.0.0.1:5672//")
BROKERS = {"redis": REDIS_URL, "rabbitmq": AMQP_URL}


def require_broker(url: str) -> None:
    """Skip the test when the broker does not answer (fail it with CI=true)."""
    parts = urlsplit(url)
    port = parts.port or (6379 if parts.scheme.startswith("redis") else 5672)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=3).close()
    except OSError:
        message = f"no broker answers at {parts.hostname}:{port}"
        if IN_CI:
            pytest.fail(f"{message}; CI requires the worker tests", pytrace=False)
        pytest.skip(message)


def broker_config(url: str, *, redelivery_seconds: int = 2) -> dict[str, Any]:
    """The configuration of one test's tasks: its broker, and keys and a queue of its own.
    A killed worker's task goes back to the queue after ``redelivery_seconds`` (Redis)."""
    tag = uuid.uuid4().hex[:10]
    return {
        "BROKER_URL": url,
        "TASK_QUEUE": f"huella-test-{tag}",
        "BROKER_OPTIONS": {
            "visibility_timeout": redelivery_seconds,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
            "global_keyprefix": f"huella-test-{tag}:",
        },
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    """A configuration file for ``huella`` in a subprocess: the sandboxes allowed, and
    ``config`` (upper-case keys, as tests pass them to ``create_app``)."""
    path = folder / f"huella-{uuid.uuid4().hex[:8]}.toml"
    lines = [f"{key.lower()} = {_toml_value(value)}" for key, value in config.items()]
    lines.append(f"connectors = {_toml_value(connectors_config())}")
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Worker:
    """A ``huella worker`` process and the file its output goes to."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """What the worker printed so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no chance to finish or hand anything back."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """Ask the worker to stop (SIGTERM), then kill it if it does not within a while."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Workers:
    """Starts ``huella worker`` processes on one database and configuration, and stops every
    one of them at the end of the test."""

    folder: Path
    database_url: str
    config: Path
    env: dict[str, str] = field(default_factory=dict)
    started: list[Worker] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """The environment of ``huella`` processes on this database and configuration."""
        return {
            **os.environ,
            **self.env,
            "HUELLA_DATABASE_URL": self.database_url,
            "HUELLA_CONFIG": str(self.config),
        }

    def run(self, *arguments: str) -> str:
        """Run a ``huella`` command to its end; returns its output, asserting success."""
        done = subprocess.run(
            [sys.executable, "-m", "app", *arguments],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, *options: str, command: str = "worker") -> Worker:
        """Start a worker (or, with ``command``, another long-running ``huella`` process)."""
        number = len(self.started) + 1
        log = self.folder / f"{command}-{number}.log"
        arguments = [sys.executable, "-m", "app", command, *options]
        if command == "worker":
            arguments += [f"--name=w{number}-{uuid.uuid4().hex[:6]}@%h", "--"]
            arguments += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        env = self.environment()
        with log.open("wb") as out:
            process = subprocess.Popen(
                arguments, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = Worker(process, log)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        """Stop every process started."""
        for worker in self.started:
            worker.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Workers]]:
    """Make a set of worker processes for a database and configuration; all are stopped
    when the test ends, whatever happened."""
    made: list[Workers] = []

    def make(database_url: str, config: dict[str, Any], **env: str) -> Workers:
        group = Workers(tmp_path, database_url, write_config(tmp_path, config), env)
        made.append(group)
        return group

    yield make
    for group in made:
        group.stop_all()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if outcome := check():
            return outcome
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
