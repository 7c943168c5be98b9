"""The huella command line: set-up is idempotent and errors are plain messages."""

from __future__ import annotations

import subprocess
import sys

from flask.testing import FlaskCliRunner


def test_init_twice_changes_nothing(cli: FlaskCliRunner) -> None:
    first = cli.invoke(args=["init"])
    second = cli.invoke(args=["init"])
    assert first.exit_code == second.exit_code == 0
    assert "up to date" in second.output


def test_adding_a_source_twice_is_a_clear_error(cli: FlaskCliRunner) -> None:
    assert cli.invoke(args=["source", "add", "crm", "--kind", "push"]).exit_code == 0
    again = cli.invoke(args=["source", "add", "crm", "--kind", "push"])
    assert again.exit_code == 1
    assert "a source named 'crm' already exists" in again.output
    listing = cli.invoke(args=["source", "list"])
    assert listing.output.startswith("crm\tpush")


def test_unknown_connector_kind_names_the_known_ones(cli: FlaskCliRunner) -> None:
    result = cli.invoke(args=["source", "add", "crm", "--kind", "telepathy"])
    assert result.exit_code == 1
    assert "unknown connector kind 'telepathy'" in result.output
    assert "push" in result.output


def test_huella_help_lists_huellas_commands_only() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("import", "sync", "resolve", "review", "source", "token", "serve", "demo"):
        assert f"  {command} " in shown, shown
    for foreign in ("run", "shell", "routes", "limiter", "openapi", "--debug", "--app"):
        assert f"  {foreign} " not in shown and f" {foreign}," not in shown, shown
