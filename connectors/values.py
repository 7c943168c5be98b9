"""Small readers shared by connectors: settings, secrets and timestamps."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import ConfigurationError


def required_text(settings: Mapping[str, Any], name: str) -> str:
    """A non-empty text setting, or ConfigurationError naming it."""
    value = settings.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"setting {name!r} is required")
    return value.strip()


def int_setting(
    settings: Mapping[str, Any], name: str, default: int, *, minimum: int = 1, maximum: int = 0
) -> int:
    """An integer setting within [minimum, maximum] (maximum 0: unbounded)."""
    value = settings.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"setting {name!r} must be an integer, not {value!r}") from None
    if number < minimum or (maximum and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
        raise ConfigurationError(f"setting {name!r} must be {bound}, not {number}")
    return number


def secret_from_env(settings: Mapping[str, Any], name_setting: str = "token_env") -> str:
    """The secret held by the environment variable that setting ``name_setting`` names."""
    variable = required_text(settings, name_setting)
    secret = os.environ.get(variable, "")
    if not secret:
        raise ConfigurationError(
            f"environment variable {variable} (named by setting {name_setting!r}) is not set"
        )
    return secret


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text or epoch seconds; None when unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def isoformat_z(when: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, milliseconds kept (the form HubSpot writes)."""
    text = when.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
