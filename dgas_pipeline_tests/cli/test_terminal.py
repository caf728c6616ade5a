"""`dgas` for people at a terminal: the status table, and progress that only a terminal sees.

Progress is checked with a real pseudo-terminal (`pty`) as the command's stderr, against the
same command with stderr a pipe, where it must print nothing beyond its result.
"""

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dgas_pipeline.cli.main import main
from dgas_pipeline.cli.status import duration, render_status
from dgas_pipeline_tests.defs.conftest import CycleEnv
from dgas_pipeline_tests.defs.conftest import cycle_env as cycle_env

DGAS = Path(sys.executable).with_name("dgas")
COMMAND_TIMEOUT_S = 240


def status_result(**state: Any) -> dict[str, Any]:
    return {
        "scheduler_state": {
            "status": "IDLE",
            "last_run_timestamp": "2026-07-02T14:02:11Z",
            "updated_at": "2026-07-02T14:02:12Z",
            **state,
        },
        "next_launch": {
            "kind": "cycle",
            "partition_key": "2026-11-27-09:30",
            "bar_start": "2026-11-27T14:30:00Z",
            "bar_end": "2026-11-27T15:00:00Z",
            "due": "2026-11-27T15:00:00Z",
        },
        "recent_runs": [
            {
                "partition_key": "2026-07-02-09:30",
                "kind": "cycle",
                "status": "PARTIAL",
                "launched_by": "sensor",
                "run_timestamp": "2026-07-02T14:00:05Z",
                "execution_time_ms": 125_000,
                "signals_generated": 4,
            },
            {
                "partition_key": "2026-07-01",
                "kind": "eod",
                "status": "SUCCESS",
                "launched_by": "backfill",
                "run_timestamp": "2026-07-01T20:20:00Z",
                "execution_time_ms": 850,
                "signals_generated": 0,
            },
        ],
        "reconciled": 0,
    }


# -- dgas status, as text --------------------------------------------------------------------


def test_status_table_is_in_exchange_local_time_across_dst() -> None:
    text = render_status(status_result())
    lines = text.splitlines()
    assert lines[0] == "scheduler   IDLE since Thu 2026-07-02 10:02 EDT"
    assert lines[1] == "last run    Thu 2026-07-02 10:02 EDT"
    # The next launch is after the switch back to standard time.
    assert lines[2] == "next launch Fri 2026-11-27 10:00 EST  cycle 2026-11-27-09:30"
    assert lines[4] == "last 2 runs (times ET):"
    header, *rows = lines[5:]
    assert header.split() == ["launched", "partition", "kind", "status", "by", "duration",
                              "signals"]  # fmt: skip
    assert rows[0].split() == ["Thu", "07-02", "10:00", "2026-07-02-09:30", "cycle", "PARTIAL",
                               "sensor", "2m05s", "4"]  # fmt: skip
    assert rows[1].split() == ["Wed", "07-01", "16:20", "2026-07-01", "eod", "SUCCESS",
                               "backfill", "850ms", "0"]  # fmt: skip
    assert len({len(row) for row in rows}) == 1, "columns are not aligned"


def test_status_shows_the_error_and_names_another_exchange_zone() -> None:
    result = status_result(status="ERROR", error_message="bars: RuntimeError: provider down")
    lines = render_status(result, tz_name="Europe/London").splitlines()
    assert lines[0] == "scheduler   ERROR since Thu 2026-07-02 15:02 BST"
    assert lines[1] == "error       bars: RuntimeError: provider down"
    assert "last 2 runs (times Europe/London):" in lines


def test_status_without_runs_says_so() -> None:
    result = status_result() | {"recent_runs": [], "next_launch": None}
    text = render_status(result)
    assert "next launch - (none planned" in text
    assert text.endswith("\n\nno runs yet")


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(None, "-"), (0, "0ms"), (999, "999ms"), (1000, "1.0s"), (59_949, "59.9s"),
     (60_000, "1m00s"), (3_599_000, "59m59s"), (3_720_000, "1h02m")],
)  # fmt: skip
def test_duration_is_short(ms: int | None, shown: str) -> None:
    assert duration(ms) == shown


def test_status_of_a_real_run(cycle_env: CycleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    bar_run = cycle_env.run_cycle("2026-11-20-10:00", symbols=["AAPL"])
    assert bar_run.success
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^scheduler   IDLE since \w{3} \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T$", out, re.M)
    assert re.search(r"^next launch \w{3} .* E[SD]T  (cycle|eod) \d{4}-\d\d-\d\d", out, re.M)
    row = next(line for line in out.splitlines() if "2026-11-20-10:00" in line)
    assert row.split()[3:7] == ["2026-11-20-10:00", "cycle", "SUCCESS", "cli"]
    assert re.fullmatch(r"\d+ms|\d+\.\ds", row.split()[7])


# -- progress: on a terminal, never in a pipe -------------------------------------------------


def dgas_command(cwd: Path, *argv: str, stderr_tty: bool) -> tuple[int, str, str]:
    """Run the installed `dgas` with its own DAGSTER_HOME: (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DGAS_", "DAGSTER_"))}
    env |= {"DAGSTER_HOME": str(cwd / "home"), "TERM": "xterm"}
    command = [str(DGAS)] if DGAS.exists() else [sys.executable, "-m", "dgas_pipeline.cli"]
    if not stderr_tty:
        done = subprocess.run(
            [*command, *argv], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    with open(cwd / "stdout", "w+b") as out:
        proc = subprocess.Popen(
            [*command, *argv], cwd=cwd, env=env, stdout=out, stderr=slave,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(slave)
        seen = bytearray()
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 1)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:  # EIO: the child closed the terminal
                        break
                    if not chunk:
                        break
                    seen += chunk
                elif proc.poll() is not None:
                    break
            code = proc.wait(timeout=30)
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
        out.seek(0)
        return code, out.read().decode(), seen.decode(errors="replace")


CONFIG = "symbols: [AAPL]\n"
PROGRESS = {
    "backfill": (
        ("backfill", "--start", "2026-11-20", "--end", "2026-11-20", "--wait"),
        re.compile(
            r"backfill: planning 2026-11-20 \.\. 2026-11-20 .*backfill \[#{30}\] 14/14", re.S
        ),
    ),
    "run-once": (
        ("run-once", "--at", "2026-11-20T15:05:00-05:00"),
        re.compile(r"run-once: running the cycle of the bar closed by Fri 2026-11-20 15:05 EST"),
    ),
}


@pytest.mark.parametrize("command", list(PROGRESS))
def test_long_commands_show_progress_on_a_terminal(tmp_path: Path, command: str) -> None:
    argv, progress = PROGRESS[command]
    (tmp_path / "dgas.yaml").write_text(CONFIG, encoding="utf-8")
    code, out, err = dgas_command(tmp_path, *argv, "--json", stderr_tty=True)
    assert code == 0, err
    assert progress.search(err), err
    json.loads(out)  # the result is on stdout, alone
    if command == "run-once":
        assert err.endswith("\r\x1b[K"), "the note is not erased when the cycle is done"


@pytest.mark.parametrize("command", list(PROGRESS))
def test_long_commands_print_nothing_extra_in_a_pipe(tmp_path: Path, command: str) -> None:
    argv, _ = PROGRESS[command]
    (tmp_path / "dgas.yaml").write_text(CONFIG, encoding="utf-8")
    code, out, err = dgas_command(tmp_path, *argv, "--json", stderr_tty=False)
    assert (code, err) == (0, "")
    assert json.loads(out)
