"""The knobs of privacy, from config/privacy.toml: where erasure's suppression key comes from.

Plain data, read once at start-up into the application's :class:`app.settings.Settings`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import ConfigError

# Shorter secrets could be guessed, and every digest of the list with them.
KEY_MIN_LENGTH = 32


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    """The suppression key (None when its variable is not set) and the variable's name."""

    key_env: str
    suppression_key: bytes | None = field(default=None, repr=False)

    def require_key(self) -> bytes:
        """The suppression key, or ConfigError saying how to set it."""
        if self.suppression_key is None:
            raise ConfigError(
                f"erasure needs the suppression key: set {self.key_env} to a long random "
                "secret (e.g. `openssl rand -hex 32`) and keep it"
            )
        return self.suppression_key


def load_privacy_config(path: Path, environ: Mapping[str, str]) -> PrivacyConfig:
    """Read config/privacy.toml; the key itself comes from the variable it names."""
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    key_env = str(data.get("suppression", {}).get("key_env") or "")
    if not key_env:
        raise ConfigError(f"{path}: [suppression] key_env must name an environment variable")
    secret = environ.get(key_env, "")
    if secret and len(secret) < KEY_MIN_LENGTH:
        raise ConfigError(f"{key_env} must hold at least {KEY_MIN_LENGTH} characters")
    return PrivacyConfig(key_env=key_env, suppression_key=secret.encode() if secret else None)
