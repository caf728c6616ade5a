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
from dgas_pipeline.data.provider import (
    RAW_COLUMNS,
    BarProvider,
    BatchBarProvider,
    ProviderError,
    check_symbol,
    check_window,
    empty_raw_frame,
)
from dgas_pipeline.data.settings import ProviderSettings
from dgas_pipeline.data.synthetic import SyntheticProvider
from dgas_pipeline.data.validation import no_bars, validate_batch, validate_frames
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

    Each provider is asked once for all the symbols still missing (`fetch_many` where it has
    one, else symbol by symbol); `max_workers` > 1 fetches those symbols concurrently (worth
    it for network providers).
    """
    if not providers:
        raise InvalidInput("providers", [], "is empty (expected at least one bar provider)")
    start_ts, end_ts, step = check_window(start, end, interval)
    wanted = list(dict.fromkeys(check_symbol(s, f"symbols[{i}]") for i, s in enumerate(symbols)))

    remaining = wanted
    failures: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    accepted: list[pd.DataFrame] = []
    for provider in providers:
        if not remaining:
            break
        bars, failed = _from_provider(
            provider, remaining, start_ts, end_ts, step, market, max_workers
        )
        for symbol in remaining:
            if symbol in failed:
                failures.setdefault(symbol, []).append(f"{provider.name}: {failed[symbol]}")
                log.warning("bars of %s: %s", symbol, failures[symbol][-1])
            else:
                used[symbol] = provider.name
        accepted.append(bars)
        remaining = [symbol for symbol in remaining if symbol in failed]

    errors = {symbol: "; ".join(failures[symbol]) for symbol in remaining}
    provider_used = {symbol: used[symbol] for symbol in wanted if symbol in used}
    bars = _with_sessions(accepted, market, start_ts, end_ts, step)
    return FetchResult(bars, errors, provider_used)


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
            # httpx only when Polygon is in the chain: the synthetic and files providers
            # (and the code location, which builds no provider at load) need no HTTP client.
            from dgas_pipeline.data.polygon import PolygonProvider

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


# -- one provider --------------------------------------------------------------------------


def _from_provider(
    provider: BarProvider,
    symbols: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    step: timedelta,
    market: MarketHoursManager,
    max_workers: int,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """(validated bars, why each symbol without them failed) from one provider."""
    failed: dict[str, str] = {}
    if isinstance(provider, BatchBarProvider):
        try:
            batch = provider.fetch_many(symbols, start, end, step)
        except ProviderError as err:  # the provider as a whole: every symbol failed with it
            return empty_raw_frame(), dict.fromkeys(symbols, err.message)
        failed.update(batch.errors)
        raw = batch.bars
        if len(raw) and not raw["symbol"].isin(symbols).all():
            raw = raw[raw["symbol"].isin(symbols)]
        bars, invalid = validate_batch(raw, market, step, start, end)
    else:
        frames, errors = _fetch_each(provider, symbols, start, end, step, max_workers)
        failed.update(errors)
        bars, invalid = validate_frames(frames, market, step, start, end)
    failed.update((symbol, str(err)) for symbol, err in invalid.items())
    served = set(bars["symbol"].unique())
    for symbol in symbols:
        if symbol not in served and symbol not in failed:
            failed[symbol] = str(no_bars(symbol))
    return bars, failed


def _fetch_each(
    provider: BarProvider,
    symbols: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    step: timedelta,
    max_workers: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The frame of each symbol `fetch` answered, and the ProviderError message of the rest."""

    def one(symbol: str) -> pd.DataFrame | str:
        try:
            return provider.fetch(symbol, start, end, step)
        except ProviderError as err:
            return err.message

    if max_workers > 1 and len(symbols) > 1:
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fetch") as pool:
            outcomes = list(pool.map(one, symbols))
    else:
        outcomes = [one(symbol) for symbol in symbols]
    frames = {s: o for s, o in zip(symbols, outcomes, strict=True) if not isinstance(o, str)}
    errors = {s: o for s, o in zip(symbols, outcomes, strict=True) if isinstance(o, str)}
    return frames, errors


def _with_sessions(
    frames: list[pd.DataFrame],
    market: MarketHoursManager,
    start: pd.Timestamp,
    end: pd.Timestamp,
    step: timedelta,
) -> pd.DataFrame:
    """One frame sorted by (symbol, ts), with each bar's session: validated frames keep a
    symbol's rows together and increasing, so only the symbols need sorting, not the rows."""
    frames = [frame for frame in frames if len(frame)]
    bars = pd.concat(frames, ignore_index=True) if frames else empty_raw_frame()
    codes, names = pd.factorize(bars["symbol"])
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.asarray(names, dtype=object), kind="stable")] = np.arange(len(names))
    order = np.argsort(rank[codes], kind="stable")
    bars = bars.take(order).reset_index(drop=True)
    grid = window_grid(market, start, end, step)
    # Validation put every bar on this grid, so each ts is found exactly.
    at = np.searchsorted(grid.start, bars["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64))
    return pd.DataFrame(
        {
            **{column: bars[column] for column in RAW_COLUMNS},
            "session": grid.session[at],
            "session_open": _utc(grid.session_open[at]),
            "session_close": _utc(grid.session_close[at]),
        }
    )


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")
