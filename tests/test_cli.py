"""The huella command line: set-up is idempotent and errors are plain messages."""

from __future__ import annotations

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
