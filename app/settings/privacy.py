"""The knobs of privacy, from config/privacy.toml: where erasure's suppression key comes from,
which roles see masked values and how each value is masked, whose reads are audited, the
purposes customers consent to.

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
MASKS = ("email", "last_digits", "no_year", "hidden")
RETAINED = ("events", "rejects", "reads", "jobs")
"""What retention deletes when it is older than configured."""
"""How a value may be masked (see app.privacy.masking)."""


@dataclass(frozen=True, slots=True)
class Purpose:
    """A purpose a customer consents to, and what holds while no department recorded a choice."""

    description: str
    default: bool


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    """The suppression key (None when its variable is not set) and the variable's name; the
    roles that see masked values and each masked name's mask; the roles whose reads are
    audited; the purposes of consent."""

    key_env: str
    suppression_key: bytes | None = field(default=None, repr=False)
    masked_roles: frozenset[str] = frozenset()
    masks: Mapping[str, str] = field(default_factory=dict)
    audited_roles: frozenset[str] = frozenset()
    purposes: Mapping[str, Purpose] = field(default_factory=dict)
    affinities_purpose: str | None = None
    """Without this purpose in force, no affinities are computed (None: always computed)."""
    retention_days: Mapping[str, int] = field(default_factory=dict)
    """How long events, rejects and reads are kept, in days (0 or absent: for ever)."""

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
    masking = data.get("masking", {})
    masks = {str(name): str(mask) for name, mask in masking.get("attributes", {}).items()}
    unknown = sorted(f"{name} = {mask!r}" for name, mask in masks.items() if mask not in MASKS)
    if unknown:
        raise ConfigError(
            f"{path}: [masking.attributes] {', '.join(unknown)}: "
            f"a mask is one of {', '.join(MASKS)}"
        )
    purposes = {
        str(name): Purpose(str(table.get("description", "")), bool(table.get("default", False)))
        for name, table in data.get("purposes", {}).items()
    }
    affinities = data.get("consent", {}).get("affinities")
    if affinities is not None and affinities not in purposes:
        raise ConfigError(f"{path}: [consent] affinities names no purpose of [purposes]")
    retention = {str(k).removesuffix("_days"): v for k, v in data.get("retention", {}).items()}
    wrong = sorted(
        name
        for name, days in retention.items()
        if name not in RETAINED or isinstance(days, bool) or not isinstance(days, int) or days < 0
    )
    if wrong:
        raise ConfigError(
            f"{path}: [retention] {', '.join(wrong)}: one of "
            f"{', '.join(k + '_days' for k in RETAINED)}, a whole number of days (0: for ever)"
        )
    return PrivacyConfig(
        key_env=key_env,
        retention_days=retention,
        purposes=purposes,
        affinities_purpose=affinities,
        suppression_key=secret.encode() if secret else None,
        masked_roles=frozenset(map(str, masking.get("roles", []))),
        masks=masks,
        audited_roles=frozenset(map(str, data.get("reads", {}).get("audited_roles", []))),
    )
