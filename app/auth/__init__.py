"""Bearer tokens and roles."""

from app.auth.guard import init_app

__all__ = ["init_app"]
