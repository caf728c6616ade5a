"""Bad input, one table: config fields, overrides files, alert rules, CLI arguments, REST
payloads and provider data. Each case must give a clear error naming the field (or the
symbol), must not crash, and must leave nothing wrong stored:

- config / overrides / alerts / cli / rest: refused as `bad_input.Scene` checks every case of
  the bad-input tables (exit 2 or 422 naming the fields, no traceback, an unchanged dump of
  every table and of the Dagster instance, no DAGSTER_HOME created, `dgas status` fine after);
  config-like cases by both `dgas config validate` and `dgas run-once --config`;
- data: a real cycle (files or a loopback Polygon) lists `SYMBOL: provider: ...` in the run's
  errors, the run is PARTIAL, the good symbols are processed, and neither a signal nor a bar
  of the bad symbol is stored (not in our tables, not in the `bars` frames).

These are cases the other tables do not have; those are listed in docs/reliability.md
(test_bad_input_cli.py, test_bad_input_files.py, test_bad_input_environment.py,
test_bad_input_rest.py, cli/test_main.py, test_config.py, market/test_overrides.py,
alerts/test_rules.py, api/test_api.py, data/test_validation.py, data/test_polygon.py,
data/test_files.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.data import SyntheticProvider
from dgas_pipeline.defs.names import LAUNCHED_BY_TAG
from dgas_pipeline.market.bars import history_start
from dgas_pipeline.store import tables
from dgas_pipeline_tests.data.fake_polygon import FakePolygon, Reply, Request
from dgas_pipeline_tests.defs.conftest import SESSION, default_market, session_bars
from dgas_pipeline_tests.reliability.bad_input import Case, Scene
from dgas_pipeline_tests.reliability.conftest import deployment_on

AT = "2026-11-20T11:05:00-05:00"  # the 10:30 bar of a past session
BAR = session_bars(SESSION)[2]
assert BAR.key == "2026-11-20-10:30"
GOOD_RULE = {
    "name": "spy-up",
    "symbols": ["SPY"],
    "timeframe": "30min",
    "when": {"field": "close", "op": "gt", "value": 1},
}


def rules(**changes: Any) -> str:
    return yaml.safe_dump({"alerts": [{**GOOD_RULE, **changes}]})


CASES = [
    # -- config fields: dgas config validate, and run-once refusing to start ---------------------
    pytest.param(Case("config", "provider: {chain: [polygon, polygon]}", ("provider.chain",),
                      "twice"), id="config-provider-twice"),
    pytest.param(Case("config", "provider: {chain: [bloomberg]}", ("provider.chain[0]",)),
                 id="config-unknown-provider"),
    pytest.param(Case("config", "provider: {chain: [files]}", ("provider.files_dir",)),
                 id="config-files-without-directory"),
    pytest.param(Case("config", "provider: {polygon_base_url: 'ftp://x'}",
                      ("provider.polygon_base_url",)), id="config-polygon-url-not-http"),
    pytest.param(Case("config", "provider: {polygon_api_key_env: MY KEY}",
                      ("provider.polygon_api_key_env",)), id="config-key-env-not-a-name"),
    pytest.param(Case("config", "provider: {backoff_base_seconds: 5, backoff_max_seconds: 1}",
                      ("provider.backoff_max_seconds",)), id="config-backoff-max-below-base"),
    pytest.param(Case("config", "provider: {request_timeout_seconds: 0}",
                      ("provider.request_timeout_seconds",)), id="config-timeout-zero"),
    pytest.param(Case("config",
                      "notifications: {channels: [{name: m, url: 'mailto://u:hunter2@mx.example'}]}",
                      ("notifications.channels[0].url",), "literal password"),
                 id="config-channel-literal-password"),
    pytest.param(Case("config",
                      "notifications: {channels: [{name: a, url: console}, "
                      "{name: a, url: console}]}",
                      ("notifications.channels[1].name",)), id="config-channel-name-twice"),
    pytest.param(Case("config", "notifications: {channels: [{name: x, url: 'gopher://h'}]}",
                      ("notifications.channels[0].url",)), id="config-channel-unknown-scheme"),
    pytest.param(Case("config", "notifications: {max_attempts: 0}",
                      ("notifications.max_attempts",)), id="config-zero-attempts"),
    pytest.param(Case("config", "catchup_sessions: 61", ("catchup_sessions",)),
                 id="config-catchup-above-60"),
    pytest.param(Case("config", "history_sessions: 1", ("history_sessions",)),
                 id="config-history-below-2"),
    pytest.param(Case("config", "run_on_startup: maybe", ("run_on_startup",)),
                 id="config-bool-maybe"),
    pytest.param(Case("config", "symbols: [AAPL, ON]", ("symbols[1]",), "YAML bool"),
                 id="config-ticker-ON-read-as-true"),
    pytest.param(Case("config", "symbols: [AAPL, ~]", ("symbols[1]",), "YAML null"),
                 id="config-ticker-null"),
    pytest.param(Case("config", "partitions_start: 1800-01-02", ("partitions_start",),
                      "outside the XNYS calendar"), id="config-partitions-start-before-calendar"),
    # -- overrides files named by the config -----------------------------------------------------
    pytest.param(Case("overrides", "closures:\n  - {date: 2026-12-08, reason: '  '}\n",
                      ("closures[0].reason",)), id="overrides-blank-reason"),
    pytest.param(Case("overrides",
                      "early_closes:\n  - {date: 2026-12-09, close: 1pm, reason: x}\n",
                      ("early_closes[0].close",)), id="overrides-close-1pm"),
    pytest.param(Case("overrides", "closures: {date: 2026-12-08, reason: x}\n", ("closures",)),
                 id="overrides-closures-not-a-list"),
    pytest.param(Case("overrides",
                      "closures:\n  - {date: 2026-12-09, reason: x}\n"
                      "early_closes:\n  - {date: 2026-12-09, close: '13:00', reason: y}\n",
                      ("early_closes[0].date",), "more than once"),
                 id="overrides-closed-and-early-close-same-day"),
    pytest.param(Case("overrides", "- 2026-12-08\n", ("overrides",)),
                 id="overrides-file-is-a-list"),
    # -- alert rules named by the config ---------------------------------------------------------
    pytest.param(Case("alerts", rules(name="x'); DROP TABLE alert_state;--"),
                      ("alerts[0].name",)), id="alerts-name-injection"),
    pytest.param(Case("alerts", rules(symbols=["SPY", "SPY"]), ("alerts[0].symbols[1]",),
                      "also alerts[0].symbols[0]"),
                 id="alerts-symbol-twice"),
    pytest.param(Case("alerts", rules(channels=["pager"]), ("alerts[0].channels[0]",)),
                 id="alerts-channel-not-configured"),
    pytest.param(Case("alerts", rules(timeframe="10min"), ("alerts[0].timeframe",)),
                 id="alerts-timeframe-finer-than-bars"),
    pytest.param(Case("alerts", "{not json", ("rules_file",), "not valid JSON", {"r.json": ""}),
                 id="alerts-json-file-not-json"),
    # -- CLI arguments ---------------------------------------------------------------------------
    pytest.param(Case("cli", ("run-once", "--at", "yesterday"), ("--at",)), id="cli-at-not-iso"),
    pytest.param(Case("cli", ("run-once", "--at", "2026-11-20T10:00"), ("--at",), "no UTC offset"),
                 id="cli-at-naive"),
    pytest.param(Case("cli", ("run-once", "--at", "2099-01-02T10:00Z"), ("--at",), "future"),
                 id="cli-at-future"),
    pytest.param(Case("cli", ("run-once", "--at", AT, "--symbols", "AAPL,aapl"), ("symbols[1]",),
                      "listed twice"), id="cli-symbols-twice"),
    pytest.param(Case("cli", ("run-once", "--at", AT, "--symbols="), ("symbols[0]",)),
                 id="cli-symbols-empty"),
    pytest.param(Case("cli", ("backfill", "--start", "2026-11-21", "--end", "2026-11-20"),
                      ("--end",)), id="cli-backfill-end-before-start"),
    pytest.param(Case("cli", ("backfill", "--start", "2026-02-30", "--end", "2026-03-02"),
                      ("--start",)), id="cli-backfill-feb-30"),
    pytest.param(Case("cli", ("bars", "AAPL", "--start", "2026-11-20", "--end", "2026-11-20",
                              "--timeframe", "7x"), ("--timeframe",)), id="cli-bars-timeframe"),
    pytest.param(Case("cli", ("watchlist", "add", "late", "--symbols", "SPY", "--schedule",
                              "09:29"), ("schedule",), "outside"), id="cli-watchlist-before-open"),
    pytest.param(Case("cli", ("watchlist", "update", "core", "--symbols", "SPY", "--version", "0"),
                      ("--version",)), id="cli-watchlist-version-0"),
    pytest.param(Case("cli", ("api", "--port", "70000"), ("--port",)), id="cli-api-port"),
    pytest.param(Case("cli", ("db", "downgrade", "9999"), ("REVISION",)), id="cli-db-revision"),
    # -- REST payloads ---------------------------------------------------------------------------
    pytest.param(Case("rest", ("POST", "/watchlists", {"name": "n" * 65, "symbols": ["SPY"]}),
                      ("name",), code=422), id="rest-name-65-chars"),
    pytest.param(Case("rest", ("POST", "/watchlists", {"name": "big", "symbols": ["SPY"] * 501}),
                      ("symbols",), code=422), id="rest-501-symbols"),
    pytest.param(Case("rest", ("POST", "/watchlists", {"name": "n", "symbols": ["SPY", None]}),
                      ("symbols[1]",), code=422), id="rest-null-symbol"),
    pytest.param(Case("rest", ("POST", "/watchlists", {"name": "n", "symbols": []}),
                      ("symbols",), code=422), id="rest-no-symbols"),
    pytest.param(Case("rest", ("POST", "/watchlists",
                               {"name": "n", "symbols": ["SPY"], "schedule": "9:30"}),
                      ("schedule",), code=422), id="rest-schedule-one-digit-hour"),
    pytest.param(Case("rest", ("PATCH", "/watchlists/core", {"version": 1, "symbols": []}),
                      ("symbols",), code=422), id="rest-patch-empty-symbols"),
    pytest.param(Case("rest", ("PATCH", "/watchlists/core", {"version": -1}), ("version",),
                      code=422), id="rest-patch-negative-version"),
    pytest.param(Case("rest", ("POST", "/watchlists", "not an object"), ("body",), code=422),
                 id="rest-body-a-string"),
    # -- provider data, through a cycle on the files provider ------------------------------------
    pytest.param(Case("data", "NANC", ("NANC",), "close"), id="data-nan-close"),
    pytest.param(Case("data", "NEGL", ("NEGL",), "low"), id="data-negative-low"),
    pytest.param(Case("data", "ZERO", ("ZERO",), "open"), id="data-zero-open"),
    pytest.param(Case("data", "HILO", ("HILO",), "is below low"), id="data-high-below-low"),
    pytest.param(Case("data", "DUPE", ("DUPE",), "appears twice"), id="data-duplicate-ts"),
    pytest.param(Case("data", "OFFS", ("OFFS",), "is not a bar start"),
                 id="data-bar-after-the-close"),
    pytest.param(Case("data", "SUND", ("SUND",), "exchange is closed"),
                 id="data-bar-on-a-sunday"),
    pytest.param(Case("data", "EMPT", ("EMPT",), "expected at least one"),
                 id="data-symbol-with-no-bars"),
    pytest.param(Case("data", "COLS", ("COLS",), "lacks column(s) close"),
                 id="data-file-without-close"),
    # -- provider data, through a cycle on a loopback Polygon ------------------------------------
    pytest.param(Case("data", "TRNC", ("TRNC",), "connection failed"),
                 id="data-polygon-cut-off-mid-body"),
    pytest.param(Case("data", "BADJ", ("BADJ",), "malformed JSON"), id="data-polygon-not-json"),
    pytest.param(Case("data", "NOTL", ("NOTL",), "results is not a list"),
                 id="data-polygon-results-not-a-list"),
    pytest.param(Case("data", "NULC", ("NULC",), "is null or not finite"),
                 id="data-polygon-null-close"),
    pytest.param(Case("data", "DUPM", ("DUPM",), "appears twice"),
                 id="data-polygon-minute-twice"),
    pytest.param(Case("data", "HLOW", ("HLOW",), "high/low not containing"),
                 id="data-polygon-high-below-low"),
    pytest.param(Case("data", "NORS", ("NORS",), "expected at least one"),
                 id="data-polygon-no-results"),
]  # fmt: skip


# -- running the cases ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_named_and_refused_and_nothing_wrong_is_stored(
    case: Case, request: pytest.FixtureRequest
) -> None:
    if case.kind in ("config", "overrides", "alerts"):
        _config_case(case, request.getfixturevalue("scene"))
    elif case.kind == "cli":
        assert "hunter2" not in request.getfixturevalue("scene").refuses(case)
    elif case.kind == "rest":
        request.getfixturevalue("scene").refused_by_api(
            request.getfixturevalue("api_on_prepared"), replace(case, given=(*case.given, {}))
        )
    else:
        _data_case(case, request.getfixturevalue("provider_runs"))


def _config_case(case: Case, scene: Scene) -> None:
    """The config (naming the overrides or rules file of the case) refused by `config
    validate` and by `run-once`, which must not even prepare a run."""
    config = case.given
    if case.kind == "overrides":
        (scene.work / "o.yaml").write_text(case.given, encoding="utf-8")
        config = "calendar: {overrides_file: o.yaml}\n"
    elif case.kind == "alerts":
        name = next(iter(case.files), "r.yaml")
        (scene.work / name).write_text(case.given, encoding="utf-8")
        config = f"alerts_file: {name}\n"
    (scene.work / "c.yaml").write_text(config, encoding="utf-8")
    for argv in (("config", "validate", "c.yaml"), ("run-once", "--config", "c.yaml", "--at", AT)):
        err = scene.refuses(case, (*argv, "--json"))
        assert "hunter2" not in err


# -- provider data: two real cycles, one bad symbol per case ---------------------------------


@dataclass
class CycleOutcome:
    status: str
    errors: dict[str, str]  # symbol -> its line in the run's errors
    processed: int
    signal_symbols: set[str]
    bar_symbols: set[str]
    good_bars: pd.DataFrame


def _history(symbol: str) -> pd.DataFrame:
    """The synthetic bars a cycle of BAR reads (and a few sessions more)."""
    market = default_market()
    start = history_start(market, BAR.start, SchedulerConfig().history_sessions)
    return (
        SyntheticProvider(market)
        .fetch(symbol, start - timedelta(days=4), BAR.end, "30min")
        .drop(columns=["symbol"])
    )


def _et(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="America/New_York").tz_convert("UTC")


def _files(directory: Path) -> None:
    directory.mkdir()
    good = _history("GOOD")
    last = len(good) - 1

    def write(symbol: str, frame: pd.DataFrame) -> None:
        frame.to_csv(directory / f"{symbol}.csv", index=False)

    def changed(column: str, value: float) -> pd.DataFrame:
        frame = good.copy()
        frame.loc[last, column] = value
        return frame

    write("GOOD", good)
    write("UNSO", good.sample(frac=1.0, random_state=7))  # rows in any order: sorted on read
    write("NANC", changed("close", np.nan))
    write("NEGL", changed("low", -1.0))
    write("ZERO", changed("open", 0.0))
    hilo = good.copy()
    hilo.loc[last, ["high", "low"]] = [good.loc[last, "low"] - 1, good.loc[last, "high"] + 1]
    write("HILO", hilo)
    write("DUPE", pd.concat([good, good.iloc[[last]]], ignore_index=True))
    after_close = good.iloc[[last]].assign(ts=_et("2026-11-19 17:00"))
    write("OFFS", pd.concat([good, after_close], ignore_index=True))
    sunday = good.iloc[[last]].assign(ts=_et("2026-11-15 10:00"))
    write("SUND", pd.concat([good, sunday], ignore_index=True))
    write("EMPT", good.iloc[0:0])
    write("COLS", good.drop(columns=["close"]))


def _minutes(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each 30-minute bar as one Polygon minute aggregate at the bar's start."""
    return [
        {"t": int(r.ts.timestamp() * 1000), "o": r.open, "h": r.high, "l": r.low, "c": r.close,
         "v": r.volume}
        for r in frame.itertuples()
    ]  # fmt: skip


