"""How many worker processes ``app.security.gunicorn`` starts: its cores are capped by a
container's CPU quota, and WEB_CONCURRENCY, when set, must be a whole number of 1 or more."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from app.security import gunicorn

HOST_CORES = 32  # more than any quota below allows, so a quota that is ignored shows


@pytest.fixture(autouse=True)
def big_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn, "_affinity", lambda: HOST_CORES)


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000\n", HOST_CORES),  # no limit
        ("150000 100000\n", 2),  # --cpus 1.5: a part of a core counts as one
        ("100000 100000\n", 1),
        ("50000 100000\n", 1),  # less than a core still runs one
        ("3200000 100000\n", HOST_CORES),  # a quota above the host's cores
        ("garbage\n", HOST_CORES),
        ("abc 100000\n", HOST_CORES),
        ("100000 0\n", HOST_CORES),
        ("", HOST_CORES),
    ],
)
def test_cores_are_capped_by_the_cgroup_quota(tmp_path: Path, cpu_max: str, expected: int) -> None:
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    assert gunicorn._cores(path) == expected


def test_cores_without_a_cgroup_file_are_the_affinity(tmp_path: Path) -> None:
    assert gunicorn._cores(tmp_path / "missing") == HOST_CORES


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 8), ("", 8), ("1", 1), ("3", 3), (" 5 ", 5)]
)
def test_web_concurrency_sets_the_workers(value: str | None, expected: int) -> None:
    assert gunicorn._web_concurrency(value, cores=4) == expected


@pytest.mark.parametrize("value", ["abc", "2.5", "0", "-1"])
def test_a_bad_web_concurrency_stops_the_start_naming_it(value: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        gunicorn._web_concurrency(value, cores=4)
    message = str(stopped.value)
    assert "WEB_CONCURRENCY" in message and repr(value) in message


def test_the_settings_read_web_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        with monkeypatch.context() as patch:
            patch.setenv("WEB_CONCURRENCY", "3")
            assert importlib.reload(gunicorn).workers == 3
    finally:
        importlib.reload(gunicorn)  # the settings as the environment gives them
