"""The matcher of the running application, for views, CLI commands and jobs."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from app.matching import MatchConfig, Matcher
from app.resolution.service import build_matcher


def match_config() -> MatchConfig:
    """The matching configuration the application was started with."""
    config: MatchConfig = current_app.extensions["huella.match_config"]
    return config


def current_matcher(session: Session) -> Matcher:
    """A matcher configured for the application and the store's declared attributes."""
    return build_matcher(session=session, config=match_config())
