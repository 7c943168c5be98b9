"""Configuration layers: defaults, then $HUELLA_CONFIG, then HUELLA_* variables, then overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_config
from app.errors import ConfigError


def test_defaults_put_the_database_under_var() -> None:
    config = load_config(environ={})
    assert config["DATABASE_URL"] == "sqlite:///var/huella.db"
    assert config["PORT"] == 5000


def test_each_layer_overrides_the_one_before(tmp_path: Path) -> None:
    file = tmp_path / "huella.toml"
    file.write_text('port = 6000\nlog_level = "DEBUG"\ndatabase_url = "sqlite:///from-file.db"\n')
    environ = {"HUELLA_CONFIG": str(file), "HUELLA_PORT": "7000", "HUELLA_LOG_LEVEL": "ERROR"}
    config = load_config({"LOG_LEVEL": "WARNING"}, environ=environ)
    assert config["DATABASE_URL"] == "sqlite:///from-file.db"  # file over defaults
    assert config["PORT"] == 7000  # environment over file, read as a number
    assert config["LOG_LEVEL"] == "WARNING"  # the caller's mapping over everything


def test_a_table_is_merged_key_by_key(tmp_path: Path) -> None:
    file = tmp_path / "huella.toml"
    file.write_text('[connectors]\nallowed_hosts = ["https://crm.internal"]\n')
    environ = {"HUELLA_CONFIG": str(file), "HUELLA_RATE_LIMITS": "{enabled = false}"}
    config = load_config(environ=environ)
    assert config["CONNECTORS"]["allowed_hosts"] == ["https://crm.internal"]
    assert config["CONNECTORS"]["secret_prefix"] == "HUELLA_SECRET_"  # kept from the defaults
    assert config["RATE_LIMITS"]["enabled"] is False
    assert config["RATE_LIMITS"]["storage_uri"] == "memory://"


def test_environment_sets_the_database_url() -> None:
    url = "postgresql+psycopg://someone@db.internal/huella"
    assert load_config(environ={"HUELLA_DATABASE_URL": url})["DATABASE_URL"] == url


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(environ={"HUELLA_CONFIG": str(tmp_path / "nope.toml")})


def test_a_broken_config_file_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "bad.toml"
    file.write_text("port = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(environ={"HUELLA_CONFIG": str(file)})
