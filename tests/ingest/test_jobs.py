"""A job an API request queued always ends: succeeded, failed with the problem the request
would have answered, or failed when its work broke unexpectedly (never running for ever)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.db import get_db
from app.errors import NotFound
from app.ingest.tasks import _as_job
from app.sync import service as sync


def queued(app: Flask) -> int:
    with app.app_context(), get_db(app).unit_of_work() as session:
        return sync.queue_job(session=session, kind="erase", subject="c-1", actor="an admin").id


def ended(session: Session, job_id: int) -> tuple[str, int | None]:
    session.expire_all()
    job = sync.get_job(session=session, job_id=job_id)
    return job.status, (job.error or {}).get("status")


def test_a_job_whose_work_breaks_ends_failed_and_the_task_fails(
    app: Flask, session: Session
) -> None:
    job_id = queued(app)

    def broken(_session: Session) -> dict[str, object]:
        raise RuntimeError("the disk is full")

    with app.app_context(), pytest.raises(RuntimeError):
        _as_job(job_id, broken)
    assert ended(session, job_id) == ("failed", 500)


def test_a_job_refused_by_the_domain_ends_failed_with_its_problem(
    app: Flask, session: Session
) -> None:
    job_id = queued(app)

    def gone(_session: Session) -> dict[str, object]:
        raise NotFound("no customer c-1")

    with app.app_context():
        assert _as_job(job_id, gone) == {"job": job_id, "status": "failed"}
    assert ended(session, job_id) == ("failed", 404)
