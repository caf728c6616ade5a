"""`dgas bars`: one symbol's bars from the configured provider chain, resampled on request."""

from __future__ import annotations

import argparse
from typing import Any

from dgas_pipeline.cli.output import iso
from dgas_pipeline.cli.values import check_order, parse_date, whole_bars
from dgas_pipeline.config import load_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import market_for
from dgas_pipeline.tickers import check_ticker


def cmd_bars(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    market = market_for(config, None)
    start = parse_date(args.start, "--start", market)
    end = parse_date(args.end, "--end", market)
    check_order(start, end)
    symbol = check_ticker(args.symbol, "SYMBOL")
    timeframe = None
    if args.timeframe is not None:  # `--timeframe=` is bad input, not the default
        timeframe = whole_bars(args.timeframe, "--timeframe", config.interval_delta)
    sessions = market.sessions_between(start, end)
    if not sessions:
        return {"bars": []}
    from dgas_pipeline import analysis
    from dgas_pipeline.data import build_providers, close_providers, fetch_bars
    from dgas_pipeline.secrets import provider_api_key

    providers = build_providers(config.provider, provider_api_key(config), market)
    try:
        fetched = fetch_bars(
            providers, [symbol], sessions[0].open, sessions[-1].close, config.interval_delta, market
        )
    finally:
        close_providers(providers)
    if symbol in fetched.errors:
        raise InvalidInput("SYMBOL", symbol, f"has no bars: {fetched.errors[symbol]}")
    frame = fetched.bars
    if timeframe and timeframe != config.interval_delta:
        frame = analysis.resample_bars(frame, timeframe)
    return {
        "bars": [
            {
                "ts": iso(row.ts.to_pydatetime()),
                "open": row.open,
                "high": row.high,
                "low": row.low,
                "close": row.close,
                "volume": row.volume,
            }
            for row in frame.itertuples()
        ]
    }


def render_bars(result: dict[str, Any]) -> str:
    rows = [f"{'ts (UTC)':<22} {'open':>10} {'high':>10} {'low':>10} {'close':>10} {'volume':>12}"]
    for b in result["bars"]:
        rows.append(
            f"{b['ts']:<22} {b['open']:>10.2f} {b['high']:>10.2f} {b['low']:>10.2f} "
            f"{b['close']:>10.2f} {b['volume']:>12.0f}"
        )
    return "\n".join(rows)
