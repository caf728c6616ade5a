"""Other exchanges than XNYS: their own hours, time zone, DST dates and lunch breaks.

Every expected value is written out by hand from the exchange's published trading hours,
never computed by the code under test:

- XLON (London Stock Exchange): continuous trading 08:00-16:30 London time; UK summer time
  from the last Sunday of March (2026-03-29), so 08:00 is 08:00Z before and 07:00Z after;
  Christmas Eve closes at 12:30.
- XHKG (Hong Kong Exchanges): 09:30-12:00 and 13:00-16:00 HKT (UTC+8, no DST); Christmas
  Eve is a half day closing at 12:00, with no afternoon.
- XTKS (Tokyo Stock Exchange): 09:00-11:30 and 12:30-15:30 JST (UTC+9, no DST), the 15:30
  close since 2024-11-05.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.analysis.timeframes import resample_bars
from dgas_pipeline.data.grid import days_grid
from dgas_pipeline.defs.partitions import cycle_partitions
from dgas_pipeline.market import MarketHoursManager, PlanSettings, plan_launches
from dgas_pipeline.market.ticks import skip_reason
from dgas_pipeline_tests.deployment import forget_code_location, isolate, run_dgas


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def keys(*times: str) -> list[str]:
    """Bar starts written out one by one (the exchange-local wall clock)."""
    return list(times)


# exchange, session, its cycle keys (exchange-local bar starts), (first bar), (last bar), EOD due
PLANS = [
    pytest.param(
        "XLON", date(2026, 3, 27),
        [f"{h:02d}:{m:02d}" for h in range(8, 17) for m in (0, 30) if (h, m) != (16, 30)],
        ("08:00Z", "08:30Z"), ("16:00Z", "16:30Z"), "16:50Z", id="XLON-winter-GMT",
    ),
    pytest.param(
        "XLON", date(2026, 3, 30),
        [f"{h:02d}:{m:02d}" for h in range(8, 17) for m in (0, 30) if (h, m) != (16, 30)],
        ("07:00Z", "07:30Z"), ("15:00Z", "15:30Z"), "15:50Z", id="XLON-summer-BST",
    ),
    pytest.param(
        "XLON", date(2026, 3, 9),  # New York is on summer time already, London is not
        [f"{h:02d}:{m:02d}" for h in range(8, 17) for m in (0, 30) if (h, m) != (16, 30)],
        ("08:00Z", "08:30Z"), ("16:00Z", "16:30Z"), "16:50Z", id="XLON-own-DST-dates",
    ),
    pytest.param(
        "XLON", date(2026, 12, 24),
        keys("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00"),
        ("08:00Z", "08:30Z"), ("12:00Z", "12:30Z"), "12:50Z", id="XLON-christmas-eve-12-30",
    ),
    pytest.param(
        "XHKG", date(2026, 12, 4),
        keys("09:30", "10:00", "10:30", "11:00", "11:30",
             "13:00", "13:30", "14:00", "14:30", "15:00", "15:30"),
        ("01:30Z", "02:00Z"), ("07:30Z", "08:00Z"), "08:20Z", id="XHKG-lunch-break",
    ),
    pytest.param(
        "XHKG", date(2026, 12, 24),
        keys("09:30", "10:00", "10:30", "11:00", "11:30"),
        ("01:30Z", "02:00Z"), ("03:30Z", "04:00Z"), "04:20Z", id="XHKG-half-day",
    ),
    pytest.param(
        "XTKS", date(2026, 12, 4),
        keys("09:00", "09:30", "10:00", "10:30", "11:00",
             "12:30", "13:00", "13:30", "14:00", "14:30", "15:00"),
        ("00:00Z", "00:30Z"), ("06:00Z", "06:30Z"), "06:50Z", id="XTKS-lunch-break",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("exchange", "day", "bar_keys", "first", "last", "eod"), PLANS)
def test_plan_of_a_session_to_the_minute(
    exchange: str,
    day: date,
    bar_keys: list[str],
    first: tuple[str, str],
    last: tuple[str, str],
    eod: str,
) -> None:
    plan = plan_launches(MarketHoursManager(exchange), day, day, PlanSettings())
    cycles = [x for x in plan if x.kind == "cycle"]
    on = day.isoformat()
    assert [x.partition_key for x in cycles] == [f"{on}-{k}" for k in bar_keys]
    assert (cycles[0].bar_start, cycles[0].bar_end) == tuple(z(f"{on}T{t}") for t in first)
    assert (cycles[-1].bar_start, cycles[-1].bar_end) == tuple(z(f"{on}T{t}") for t in last)
    assert [(x.kind, x.partition_key, x.due) for x in plan[len(cycles) :]] == [
        ("eod", on, z(f"{on}T{eod}"))
    ]


# (exchange, the bar before the break, the bar after it), UTC on 2026-12-04
BREAKS = [
    ("XHKG", ("03:30Z", "04:00Z"), ("05:00Z", "05:30Z")),
    ("XTKS", ("02:00Z", "02:30Z"), ("03:30Z", "04:00Z")),
]  # fmt: skip


@pytest.mark.parametrize(("exchange", "morning", "afternoon"), BREAKS, ids=lambda v: str(v)[:4])
def test_no_bar_spans_the_lunch_break(
    exchange: str, morning: tuple[str, str], afternoon: tuple[str, str]
) -> None:
    morning = (f"2026-12-04T{morning[0]}", f"2026-12-04T{morning[1]}")
    afternoon = (f"2026-12-04T{afternoon[0]}", f"2026-12-04T{afternoon[1]}")
    market = MarketHoursManager(exchange)
    bars = market.session_intervals(date(2026, 12, 4), timedelta(minutes=30))
    i = bars.index((z(morning[0]), z(morning[1])))
    assert bars[i + 1] == (z(afternoon[0]), z(afternoon[1]))
    assert market.lunch_break(date(2026, 12, 4)) == (z(morning[1]), z(afternoon[0]))
    # An hour bar cannot straddle it either: the morning's last one is cut at the break.
    hours = market.session_intervals(date(2026, 12, 4), timedelta(hours=1))
    assert all(not (s < z(morning[1]) < e) for s, e in hours)
    assert (z(morning[1]) - timedelta(minutes=30), z(morning[1])) in hours
    # The market is shut during the break, open on either side of it.
    assert market.is_market_open(z(morning[1]) - timedelta(seconds=1))
    assert not market.is_market_open(z(morning[1]))
    assert not market.is_market_open(z(afternoon[0]) - timedelta(seconds=1))
    assert market.is_market_open(z(afternoon[0]))


@pytest.mark.parametrize("exchange", ["XLON", "XHKG", "XTKS"])
def test_cycle_partitions_are_the_planners_bars(exchange: str) -> None:
    """Dagster's partitions hold the same keys and windows as the plan, over a month with
    DST changes (XLON), Christmas half days and lunch breaks."""
    market = MarketHoursManager(exchange)
    interval = timedelta(minutes=30)
    partitions = cycle_partitions(market, date(2026, 10, 1), interval)
    planned = [
        x
        for x in plan_launches(
            market, date(2026, 10, 19), date(2026, 10, 30), PlanSettings(interval)
        )
        if x.kind == "cycle"
    ] + [
        x
        for x in plan_launches(
            market, date(2026, 12, 21), date(2026, 12, 31), PlanSettings(interval)
        )
        if x.kind == "cycle"
    ]
    with dg.instance_for_test():
        every = partitions.get_partition_keys(current_time=z("2027-01-15T00:00Z"))
    wanted = {x.partition_key for x in planned}
    in_weeks = [k for k in every if k[:10] in {x.session.isoformat() for x in planned}]
    assert in_weeks == [x.partition_key for x in planned] and set(in_weeks) == wanted
    for launch in planned:
        window = partitions.time_window_for_partition_key(launch.partition_key)
        assert (window.start, window.end) == (launch.bar_start, launch.bar_end), launch


# The sensor's skip reasons speak the exchange's own clock and zone, not New York's.
SKIPS = [
    pytest.param("XLON", "2026-12-05T12:00Z",
                 "market closed: weekend; next open Mon 2026-12-07 08:00 GMT", id="XLON-winter"),
    pytest.param("XLON", "2026-06-06T12:00Z",
                 "market closed: weekend; next open Mon 2026-06-08 08:00 BST", id="XLON-summer"),
    pytest.param("XHKG", "2026-12-04T04:30Z",
                 "next cycle 2026-12-04 13:30 HKT (2026-12-04-13:00)", id="XHKG-lunch"),
    pytest.param("XTKS", "2026-12-05T03:00Z",
                 "market closed: weekend; next open Mon 2026-12-07 09:00 JST", id="XTKS-weekend"),
    pytest.param("XNYS", "2026-11-26T17:00Z",
                 "market closed: Thanksgiving; next open Fri 2026-11-27 09:30 ET", id="XNYS"),
]  # fmt: skip


@pytest.mark.parametrize(("exchange", "now", "reason"), SKIPS)
def test_skip_reasons_in_the_exchanges_zone(exchange: str, now: str, reason: str) -> None:
    market = MarketHoursManager(exchange)
    assert skip_reason(market, z(now), PlanSettings()) == reason


# -- the README's example and an unknown exchange -------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    """The first YAML block of the README's "Other exchanges" section."""
    section = README.read_text(encoding="utf-8").split("\n## Other exchanges\n")[1]
    return section.split("```yaml\n")[1].split("```")[0]