class RoutedPolygon(FakePolygon):
    """A loopback Polygon answering each ticker from its own script."""

    def __init__(self, routes: dict[str, Reply]) -> None:
        super().__init__()
        self.routes = routes

    def _next(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        return self.routes[request.path.split("/")[4]]


def _polygon_routes() -> dict[str, Reply]:
    good = _minutes(_history("GOOD"))
    last = good[-1]
    second = {**last, "t": last["t"] + 60_000, "o": last["c"], "h": last["c"], "l": last["c"]}

    def ok(results: Any) -> Reply:
        return Reply(200, {"status": "OK", "results": results})

    return {
        "GOOD": ok(good),
        "TRNC": Reply(200, {"status": "OK", "results": good}, truncate=True),
        "BADJ": Reply(200, '{"status": "OK", "results": [{"t": 1,'),
        "NOTL": ok("oops"),
        # A null close in the bar's last minute: `last` would take the minute before it.
        "NULC": ok([*good, {**second, "c": None}]),
        # The same minute twice: its volume would be counted twice.
        "DUPM": ok([*good, second, second]),
        "HLOW": ok([*good, {**second, "h": second["l"] - 1}]),
        "NORS": ok([]),
    }


def _run_cycle(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any]
) -> CycleOutcome:
    with deployment_on(tmp, monkeypatch, f"sqlite:///{tmp / 'dgas.db'}") as env:
        env.configure(**settings)
        code, summary, err = env.dgas("run-once", "--at", AT, "--json")
        assert code == 0, err
        [row] = env.runs()
        with env.engine.connect() as conn:
            signal_symbols = set(
                conn.execute(sa.select(tables.generated_signals.c.symbol)).scalars()
            )
        frames = sorted((env.home / "storage" / "frames" / "bars").glob("*.parquet"))
        bars = pd.concat([pd.read_parquet(f) for f in frames], ignore_index=True)
    errors = {line.split(":", 1)[0]: line for line in row["errors"]}
    assert row["errors"] == summary["errors"]
    return CycleOutcome(
        status=row["status"],
        errors=errors,
        processed=row["symbols_processed"],
        signal_symbols=signal_symbols,
        bar_symbols=set(bars["symbol"]),
        good_bars=bars,
    )


