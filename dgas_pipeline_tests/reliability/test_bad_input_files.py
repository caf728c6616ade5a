"""Bad files, of every kind people hand us (config, overrides, alert rules, watchlist imports),
through the commands that read them: each refused with exit 2 and one line per problem naming
the file option or the key path, nothing launched or stored, `dgas status` fine after.

Every kind gets every attack of the one reader (`input_files`): bytes that are not UTF-8 text,
a directory, a device, a FIFO (a reader waiting for a writer would hang: the timeout fails
it), a file over 1 MiB, nesting past 32 levels, a YAML alias bomb, a key twice, a number past
64 bits, NaN or infinity, a value so long its echo must be cut. The file is named by a flag or
by the config (`calendar.overrides_file`, `alerts_file`), and the commands vary: test_input_files.py
runs the same attacks through `config validate`, `alerts validate`, `plan --overrides` and
`watchlist import`; here it is `run-once`, `backfill`, `status`, `calendar`, `bars`,
`alerts replay`, `watchlist import --replace` and the config's own references.
"""

from __future__ import annotations

from typing import Any

import pytest

from dgas_pipeline_tests.reliability.bad_input import (
    Case,
    Scene,
    cases,
    directory,
    fifo,
    make_files,
    sparse,
    symlink_to,
    unix_socket,
)

AT = "2026-11-20T11:05:00-05:00"
DAY = "2026-11-20"
MIB = 1024 * 1024
DEEP = "[" * 40 + "]" * 40
BIG_INT = "1" + "0" * 30
LONG = "A" * 100_000


