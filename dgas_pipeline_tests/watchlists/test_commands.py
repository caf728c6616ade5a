"""`dgas watchlist ...` round trip: JSON on stdout, one line per problem and exit 2 on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dgas_pipeline.cli import main


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)
    monkeypatch.setenv("DGAS_DATABASE_URL", sqlite_url)


def dgas(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run `dgas argv` in-process: (exit code, stdout parsed if --json, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exited:  # argparse's own complaints
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in argv and code == 0 else out), err


def test_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dgas(capsys, "watchlist", "add", "tech", "--symbols", "nvda,msft", "--json")
    assert code == 0
    assert out["watchlist"]["symbols"] == ["NVDA", "MSFT"]
    assert out["watchlist"]["schedule"] == "every_bar"

    code, out, _ = dgas(
        capsys, "watchlist", "add", "open", "--symbols", "SPY", "--schedule", "10:00", "--json"
    )
    assert (code, out["watchlist"]["schedule"]) == (0, "10:00")

    code, out, _ = dgas(capsys, "watchlist", "list", "--json")
    assert [w["name"] for w in out["watchlists"]] == ["open", "tech"]

    code, out, _ = dgas(capsys, "watchlist", "update", "tech", "--symbols", "AMD", "--json")
    assert (out["watchlist"]["symbols"], out["watchlist"]["version"]) == (["AMD"], 2)

    code, out, _ = dgas(capsys, "watchlist", "stop", "tech", "--json")
    assert out["watchlist"]["enabled"] is False
    code, out, _ = dgas(capsys, "watchlist", "start", "tech", "--json")
    assert out["watchlist"]["enabled"] is True

    code, out, _ = dgas(capsys, "watchlist", "show", "tech", "--json")
    assert (out["watchlist"]["version"], out["watchlist"]["enabled"]) == (4, True)

    code, out, _ = dgas(capsys, "watchlist", "remove", "tech", "--json")
    assert (code, out["removed"]["name"]) == (0, "tech")
    code, out, _ = dgas(capsys, "watchlist", "list", "--json")
    assert [w["name"] for w in out["watchlists"]] == ["open"]


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    dgas(capsys, "watchlist", "add", "tech", "--symbols", "NVDA,MSFT", "--disabled")
    code, out, _ = dgas(capsys, "watchlist", "list")
    assert code == 0
    assert "tech" in out
    assert "stopped" in out
    assert "NVDA,MSFT" in out
    assert "1 watchlists" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["add", "bad name", "--symbols", "SPY"],
            ["dgas: name: 'bad name' is not a watchlist name"],
        ),
        (
            ["add", "x'); DROP TABLE watchlists;--", "--symbols", "SPY"],
            ['dgas: name: "x\'); DROP TABLE watchlists;--" is not a watchlist name'],
        ),
        (
            ["add", "ok", "--symbols", "SPY,BRK B,SPY"],
            [
                "dgas: symbols[1]: 'BRK B' is not a ticker",
                "dgas: symbols[2]: 'SPY' is listed twice",
            ],
        ),
        (
            ["add", "ok", "--symbols", "SPY", "--schedule", "5pm"],
            ["dgas: schedule: '5pm' is not a schedule"],
        ),
        (
            ["add", "ok", "--symbols", "SPY", "--schedule", "17:00"],
            ["dgas: schedule: '17:00' is outside the XNYS regular session"],
        ),
        (["show", "ghost"], ["dgas: name: 'ghost' is not a watchlist"]),
        (["update", "ghost", "--symbols", "SPY"], ["dgas: name: 'ghost' is not a watchlist"]),
        (["stop", "ghost"], ["dgas: name: 'ghost' is not a watchlist"]),
        (["remove", "ghost"], ["dgas: name: 'ghost' is not a watchlist"]),
        (["update", "ghost", "--version", "x"], ["dgas: --version: 'x' is not a version"]),
        (["add", "ok"], ["dgas: the following arguments are required: --symbols"]),
    ],
)
def test_bad_input_exits_2_with_one_line_per_problem(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: list[str]
) -> None:
    code, out, err = dgas(capsys, "watchlist", *argv, "--json")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line


def test_update_at_a_stale_version_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    dgas(capsys, "watchlist", "add", "tech", "--symbols", "NVDA")
    dgas(capsys, "watchlist", "update", "tech", "--symbols", "AMD")
    code, _, err = dgas(capsys, "watchlist", "update", "tech", "--symbols", "TSM", "--version", "1")
    assert code == 2
    assert err.startswith("dgas: version: 1 is not the current version of watchlist 'tech' (2)")
    code, out, _ = dgas(capsys, "watchlist", "show", "tech", "--json")
    assert out["watchlist"]["symbols"] == ["AMD"]