@pytest.fixture(scope="module")
def provider_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CycleOutcome]]:
    """symbol -> the outcome of the cycle that read it (one files cycle, one Polygon cycle)."""
    outcomes: dict[str, CycleOutcome] = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        files_tmp = tmp_path_factory.mktemp("files")
        _files(files_tmp / "bars")
        symbols = sorted(p.stem for p in (files_tmp / "bars").iterdir())
        files = _run_cycle(
            files_tmp,
            monkeypatch,
            {
                "symbols": symbols,
                "provider": {"chain": ["files"], "files_dir": str(files_tmp / "bars")},
            },
        )
        outcomes |= dict.fromkeys(symbols, files)

    with pytest.MonkeyPatch.context() as monkeypatch:
        routes = _polygon_routes()
        server = RoutedPolygon(routes)
        server.start()
        try:
            monkeypatch.setenv("POLYGON_API_KEY", "test-key")
            polygon = _run_cycle(
                tmp_path_factory.mktemp("polygon"),
                monkeypatch,
                {
                    "symbols": sorted(routes),
                    "provider": {
                        "chain": ["polygon"],
                        "polygon_base_url": server.base_url,
                        "max_retries": 0,
                        "request_timeout_seconds": 5,
                    },
                },
            )
        finally:
            server.stop()
        outcomes |= {symbol: polygon for symbol in routes if symbol != "GOOD"}
    yield outcomes