def test_the_readmes_london_example_validates_plans_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(tmp_path, monkeypatch)
    (tmp_path / "dgas.yaml").write_text(readme_example(), encoding="utf-8")
    try:
        code, out, err = run_dgas("config", "validate", "--json")
        assert (code, err) == (0, "")
        assert json.loads(out)["config"]["calendar"]["exchange"] == "XLON"

        code, out, err = run_dgas("plan", "--start", "2026-12-24", "--end", "2026-12-24", "--json")
        assert (code, err) == (0, "")
        launches = json.loads(out)["launches"]
        assert [x["partition_key"][-5:] for x in launches[:-1]] == keys(
            "08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00"
        )
        assert (launches[-1]["kind"], launches[-1]["due"]) == ("eod", "2026-12-24T12:50:00Z")

        code, out, err = run_dgas("run-once", "--at", "2026-12-04T16:35:00+00:00", "--json")
        assert code == 0, err
        run = json.loads(out)
        assert (run["status"], run["partition_key"]) == ("SUCCESS", "2026-12-04-16:00")
        assert (run["bar_start"], run["bar_end"]) == (
            "2026-12-04T16:00:00+00:00",
            "2026-12-04T16:30:00+00:00",
        )
    finally:
        forget_code_location()


def test_an_unknown_exchange_is_refused_saying_how_to_list_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(tmp_path, monkeypatch)
    (tmp_path / "dgas.yaml").write_text("calendar: {exchange: XLONDON}\n", encoding="utf-8")
    code, out, err = run_dgas("config", "validate")
    assert (code, out) == (2, "")
    assert err.startswith("dgas: calendar.exchange: 'XLONDON' is not a calendar known to")
    assert "exchange_calendars.get_calendar_names()" in err
    assert "Traceback" not in err


