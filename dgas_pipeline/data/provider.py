"""What every bar provider promises, so the fetcher can fail over between them blindly.

A provider answers one question: the raw bars of one symbol whose START lies in
`[start, end)`, on the session grid of `interval`. It never validates or decorates them (the
fetcher does, once, for all providers) and it reports any failure of its own as
`ProviderError`, the one exception the fetcher treats as "try the next provider".

A provider that can answer for many symbols at once cheaper than one by one (the synthetic
one in numpy, the files one in reader threads) also offers `fetch_many`; a cycle of 5,000
symbols spends milliseconds per symbol in pandas otherwise. Its failures stay per symbol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import pandas as pd

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import parse_interval, require_aware
from dgas_pipeline.tickers import check_stored_ticker

RAW_COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]
PRICE_COLUMNS = ["open", "high", "low", "close"]
VALUE_COLUMNS = [*PRICE_COLUMNS, "volume"]


class ProviderError(Exception):
    """A provider could not deliver a symbol's bars; the message is safe to log and store."""

    def __init__(self, symbol: str, provider: str, message: str) -> None:
        self.symbol = symbol
        self.provider = provider
        self.message = message
        super().__init__(f"{provider}: {symbol}: {message}")


@runtime_checkable
class BarProvider(Protocol):
    """A source of raw bars (columns `RAW_COLUMNS`, ts = bar start, tz-aware UTC)."""

    name: str

    def fetch(
        self, symbol: str, start: datetime, end: datetime, interval: timedelta | str
    ) -> pd.DataFrame: ...


@dataclass(frozen=True)
class BarBatch:
    """Raw bars of many symbols in one frame (what `fetch` gives each, stacked), plus the
    symbols that failed. A symbol in neither has no bars in the window, as for `fetch`."""

    bars: pd.DataFrame  # RAW_COLUMNS
    errors: dict[str, str] = field(default_factory=dict)  # symbol -> ProviderError.message


@runtime_checkable
class BatchBarProvider(BarProvider, Protocol):
    """A provider that also answers for many symbols in one call, with the bars `fetch` gives."""

    def fetch_many(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: timedelta | str
    ) -> BarBatch: ...


def check_symbol(symbol: object, field: str = "symbol") -> str:
    """Providers are asked for tickers as the config stores them (`dgas_pipeline.tickers`):
    no slash or `..`, so a symbol can never name a file outside the files provider's
    directory."""
    return check_stored_ticker(symbol, field)


def check_window(
    start: datetime, end: datetime, interval: timedelta | str
) -> tuple[pd.Timestamp, pd.Timestamp, timedelta]:
    """The window as UTC Timestamps and the interval as a timedelta, or InvalidInput."""
    start_utc = pd.Timestamp(require_aware(start, "start"))
    end_utc = pd.Timestamp(require_aware(end, "end"))
    if end_utc <= start_utc:
        raise InvalidInput(
            "end", end_utc.isoformat(), f"is not after start ({start_utc.isoformat()})"
        )
    return start_utc, end_utc, parse_interval(interval)


def empty_raw_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series([], dtype="str"),
            "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            **{c: pd.Series([], dtype="float64") for c in VALUE_COLUMNS},
        }
    )
