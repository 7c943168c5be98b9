"""``huella worker``, the process that runs the tasks the web process and commands queue, and
``huella scheduler``, the one that queues scheduled syncs and periodic tasks."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click
from celery import Celery
from celery.signals import worker_process_init
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.commands import ensure_schema, fail
from app.db import get_db
from app.ingest.scheduler import run_scheduler
from app.ingest.worker import celery_of, enqueue

NO_BROKER = (
    "no broker is configured: set broker_url (HUELLA_BROKER_URL=redis://HOST:6379/0, or "
    "amqp://USER:PASSWORD@HOST:5672// for RabbitMQ); without one, tasks run in the process "
    "that asks for them"
)


def running_celery() -> tuple[Flask, Celery]:
    """The running application and its Celery application; stops the command without one."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    celery = celery_of(app)
    if celery is None:
        fail(NO_BROKER)
    return app, celery


@click.command(
    "worker", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.option(
    "--concurrency",
    "-c",
    type=int,
    default=None,
    help="Processes (or threads) running tasks. Default: one per CPU core.",
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "threads", "solo"]),
    default="prefork",
    show_default=True,
    help="prefork: child processes, what resolution's CPU work wants; solo: this process only.",
)
@click.option("--name", default=None, help="The worker's node name (default celery@HOST).")
@click.argument("celery_options", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker_command(
    concurrency: int | None, pool: str, name: str | None, celery_options: tuple[str, ...]
) -> None:
    """Run tasks from the queue: syncs, resolutions, trainings, customer refreshes. Options
    after ``--`` go to Celery's worker as they are."""
    app, celery = running_celery()
    ensure_schema()
    database = get_db(app)

    def forget_parent_connections(**_: object) -> None:
        # A forked child shares its parent's pooled sockets: it must open its own, and must
        # not close the parent's (close=False only drops them from the child's pool).
        database.engine.dispose(close=False)
        database.read_engine.dispose(close=False)

    worker_process_init.connect(forget_parent_connections, weak=False)

    arguments = ["worker", f"--pool={pool}", f"--loglevel={app.config['LOG_LEVEL']}"]
    if concurrency:
        arguments.append(f"--concurrency={concurrency}")
    if name:
        arguments.append(f"--hostname={name}")
    celery.worker_main([*arguments, *celery_options])


@click.command("ping-workers")
@click.option("--name", default=None, help="Ask only this worker (its node name, celery@HOST).")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for answers.")
@with_appcontext
def ping_workers_command(name: str | None, timeout: float) -> None:
    """Ask the running workers to answer, for health checks: exits 1 when none does."""
    _, celery = running_celery()
    answers = celery.control.ping(destination=[name] if name else None, timeout=timeout)
    names = sorted(node for answer in answers for node in answer)
    if not names:
        fail(f"no worker answered within {timeout:g}s")
    for node in names:
        click.echo(f"{node}: ok")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Queue scheduled syncs and periodic tasks when they are due, until stopped (SIGTERM or
    Ctrl-C). Several may run: one leads, the others stand by. Without a broker, the tasks run
    in this process."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    ensure_schema()
    if celery_of(app) is None:
        click.echo("no broker is configured: the scheduled tasks run in this process", err=True)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    run_scheduler(app, stop=stop)


ENQUEUE = "Queue it for the workers (`huella worker`) and return at once."


def enqueue_option(function: Any) -> Any:
    """``--enqueue``: hand a command's work to the workers instead of doing it here."""
    return click.option("--enqueue", "queued", is_flag=True, help=ENQUEUE)(function)


def hand_to_workers(name: str, **arguments: Any) -> None:
    """Queue a task for the workers and say so; stops the command when there is no broker."""
    app, _ = running_celery()
    task_id = enqueue(app, name, **arguments)
    click.echo(f"queued {name} as task {task_id}")


COMMANDS: tuple[click.Command, ...] = (worker_command, scheduler_command, ping_workers_command)
