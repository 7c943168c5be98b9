"""Progress of long commands: bars with counts, rate and time left on a terminal, and nothing
at all when the output goes to a file or a pipe."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from app.progress import QUIET, Progress


class Terminal(io.StringIO):
    """What a terminal receives, kept to be read."""

    def isatty(self) -> bool:
        return True


def run_phase(progress: Progress) -> None:
    with progress.phase("matching", total=100) as bar:
        for _ in range(4):
            bar.advance(10)
    with progress.phase("reading") as bar:
        for _ in bar.iterate(range(7)):
            pass
    with progress.step("clustering"):
        pass


def test_a_terminal_sees_each_phase_with_its_counts_rate_and_time_left() -> None:
    screen = Terminal()
    run_phase(Progress.on_terminal(screen))
    shown = screen.getvalue()
    assert "matching" in shown
    assert "40/100" in shown  # the count of the total...
    assert re.search(r"\d+(\.\d+)?\s?k? records/s", shown)  # ...its rate...
    assert re.search(r"<\d\d:\d\d", shown)  # ...and the time left
    assert "reading" in shown
    assert "7 records" in shown  # a phase without a total counts what it read
    assert re.search(r"clustering: 00:00", shown)  # a step in one piece says how long it took


def test_a_file_or_a_pipe_gets_nothing() -> None:
    written = io.StringIO()  # not a terminal
    progress = Progress.on_terminal(written)
    run_phase(progress)
    run_phase(QUIET)
    assert not progress.shown
    assert written.getvalue() == ""


def write_people(path: Path, rows: int) -> None:
    lines = ["id,first_name,last_name,email"]
    lines += [f"{n},Given{n},Family{n % 50},person{n}@example.org" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n")


def huella(args: list[str], env: dict[str, str], *, terminal: bool) -> str:
    """Run ``huella`` with its standard error on a pseudo-terminal (or a pipe): what it shows."""
    command = [sys.executable, "-m", "app", *args]
    if not terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return done.stderr
    main, other = pty.openpty()
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=other) as process:
        os.close(other)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=120) == 0, shown.decode(errors="replace")
    os.close(main)
    return shown.decode(errors="replace")


def test_long_commands_show_progress_on_a_terminal_only(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    write_people(people, 300)
    env = {**os.environ, "HUELLA_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    importing = ["import", str(people), "--source", "crm", "--id-column", "id"]

    shown = huella([*importing, "--no-resolve"], env, terminal=True)
    assert re.search(r"importing into crm: 100%.*300/300", shown), shown
    shown = huella(["resolve", "--full"], env, terminal=True)
    assert re.search(r"reading records: 100%.*300/300", shown), shown
    assert re.search(r"blocking: \d+ pairs .*pairs/s", shown), shown
    assert re.search(r"scoring pairs: 100%.* pairs/s", shown), shown
    assert re.search(r"clustering: 100%.*300/300", shown), shown
    assert re.search(r"refreshing customers: 100%.*/\d+ \[.*customers/s", shown), shown
    shown = huella(["train", "--no-resolve"], env, terminal=True)
    assert re.search(r"reading records for the model: 100%.*300/300", shown), shown
    shown = huella(["customers", "refresh"], env, terminal=True)
    assert re.search(r"refreshing customers: 100%.*customers/s", shown), shown

    piped = huella(importing, env, terminal=False) + huella(
        ["resolve", "--full"], env, terminal=False
    )
    assert "%" not in piped and "records/s" not in piped, piped
