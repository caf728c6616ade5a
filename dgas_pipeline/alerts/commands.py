"""`dgas alerts validate | schema | replay`: flags in, JSON-ready dicts out.

The `*_command` functions do the work and can be called without a shell; `add_commands`
registers the sub-commands on `dgas`. Bad input raises `InvalidInput` (the CLI exits 2 with
one line per problem). Heavy imports (pandas, the indicator stack, providers) wait until a
command runs, so registering them costs `dgas --help` nothing.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgas_pipeline.alerts.rules import RuleFile
    from dgas_pipeline.config import SchedulerConfig
    from dgas_pipeline.market.sessions import MarketHoursManager


def add_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Register `alerts validate | schema | replay` on the `dgas` sub-command group."""
    alerts = commands.add_parser("alerts", help="alert rules: check, publish the schema, replay")
    group = alerts.add_subparsers(title="commands", metavar="COMMAND", parser_class=parser_class)

    check = group.add_parser(
        "validate", parents=[common], help="check an alert-rules file; every error with its path"
    )
    check.add_argument("file", metavar="F", help="rules file (YAML, or JSON if *.json)")
    check.set_defaults(handler=cmd_validate, render=render_validate)

    schema = group.add_parser(
        "schema", parents=[common], help="print the JSON Schema of alert-rules files"
    )
    schema.set_defaults(handler=cmd_schema, render=render_schema)

    replay = group.add_parser(
        "replay",
        parents=[common],
        help="the alerts a rules file gives on past bars of the configured provider",
    )
    replay.add_argument("file", metavar="F", help="rules file (YAML, or JSON if *.json)")
    replay.add_argument("--start", metavar="D", required=True, help="first session date")
    replay.add_argument("--end", metavar="D", required=True, help="last session date")
    replay.add_argument(
        "--transitions", action="store_true", help="also list re-arms (state ARMED)"
    )
    replay.set_defaults(handler=cmd_replay, render=render_replay)


# -- handlers (argparse namespace in, result out) ----------------------------------------------


def cmd_validate(args: argparse.Namespace) -> dict[str, Any]:
    from dgas_pipeline.config import load_config

    return validate_command(args.file, load_config(args.config))


def cmd_schema(args: argparse.Namespace) -> dict[str, Any]:
    return schema_command()


def cmd_replay(args: argparse.Namespace) -> dict[str, Any]:
    from dgas_pipeline import cli
    from dgas_pipeline.config import load_config
    from dgas_pipeline.errors import InvalidInput

    config = load_config(args.config)
    market = cli.market_for(config, None)
    start = cli.parse_date(args.start, "--start", market)
    end = cli.parse_date(args.end, "--end", market)
    if end < start:
        raise InvalidInput("--end", end.isoformat(), f"is before --start {start.isoformat()}")
    check_history_fits(args.start, start, end, market, config.history_sessions)
    api_key = None
    if "polygon" in config.provider.chain:
        # Only Polygon needs a secret, read by name from the environment.
        from dgas_pipeline.secrets import provider_api_key

        api_key = provider_api_key(config)
    return replay_command(
        args.file, config, market, start, end, api_key=api_key, transitions=args.transitions
    )


def check_history_fits(
    shown: str, start: date, end: date, market: MarketHoursManager, history_sessions: int
) -> None:
    """Each replayed session reads `history_sessions` sessions before it: the first one's
    must be inside the calendar, or `--start` (as typed: `shown`) is refused."""
    from dgas_pipeline.errors import InvalidInput
    from dgas_pipeline.market.bars import first_day_with_history

    earliest = first_day_with_history(market, history_sessions)
    sessions = market.sessions_between(start, end)
    if sessions and sessions[0].date < earliest:
        raise InvalidInput(
            "--start",
            shown,
            f"is too early: a replay reads the {history_sessions} sessions before it "
            f"(history_sessions), which reach before the {market.exchange} calendar's first day "
            f"{market.first_day.isoformat()} (expected a date from {earliest.isoformat()})",
        )


# -- the commands ------------------------------------------------------------------------------


def load_checked_rules(path: str | Path, config: SchedulerConfig) -> RuleFile:
    """A rule file valid in itself and for this deployment (bar interval, channels)."""
    from dgas_pipeline.alerts.validation import load_checked_rule_file

    channels = [channel.name for channel in config.notifications.channels]
    return load_checked_rule_file(path, interval=config.interval_delta, channels=channels)


def validate_command(path: str | Path, config: SchedulerConfig) -> dict[str, Any]:
    rules = load_checked_rules(path, config)
    every_channel = [c.name for c in config.notifications.channels]
    return {
        "valid": True,
        "file": str(path),
        "alerts": [
            {
                "name": rule.name,
                "symbols": list(rule.symbols),
                "timeframe": rule.timeframe_label,
                "channels": list(rule.channels) if rule.channels else every_channel,
            }
            for rule in rules.alerts
        ],
    }


def schema_command() -> dict[str, Any]:
    from dgas_pipeline.alerts.validation import published_schema

    return published_schema()


def replay_command(
    path: str | Path,
    config: SchedulerConfig,
    market: MarketHoursManager,
    start: date,
    end: date,
    *,
    api_key: str | None = None,
    now: datetime | None = None,
    transitions: bool = False,
) -> dict[str, Any]:
    """`{"events": [...]}`: the rules over the provider's bars of the sessions start..end.

    Each session is evaluated with the history a live cycle reads (`history_sessions`), so
    the events are the ones the cycle would have sent. A symbol the provider chain has no
    bars for is bad input: a replay silently missing a symbol would mislead.
    """
    from dgas_pipeline.alerts.replay import replay_rules, replay_window
    from dgas_pipeline.data import build_providers, close_providers, fetch_bars
    from dgas_pipeline.errors import InvalidInput, InvalidInputs

    rules = load_checked_rules(path, config)
    window = replay_window(market, start, end, config.history_sessions)
    if window.fetch_start is None or window.fetch_end is None:
        return {"events": []}
    symbols = list(dict.fromkeys(s for rule in rules.alerts for s in rule.symbols))
    providers = build_providers(config.provider, api_key, market)
    try:
        fetched = fetch_bars(
            providers, symbols, window.fetch_start, window.fetch_end, config.interval_delta, market
        )
    finally:
        close_providers(providers)
    if fetched.errors:
        raise InvalidInputs(
            [
                InvalidInput("symbols", symbol, f"has no bars: {message}")
                for symbol, message in sorted(fetched.errors.items())
            ]
        )
    evaluation = replay_rules(
        rules.alerts,
        fetched.bars,
        market,
        start=start,
        end=end,
        history_sessions=config.history_sessions,
        now=now,
        transitions=transitions,
    )
    return {"events": [event.to_json() for event in evaluation.events]}


# -- rendering for people ----------------------------------------------------------------------


def render_validate(result: dict[str, Any]) -> str:
    names = ", ".join(rule["name"] for rule in result["alerts"])
    return f"{result['file']}: valid, {len(result['alerts'])} rule(s): {names}"


def render_schema(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)


def render_replay(result: dict[str, Any]) -> str:
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")
    rows = [f"{'bar start (ET)':<22} {'rule':<24} {'symbol':<8} {'state':<10} value"]
    for e in result["events"]:
        local = datetime.fromisoformat(e["bar_start"]).astimezone(new_york)
        value = "-" if e["value"] is None else f"{e['value']:.4f}"
        rows.append(
            f"{local:%a %Y-%m-%d %H:%M}   {e['rule']:<24} {e['symbol']:<8} {e['state']:<10} {value}"
        )
    rows.append(f"{len(result['events'])} events")
    return "\n".join(rows)