def _data_case(case: Case, runs: dict[str, CycleOutcome]) -> None:
    symbol = case.given
    outcome = runs[symbol]
    line = outcome.errors.get(symbol, "")
    assert line.startswith(f"{symbol}: "), outcome.errors
    assert case.detail in line, line
    assert symbol not in outcome.signal_symbols
    assert symbol not in outcome.bar_symbols  # not even in the frames the assets store
    assert "GOOD" in outcome.bar_symbols and "GOOD" not in outcome.errors


def test_bad_symbols_cost_the_good_ones_nothing(provider_runs: dict[str, CycleOutcome]) -> None:
    files, polygon = provider_runs["NANC"], provider_runs["NULC"]
    assert (files.status, files.processed) == ("PARTIAL", 2)  # GOOD and UNSO
    assert (polygon.status, polygon.processed) == ("PARTIAL", 1)  # GOOD
    assert files.bar_symbols == {"GOOD", "UNSO"} and polygon.bar_symbols == {"GOOD"}


def test_rows_in_any_order_are_sorted_on_read_and_stored_in_order(
    provider_runs: dict[str, CycleOutcome],
) -> None:
    """Out-of-order rows are not an error for the files provider: it sorts them (the raw
    contract's check, that bars strictly increase, is in data/test_validation.py)."""
    outcome = provider_runs["GOOD"]
    assert "UNSO" not in outcome.errors
    frames = outcome.good_bars
    for symbol in ("GOOD", "UNSO"):
        own = frames[frames["symbol"] == symbol].drop_duplicates("ts")
        assert own["ts"].is_monotonic_increasing
    good = frames[frames["symbol"] == "GOOD"].drop(columns="symbol").reset_index(drop=True)
    unso = frames[frames["symbol"] == "UNSO"].drop(columns="symbol").reset_index(drop=True)
    pd.testing.assert_frame_equal(good, unso)


