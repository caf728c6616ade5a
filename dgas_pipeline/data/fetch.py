"""Bars of many symbols for one window: failover between providers, validation, session columns.

One symbol failing on every provider must not cost the others their cycle: it is reported in
`errors` (the run becomes PARTIAL) and the rest go on. Only bad *requests* (a naive time, an
unknown interval, a malformed ticker) raise, since they would fail for every symbol alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from dgas_pipeline.data.files import FilesProvider
from dgas_pipeline.data.grid import window_grid
from dgas_pipeline.data.polygon import PolygonProvider
from dgas_pipeline.data.provider import (
    RAW_COLUMNS,
    BarProvider,
    ProviderError,
    check_symbol,
    check_window,
    empty_raw_frame,
)
from dgas_pipeline.data.settings import ProviderSettings
from dgas_pipeline.data.synthetic import SyntheticProvider
from dgas_pipeline.data.validation import InvalidBars, validate_bars
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager

log = logging.getLogger(__name__)

BAR_COLUMNS = [*RAW_COLUMNS, "session", "session_open", "session_close"]


@dataclass(frozen=True)
class FetchResult:
    """`bars` in the output contract (BAR_COLUMNS, sorted by symbol and ts, index 0..n-1)."""

    bars: pd.DataFrame
    errors: dict[str, str] = field(default_factory=dict)  # symbol -> why every provider failed
    provider_used: dict[str, str] = field(default_factory=dict)  # symbol -> provider name

    @property
    def symbols(self) -> list[str]:
        """Symbols that have bars, in the order they were asked for."""
        return list(self.provider_used)

    @property
    def partial(self) -> bool:
        return bool(self.errors)


def fetch_bars(
    providers: Sequence[BarProvider],
    symbols: Iterable[str],
    start: datetime,
    end: datetime,
    interval: timedelta | str,
    market: MarketHoursManager,
    *,
    max_workers: int = 1,
) -> FetchResult:
    """Validated bars starting in [start, end) per symbol, from the first provider that has them.

    `max_workers` > 1 fetches symbols concurrently (worth it for network providers; the
    synthetic one is CPU-bound numpy and gains little).
    """
    if not providers:
        raise InvalidInput("providers", [], "is empty (expected at least one bar provider)")
    start_ts, end_ts, step = check_window(start, end, interval)
    wanted = list(dict.fromkeys(check_symbol(s, f"symbols[{i}]") for i, s in enumerate(symbols)))

    def one(symbol: str) -> tuple[pd.DataFrame | None, str]:
        return _first_good(providers, symbol, start_ts, end_ts, step, market)

    if max_workers > 1 and len(wanted) > 1:
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fetch") as pool:
            outcomes = list(pool.map(one, wanted))
    else:
        outcomes = [one(symbol) for symbol in wanted]

    frames: list[pd.DataFrame] = []
    errors: dict[str, str] = {}
    used: dict[str, str] = {}
    for symbol, (frame, detail) in zip(wanted, outcomes, strict=True):
        if frame is None:
            errors[symbol] = detail
        else:
            frames.append(frame)
            used[symbol] = detail
    return FetchResult(_with_sessions(frames, market, start_ts, end_ts, step), errors, used)


def build_providers(
    settings: ProviderSettings, api_key: str | None, market: MarketHoursManager
) -> list[BarProvider]:
    """The configured chain, in failover order. `api_key` is the Polygon key's value, if any."""
    providers: list[BarProvider] = []
    for name in settings.chain:
        if name == "synthetic":
            providers.append(SyntheticProvider(market, seed=settings.synthetic_seed))
        elif name == "files":
            if settings.files_dir is None:
                raise InvalidInput(
                    "provider.files_dir", None, "is required when 'files' is in provider.chain"
                )
            providers.append(FilesProvider(settings.files_dir))
        elif name == "polygon":
            if not api_key or not api_key.strip():
                raise InvalidInput(
                    "provider.polygon_api_key_env",
                    settings.polygon_api_key_env,
                    "names an environment variable that is unset or empty "
                    "(expected the Polygon API key there, as 'polygon' is in provider.chain)",
                )
            providers.append(
                PolygonProvider(
                    api_key,
                    market,
                    base_url=settings.polygon_base_url,
                    timeout_seconds=settings.request_timeout_seconds,
                    max_retries=settings.max_retries,
                    backoff_base_seconds=settings.backoff_base_seconds,
                    backoff_max_seconds=settings.backoff_max_seconds,
                )
            )
    return providers


def close_providers(providers: Iterable[BarProvider]) -> None:
    """Release network clients (the Polygon provider keeps a connection pool)."""
    for provider in providers:
        close = getattr(provider, "close", None)
        if callable(close):
            close()


# -- one symbol ----------------------------------------------------------------------------


def _first_good(
    providers: Sequence[BarProvider],
    symbol: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    step: timedelta,
    market: MarketHoursManager,
) -> tuple[pd.DataFrame | None, str]:
    """(bars, provider name) from the first provider whose bars pass, or (None, every failure)."""
    failures: list[str] = []
    for provider in providers:
        try:
            raw = provider.fetch(symbol, start, end, step)
            bars = validate_bars(raw, symbol, market, step)
            _check_inside_window(bars, symbol, start, end)
        except ProviderError as err:
            failures.append(f"{provider.name}: {err.message}")
        except InvalidBars as err:
            failures.append(f"{provider.name}: {err}")
        else:
            return bars, provider.name
        log.warning("bars of %s: %s", symbol, failures[-1])
    return None, "; ".join(failures)


def _check_inside_window(
    bars: pd.DataFrame, symbol: str, start: pd.Timestamp, end: pd.Timestamp
) -> None:
    # A bar past `end` would be look-ahead for the cycle that asked: never pass it on.
    ns = bars["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    outside = (ns < start.value) | (ns >= end.value)
    if outside.any():
        at = bars["ts"].iloc[int(np.flatnonzero(outside)[0])]
        raise InvalidBars(
            symbol,
            "ts",
            at,
            f"is outside the requested window [{start.isoformat()}, {end.isoformat()})",
        )


def _with_sessions(
    frames: list[pd.DataFrame],
    market: MarketHoursManager,
    start: pd.Timestamp,
    end: pd.Timestamp,
    step: timedelta,
) -> pd.DataFrame:
    bars = pd.concat(frames, ignore_index=True) if frames else empty_raw_frame()
    bars = bars.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
    grid = window_grid(market, start, end, step)
    # Validation put every bar on this grid, so each ts is found exactly.
    at = np.searchsorted(grid.start, bars["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64))
    session = np.empty(len(bars), dtype=object)
    session[:] = grid.session[at]
    bars["session"] = session
    bars["session_open"] = _utc(grid.session_open[at])
    bars["session_close"] = _utc(grid.session_close[at])
    return bars[BAR_COLUMNS]


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")
