"""Gunicorn's settings for Huella: ``gunicorn -c python:app.security.gunicorn 'app:create_app()'``.

Options given on the command line (``-w``, ``-b``, ``--access-logfile``) or in
``GUNICORN_CMD_ARGS`` still apply.
"""

import math
import os
from pathlib import Path

# The longest request line gunicorn reads (its maximum). Huella refuses addresses longer than
# max_url_length (4096 by default) itself, with a problem document; gunicorn's own answer to
# a longer line is an HTML page, so its limit must be the higher one.
limit_request_line = 8190
# Addresses in the access log lose their query values and the identifier a lookup names.
logger_class = "app.security.logs.RedactingLogger"

# Where cgroup v2 states a container's CPU quota (docker --cpus, a Kubernetes limit).
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _affinity() -> int:
    """The cores this process may run on (a container's cpuset; all of them on macOS)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cores(cpu_max: Path = CPU_MAX) -> int:
    """The cores this process may use: its affinity, capped by its cgroup's CPU quota.

    The affinity alone counts a 32-core host's cores inside a 1-CPU container, and 64
    workers, each with its own pool, exhaust PostgreSQL's connections. Without a readable
    quota (no cgroup v2, no limit: "max 100000") the affinity stands.
    """
    cores = _affinity()
    try:
        quota, period = cpu_max.read_text().split()
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):
        pass
    return max(cores, 1)


def _web_concurrency(value: str | None, cores: int) -> int:
    """Worker processes: WEB_CONCURRENCY if set, else two a core.

    At 0 gunicorn would listen and never answer, so a value below 1 stops the start, and so
    does one that is not a whole number (gunicorn 27 parses the variable itself first, and
    stops on that with a traceback of its own before this module is read).
    """
    if not value:
        return 2 * cores
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1:
        raise SystemExit(f"WEB_CONCURRENCY must be a whole number of 1 or more, not {value!r}")
    return workers


# Two processes a core, two threads each: a push spends about a quarter of its CPU in
# PostgreSQL (``python -m bench push``), and the GIL runs one thread of a process at a time.
# WEB_CONCURRENCY, gunicorn's own variable, sets the number of processes instead.
workers = _web_concurrency(os.environ.get("WEB_CONCURRENCY"), _cores())
threads = 2
# A worker accepts a connection only when one of its threads is free to serve it, so waiting
# requests stay in the listen queue for whichever worker frees first. Accepting more (gunicorn's
# default is 1,000), a busy worker queued requests behind its own while another sat idle: under
# 20 pushing clients (``python -m bench scale``) the slowest 1% took 4 to 6 times the median.
# With --threads N, pass --worker-connections N too.
worker_connections = threads
# With worker_connections == threads no room is left to keep an idle connection open, so each
# response closes its connection whatever keepalive says (a proxy in front keeps its clients'
# connections alive; gunicorn warns at start that none can be kept). keepalive is also how long
# a new connection whose request has not come in its first 5 s (a proxy's pre-opened
# connection, a slow client) waits for it: at 0 gunicorn closed such a connection unanswered.
keepalive = 2
