"""Settings: read once when the application starts, one frozen value passed to services."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.errors import ConfigError
from app.settings import EXTENSION, get_settings
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]
FILES = ["MATCHING_CONFIG", "SURVIVORSHIP_CONFIG", "TRAITS_CONFIG", "PRIVACY_CONFIG"]


def _start(tmp_path: Path, **overrides: str) -> Flask:
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'huella.db'}", **overrides})


def test_the_application_holds_one_frozen_settings_value(tmp_path: Path) -> None:
    settings = get_settings(_start(tmp_path))
    assert settings.match.normalization.default_region == "US"  # config/matching.toml
    assert settings.customer.traits.half_life_days == 30  # config/traits.toml
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.match = settings.match  # type: ignore[misc]


@pytest.mark.parametrize("key", FILES)
def test_a_missing_setting_stops_the_start(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"missing setting: {key.lower()}"):
        _start(tmp_path, **{key: ""})


@pytest.mark.parametrize("key", FILES)
def test_a_settings_file_that_is_not_there_stops_the_start(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        _start(tmp_path, **{key: str(tmp_path / "nope.toml")})


def test_the_matchers_region_reads_phones_everywhere(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    # A store in Spain: numbers written without a country code are Spanish, for the matcher
    # (which indexes them), the lookup, and the golden record alike.
    settings = get_settings(app)
    spain = dataclasses.replace(settings.match.normalization, default_region="ES")
    app.extensions[EXTENSION] = dataclasses.replace(
        settings, match=dataclasses.replace(settings.match, normalization=spain)
    )
    add_source(app, "crm")
    admin = make_token("admin")
    push(client, admin, "crm", record("c-1", first_name="Ana", phone="600 111 222"))
    found = client.get("/api/v1/customers/lookup/phone:+34600111222", headers=admin).get_json()
    assert [c["golden"]["phones"] for c in found["data"]] == [["600 111 222"]]
    same = client.get("/api/v1/customers/lookup/phone:600-111-222", headers=admin).get_json()
    assert [c["id"] for c in same["data"]] == [c["id"] for c in found["data"]]


def test_the_settings_hold_what_sources_may_name_and_how_long_a_value_may_be(
    tmp_path: Path,
) -> None:
    settings = get_settings(_start(tmp_path))
    assert settings.max_value_length == 4096  # config/default.toml
    assert settings.sources.secret_prefix == "HUELLA_SECRET_"
    assert any(host.allows("https://api.hubapi.com/crm") for host in settings.sources.allowed_hosts)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"MAX_VALUE_LENGTH": 0}, "max_value_length"),
        ({"MAX_VALUE_LENGTH": "long"}, "max_value_length"),
        ({"CONNECTORS": {"allowed_hosts": ["ftp://crm.internal"]}}, "connectors.allowed_hosts"),
        ({"CONNECTIONS": {"legacy": {"queries": {}}}}, "connections.legacy needs url_env"),
    ],
)
def test_a_security_setting_that_does_not_read_stops_the_start(
    tmp_path: Path, overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'huella.db'}", **overrides})