# -- higher timeframes around the lunch break ----------------------------------------------------


@pytest.mark.parametrize(
    ("exchange", "timeframe", "buckets"),
    [
        pytest.param("XHKG", "1h", [("01:30Z", "02:30Z"), ("02:30Z", "03:30Z"),
                                    ("03:30Z", "04:00Z"), ("05:00Z", "06:00Z"),
                                    ("06:00Z", "07:00Z"), ("07:00Z", "08:00Z")], id="XHKG-1h"),
        pytest.param("XHKG", "4h", [("01:30Z", "04:00Z"), ("05:00Z", "08:00Z")], id="XHKG-4h"),
        pytest.param("XTKS", "4h", [("00:00Z", "02:30Z"), ("03:30Z", "06:30Z")], id="XTKS-4h"),
        pytest.param("XLON", "4h", [("08:00Z", "12:00Z"), ("12:00Z", "16:00Z"),
                                    ("16:00Z", "16:30Z")], id="XLON-4h"),
    ],
)  # fmt: skip
def test_higher_timeframes_never_span_the_lunch_break(
    exchange: str, timeframe: str, buckets: list[tuple[str, str]]
) -> None:
    """The 30-minute grid of 2026-12-04 resampled as the cycle does: each higher bar inside
    the morning or the afternoon, the morning's last one cut at the break."""
    market = MarketHoursManager(exchange)
    grid = days_grid(market, [date(2026, 12, 4)], timedelta(minutes=30))
    n = len(grid)
    bars = pd.DataFrame(
        {
            "symbol": ["HSBC"] * n,
            "ts": pd.to_datetime(grid.start, utc=True),
            "open": np.arange(n, dtype=float) + 100,
            "high": np.arange(n, dtype=float) + 101,
            "low": np.arange(n, dtype=float) + 99,
            "close": np.arange(n, dtype=float) + 100.5,
            "volume": np.full(n, 1000.0),
            "session_open": pd.to_datetime(grid.session_open, utc=True),
            "session_close": pd.to_datetime(grid.session_close, utc=True),
        }
    )
    higher = resample_bars(bars, timeframe)
    got = [(ts.strftime("%H:%MZ"), end.strftime("%H:%MZ")) for ts, end in zip(
        higher["ts"], higher["end"], strict=True
    )]  # fmt: skip
    assert got == buckets
    assert int(higher["bar_count"].sum()) == n
