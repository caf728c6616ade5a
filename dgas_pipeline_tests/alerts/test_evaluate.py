"""Rule evaluation as answer tables: closes in, the bars a rule fired on out.

Every series is 30-min bars of real XNYS sessions (Thanksgiving week 2025), so session gaps,
the holiday and the 13:00 early close are the real ones. Positions count bars of the series.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dgas_pipeline.alerts.evaluate import evaluate_rules, scan
from dgas_pipeline.alerts.state import ARMED, TRIGGERED, AlertState, initial_state
from dgas_pipeline_tests.alerts.bars import (
    FRI,
    MON,
    TUE,
    WED,
    bar_starts,
    events,
    fired_at,
    one_rule,
    session_bars,
)

LEVEL = 100.0


def close(op: str, value: float = LEVEL) -> dict[str, Any]:
    return {"field": "close", "op": op, "value": value}


def fires(
    when: dict[str, Any], closes: list[float], rearm: dict[str, Any] | None = None
) -> list[int]:
    return fired_at(one_rule(when, rearm=rearm), session_bars({MON: closes}))


# -- operators ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "closes", "expected"),
    [
        # a level rule fires once per excursion, re-arms on the first false bar
        ("gt", [99, 100, 101, 102, 99, 101], [2, 5]),
        ("gte", [99, 100, 101, 102, 99, 101], [1, 5]),
        ("lt", [101, 100, 99, 98, 101, 99], [2, 5]),
        ("lte", [101, 100, 99, 98, 101, 99], [1, 5]),
        ("eq", [99, 100, 100, 101, 100], [1, 4]),
        ("ne", [100, 99, 98, 100, 101], [1, 4]),
        # crossings: the previous bar at the level counts as "not above yet"
        ("crosses_above", [99, 100, 101, 100, 101, 102, 99, 101], [2, 4, 7]),
        ("crosses_below", [101, 100, 99, 100, 99, 98, 101, 99], [2, 4, 7]),
    ],
)
def test_operator_answer_table(op: str, closes: list[float], expected: list[int]) -> None:
    assert fires(close(op), closes) == expected


@pytest.mark.parametrize(
    ("op", "closes", "expected"),
    [
        ("gt", [100, 100, 100], []),
        ("gte", [100, 100, 100], [0]),
        ("lt", [100, 100], []),
        ("lte", [100, 100], [0]),
        ("eq", [100, 100], [0]),
        ("ne", [100, 100], []),
        ("crosses_above", [99, 100, 100, 100], []),  # touching the level is not crossing it
        ("crosses_below", [101, 100, 100], []),
    ],
)
def test_equality_at_the_threshold(op: str, closes: list[float], expected: list[int]) -> None:
    assert fires(close(op), closes) == expected


@pytest.mark.parametrize(
    ("op", "closes", "expected"),
    [
        ("between", [99, 100, 111, 110, 109, 120, 105], [1, 3, 6]),  # bounds included
        ("outside", [105, 100, 99, 105, 110, 111], [2, 5]),  # bounds are not outside
    ],
)
def test_between_and_outside(op: str, closes: list[float], expected: list[int]) -> None:
    assert fires({"field": "close", "op": op, "values": [100, 110]}, closes) == expected


def test_a_crossing_on_the_first_bar_ever_is_unknown_and_does_not_fire() -> None:
    assert fires(close("crosses_above"), [101, 102]) == []


# -- session gaps ------------------------------------------------------------------------------


def test_a_crossing_over_the_overnight_gap_fires_on_the_first_bar_of_the_session() -> None:
    bars = session_bars({MON: [101] * 12 + [99], TUE: [101, 102]})
    rule = one_rule(close("crosses_above"))
    assert fired_at(rule, bars) == [13]
    assert events(rule, bars)[0].bar_start == bar_starts(TUE)[0]


def test_a_crossing_over_thanksgiving_and_on_the_last_bar_of_the_early_close() -> None:
    bars = session_bars({WED: [99] * 13, FRI: [101] * 5 + [99, 101]})
    friday = bar_starts(FRI)
    assert len(friday) == 7  # 09:30 .. 12:30-13:00
    fired = events(one_rule(close("crosses_above")), bars)
    assert [e.bar_start for e in fired] == [friday[0], friday[6]]
    assert fired[-1].bar_end == friday[6] + timedelta(minutes=30)  # 13:00 ET


def test_a_1h_rule_crosses_from_the_last_bar_of_a_session_cut_at_the_close() -> None:
    # 1h bars of a day: 09:30, 10:30, ..., 15:30 (cut at 16:00): seven, the last one short.
    bars = session_bars({MON: [99] * 13, TUE: [101, 101]})
    fired = events(one_rule(close("crosses_above"), timeframe="1h"), bars)
    assert [e.bar_start for e in fired] == [bar_starts(TUE)[0]]


# -- closed bars only --------------------------------------------------------------------------


def test_a_higher_timeframe_bar_is_evaluated_only_once_it_has_closed() -> None:
    bars = session_bars({MON: [99, 99, 101]})  # 09:30, 10:00, 10:30 (half an hour bar)
    rule = one_rule(close("crosses_above"), timeframe="1h")
    starts = bar_starts(MON)
    forming = starts[2] + timedelta(minutes=30)  # 11:00: the 10:30-11:30 bar is forming
    assert events(rule, bars, as_of=forming) == []
    closed = events(rule, session_bars({MON: [99, 99, 101, 102]}), as_of=starts[4])
    assert [e.bar_start for e in closed] == [starts[2]]


# -- cooldown ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cooldown", "expected"),
    [
        (0, [1, 3, 5]),
        (59, [1, 3, 5]),
        (60, [1, 3, 5]),  # bar 3 starts exactly 60 minutes after bar 1: allowed
        (61, [1, 5]),
        (120, [1, 5]),
        (121, [1]),
    ],
)
def test_cooldown_boundary_is_exactly_cooldown_minutes(cooldown: int, expected: list[int]) -> None:
    closes = [99, 101, 99, 101, 99, 101]
    assert fires(close("crosses_above"), closes, {"cooldown_minutes": cooldown}) == expected


def test_cooldown_of_exactly_the_overnight_gap_allows_the_opening_bar() -> None:
    # Fired on Monday 15:00 (bar 11); Tuesday's 09:30 bar starts 18h30 later.
    series = session_bars({MON: [99] * 11 + [101, 99], TUE: [101]})
    gap = 18 * 60 + 30
    allowed = one_rule(close("crosses_above"), rearm={"cooldown_minutes": gap})
    blocked = one_rule(close("crosses_above"), rearm={"cooldown_minutes": gap + 1})
    assert fired_at(allowed, series) == [11, 13]
    assert fired_at(blocked, series) == [11]


def test_re_arming_does_not_wait_for_the_cooldown() -> None:
    rule = one_rule(close("gt"), rearm={"cooldown_minutes": 90})
    bars = session_bars({MON: [101, 99, 101, 101, 101, 99]})
    moves = [(e.bar_start, e.state) for e in events(rule, bars, transitions=True)]
    starts = bar_starts(MON)
    # fired 09:30, re-armed 10:00 (inside the cooldown), 10:30 blocked, 11:00 (90 min) fires
    assert moves == [
        (starts[0], TRIGGERED),
        (starts[1], ARMED),
        (starts[3], TRIGGERED),
        (starts[5], ARMED),
    ]


# -- hysteresis --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "closes", "hysteresis", "expected"),
    [
        (close("gt"), [99, 101, 99.8, 101, 99.5, 101], 0, [1, 3, 5]),
        # 99.8 is false by 0.2 < 0.5: no re-arm; 99.5 is false by exactly 0.5: re-arms
        (close("gt"), [99, 101, 99.8, 101, 99.5, 101], 0.5, [1, 5]),
        (close("gt"), [99, 101, 99.8, 101, 99.6, 101], 0.5, [1]),
        (close("lt"), [101, 99, 100.2, 99, 100.5, 99], 0.5, [1, 5]),
        (close("gte"), [99, 100, 99.9, 100, 99.5, 100], 0.5, [1, 5]),
        # a crossing re-arms once the close is back under the level by the margin
        (close("crosses_above"), [99, 101, 99.8, 101, 99.4, 101], 0, [1, 3, 5]),
        (close("crosses_above"), [99, 101, 99.8, 101, 99.4, 101], 0.5, [1, 5]),
        (close("crosses_below"), [101, 99, 100.2, 99, 100.6, 99], 0.5, [1, 5]),
        (close("eq"), [100, 101, 100, 100.2, 100], 0.5, [0, 2]),
        (
            {"field": "close", "op": "between", "values": [100, 110]},
            [95, 105, 99.5, 105, 98, 105],
            1,
            [1, 5],
        ),
        (
            {"field": "close", "op": "outside", "values": [100, 110]},
            [105, 99, 100.5, 99, 101, 99],
            1,
            [1, 5],
        ),
        # not: re-arms when the inner comparison is true by the margin
        ({"not": close("lte")}, [99, 101, 99.8, 101, 99.5, 101], 0.5, [1, 5]),
    ],
)
def test_hysteresis_answer_table(
    when: dict[str, Any], closes: list[float], hysteresis: float, expected: list[int]
) -> None:
    assert fires(when, closes, {"hysteresis": hysteresis}) == expected


def test_hysteresis_is_in_the_units_of_the_compared_values() -> None:
    when = {"field": "volume", "op": "gt", "value": 1000}
    rule = one_rule(when, rearm={"hysteresis": 100})
    bars = session_bars({MON: [1] * 5}, volumes={MON: [900, 1100, 950, 1100, 900]})
    assert fired_at(rule, bars) == [1]  # 950 is below by 50 < 100 shares; 900 comes too late


# -- persistence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persistence", "closes", "expected"),
    [
        (1, [101, 101, 99, 101], [0, 3]),
        (3, [101, 101, 101, 101, 99, 101, 101, 99, 101, 101, 101], [2, 10]),
        (2, [99, 101, 99, 101, 99, 101], []),
    ],
)
def test_persistence_answer_table(
    persistence: int, closes: list[float], expected: list[int]
) -> None:
    assert fires(close("gt"), closes, {"persistence_bars": persistence}) == expected


def test_persistence_counts_bars_across_the_session_gap() -> None:
    bars = session_bars({MON: [99] * 11 + [101, 101], TUE: [101, 101]})
    rule = one_rule(close("gt"), rearm={"persistence_bars": 3})
    assert fired_at(rule, bars) == [13]  # Monday 15:00, 15:30, Tuesday 09:30


def test_a_crossing_with_persistence_above_one_never_fires() -> None:
    closes = [99, 101, 99, 101, 100, 102]
    assert fires(close("crosses_above"), closes, {"persistence_bars": 2}) == []


# -- combinators -------------------------------------------------------------------------------


def test_all_needs_every_part() -> None:
    when = {"all": [close("gt"), {"field": "volume", "op": "gte", "value": 1000}]}
    bars = session_bars({MON: [101, 101, 99, 101]}, volumes={MON: [500, 1500, 2000, 2000]})
    assert fired_at(one_rule(when), bars) == [1, 3]


def test_any_needs_one_part() -> None:
    when = {"any": [close("gt"), close("lt", 90)]}
    assert fires(when, [95, 101, 95, 85, 85, 95, 101]) == [1, 3, 6]


def test_not_inverts() -> None:
    assert fires({"not": close("gt")}, [101, 99, 101, 98]) == [1, 3]


def test_nested_combinators() -> None:
    when = {
        "all": [
            {"any": [close("crosses_above"), close("crosses_below", 90)]},
            {"not": {"field": "volume", "op": "lt", "value": 1000}},
        ]
    }
    bars = session_bars(
        {MON: [99, 101, 99, 101, 95, 89]}, volumes={MON: [5000, 500, 5000, 5000, 5000, 5000]}
    )
    assert fired_at(one_rule(when), bars) == [3, 5]


# -- unknown values (indicator warm-up) --------------------------------------------------------


def test_an_indicator_still_warming_up_is_unknown_not_false_and_not_negated() -> None:
    pldot = {"indicator": {"type": "pldot"}}  # needs 3 bars
    below = {"field": "close", "op": "lt", "ref": pldot}
    bars = session_bars({MON: [100, 101, 102, 103]})
    # `not (close < pldot)` on bars 0-1 is unknown, so it cannot fire there: first on bar 2.
    assert fired_at(one_rule({"not": below}), bars) == [2]
    assert fired_at(one_rule({"any": [below, close("gt", 0)]}), bars) == [0]
    assert fired_at(one_rule({"all": [{"not": below}, close("gt", 0)]}), bars) == [2]


def test_an_indicator_reference_on_the_right_side() -> None:
    upper = {"indicator": {"type": "envelope", "output": "upper"}}
    rule = one_rule({"field": "close", "op": "gt", "ref": upper})
    bars = session_bars({MON: [100, 100.5, 100, 100.5, 100, 104, 104.5]})
    fired = events(rule, bars)
    assert fired, "the jump to 104 leaves the envelope"
    assert all(e.value is not None and e.value >= 104 for e in fired)


# -- one firing per bar; resuming ------------------------------------------------------------


def test_evaluating_the_same_bars_again_with_the_returned_state_fires_nothing() -> None:
    rule = one_rule(close("crosses_above"))
    bars = session_bars({MON: [99, 101, 99, 101]})
    first = evaluate_rules([rule], bars, {}, as_of=bar_starts(TUE)[0])
    again = evaluate_rules([rule], bars, first.states, as_of=bar_starts(TUE)[0])
    assert len(first.events) == 2
    assert again.events == []
    assert again.states == first.states


def test_the_state_after_the_last_bar_says_where_to_resume() -> None:
    rule = one_rule(close("gt"), rearm={"cooldown_minutes": 60})
    bars = session_bars({MON: [99, 101, 101]})
    state = evaluate_rules([rule], bars, {}, as_of=bar_starts(TUE)[0]).states[("r", "SPY")]
    starts = bar_starts(MON)
    assert state == AlertState(
        rule="r",
        symbol="SPY",
        state=TRIGGERED,
        consecutive_true=2,
        last_fired_bar=starts[1],
        last_bar_evaluated=starts[2],
    )


def test_since_keeps_earlier_bars_as_context_only() -> None:
    rule = one_rule(close("crosses_above"))
    bars = session_bars({MON: [99, 101, 99, 101]})
    fired = evaluate_rules(
        [rule], bars, {}, as_of=bar_starts(TUE)[0], since=bar_starts(MON)[2]
    ).events
    assert [e.bar_start for e in fired] == [bar_starts(MON)[3]]


def test_each_symbol_has_its_own_state() -> None:
    spy = session_bars({MON: [99, 101, 99, 101]})
    qqq = session_bars({MON: [101, 101, 99, 99]}, symbol="QQQ")
    rule = one_rule(close("gt"), symbols=["SPY", "QQQ"])
    result = evaluate_rules([rule], pd.concat([qqq, spy]), {}, as_of=bar_starts(TUE)[0])
    assert [(e.symbol, e.bar_start) for e in result.events] == [
        ("QQQ", bar_starts(MON)[0]),
        ("SPY", bar_starts(MON)[1]),
        ("SPY", bar_starts(MON)[3]),
    ]
    assert result.states[("r", "QQQ")].state == ARMED


def test_scan_visits_only_bars_where_something_can_happen() -> None:
    n = 10_000
    true = np.zeros(n, dtype=bool)
    true[[10, 5000]] = True
    false = ~true
    starts = np.arange(n, dtype=np.int64) * 30 * 60 * 10**9
    after, moves = scan(
        initial_state("r", "SPY"),
        true,
        false,
        starts,
        persistence_bars=1,
        cooldown_ns=0,
        transitions=True,
    )
    assert moves == [(10, TRIGGERED), (11, ARMED), (5000, TRIGGERED), (5001, ARMED)]
    assert after.state == ARMED


# -- resuming anywhere gives the same answer ------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    closes=st.lists(st.sampled_from([98.0, 99.0, 99.5, 100.0, 100.5, 101.0, 102.0]), min_size=2),
    op=st.sampled_from(["gt", "gte", "lt", "eq", "crosses_above", "crosses_below"]),
    cooldown=st.sampled_from([0, 30, 60, 90, 1000]),
    hysteresis=st.sampled_from([0, 0.5, 1.5]),
    persistence=st.integers(1, 3),
    data=st.data(),
)
def test_evaluation_split_anywhere_equals_evaluation_in_one_go(
    closes: list[float],
    op: str,
    cooldown: int,
    hysteresis: float,
    persistence: int,
    data: st.DataObject,
) -> None:
    closes = closes[:26]
    split = data.draw(st.integers(1, len(closes) - 1))
    days = {MON: closes[:13], TUE: closes[13:]} if len(closes) > 13 else {MON: closes}
    bars = session_bars(days)
    rule = one_rule(
        close(op),
        rearm={
            "cooldown_minutes": cooldown,
            "hysteresis": hysteresis,
            "persistence_bars": persistence,
        },
    )
    starts = list(pd.DatetimeIndex(bars["ts"]))
    end = starts[-1] + timedelta(minutes=30)
    whole = evaluate_rules([rule], bars, {}, as_of=end, transitions=True)
    head = evaluate_rules([rule], bars.iloc[:split], {}, as_of=starts[split], transitions=True)
    tail = evaluate_rules([rule], bars, head.states, as_of=end, transitions=True)
    assert head.events + tail.events == whole.events
    assert tail.states == whole.states
    fired = [e for e in whole.events if e.state == TRIGGERED]
    assert len({(e.rule, e.symbol, e.bar_start) for e in fired}) == len(fired)  # once per bar