def test_a_bad_rule_file_reaching_a_launched_run_fails_it_visibly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run the sensor launches does not pass through the CLI's checks: the bad rule file
    fails the run, and the mirror says FAILED (not PARTIAL) with the field named."""
    (tmp_path / "r.yaml").write_text(rules(name="has space"), encoding="utf-8")
    with deployment_on(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'dgas.db'}") as env:
        env.configure(alerts_file=str(tmp_path / "r.yaml"))
        result = env.run_job("prediction_cycle", BAR.key, {LAUNCHED_BY_TAG: "sensor"})
        assert not result.success
        [row] = env.runs()
        state = env.scheduler_state()
    assert row["status"] == "FAILED"
    assert any(e.startswith("alerts: InvalidInputs: alerts[0].name:") for e in row["errors"])
    assert state["status"] == "ERROR" and state["error_message"].startswith("alerts: ")
    assert json.dumps(row["errors"])  # plain text, stored as given


def test_the_table_has_at_least_forty_cases_of_every_class() -> None:
    kinds = [p.values[0].kind for p in CASES]
    assert len(kinds) >= 40
    assert {"config", "overrides", "alerts", "cli", "rest", "data"} <= set(kinds)
    assert not [p.id for p in CASES if p.id is None]
    assert datetime.now(UTC) > BAR.end  # the bar is in the past: run-once may run it


def test_the_bad_input_tables_hold_120_cases_over_cli_files_environment_and_rest() -> None:
    """Counted per category as docs/reliability.md reports them; each category several times
    over, every case with the same checks (`bad_input.Scene`)."""
    from dgas_pipeline_tests.reliability import (
        test_bad_input_cli,
        test_bad_input_environment,
        test_bad_input_files,
        test_bad_input_rest,
    )

    def legacy(*kinds: str) -> list[Any]:
        return [p for p in CASES if p.values[0].kind in kinds]

    tables = {
        "cli": [*test_bad_input_cli.CASES, *legacy("cli")],
        "files": [*test_bad_input_files.CASES, *legacy("config", "overrides", "alerts")],
        "environment": test_bad_input_environment.CASES,
        "rest": [*test_bad_input_rest.CASES, *legacy("rest")],
    }
    counts = {category: len(params) for category, params in tables.items()}
    assert sum(counts.values()) >= 120, counts
    assert min(counts.values()) >= 20, counts
    ids = [p.id for params in tables.values() for p in params]
    assert len(ids) == len(set(ids)), "a case id twice"
