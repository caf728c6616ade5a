"""The Polygon provider against a real HTTP server on 127.0.0.1 serving Polygon-shaped replies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dgas_pipeline.data import PolygonProvider, ProviderError, validate_bars
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline_tests.data.fake_polygon import FakePolygon, Reply, SleepRecorder

KEY = "pk_SECRET_0123456789abcdef"
# 2026-11-27, the early close after Thanksgiving: 09:30-13:00 ET = 14:30-18:00 UTC, 7 bars.
DAY = (datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))
OPEN = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
CLOSE = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)

MakeProvider = Callable[..., PolygonProvider]


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def minutes(first: datetime, count: int, price: float = 100.0) -> list[dict[str, Any]]:
    """Aggregates the way Polygon sends them (t = minute start in ms, plus vw and n)."""
    out = []
    for i in range(count):
        o = price + 0.01 * i
        c = o + (0.004 if i % 2 else -0.003)
        out.append(
            {
                "v": 100.0 + i,
                "vw": round((o + c) / 2, 4),
                "o": o,
                "c": c,
                "h": max(o, c) + 0.02,
                "l": min(o, c) - 0.02,
                "t": ms(first + timedelta(minutes=i)),
                "n": 3,
            }
        )
    return out


def page(results: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticker": "ACME",
        "queryCount": len(results),
        "resultsCount": len(results),
        "adjusted": True,
        "results": results,
        "status": "OK",
        "request_id": "6a7e466379af0a71039d60cc78e72282",
        "count": len(results),
    }
    if next_url:
        body["next_url"] = next_url
    return body


WHOLE_DAY = page(minutes(OPEN, 210))


@pytest.fixture
def make_provider(
    fake_polygon: FakePolygon, sleeps: SleepRecorder, market: MarketHoursManager
) -> Iterator[MakeProvider]:
    made: list[PolygonProvider] = []

    def make(**overrides: Any) -> PolygonProvider:
        settings: dict[str, Any] = {
            "base_url": fake_polygon.base_url,
            "timeout_seconds": 2.0,
            "max_retries": 3,
            "backoff_base_seconds": 0.5,
            "backoff_max_seconds": 30.0,
            "sleep": sleeps,
            "random_fraction": lambda: 0.5,
        }
        provider = PolygonProvider(KEY, market, **{**settings, **overrides})
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def test_pages_are_followed_and_minutes_become_session_bars(
    fake_polygon: FakePolygon, make_provider: MakeProvider, market: MarketHoursManager
) -> None:
    premarket = minutes(OPEN - timedelta(minutes=30), 30, price=99.0)
    session = minutes(OPEN, 210)
    after_hours = minutes(CLOSE, 15, price=150.0)
    next_url = (
        f"{fake_polygon.base_url}/v2/aggs/ticker/ACME/range/1/minute/"
        f"{ms(OPEN)}/{ms(CLOSE) - 1}?cursor=YWN0aXZlPXRydWU"
    )
    fake_polygon.reply(
        Reply(body=page(premarket + session[:120], next_url)),
        Reply(body=page(session[120:] + after_hours)),
    )
    bars = make_provider().fetch("ACME", *DAY, "30min")

    local = [market.local(t.to_pydatetime()).strftime("%H:%M") for t in bars["ts"]]
    assert local == ["09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]
    first, last = session[:30], session[180:]
    assert bars.loc[0, "open"] == first[0]["o"]
    assert bars.loc[0, "close"] == first[-1]["c"]
    assert bars.loc[0, "high"] == max(m["h"] for m in first)
    assert bars.loc[0, "low"] == min(m["l"] for m in first)
    assert bars.loc[0, "volume"] == sum(m["v"] for m in first)
    assert bars.loc[6, "close"] == last[-1]["c"]
    validate_bars(bars, "ACME", market, "30min")

    one, two = fake_polygon.requests
    assert one.path == f"/v2/aggs/ticker/ACME/range/1/minute/{ms(OPEN)}/{ms(CLOSE) - 1}"
    assert one.query == {"adjusted": ["true"], "sort": ["asc"], "limit": ["50000"]}
    assert two.query == {"cursor": ["YWN0aXZlPXRydWU"]}
    for request in (one, two):
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert KEY not in request.raw_target
        assert "apikey" not in request.raw_target.lower()


def test_a_500_is_retried_and_the_next_200_used(
    fake_polygon: FakePolygon, make_provider: MakeProvider, sleeps: SleepRecorder
) -> None:
    fake_polygon.reply(Reply(500, {"status": "ERROR", "error": "internal"}), Reply(body=WHOLE_DAY))
    bars = make_provider().fetch("ACME", *DAY, "30min")
    assert len(bars) == 7
    assert len(fake_polygon.requests) == 2
    assert sleeps.delays == [0.25]  # full jitter: 0.5 × min(max, 0.5 × 2**0)


def test_persistent_5xx_backs_off_exponentially_then_gives_up(
    fake_polygon: FakePolygon, make_provider: MakeProvider, sleeps: SleepRecorder
) -> None:
    fake_polygon.reply(Reply(503, "Service Unavailable"))
    provider = make_provider(max_retries=4, random_fraction=lambda: 1.0, backoff_max_seconds=3.0)
    with pytest.raises(ProviderError, match=r"HTTP 503 .* gave up after 5 attempts"):
        provider.fetch("ACME", *DAY, "30min")
    assert len(fake_polygon.requests) == 5
    assert sleeps.delays == [0.5, 1.0, 2.0, 3.0]  # doubling, capped at backoff_max


def test_a_429_waits_as_long_as_retry_after_says(
    fake_polygon: FakePolygon, make_provider: MakeProvider, sleeps: SleepRecorder
) -> None:
    fake_polygon.reply(
        Reply(429, {"status": "ERROR", "error": "too many requests"}, {"Retry-After": "2"}),
        Reply(body=WHOLE_DAY),
    )
    bars = make_provider().fetch("ACME", *DAY, "30min")
    assert len(bars) == 7
    assert sleeps.delays == [2.0]


def test_a_429_asking_longer_than_backoff_max_fails_over_at_once(
    fake_polygon: FakePolygon, make_provider: MakeProvider, sleeps: SleepRecorder
) -> None:
    fake_polygon.reply(
        Reply(429, {"status": "ERROR"}, {"Retry-After": "3600"}), Reply(body=WHOLE_DAY)
    )
    with pytest.raises(ProviderError, match="Retry-After 3600s"):
        make_provider().fetch("ACME", *DAY, "30min")
    assert len(fake_polygon.requests) == 1
    assert sleeps.delays == []


def test_a_response_slower_than_the_timeout_is_retried_then_reported(
    fake_polygon: FakePolygon, make_provider: MakeProvider, sleeps: SleepRecorder
) -> None:
    fake_polygon.reply(Reply(body=WHOLE_DAY, delay=1.0))
    provider = make_provider(timeout_seconds=0.2, max_retries=1)
    with pytest.raises(ProviderError, match=r"timed out after 0\.2s .* gave up after 2 attempts"):
        provider.fetch("ACME", *DAY, "30min")
    assert len(fake_polygon.requests) == 2
    assert len(sleeps.delays) == 1


def test_malformed_json_is_a_provider_error(
    fake_polygon: FakePolygon, make_provider: MakeProvider
) -> None:
    fake_polygon.reply(Reply(body=b'{"results": [{"t": 1, "o": '))
    with pytest.raises(ProviderError, match="malformed JSON"):
        make_provider().fetch("ACME", *DAY, "30min")
    assert len(fake_polygon.requests) == 1


def test_a_truncated_body_is_a_provider_error(
    fake_polygon: FakePolygon, make_provider: MakeProvider
) -> None:
    fake_polygon.reply(Reply(body=WHOLE_DAY, truncate=True))
    with pytest.raises(ProviderError, match="connection failed"):
        make_provider(max_retries=1).fetch("ACME", *DAY, "30min")
    assert len(fake_polygon.requests) == 2  # a cut connection may be transient: retried once


def test_a_404_is_not_retried(
    fake_polygon: FakePolygon, make_provider: MakeProvider, sleeps: SleepRecorder
) -> None:
    fake_polygon.reply(Reply(404, {"status": "NOT_FOUND", "message": "no such ticker"}))
    with pytest.raises(ProviderError, match=r"HTTP 404 .*no such ticker"):
        make_provider().fetch("NOPE", *DAY, "30min")
    assert len(fake_polygon.requests) == 1
    assert sleeps.delays == []


def test_the_api_key_never_appears_in_errors_or_logs(
    fake_polygon: FakePolygon,
    make_provider: MakeProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = make_provider(max_retries=1)
    echo = {"status": "NOT_AUTHORIZED", "message": f"Unknown API Key '{KEY}'"}
    leaking_next = f"https://elsewhere.example/v2/aggs?cursor=x&apiKey={KEY}"
    scripts = [
        [Reply(403, echo)],
        [Reply(500, echo), Reply(502, f"bad gateway for apiKey={KEY}")],
        [Reply(body=page(minutes(OPEN, 5), leaking_next))],
        [Reply(body={"status": "ERROR", "error": f"key {KEY} suspended"})],
    ]
    messages = []
    with caplog.at_level(logging.DEBUG):
        for script in scripts:
            fake_polygon.replies.clear()
            fake_polygon.reply(*script)
            with pytest.raises(ProviderError) as caught:
                provider.fetch("ACME", *DAY, "30min")
            messages.append(str(caught.value))
    assert all("***" in m for m in messages), messages
    assert not any(KEY in m for m in messages), messages
    assert KEY not in caplog.text
    assert KEY not in repr(provider)


def test_a_next_url_to_another_host_is_not_followed(
    fake_polygon: FakePolygon, make_provider: MakeProvider
) -> None:
    fake_polygon.reply(Reply(body=page(minutes(OPEN, 5), "http://198.51.100.7/v2/aggs?cursor=x")))
    with pytest.raises(ProviderError, match="leaves"):
        make_provider().fetch("ACME", *DAY, "30min")
    assert len(fake_polygon.requests) == 1


def test_an_error_status_in_a_200_is_a_provider_error(
    fake_polygon: FakePolygon, make_provider: MakeProvider
) -> None:
    fake_polygon.reply(Reply(body={"status": "ERROR", "error": "exceeded plan"}))
    with pytest.raises(ProviderError, match=r"status ERROR .*exceeded plan"):
        make_provider().fetch("ACME", *DAY, "30min")


def test_a_result_missing_a_price_is_a_provider_error(
    fake_polygon: FakePolygon, make_provider: MakeProvider
) -> None:
    broken = minutes(OPEN, 3)
    del broken[1]["c"]
    broken[1]["x"] = "?"
    fake_polygon.reply(Reply(body={**page(broken), "results": [*broken[:1], "oops"]}))
    with pytest.raises(ProviderError, match="malformed result"):
        make_provider().fetch("ACME", *DAY, "30min")


def test_no_results_is_an_empty_frame(
    fake_polygon: FakePolygon, make_provider: MakeProvider
) -> None:
    fake_polygon.reply(Reply(body={"ticker": "ACME", "resultsCount": 0, "status": "OK"}))
    bars = make_provider().fetch("ACME", *DAY, "30min")
    assert bars.empty
    assert list(bars.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume"]


def test_a_window_without_sessions_asks_nothing(
    fake_polygon: FakePolygon, make_provider: MakeProvider
) -> None:
    thanksgiving = (datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))
    assert make_provider().fetch("ACME", *thanksgiving, "30min").empty
    assert fake_polygon.requests == []
