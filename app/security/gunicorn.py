"""Gunicorn's settings for Huella: ``gunicorn -c python:app.security.gunicorn 'app:create_app()'``.

Options given on the command line (``-w``, ``-b``, ``--access-logfile``) or in
``GUNICORN_CMD_ARGS`` still apply.
"""

import os

# The longest request line gunicorn reads (its maximum). Huella refuses addresses longer than
# max_url_length (4096 by default) itself, with a problem document; gunicorn's own answer to
# a longer line is an HTML page, so its limit must be the higher one.
limit_request_line = 8190
# Addresses in the access log lose their query values and the identifier a lookup names.
logger_class = "app.security.logs.RedactingLogger"


def _cores() -> int:
    """The cores this process may run on (a container's cpuset; all of them on macOS)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Two processes a core, two threads each: a push spends about a quarter of its CPU in
# PostgreSQL (``python -m bench push``), and the GIL runs one thread of a process at a time.
# WEB_CONCURRENCY, gunicorn's own variable, sets the number of processes instead.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cores())
threads = 2
# A worker accepts a connection only when one of its threads is free to serve it, so waiting
# requests stay in the listen queue for whichever worker frees first. Accepting more (gunicorn's
# default is 1,000), a busy worker queued requests behind its own while another sat idle: under
# 20 pushing clients (``python -m bench scale``) the slowest 1% took 4 to 6 times the median.
# With --threads N, pass --worker-connections N too.
worker_connections = threads
# No room is left to keep an idle connection open, so none is: each response closes its
# connection (a proxy in front keeps its clients' connections alive).
keepalive = 0
