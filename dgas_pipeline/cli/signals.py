"""`dgas signals`: stored signals with their outcomes and deliveries (`operate.signals`)."""

from __future__ import annotations

import argparse
from typing import Any

from dgas_pipeline.cli.values import parse_date
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import load_location
from dgas_pipeline.store.tables import OUTCOMES
from dgas_pipeline.tickers import check_ticker


def cmd_signals(args: argparse.Namespace) -> dict[str, Any]:
    location = load_location(args.config)
    day = parse_date(args.date, "--date", location.market) if args.date is not None else None
    symbol = check_ticker(args.symbol, "--symbol") if args.symbol is not None else None
    outcome = parse_outcome(args.status) if args.status is not None else None
    from dgas_pipeline.operate.signals import stored_signals

    return stored_signals(location, day, symbol, outcome)


def parse_outcome(text: str) -> str:
    if text.upper() not in OUTCOMES:
        raise InvalidInput("--status", text, f"is not an outcome (expected one of {OUTCOMES})")
    return text.upper()


def render_signals(result: dict[str, Any]) -> str:
    from dgas_pipeline.operate.signals import render_signals_listing

    return render_signals_listing(result)
