"""Configuration in one place: defaults, then $HUELLA_CONFIG, then HUELLA_* variables, then the
mapping a test or caller passes in. Keys are lower-case in files and upper-case in Flask's config.
A table (``[connectors]``, ``[rate_limits]``) is merged key by key: a later layer that sets one
of its keys keeps the others (``HUELLA_RATE_LIMITS='{enabled = false}'`` turns limits off).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULTS_PATH = PROJECT_ROOT / "config" / "default.toml"
ENV_PREFIX = "HUELLA_"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"configuration file {path} is not valid TOML: {error}") from None


def parse_value(text: str) -> Any:
    """Read numbers and booleans as TOML does; anything else stays a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Merge every configuration layer into one mapping of upper-case keys."""
    environ = os.environ if environ is None else environ
    layers: list[Mapping[str, Any]] = [_read_toml(DEFAULTS_PATH)]
    if path := environ.get(f"{ENV_PREFIX}CONFIG"):
        layers.append(_read_toml(Path(path)))
    layers.append(
        {
            name.removeprefix(ENV_PREFIX).lower(): parse_value(value)
            for name, value in environ.items()
            if name.startswith(ENV_PREFIX) and name != f"{ENV_PREFIX}CONFIG"
        }
    )
    layers.append(overrides or {})
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            name = key.upper()
            before = merged.get(name)
            if isinstance(before, Mapping) and isinstance(value, Mapping):
                merged[name] = {**before, **value}
            else:
                merged[name] = value
    return merged


def resolve_path(value: str) -> Path:
    """A configured path: absolute as given, else relative to the working directory, falling
    back to the project's own copy (so packaged config files are found from anywhere)."""
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path
    return PROJECT_ROOT / path
