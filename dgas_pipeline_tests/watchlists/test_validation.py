"""The service's validation: every problem names the field and the value, before any SQL."""

from __future__ import annotations

from typing import Any

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.watchlists.service import WatchlistService, check_name

SPY = {"name": "core", "symbols": ["spy", " aapl "]}


@pytest.fixture
def service(sqlite_url: str, market: MarketHoursManager) -> WatchlistService:
    """Validation happens before any SQL: one backend is enough here."""
    ensure_schema(sqlite_url)
    return WatchlistService(make_engine(sqlite_url), market)


def test_add_normalises_tickers_like_the_config_does(service: WatchlistService) -> None:
    w = service.add(SPY)
    assert w.symbols == ("SPY", "AAPL")
    assert w.schedule == "every_bar"
    assert w.enabled


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"symbols": ["SPY"]}, ["name: None is required but missing"]),
        (
            {"name": "core", "symbols": ["SPY", "BRK B", "SPY"]},
            [
                "symbols[1]: 'BRK B' is not a ticker (expected 1 to 10 ASCII letters and digits",
                "symbols[2]: 'SPY' is listed twice",
            ],
        ),
        (
            {"name": "core", "symbols": ["SPY", None, 7]},
            [
                "symbols[1]: None is not a ticker (expected a string)",
                "symbols[2]: 7 is not a ticker (expected a string)",
            ],
        ),
        ({"name": "core", "symbols": "SPY"}, ["symbols: 'SPY' must be a list of tickers"]),
        ({"name": "core", "symbols": []}, ["symbols: [] must name at least one ticker"]),
        (
            {"name": "core", "symbols": ["SPY"], "schedule": "25:00"},
            ["schedule: '25:00' is not a schedule (expected every_bar or HH:MM, e.g. 15:45)"],
        ),
        (
            {"name": "core", "symbols": ["SPY"], "schedule": "9:45"},
            ["schedule: '9:45' is not a schedule"],
        ),
        (
            {"name": "core", "symbols": ["SPY"], "colour": "red"},
            ["colour: '<not shown>' is not a known field"],
        ),
        (
            {"name": "has space", "symbols": ["SPY"]},
            ["name: 'has space' is not a watchlist name (expected 1 to 64 letters"],
        ),
        ({"name": "a" * 65, "symbols": ["SPY"]}, ["name: 'aaaa"]),
        ({"name": "", "symbols": ["SPY"]}, ["name: '' is not a watchlist name"]),
        ({"name": "..", "symbols": ["SPY"]}, ["name: '..' cannot be addressed in a URL"]),
        ({"name": "core\n", "symbols": ["SPY"]}, ["name: 'core\\n' is not a watchlist name"]),
    ],
)
def test_bad_payloads_name_each_field_and_value(
    service: WatchlistService, payload: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(InvalidInput) as raised:
        service.add(payload)
    lines = raised.value.lines
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line
    assert service.list_all() == []


@pytest.mark.parametrize(
    "name",
    [
        "x'); DROP TABLE watchlists;--",
        "a;b",
        "Robert'); DELETE FROM watchlists WHERE ('1'='1",
        "../../etc/passwd",
        "a/b",
        "名前",
        "core%00",
    ],
)
def test_injection_looking_names_are_rejected_before_any_sql(
    service: WatchlistService, name: str
) -> None:
    service.add(SPY)
    with pytest.raises(InvalidInput, match=r"^name: "):
        service.add({"name": name, "symbols": ["SPY"]})
    with pytest.raises(InvalidInput, match=r"^name: "):
        service.show(name)
    with pytest.raises(InvalidInput, match=r"^name: "):
        service.remove(name)
    assert [w.name for w in service.list_all()] == ["core"]


def test_every_name_character_class_is_accepted(service: WatchlistService) -> None:
    assert service.add({"name": "Tech_2026.v-1", "symbols": ["QQQ"]}).name == "Tech_2026.v-1"
    assert check_name("a" * 64) == "a" * 64


@pytest.mark.parametrize("at", ["09:30", "12:00", "16:00"])
def test_hh_mm_inside_the_regular_session_is_accepted(service: WatchlistService, at: str) -> None:
    assert service.add({"name": "timed", "symbols": ["SPY"], "schedule": at}).schedule == at


@pytest.mark.parametrize("at", ["09:29", "16:01", "17:00", "00:00"])
def test_hh_mm_outside_the_regular_session_is_refused(service: WatchlistService, at: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        service.add({"name": "timed", "symbols": ["SPY"], "schedule": at})
    assert str(raised.value) == (
        f"schedule: {at!r} is outside the XNYS regular session (09:30-16:00 exchange-local); "
        "an HH:MM watchlist runs while the market is open"
    )


def test_update_requires_the_version_read(service: WatchlistService) -> None:
    service.add(SPY)
    with pytest.raises(InvalidInput, match=r"^version: None is required but missing"):
        service.update("core", {"symbols": ["QQQ"]})
    with pytest.raises(InvalidInput, match=r"^version: 0 Input should be greater than"):
        service.update("core", {"version": 0, "symbols": ["QQQ"]})


def test_update_validates_like_add(service: WatchlistService) -> None:
    service.add(SPY)
    with pytest.raises(InvalidInput) as raised:
        service.update("core", {"version": 1, "symbols": ["ok", "NOT OK"], "schedule": "7pm"})
    assert [line.split(":")[0] for line in raised.value.lines] == ["symbols[1]", "schedule"]
    with pytest.raises(InvalidInput, match="outside the XNYS regular session"):
        service.update("core", {"version": 1, "schedule": "20:00"})
    assert service.show("core").version == 1


@pytest.mark.parametrize(
    "ticker",
    ["ﬀ", "ß", "ＡＡＰＬ", "İBM", "АAPL", "AAPL\n", "BRK.", "A..B", "^GSPC", "ABCDEFGHIJK"],
)
def test_the_config_ticker_rule_applies_before_any_case_folding(
    service: WatchlistService, ticker: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        service.add({"name": "core", "symbols": ["SPY", ticker]})
    (line,) = raised.value.lines
    assert line.startswith(f"symbols[1]: {ticker!r} is not a ticker (expected 1 to 10 ASCII")
    with pytest.raises(InvalidInput, match=r"^symbols\[0\]: "):
        service.update("ghost", {"version": 1, "symbols": [ticker]})
    assert service.list_all() == []


@pytest.mark.parametrize(
    ("written", "stored"), [("i:spx", "I:SPX"), ("BF-B", "BF-B"), ("brk.b", "BRK.B")]
)
def test_real_tickers_are_stored_upper_case(
    service: WatchlistService, written: str, stored: str
) -> None:
    assert service.add({"name": "core", "symbols": [written]}).symbols == (stored,)
