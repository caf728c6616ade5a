"""`dgas watchlist ...` round trip: JSON on stdout, one line per problem and exit 2 on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dgas_pipeline.cli.main import main


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
        (["add", "ok"], ["dgas: --symbols: is required"]),
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


# -- dgas watchlist import F [--replace] ---------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "w.yaml") -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return str(tmp_path / name)


GOOD_IMPORT = """\
watchlists:
  - {name: tech, symbols: [aapl, msft, "BRK.B", "I:SPX"]}
  - {name: open, symbols: [SPY], schedule: "09:45", enabled: false}
"""


@pytest.mark.parametrize("name", ["w.yaml", "w.json"])
def test_import_creates_the_watchlists_of_a_yaml_or_json_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    import yaml

    text = GOOD_IMPORT if name.endswith(".yaml") else json.dumps(yaml.safe_load(GOOD_IMPORT))
    code, out, err = dgas(capsys, "watchlist", "import", write(tmp_path, text, name), "--json")
    assert code == 0, err
    assert (out["created"], out["replaced"]) == (["tech", "open"], [])
    code, out, _ = dgas(capsys, "watchlist", "list", "--json")
    assert [(w["name"], w["symbols"], w["schedule"], w["enabled"]) for w in out["watchlists"]] == [
        ("open", ["SPY"], "09:45", False),
        ("tech", ["AAPL", "MSFT", "BRK.B", "I:SPX"], "every_bar", True),
    ]


def test_import_again_is_refused_unless_replace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD_IMPORT)
    assert dgas(capsys, "watchlist", "import", path)[0] == 0
    code, out, err = dgas(capsys, "watchlist", "import", path)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"dgas: watchlists[{i}].name: '{name}' is already a watchlist (import --replace "
        "overwrites it, or rename it in the file)"
        for i, name in enumerate(["tech", "open"])
    ]
    code, out, _ = dgas(capsys, "watchlist", "import", path, "--replace")
    assert (code, out) == (0, "replaced tech\nreplaced open\n0 created, 2 replaced\n")
    code, out, _ = dgas(capsys, "watchlist", "show", "tech", "--json")
    assert out["watchlist"]["version"] == 2


# (file, the lines on stderr)
BAD_IMPORTS = [
    pytest.param("watchlists:\n  - {name: a, symbols: [SPY]}\n  - {name: b, symbols: [ﬀ]}\n",
                 ["watchlists[1].symbols[0]: 'ﬀ' is not a ticker"], id="ligature-ticker"),
    pytest.param("watchlists:\n  - {name: a, symbols: [SPY]}\n  - {name: a, symbols: [QQQ]}\n",
                 ["watchlists[1].name: 'a' is listed twice (also watchlists[0])"],
                 id="name-twice-in-the-file"),
    pytest.param('watchlists:\n  - {name: a, symbols: [SPY], schedule: "17:00"}\n',
                 ["watchlists[0].schedule: '17:00' is outside the XNYS regular session"],
                 id="schedule-after-the-close"),
    pytest.param("watchlists:\n  - {name: a b, symbols: [SPY, BRK B], colour: red}\n",
                 ["watchlists[0].name: 'a b' is not a watchlist name",
                  "watchlists[0].symbols[1]: 'BRK B' is not a ticker",
                  "watchlists[0].colour: '<not shown>' is not a known field"],
                 id="three-problems-in-one-entry"),
    pytest.param("watchlists:\n  - [SPY]\n  - {name: b}\n",
                 ["watchlists[0]: ['SPY'] is not a watchlist (expected a mapping",
                  "watchlists[1].symbols: None is required but missing"],
                 id="entry-not-a-mapping-and-one-without-symbols"),
    pytest.param("watchlists:\n  - {name: a, symbols: [SPY], enabled: maybe}\n",
                 ["watchlists[0].enabled: 'maybe' Input should be a valid boolean"],
                 id="enabled-maybe"),
    pytest.param("watchlists: []\n", ["watchlists: [] List should have at least 1 item"],
                 id="no-watchlists"),
    pytest.param("watchlist:\n  - {name: a, symbols: [SPY]}\n",
                 ["watchlists: None is required but missing",
                  "watchlist: '<not shown>' is not a known field"], id="misspelt-top-level-key"),
    pytest.param("watchlists:\n  - {name: a, symbols: [SPY], symbols: [QQQ]}\n",
                 ["watchlists[0].symbols: 'symbols' is a duplicate key"], id="duplicate-key"),
    pytest.param("- {name: a, symbols: [SPY]}\n",
                 ["watchlists_file: '{path}' must be a mapping with a watchlists list (found a "
                  "list)"], id="a-list-not-a-mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BAD_IMPORTS)
def test_a_bad_import_names_each_entry_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, expected: list[str]
) -> None:
    dgas(capsys, "watchlist", "add", "core", "--symbols", "SPY")
    path = write(tmp_path, text)
    code, out, err = dgas(capsys, "watchlist", "import", path, "--replace", "--json")
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"dgas: {start.format(path=path)}"), line
    code, out, _ = dgas(capsys, "watchlist", "list", "--json")
    assert [(w["name"], w["version"]) for w in out["watchlists"]] == [("core", 1)]
