"""`dgas --help`, a command's `--help` and a flag argparse refuses answer from the parser
alone: no command module, and none of the libraries a command needs, is imported.

Each case runs in a fresh interpreter, so a module another test imported cannot hide one the
parser pulls in.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dgas_pipeline.cli.commands import PACKAGE
from dgas_pipeline.cli.main import resolve
from dgas_pipeline.cli.parser import build_parser, subcommands

PARSER_MODULES = {"main", "parser", "commands", "arguments", "examples"}
HEAVY = ("pandas", "numpy", "exchange_calendars", "dagster", "matplotlib", "jsonschema")
PROBE = """\
import json, sys
from dgas_pipeline.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
sys.stdout = sys.__stdout__
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

CASES = {
    "help": (["--help"], 0),
    "command-help": (["plan", "--help"], 0),
    "nested-command-help": (["alerts", "replay", "--help"], 0),
    "no-command": ([], 2),
    "unknown-flag": (["backfill", "--bogus"], 2),
    "missing-flag": (["bars", "AAPL", "--start", "2026-11-20"], 2),
    "bad-version-type": (["watchlist", "update", "tech", "--version", "0"], 2),
    "bad-port-type": (["api", "--port", "99999"], 2),
}


@pytest.mark.parametrize(("argv", "code"), CASES.values(), ids=CASES.keys())
def test_help_and_refused_flags_import_nothing_heavy(
    tmp_path: Path, argv: list[str], code: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] == code, done.stderr
    loaded = set(report["modules"])
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, f"dgas {' '.join(argv)} imported {heavy[:5]}"
    commands = sorted(
        m
        for m in loaded
        if m.startswith(f"{PACKAGE}.")
        and m.removeprefix(f"{PACKAGE}.")
        not in {"main", "parser", "commands", "arguments", "examples"}
    )
    assert not commands, f"dgas {' '.join(argv)} imported command modules {commands}"
    if code == 2:
        assert done.stderr.startswith("dgas: ") and "Traceback" not in done.stderr


def handlers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, str, str]]:
    """(command path, handler name, renderer name) of every runnable command."""
    defaults = parser._defaults
    if "handler" in defaults:
        yield " ".join(path), defaults["handler"], defaults["render"]
    for name, sub in subcommands(parser).items():
        yield from handlers(sub, (*path, name))


def test_every_named_handler_and_renderer_exists() -> None:
    found = list(handlers(build_parser()))
    assert len(found) >= 20, found  # every command of `dgas --help` and its groups
    for command, handler, render in found:
        assert callable(resolve(handler)), f"{command}: {handler}"
        assert callable(resolve(render)), f"{command}: {render}"
