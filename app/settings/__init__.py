"""What Huella is configured with, as one frozen value.

The application factory reads it once at start-up (a setting that is missing or does not read
is an error then, not later) and keeps it on ``app.extensions``. Views, CLI commands and jobs
fetch it with :func:`get_settings` and pass it down; services take it as a keyword argument and
never look for a running application.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from app.config import resolve_path
from app.errors import ConfigError
from app.matching import MatchConfig, load_match_config
from app.settings.customer import CustomerConfig, load_customer_config
from app.settings.privacy import PrivacyConfig, load_privacy_config
from app.settings.scheduler import SchedulerSettings
from app.settings.sources import SourcePolicy

EXTENSION = "huella.settings"
# The files the settings are read from, by the key naming each in the configuration mapping.
_FILES = ("MATCHING_CONFIG", "SURVIVORSHIP_CONFIG", "TRAITS_CONFIG", "PRIVACY_CONFIG")


@dataclass(frozen=True, slots=True)
class Settings:
    """The matcher's configuration, the customer view's, what source settings may name, how
    long one value of a record or event may be, privacy's, how long a review claim holds and
    the scheduler's; read once."""

    match: MatchConfig
    customer: CustomerConfig
    sources: SourcePolicy
    max_value_length: int
    privacy: PrivacyConfig
    review_claim_minutes: float
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)


def load_settings(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """The settings the files named in a configuration mapping (``load_config``'s) hold;
    secrets come from ``environ`` (the process's environment by default)."""
    missing = [key.lower() for key in _FILES if not config.get(key)]
    if missing:
        raise ConfigError(f"missing setting: {', '.join(missing)}")
    return Settings(
        match=_match_config(resolve_path(config["MATCHING_CONFIG"])),
        customer=load_customer_config(
            resolve_path(config["SURVIVORSHIP_CONFIG"]), resolve_path(config["TRAITS_CONFIG"])
        ),
        sources=SourcePolicy.from_config(config),
        max_value_length=_positive(config, "MAX_VALUE_LENGTH"),
        privacy=load_privacy_config(
            resolve_path(config["PRIVACY_CONFIG"]), os.environ if environ is None else environ
        ),
        review_claim_minutes=float(config["REVIEW_CLAIM_MINUTES"]),
        scheduler=SchedulerSettings.from_config(config),
    )


def _positive(config: Mapping[str, Any], key: str) -> int:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{key.lower()} must be a whole number above 0, not {value!r}")
    return value


def _match_config(path: Path) -> MatchConfig:
    try:
        return load_match_config(path)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None


def init_app(app: Flask) -> None:
    """Read the application's settings, failing at start-up when one is missing."""
    app.extensions[EXTENSION] = load_settings(app.config)


def get_settings(app: Flask | None = None) -> Settings:
    """The settings of an application (the running one by default): for views, commands and
    jobs, which pass them on."""
    settings: Settings = (app or current_app).extensions[EXTENSION]
    return settings
