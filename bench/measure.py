"""What the benchmarks read outside their own process: a process's CPU seconds and its wait for
a CPU (Linux's /proc), and PostgreSQL's side of a run (its backends' CPU, the deadlocks it
broke). One copy each, for every benchmark and the tests that judge parallel work."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine


def cpu_seconds(pid: int) -> float:
    """The CPU seconds (user and system) a process of this machine has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_wait() -> float:
    """Seconds this process has spent ready to run but waiting for a CPU (Linux's schedstat):
    time lost to whatever else the machine runs, not to Huella's own waits."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def backend_pids(engine: Engine, *, but_this_one: bool = False) -> list[int]:
    """The server processes serving ``engine``'s database; ``but_this_one`` leaves out the one
    that answers the question."""
    others = " AND pid <> pg_backend_pid()" if but_this_one else ""
    with engine.connect() as connection:
        return list(
            connection.scalars(
                text(f"SELECT pid FROM pg_stat_activity WHERE datname = current_database(){others}")
            )
        )


def backends_cpu(engine: Engine) -> float:
    """CPU seconds used so far by the server processes serving ``engine``'s database."""
    return sum(cpu_seconds(pid) for pid in backend_pids(engine))


def deadlocks(engine: Engine) -> int:
    """Deadlocks PostgreSQL has broken in this database since its statistics were reset."""
    with engine.connect() as connection:
        return int(
            connection.scalar(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            )
            or 0
        )
