"""Tasks on a real queue: the Celery application of a Huella application, and how work is
handed to it.

With a broker (``broker_url``: Redis, or RabbitMQ by an ``amqp://`` URL), the web process and
the commands only enqueue, and ``huella worker`` processes run the tasks of
``app.ingest.tasks``. Without one (the embedded default of ``make run``), a task runs in the
process that asked for it: in a thread, or in the caller (``task_mode = "inline"``).

A task is acknowledged only once it has run (``acks_late``), so the message of a worker killed
mid-task goes back to the queue and another worker takes it: RabbitMQ at once, Redis once the
message has been out for ``broker_options.visibility_timeout`` seconds. Redis hands back a
message that is merely slow, too; each task therefore claims its own id while it runs
(``app.db.claim``, released by the database when its holder dies), a second copy waits until
the claim is free, and a copy of a task that already succeeded does nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from celery import Celery, Task
from celery.backends.base import DisabledBackend
from flask import Flask, current_app
from sqlalchemy.orm import Session

from app.db import claim, get_db
from app.errors import ConfigError
from app.ingest.tasks import AGAIN, TASKS, Busy
from app.matching import Matcher
from app.resolution.service import fit_due
from app.sync.models import Job

log = logging.getLogger(__name__)

EXTENSION = "huella.celery"
# How long a task whose subject is busy (a sync of the same source, a copy of itself) waits
# before it is tried again.
RETRY_SECONDS = 5
MODES = ("thread", "inline")


def init_app(app: Flask) -> None:
    """Give the application a Celery application when a broker is configured."""
    mode = app.config.get("TASK_MODE", "thread")
    if mode not in MODES:
        raise ConfigError(f"task_mode must be one of {', '.join(MODES)}, not {mode!r}")
    if app.config.get("BROKER_URL"):
        app.extensions[EXTENSION] = make_celery(app)


def celery_of(app: Flask) -> Celery | None:
    """The application's Celery application; None when no broker is configured."""
    celery: Celery | None = app.extensions.get(EXTENSION)
    return celery


def _result_backend(config: Mapping[str, Any]) -> str | None:
    """Where results are kept: as configured, else the broker when it is Redis (RabbitMQ keeps
    none: it hands a message back only when its worker's connection dies, never twice)."""
    if config.get("RESULT_BACKEND"):
        return str(config["RESULT_BACKEND"])
    broker = str(config["BROKER_URL"])
    return broker if broker.startswith(("redis://", "rediss://")) else None


def make_celery(app: Flask) -> Celery:
    """A Celery application whose tasks run inside ``app``'s context."""
    config = app.config

    class AppTask(Task):  # type: ignore[misc]
        """A task run once in the application's context, however often it is delivered."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                task_id = self.request.id
                if task_id is None:  # called directly, not delivered
                    return self.run(*args, **kwargs)
                if self._succeeded_before(task_id):
                    log.info("task %s %s ran already", self.name, task_id)
                    return None
                with claim(get_db(app).engine, f"task.{task_id}") as claimed:
                    try:
                        if not claimed:
                            raise Busy(f"another copy of task {task_id} is running")
                        outcome = self.run(*args, **kwargs)
                    except Busy as busy:
                        log.info("task %s waits: %s", self.name, busy)
                        raise self.retry(countdown=RETRY_SECONDS, max_retries=None) from None
                if isinstance(outcome, Mapping) and outcome.get(AGAIN):
                    self.apply_async(args=args, kwargs=kwargs)
                return outcome

        def _succeeded_before(self, task_id: str) -> bool:
            if isinstance(self.backend, DisabledBackend):
                return False
            return bool(self.AsyncResult(task_id).state == "SUCCESS")

    celery = Celery(
        app.import_name,
        broker=str(config["BROKER_URL"]),
        backend=_result_backend(config),
        task_cls=AppTask,
        set_as_current=False,
    )
    celery.conf.update(
        task_default_queue=config.get("TASK_QUEUE") or "huella",
        task_acks_late=True,
        # A worker process lost mid-task (killed, out of memory) hands its task back.
        task_reject_on_worker_lost=True,
        # One task at a time per worker process: acknowledged late, a task taken early would
        # wait behind a long one while another worker sat idle.
        worker_prefetch_multiplier=1,
        broker_transport_options=dict(config.get("BROKER_OPTIONS") or {}),
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=config.get("RESULT_EXPIRES_SECONDS", 86400),
        worker_hijack_root_logger=False,
    )
    for name, function in TASKS.items():
        celery.task(name=name)(function)
    return celery


def enqueue(app: Flask, name: str, **arguments: Any) -> str | None:
    """Hand a task to the workers; returns its id. Without a broker, run it in this process
    (in a thread, or here when ``task_mode`` is inline) and return None."""
    celery = celery_of(app)
    if celery is not None:
        return str(celery.tasks[name].apply_async(kwargs=arguments).id)
    if runs_inline(app):
        run_here(app, name, arguments)
    else:
        threading.Thread(
            target=run_here, args=(app, name, arguments), name=name, daemon=True
        ).start()
    return None


def hand_over(session: Session, job: Job, task: str, **arguments: Any) -> None:
    """Commit the ``job`` a request queued and hand its ``task`` to the workers; read the job
    back only when the task ran in this request (inline), as it has ended then."""
    session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    enqueue(app, task, job=job.id, **arguments)
    if runs_inline(app):
        session.refresh(job)


def runs_inline(app: Flask) -> bool:
    """Whether ``enqueue`` runs a task in the caller, done when it returns: no broker, and
    ``task_mode`` inline."""
    return celery_of(app) is None and app.config.get("TASK_MODE") == "inline"


# How often a process asks the workers to fit the model at most: each push that finds the
# store outgrown asks, and a fit takes a while.
FIT_ASKED_EVERY = 60.0
_fit_asked = [-FIT_ASKED_EVERY]


def fit_later(
    app: Flask, *, session: Session, matcher: Matcher, newest: int | None = None
) -> str | None:
    """When the store has outgrown its model, ask a worker to fit it (at most once a minute
    from this process); returns the task's id when it asked. A web request never fits: that
    reads every record and re-resolves them all, minutes on a large store. ``newest``: the
    highest record id the caller created (see ``fit_due``)."""
    now = time.monotonic()
    if now - _fit_asked[0] < FIT_ASKED_EVERY or not fit_due(
        session=session, matcher=matcher, newest=newest
    ):
        return None
    _fit_asked[0] = now
    return enqueue(app, "huella.fit")


def run_here(app: Flask, name: str, arguments: Mapping[str, Any]) -> None:
    """Run a task in this process, in the application's context, waiting its turn while what
    it works on is busy elsewhere (as a worker would retry it)."""
    while True:
        try:
            with app.app_context():
                outcome = TASKS[name](**arguments)
        except Busy as busy:
            log.info("task %s waits: %s", name, busy)
            time.sleep(RETRY_SECONDS)
            continue
        except Exception:  # a thread has nobody to raise to: the log says what went wrong
            log.exception("task %s failed", name)
            if app.config.get("TASK_MODE") == "inline":
                raise
            return
        log.info("task %s done: %s", name, dict(outcome))
        if not outcome.get(AGAIN):
            return
