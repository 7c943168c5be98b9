"""make run's demo, end to end in a real process: sandboxes synced, a token, a lookup."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from flask import Flask

from app import demo
from app.auth import service as tokens
from app.db import get_db
from tests.conftest import SUPPRESSION_KEY_ENV


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_demo_serves_a_customer_held_by_two_departments(tmp_path: Path) -> None:
    port = free_port()
    # As a new user starts it: no suppression key set, so the demo makes its own.
    env = {k: v for k, v in os.environ.items() if k != SUPPRESSION_KEY_ENV}
    env["HUELLA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = ""
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        while "lookup/email:" not in printed and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            printed += line
        token = re.search(r"token:\s+(hu_\S+)", printed)
        lookup = re.search(r"(/api/v1/customers/lookup/email:[^\"\s]+)", printed)
        assert token and lookup, printed
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        found = httpx.get(f"{base}{lookup.group(1)}", headers=headers)
        assert found.status_code == 200
        customers = found.json()["data"]
        assert len(customers) == 1
        assert len(customers[0]["records"]) >= 2  # the departments holding them
        anonymous = httpx.get(f"{base}{lookup.group(1)}")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        exported = re.search(r"^\s*(export HUELLA_TOKEN=.*)$", printed, re.MULTILINE)
        assert exported, printed
        run_readme_tour(base, exported.group(1), tmp_path)
        # ... and, in that second terminal, the commands the README suggests there
        for command in ("huella explain $SALES $RECORD", "huella sync sales"):
            line = command.replace("huella", f"{sys.executable} -m app", 1)
            done = in_a_terminal(f"{exported.group(1)}\n{line}", tmp_path, env)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            assert done.stdout.strip(), command
        # ... and the customer's rights, each command as the README prints it
        run_readme_rights(base, exported.group(1), tmp_path, env)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_make_run_reuses_its_admin_token_while_it_works(app: Flask, tmp_path: Path) -> None:
    kept = tmp_path / "var" / "demo-admin-token"
    with app.app_context(), get_db(app).unit_of_work() as session:
        first, new = demo.admin_token(session=session, path=kept)
        assert new
        again, new = demo.admin_token(session=session, path=kept)
        assert (again, new) == (first, False)  # a second `make run` adds no token
        assert kept.stat().st_mode & 0o777 == 0o600
        caller = tokens.authenticate(session=session, secret=first)
        tokens.revoke(session=session, token=tokens.get(session=session, token_id=caller.token_id))
        replaced, new = demo.admin_token(session=session, path=kept)
        assert new and replaced != first


README = Path(__file__).resolve().parents[1] / "README.md"


def in_a_terminal(
    script: str, folder: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a script as a second terminal beside the demo would: bash, in ``folder``."""
    return subprocess.run(
        ["bash", "-c", script],
        check=False,
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=300,
    )


def section_commands(heading: str, blocks: int | None = None) -> list[str]:
    """The commands of a README section's ``sh`` blocks (its first ``blocks`` of them), in
    order, each on one line (continuations joined), comments and blank lines left out."""
    text = README.read_text()
    section = text[text.index(heading) :]
    section = section[: section.index("\n## ", len(heading))]
    commands: list[str] = []
    pending = ""
    for block in section.split("```sh\n")[1:][:blocks]:
        for line in block[: block.index("```")].splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            pending += line.split(" # ")[0].rstrip().removesuffix("\\")
            if not line.rstrip().endswith("\\"):
                commands.append(pending.strip())
                pending = ""
    return commands


def tour_commands() -> list[str]:
    """The README's five-minute tour, as the shell runs it: its first code block."""
    return section_commands("## A five-minute tour", blocks=1)


def run_readme_tour(base: str, exported: str, folder: Path) -> None:
    """Run every command of the README's tour against the demo, as a new user pastes them
    after the export line `make run` printed; none may fail or find nothing."""
    commands = tour_commands()
    assert commands[0].startswith("export HUELLA_TOKEN=")
    curls = [c for c in commands if c.startswith("curl ")]
    assert len(curls) >= 8, commands
    setup = [exported, *(c for c in commands[1:] if not c.startswith("curl "))]
    setup = [line.replace("http://127.0.0.1:5000", base) for line in setup]
    for command in curls:
        script = "\n".join([*setup, f"{command} -w '\\n%{{http_code}}'"])
        done = in_a_terminal(script, folder)
        assert done.returncode == 0, (command, done.stderr)
        body, _, status = done.stdout.rpartition("\n")
        without_token = "$H" not in command
        if without_token:
            assert status == "401", (command, status, body)
            continue
        assert status.startswith("2"), (command, status, body)
        answer = json.loads(body)
        assert answer, (command, body)
        if isinstance(answer, dict) and "data" in answer:
            assert answer["data"], (command, "found nothing")


def run_readme_rights(base: str, exported: str, folder: Path, env: dict[str, str]) -> None:
    """Run the README's section on the customer's rights in the second terminal of the tour, as
    printed, in order: every command succeeds (curl fails on an HTTP error), the agent's read
    is masked and audited, the erasure goes and stays gone, retention reports its counts."""
    commands = section_commands("## Privacy: the customer's rights")
    # The demo's export line carries its key: the line for a server of one's own is not run.
    assert commands[0].startswith(f"export {SUPPRESSION_KEY_ENV}="), commands
    huella = f"{sys.executable} -m app"
    lines = [
        "set -euo pipefail",
        'curl() { command curl --fail-with-body "$@"; echo; }',
        exported,
        'export H="Authorization: Bearer $HUELLA_TOKEN"',
        f"API={base}/api/v1",
        *(c.replace(".venv/bin/huella", huella) for c in commands[1:]),
    ]
    done = in_a_terminal("\n".join(lines), folder, env)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert (folder / "subject.json").is_file()
    assert '"masked": true' in done.stdout  # the agent's read
    assert '"action":"reveal"' in done.stdout and "ticket 5120, address check" in done.stdout
    assert "would erase cus_" in done.stdout and "erased cus_" in done.stdout
    assert '"status": "already_erased"' in done.stdout or '"status":"already_erased"' in done.stdout
    assert "lifted" in done.stdout and "events: deleted" in done.stdout


def test_a_demo_without_a_server_leaves_a_running_demos_sources_alone(app: Flask) -> None:
    from app.settings import get_settings  # noqa: PLC0415
    from app.source import service as sources  # noqa: PLC0415
    from connectors.sandbox import start_sandboxes  # noqa: PLC0415

    serving, passing = start_sandboxes(20, seed=1), start_sandboxes(20, seed=1)
    try:
        policy = get_settings(app).sources.allowing(*(s.url for s in (*serving, *passing)))
        with app.app_context(), get_db(app).unit_of_work() as session:
            demo.connect(session=session, sandboxes=serving, policy=policy)  # `make run`
        with app.app_context(), get_db(app).unit_of_work() as session:
            before = demo.connect(session=session, sandboxes=passing, policy=policy)
            assert sources.get_by_name(session=session, name="sales").settings["base_url"] == (
                passing.hubspot.url
            )
            demo.restore(session=session, before=before)  # `huella demo --no-serve` ends
        with app.app_context(), get_db(app).unit_of_work() as session:
            sales = sources.get_by_name(session=session, name="sales")
            assert sales.settings["base_url"] == serving.hubspot.url
    finally:
        serving.stop()
        passing.stop()
