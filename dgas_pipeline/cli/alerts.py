"""`dgas alerts validate | schema | replay`: flags in, JSON-ready dicts out.

The `*_command` functions do the work and can be called without a shell. Bad input raises
`InvalidInput` (exit 2, one line per problem). The replay's heavy imports (pandas, the
indicator stack, providers) wait until it runs, so `alerts validate` and `alerts schema`
do not pay for them.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dgas_pipeline.cli.values import check_order, parse_date
from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.errors import InvalidInput, InvalidInputs
from dgas_pipeline.location import market_for
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.bars import first_day_with_history

if TYPE_CHECKING:
    from dgas_pipeline.alerts.rules import RuleFile


# -- handlers (argparse namespace in, result out) ----------------------------------------------


def cmd_validate(args: argparse.Namespace) -> dict[str, Any]:
    return validate_command(args.file, load_config(args.config))


def cmd_schema(args: argparse.Namespace) -> dict[str, Any]:
    return schema_command()


def cmd_replay(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    market = market_for(config, None)
    start = parse_date(args.start, "--start", market)
    end = parse_date(args.end, "--end", market)
    check_order(start, end)
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
    """`{"timezone": ..., "events": [...]}`: the rules over the provider's bars of the
    sessions start..end.

    Each session is evaluated with the history a live cycle reads (`history_sessions`), so
    the events are the ones the cycle would have sent. A symbol the provider chain has no
    bars for is bad input: a replay silently missing a symbol would mislead.
    """
    from dgas_pipeline.alerts.replay import replay_rules, replay_window
    from dgas_pipeline.data import build_providers, close_providers, fetch_bars

    rules = load_checked_rules(path, config)
    window = replay_window(market, start, end, config.history_sessions)
    if window.fetch_start is None or window.fetch_end is None:
        return {"timezone": market.tz.key, "events": []}
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
    return {
        "timezone": market.tz.key,
        "events": [event.to_json() for event in evaluation.events],
    }


# -- rendering for people ----------------------------------------------------------------------


def render_validate(result: dict[str, Any]) -> str:
    names = ", ".join(rule["name"] for rule in result["alerts"])
    return f"{result['file']}: valid, {len(result['alerts'])} rule(s): {names}"


def render_schema(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)


def render_replay(result: dict[str, Any]) -> str:
    from zoneinfo import ZoneInfo

    from dgas_pipeline.market.zones import NEW_YORK, zone_label

    tz_name = result.get("timezone", NEW_YORK)
    zone = ZoneInfo(tz_name)
    head = f"bar start ({zone_label(tz_name)})"
    rows = [f"{head:<22} {'rule':<24} {'symbol':<8} {'state':<10} value"]
    for e in result["events"]:
        local = datetime.fromisoformat(e["bar_start"]).astimezone(zone)
        value = "-" if e["value"] is None else f"{e['value']:.4f}"
        rows.append(
            f"{local:%a %Y-%m-%d %H:%M}   {e['rule']:<24} {e['symbol']:<8} {e['state']:<10} {value}"
        )
    rows.append(f"{len(result['events'])} events")
    return "\n".join(rows)
