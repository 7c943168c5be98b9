"""Admin views of resolution: values too common to block on."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, url_for
from flask_smorest import Blueprint

from app.auth.guard import roles
from app.db import get_session
from app.resolution import service
from app.resolution.runtime import current_matcher
from app.resolution.schemas import GenericValueListSchema
from app.sync import service as sync
from app.sync.models import Job
from app.sync.schemas import JobSchema

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Administration")


@blp.get("/jobs/<int:job_id>")
@blp.response(200, JobSchema)
@roles("admin")
def get_job(job_id: int) -> Job:
    """Work a request handed to the workers (an erasure, a source's removal): its status, and
    what it did once it succeeded."""
    return sync.get_job(session=get_session(), job_id=job_id)


def accepted(job: Job) -> Response:
    """The answer to a request whose work the workers do: 202, the job, and where to follow
    it (Location)."""
    response = Response(
        orjson.dumps(JobSchema().dump(job)), status=202, mimetype="application/json"
    )
    response.headers["Location"] = url_for("admin.get_job", job_id=job.id)
    return response


@blp.get("/generic-values")
@blp.response(200, GenericValueListSchema)
@roles("admin")
def generic_values() -> dict[str, Any]:
    """Blocking values shared by more records than the cap: they generate no candidates."""
    session = get_session()
    matcher = current_matcher(session)
    rows = service.generic_values(session=session, matcher=matcher)
    return {
        "data": [
            {"key": key, "records": count, "cap": matcher.key_cap(key)} for key, count in rows
        ],
        "cap": matcher.config.generic_key_cap,
    }
