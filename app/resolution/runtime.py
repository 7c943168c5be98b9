"""The matcher of the running application, for views, CLI commands and jobs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.matching import Matcher
from app.resolution.service import build_matcher
from app.settings import get_settings


def current_matcher(session: Session) -> Matcher:
    """A matcher configured for the application and the store's declared attributes."""
    return build_matcher(session=session, config=get_settings().match)
