"""Fetching many symbols: failover between providers, the output contract, PARTIAL not FAILED."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dgas_pipeline.data import (
    BAR_COLUMNS,
    FilesProvider,
    PolygonProvider,
    ProviderError,
    ProviderSettings,
    SyntheticProvider,
    build_providers,
    close_providers,
    fetch_bars,
)
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager

WEEK = (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))


class Broken:
    """A provider that fails (or lies) for some symbols and delegates the rest."""

    def __init__(
        self, name: str, inner: SyntheticProvider, fail: set[str], how: str = "error"
    ) -> None:
        self.name = name
        self.inner = inner
        self.fail = fail
        self.how = how
        self.asked: list[str] = []

    def fetch(
        self, symbol: str, start: datetime, end: datetime, interval: timedelta | str
    ) -> pd.DataFrame:
        self.asked.append(symbol)
        bars = self.inner.fetch(symbol, start, end, interval)
        if symbol not in self.fail:
            return bars
        if self.how == "error":
            raise ProviderError(symbol, self.name, "HTTP 503 (gave up)")
        if self.how == "inverted":
            return bars.assign(high=bars["low"] - 1)
        if self.how == "future":  # a bar past the window: look-ahead for the asking cycle
            extra = bars.iloc[[-1]].assign(ts=pd.Timestamp("2026-11-30 14:30", tz="UTC"))
            return pd.concat([bars, extra], ignore_index=True)
        raise AssertionError(self.how)


@pytest.fixture(scope="module")
def synthetic() -> SyntheticProvider:
    return SyntheticProvider(MarketHoursManager(), seed=11, name="backup")


def test_when_the_first_provider_fails_for_a_symbol_the_second_serves_it(
    synthetic: SyntheticProvider, market: MarketHoursManager
) -> None:
    first = Broken("primary", synthetic, fail={"BAD"})
    result = fetch_bars([first, synthetic], ["AAA", "BAD", "ZZZ"], *WEEK, "30min", market)
    assert result.errors == {}
    assert result.provider_used == {"AAA": "primary", "BAD": "backup", "ZZZ": "primary"}
    assert result.bars.groupby("symbol").size().to_dict() == {"AAA": 46, "BAD": 46, "ZZZ": 46}
    assert not result.partial


@pytest.mark.parametrize("how", ["inverted", "future"])
def test_bars_that_fail_validation_also_fail_over(
    synthetic: SyntheticProvider, market: MarketHoursManager, how: str
) -> None:
    first = Broken("primary", synthetic, fail={"BAD"}, how=how)
    result = fetch_bars([first, synthetic], ["BAD", "OK"], *WEEK, "30min", market)
    assert result.provider_used == {"BAD": "backup", "OK": "primary"}
    assert result.bars["ts"].max() < WEEK[1]


def test_a_symbol_failing_everywhere_is_listed_and_the_others_go_on(
    synthetic: SyntheticProvider, market: MarketHoursManager
) -> None:
    one = Broken("primary", synthetic, fail={"BAD"})
    two = Broken("secondary", synthetic, fail={"BAD"}, how="inverted")
    result = fetch_bars([one, two], ["AAA", "BAD", "CCC"], *WEEK, "30min", market)
    assert list(result.errors) == ["BAD"]
    message = result.errors["BAD"]
    assert message.startswith("primary: HTTP 503 (gave up); secondary: BAD: high at ")
    assert result.partial
    assert result.symbols == ["AAA", "CCC"]
    assert set(result.bars["symbol"]) == {"AAA", "CCC"}


def test_every_symbol_failing_gives_an_empty_frame_in_the_contract(
    synthetic: SyntheticProvider, market: MarketHoursManager
) -> None:
    broken = Broken("primary", synthetic, fail={"A", "B"})
    result = fetch_bars([broken], ["A", "B"], *WEEK, "30min", market)
    assert result.bars.empty
    assert list(result.bars.columns) == BAR_COLUMNS
    assert str(result.bars["ts"].dtype) == "datetime64[ns, UTC]"
    assert set(result.errors) == {"A", "B"}


def test_a_holiday_window_lists_every_symbol_as_having_no_bars(market: MarketHoursManager) -> None:
    thanksgiving = (datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))
    result = fetch_bars([SyntheticProvider(market)], ["A"], *thanksgiving, "30min", market)
    assert "expected at least one" in result.errors["A"]


def test_bars_follow_the_output_contract(
    synthetic: SyntheticProvider, market: MarketHoursManager
) -> None:
    result = fetch_bars([synthetic], ["MSFT", "AAPL"], *WEEK, "30min", market)
    bars = result.bars
    assert list(bars.columns) == BAR_COLUMNS
    assert list(bars.index) == list(range(len(bars)))
    assert bars["symbol"].tolist() == ["AAPL"] * 46 + ["MSFT"] * 46
    assert bars.groupby("symbol")["ts"].apply(lambda s: s.is_monotonic_increasing).all()
    for column in ["ts", "session_open", "session_close"]:
        assert str(bars[column].dtype) == "datetime64[ns, UTC]"
    for column in ["open", "high", "low", "close", "volume"]:
        assert bars[column].dtype == "float64"
    assert all(type(d) is date for d in bars["session"])

    friday = bars[bars["session"] == date(2026, 11, 27)]
    assert len(friday) == 2 * 7
    assert (friday["session_open"] == pd.Timestamp("2026-11-27 14:30", tz="UTC")).all()
    assert (friday["session_close"] == pd.Timestamp("2026-11-27 18:00", tz="UTC")).all()
    assert date(2026, 11, 26) not in set(bars["session"])
    assert ((bars["ts"] >= bars["session_open"]) & (bars["ts"] < bars["session_close"])).all()


def test_concurrent_fetching_gives_the_same_result(
    synthetic: SyntheticProvider, market: MarketHoursManager
) -> None:
    symbols = [f"S{i}" for i in range(12)]
    serial = fetch_bars([synthetic], symbols, *WEEK, "1h", market)
    parallel = fetch_bars([synthetic], symbols, *WEEK, "1h", market, max_workers=4)
    pd.testing.assert_frame_equal(serial.bars, parallel.bars)
    assert serial.provider_used == parallel.provider_used


def test_repeated_symbols_are_fetched_once(
    synthetic: SyntheticProvider, market: MarketHoursManager
) -> None:
    counting = Broken("primary", synthetic, fail=set())
    result = fetch_bars([counting], ["A", "B", "A"], *WEEK, "30min", market)
    assert counting.asked == ["A", "B"]
    assert len(result.bars) == 2 * 46


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((["A"], datetime(2026, 11, 23), WEEK[1], "30min"), "start"),
        ((["A"], WEEK[1], WEEK[0], "30min"), "end"),
        ((["A"], *WEEK, "30 minutes please"), "interval"),
        ((["A", "B C"], *WEEK, "30min"), "symbols[1]"),
    ],
)
def test_a_bad_request_raises_for_everyone(
    synthetic: SyntheticProvider, market: MarketHoursManager, args: tuple, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        fetch_bars([synthetic], *args, market)
    assert caught.value.field == field


def test_no_providers_is_a_bad_request(market: MarketHoursManager) -> None:
    with pytest.raises(InvalidInput, match="providers"):
        fetch_bars([], ["A"], *WEEK, "30min", market)


# -- build_providers -----------------------------------------------------------------------


def test_default_settings_build_the_synthetic_provider(market: MarketHoursManager) -> None:
    (provider,) = build_providers(ProviderSettings(synthetic_seed=5), None, market)
    assert isinstance(provider, SyntheticProvider)
    assert (provider.name, provider.seed) == ("synthetic", 5)


def test_the_chain_is_built_in_failover_order(tmp_path: Path, market: MarketHoursManager) -> None:
    settings = ProviderSettings(
        chain=["polygon", "files", "synthetic"],
        files_dir=tmp_path,
        polygon_base_url="http://127.0.0.1:9",
        max_retries=1,
    )
    providers = build_providers(settings, "pk_test", market)
    try:
        assert [p.name for p in providers] == ["polygon", "files", "synthetic"]
        assert isinstance(providers[0], PolygonProvider)
        assert providers[0].max_retries == 1
        assert isinstance(providers[1], FilesProvider)
        assert providers[1].directory == tmp_path
    finally:
        close_providers(providers)


@pytest.mark.parametrize("key", [None, "", "  "])
def test_polygon_without_a_key_names_the_env_setting(
    market: MarketHoursManager, key: str | None
) -> None:
    settings = ProviderSettings(chain=["polygon"], polygon_api_key_env="MY_POLYGON_KEY")
    with pytest.raises(InvalidInput) as caught:
        build_providers(settings, key, market)
    assert caught.value.field == "provider.polygon_api_key_env"
    assert "'MY_POLYGON_KEY'" in str(caught.value)


def test_an_unreachable_polygon_fails_over_to_files(
    tmp_path: Path, market: MarketHoursManager
) -> None:
    SyntheticProvider(market).fetch("ACME", *WEEK, "30min").to_parquet(tmp_path / "ACME.parquet")
    settings = ProviderSettings(
        chain=["polygon", "files"],
        files_dir=tmp_path,
        polygon_base_url="http://127.0.0.1:9",  # discard port: nothing listens
        max_retries=0,
        request_timeout_seconds=1,
    )
    providers = build_providers(settings, "pk_test", market)
    try:
        result = fetch_bars(providers, ["ACME", "NOFILE"], *WEEK, "30min", market)
    finally:
        close_providers(providers)
    assert result.provider_used == {"ACME": "files"}
    assert result.errors["NOFILE"].startswith("polygon: connection failed")
    assert "files: no file" in result.errors["NOFILE"]
