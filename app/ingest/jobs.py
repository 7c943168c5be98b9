"""Starting syncs outside the request that asked for them."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from app.db import get_db
from app.ingest import sync as runner
from app.resolution.runtime import current_matcher
from app.settings import get_settings

log = logging.getLogger(__name__)


def run_in_app(app: Flask, source_name: str, run_id: int, full: bool) -> None:
    """Run a queued sync inside its own application context."""
    with app.app_context():
        run = runner.run_sync(
            database=get_db(app),
            settings=get_settings(app),
            source_name=source_name,
            matcher_for=current_matcher,
            full=full,
            run_id=run_id,
        )
        log.info("sync of %s finished: %s %s", source_name, run.status, run.error or "")


def start(app: Flask, source_name: str, run_id: int, full: bool) -> None:
    """Run a queued sync now: in a background thread, or inline when so configured."""
    if app.config["SYNC_MODE"] == "inline":
        run_in_app(app, source_name, run_id, full)
        return
    thread = threading.Thread(
        target=run_in_app, args=(app, source_name, run_id, full), name=f"sync-{source_name}"
    )
    thread.daemon = True
    thread.start()