def laughs(key: str = "l8") -> str:
    """A billion laughs: 9 aliases of 9 aliases ... 9 levels deep (9**9 values expanded)."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + f"\n{key}: *l8\n"


# -- how each kind of file reaches a command -----------------------------------------------------


def run_once(config: str = "c.yaml") -> tuple[str, ...]:
    return ("run-once", "--at", AT, "--config", config)


def backfill(config: str = "c.yaml") -> tuple[str, ...]:
    return ("backfill", "--start", DAY, "--end", DAY, "--config", config)


def status(config: str = "c.yaml") -> tuple[str, ...]:
    return ("status", "--config", config)


def overrides_of(text: str | bytes | Any, name: str = "o.yaml") -> dict[str, Any]:
    """The config names the overrides file, which holds `text`."""
    return {"c.yaml": f"calendar: {{overrides_file: {name}}}\n", name: text}


def rules_of(text: str | bytes | Any, name: str = "r.yaml") -> dict[str, Any]:
    """The config names the alert-rules file, which holds `text`."""
    return {"c.yaml": f"alerts_file: {name}\n", name: text}


def replay(name: str = "r.yaml") -> tuple[str, ...]:
    return ("alerts", "replay", name, "--start", DAY, "--end", DAY)


def calendar(name: str = "o.yaml") -> tuple[str, ...]:
    return ("calendar", DAY, "--overrides", name)


def imports(name: str = "w.yaml") -> tuple[str, ...]:
    return ("watchlist", "import", name, "--replace")


RULE = "{name: up, symbols: [SPY], timeframe: 30min, when: {field: close, op: gt, value: %s}}"
WATCHLIST = "{name: w, symbols: [SPY]}"

CONFIG = "config"
OVERRIDES = "overrides"
RULES = "rules_file"
IMPORT = "watchlists_file"

CASES = cases("cli", [
    # -- the config, as --config of commands that run or read the instance --------------------
    ("config-latin-1", run_once(), CONFIG, "not UTF-8 text",
     {"c.yaml": "symbols: [CAFÉ]\n".encode("latin-1")}),
    ("config-binary", status(), CONFIG, "is binary", {"c.yaml": b"\x7fELF\x02\x01\x01\x00"}),
    ("config-a-directory", backfill("conf.d"), CONFIG, "is a directory", {"conf.d": directory}),
    ("config-dev-zero", status("/dev/zero"), CONFIG, "is a device"),
    ("config-fifo", run_once("c.fifo"), CONFIG, "named pipe", {"c.fifo": fifo}),
    ("config-a-socket", status("c.sock"), CONFIG, "is a socket", {"c.sock": unix_socket}),
    ("config-2-mib", run_once(), CONFIG, "1 MiB", {"c.yaml": sparse(2 * MIB)}),
    ("config-nested-40-deep", backfill(), CONFIG, "nests deeper than 32",
     {"c.yaml": f"symbols: {DEEP}\n"}),
    ("config-billion-laughs", status(), CONFIG, "holds more than", {"c.yaml": laughs()}),
    ("config-duplicate-key", run_once(), "symbols", "duplicate key",
     {"c.yaml": "symbols: [AAPL]\nsymbols: [MSFT]\n"}),
    ("config-duplicate-nested-key", status(), "calendar.exchange", "duplicate key",
     {"c.yaml": "calendar:\n  exchange: XNYS\n  exchange: XLON\n"}),
    ("config-number-past-64-bits", backfill(), "history_sessions", "too large",
     {"c.yaml": f"history_sessions: {BIG_INT}\n"}),
    ("config-nan", run_once(), "min_confidence", "not a finite number",
     {"c.yaml": "min_confidence: .nan\n"}),
    ("config-json-infinity", run_once("c.json"), "min_signal_strength", "not a finite number",
     {"c.json": '{"min_signal_strength": Infinity}'}),
    ("config-a-100000-character-ticker", status(), "symbols[0]", "…",
     {"c.yaml": f"symbols: [{LONG}]\n"}),
    ("config-a-yaml-list", run_once(), CONFIG, "found a list",
     {"c.yaml": "- symbols: [AAPL]\n"}),
    ("config-bom-then-a-duplicate", run_once(), "symbols", "first at line 1",
     {"c.yaml": b"\xef\xbb\xbfsymbols: [AAPL]\r\nsymbols: [MSFT]\r\n"}),
    ("config-crlf-with-a-bad-interval", backfill(), "interval", "does not divide 30min",
     {"c.yaml": b"symbols: [AAPL]\r\ninterval: 45min\r\n"}),
    ("config-symlink-loop", status("a.yaml"), CONFIG, "Too many levels of symbolic links",
     {"a.yaml": symlink_to("b.yaml"), "b.yaml": symlink_to("a.yaml")}),
    ("config-vanished", run_once("gone.yaml"), CONFIG, "No such file or directory",
     {"gone.yaml": symlink_to("{work}/deleted.yaml")}),
    ("config-default-a-dangling-link", ("status",), CONFIG, "No such file or directory",
     {"dgas.yaml": symlink_to("{work}/moved-away.yaml")}),
    ("config-default-a-symlink-loop", ("run-once", "--at", AT), CONFIG,
     "Too many levels of symbolic links", {"dgas.yaml": symlink_to("dgas.yaml")}),
    ("config-two-documents", status(), CONFIG, "not valid YAML",
     {"c.yaml": "symbols: [AAPL]\n---\nsymbols: [MSFT]\n"}),
    ("config-python-tag", run_once(), "symbols", "YAML tag",
     {"c.yaml": "symbols: !!python/object/apply:os.system [touch pwned]\n"}),
    ("config-more-symbols-than-a-cycle-takes", run_once(), "symbols", "max_symbols_per_cycle (3)",
     {"c.yaml": "symbols: [A, B, C, D]\nmax_symbols_per_cycle: 3\n"}),
    ("config-interval-0min", backfill(), "interval", "not an interval",
     {"c.yaml": "interval: 0min\n"}),
    ("config-interval-1e9min", status(), "interval", "not an interval",
     {"c.yaml": "interval: 1e9min\n"}),
    ("config-interval-minus-30min", run_once(), "interval", "not an interval",
     {"c.yaml": "interval: -30min\n"}),
    ("config-timeframe-45min-on-30min-bars", run_once(), "enabled_timeframes[1]",
     "not a multiple of interval 30min", {"c.yaml": "enabled_timeframes: [4h, 45min, 30min]\n"}),
    ("config-partitions-start-a-number", backfill(), "partitions_start", "is a number",
     {"c.yaml": "partitions_start: 1735776000\n"}),
    ("config-exchange-that-cannot-be-built", status(), "calendar.exchange", "has no calendar",
     {"c.yaml": "calendar: {exchange: XBOM}\n"}),
    ("config-exchange-lower-case", ("bars", "SPY", "--start", DAY, "--end", DAY, "--config",
                                    "c.yaml"), "calendar.exchange", "not a calendar known",
     {"c.yaml": "calendar: {exchange: xnys}\n"}),
    # -- overrides, named by the config or by --overrides --------------------------------------
    ("overrides-utf-16", backfill(), OVERRIDES, "is binary",
     overrides_of("closures: []\n".encode("utf-16"))),
    ("overrides-not-utf-8", calendar(), OVERRIDES, "not UTF-8 text",
     {"o.yaml": "closures:\n  - {date: 2026-12-08, reason: Trauertag für Köln}\n"
      .encode("latin-1")}),
    ("overrides-a-directory", run_once(), OVERRIDES, "is a directory",
     overrides_of(directory, "o.d")),
    ("overrides-dev-zero", backfill(), OVERRIDES, "is a device",
     {"c.yaml": "calendar: {overrides_file: /dev/zero}\n"}),
    ("overrides-fifo", calendar("o.fifo"), OVERRIDES, "named pipe", {"o.fifo": fifo}),
    ("overrides-over-1-mib", run_once(), OVERRIDES, "1 MiB",
     overrides_of("closures: []\n#" + "x" * MIB + "\n")),
    ("overrides-nested-40-deep", calendar(), OVERRIDES, "nests deeper than 32",
     {"o.yaml": f"closures: {DEEP}\n"}),
    ("overrides-billion-laughs", status(), OVERRIDES, "holds more than",
     overrides_of(laughs("closures"))),
    ("overrides-duplicate-date", backfill(), "closures[0].date", "duplicate key",
     overrides_of("closures:\n  - {date: 2026-12-08, date: 2026-12-09, reason: x}\n")),
    ("overrides-number-past-64-bits", calendar(), "closures[0].reason", "too large",
     {"o.yaml": f"closures:\n  - {{date: 2026-12-08, reason: {BIG_INT}}}\n"}),
    ("overrides-infinite-close", run_once(), "early_closes[0].close", "not a finite number",
     overrides_of("early_closes:\n  - {date: 2026-12-09, close: .inf, reason: x}\n")),
    ("overrides-a-100000-character-date", calendar(), "closures[0].date", "…",
     {"o.yaml": f"closures:\n  - {{date: {LONG}, reason: x}}\n"}),
    ("overrides-date-outside-the-calendar", backfill(), "closures[0].date",
     "outside the XNYS calendar", overrides_of("closures:\n  - {date: 1999-12-31, reason: y2k}\n")),
    ("overrides-closing-thanksgiving", status(), "closures[0].date", "not a session of XNYS",
     overrides_of("closures:\n  - {date: 2026-11-26, reason: again}\n")),
    ("overrides-early-close-on-a-sunday", calendar(), "early_closes[0].date",
     "not a session of XNYS",
     {"o.yaml": "early_closes:\n  - {date: 2026-11-22, close: '13:00', reason: x}\n"}),
    ("overrides-early-close-after-the-close", run_once(), "early_closes[0].close",
     "not between the session's open",
     overrides_of("early_closes:\n  - {date: 2026-12-09, close: '16:30', reason: x}\n")),
    ("overrides-date-a-number", calendar(), "closures[0].date", "is a number",
     {"o.yaml": "closures:\n  - {date: 0, reason: epoch}\n"}),
    ("overrides-a-yaml-list", backfill(), OVERRIDES, "found a list",
     overrides_of("- {date: 2026-12-08, reason: x}\n")),
    # -- alert rules, named by the config or by alerts replay -----------------------------------
    ("rules-binary", run_once(), RULES, "is binary", rules_of(b"\x00\x00\x00\x18ftypmp42")),
    ("rules-latin-1", replay(), RULES, "not UTF-8 text",
     {"r.yaml": "alerts:\n  - {name: Köln}\n".encode("latin-1")}),
    ("rules-a-directory", replay("rules.d"), RULES, "is a directory", {"rules.d": directory}),
    ("rules-dev-zero", run_once(), RULES, "is a device", {"c.yaml": "alerts_file: /dev/zero\n"}),
    ("rules-fifo", backfill(), RULES, "named pipe", rules_of(fifo, "r.fifo")),
    ("rules-over-1-mib", replay(), RULES, "1 MiB", {"r.yaml": sparse(MIB + 1)}),
    ("rules-nested-40-deep", run_once(), RULES, "nests deeper than 32",
     rules_of("alerts:\n  - {name: a, when: {all: " + DEEP + "}}\n")),
    ("rules-billion-laughs", replay(), RULES, "holds more than", {"r.yaml": laughs("alerts")}),
    ("rules-duplicate-op", backfill(), "alerts[0].when.op", "duplicate key",
     rules_of("alerts:\n  - {name: a, symbols: [SPY], timeframe: 30min,\n"
              "     when: {field: close, op: gt, op: lt, value: 1}}\n")),
    ("rules-json-duplicate-name", replay("r.json"), "alerts[0].name", "duplicate key",
     {"r.json": '{"alerts": [{"name": "a", "name": "b"}]}'}),
    ("rules-threshold-past-64-bits", run_once(), "alerts[0].when.value", "too large",
     rules_of("alerts:\n  - " + RULE % BIG_INT + "\n")),
    ("rules-threshold-infinite", replay(), "alerts[0].when.value", "not a finite number",
     {"r.yaml": "alerts:\n  - " + RULE % "-.inf" + "\n"}),
    ("rules-json-nan-threshold", run_once(), "alerts[0].when.value", "not a finite number",
     rules_of('{"alerts": [{"name": "up", "symbols": ["SPY"], "timeframe": "30min", '
              '"when": {"field": "close", "op": "gt", "value": NaN}}]}', "r.json")),
    ("rules-a-100000-character-name", replay(), "alerts[0].name", "…",
     {"r.yaml": f"alerts:\n  - {{name: {LONG}, symbols: [SPY], timeframe: 30min,\n"
      "     when: {field: close, op: gt, value: 1}}\n"}),
    ("rules-timeframe-45min-on-30min-bars", backfill(), "alerts[0].timeframe", "45min",
     rules_of("alerts:\n  - {name: a, symbols: [SPY], timeframe: 45min,\n"
              "     when: {field: close, op: gt, value: 1}}\n")),
    ("rules-a-ticker-look-alike", replay(), "alerts[0].symbols[0]", "expected an upper-case ticker",
     {"r.yaml": "alerts:\n  - {name: a, symbols: [ＳPY], timeframe: 30min,\n"
      "     when: {field: close, op: gt, value: 1}}\n"}),
    # -- watchlist imports -------------------------------------------------------------------------
    ("import-utf-16", imports(), IMPORT, "is binary",
     {"w.yaml": f"watchlists: [{WATCHLIST}]\n".encode("utf-16")}),
    ("import-not-utf-8", imports("w.json"), IMPORT, "not UTF-8 text",
     {"w.json": b'{"watchlists": [{"name": "caf\xe9", "symbols": ["SPY"]}]}'}),
    ("import-a-directory", imports("lists"), IMPORT, "is a directory", {"lists": directory}),
    ("import-dev-zero", imports("/dev/zero"), IMPORT, "is a device"),
    ("import-fifo", imports("w.fifo"), IMPORT, "named pipe", {"w.fifo": fifo}),
    ("import-over-1-mib", imports(), IMPORT, "1 MiB",
     {"w.yaml": f"watchlists: [{WATCHLIST}]\n#" + "x" * MIB + "\n"}),
    ("import-nested-40-deep", imports("w.json"), IMPORT, "nests deeper than 32",
     {"w.json": '{"watchlists": ' + DEEP + "}"}),
    ("import-billion-laughs", imports(), IMPORT, "holds more than",
     {"w.yaml": laughs("watchlists")}),
    ("import-duplicate-symbols-key", imports(), "watchlists[0].symbols", "duplicate key",
     {"w.yaml": "watchlists:\n  - {name: w, symbols: [SPY], symbols: [QQQ]}\n"}),
    ("import-version-like-number-past-64-bits", imports("w.json"), "watchlists[0].name",
     "too large", {"w.json": '{"watchlists": [{"name": ' + BIG_INT + ', "symbols": ["SPY"]}]}'}),
    ("import-nan-enabled", imports(), "watchlists[0].enabled", "not a finite number",
     {"w.yaml": "watchlists:\n  - {name: w, symbols: [SPY], enabled: .nan}\n"}),
    ("import-a-100000-character-name", imports(), "watchlists[0].name", "…",
     {"w.yaml": f"watchlists:\n  - {{name: {LONG}, symbols: [SPY]}}\n"}),
    ("import-enabled-yes-as-text", imports(), "watchlists[0].enabled", "'yes'",
     {"w.yaml": "watchlists:\n  - {name: w, symbols: [SPY], enabled: 'yes'}\n"}),
    ("import-a-ticker-look-alike", imports(), "watchlists[0].symbols[1]", "not a ticker",
     {"w.yaml": "watchlists:\n  - {name: w, symbols: [AAPL, ﬀ]}\n"}),
    ("import-an-empty-file", imports(), "watchlists", "required", {"w.yaml": ""}),
    ("import-the-same-name-twice", imports(), "watchlists[1].name", "listed twice",
     {"w.yaml": f"watchlists: [{WATCHLIST}, {WATCHLIST}]\n"}),
    ("import-symlink-loop", imports("a.yaml"), IMPORT, "Too many levels of symbolic links",
     {"a.yaml": symlink_to("a.yaml")}),
]) + cases("script", [
    # The installed script reading /dev/stdin that nothing is written to: refused, not hung.
    ("script-config-dev-stdin-nothing-piped", ("run-once", "--at", AT, "--config", "/dev/stdin"),
     CONFIG, "named pipe"),
    ("script-import-dev-stdin-nothing-piped", ("watchlist", "import", "/dev/stdin"), IMPORT,
     "named pipe"),
])  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES)
def test_a_bad_file_is_refused_naming_it_and_nothing_changes(scene: Scene, case: Case) -> None:
    make_files(scene.work, case.files)
    scene.refuses(case)


ATTACKS = {
    "not UTF-8 text": ("binary", "latin-1", "utf-16", "not-utf-8"),
    "a directory": ("directory",),
    "a device": ("dev-zero",),
    "a FIFO": ("fifo",),
    "over 1 MiB": ("mib",),
    "nested too deep": ("deep",),
    "an alias bomb": ("laughs",),
    "a key twice": ("duplicate",),
    "a number past 64 bits": ("64-bits",),
    "NaN or infinity": ("nan", "inf"),
    "an echo to cut": ("100000",),
}


@pytest.mark.parametrize("kind", ["config", "overrides", "rules", "import"])
def test_every_kind_of_file_meets_every_attack(kind: str) -> None:
    ids = [p.id for p in CASES if p.id.startswith(f"{kind}-")]
    missing = [
        attack for attack, words in ATTACKS.items() if not any(w in i for i in ids for w in words)
    ]
    assert missing == [], f"{kind} files are not tried with: {missing}"
