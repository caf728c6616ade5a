"""Alert rules evaluated on closed bars: when a rule fires, and when it may fire again.

Semantics (the contract `dgas alerts replay` and the cycle's alerts share)
--------------------------------------------------------------------------
Bars. A rule is evaluated per symbol on the bars of its `timeframe`, built from the
configured bars on session boundaries (`analysis.resample_bars`: a 4h bar never spans two
sessions, the last bar of a session ends at the close) and only once closed (end <= as_of).
Each bar is evaluated once, in order; the state (`state.AlertState`) carries everything that
later bars depend on, so evaluating bars in several calls (live, one cycle at a time, across
restarts) gives exactly what one call over all of them gives (replay).

Truth of a condition on bar i, three-valued. A comparison whose operands are not known on
the bar (an indicator still warming up, no previous bar for a crossing) is UNKNOWN.
`all` is false if any part is false, else unknown if any part is unknown, else true; `any`
the mirror image; `not` swaps true and false and keeps unknown. UNKNOWN neither fires nor
re-arms, and it breaks a run of true bars.
- gt/gte/lt/lte/eq/ne: left[i] against right[i] (`value` or the `ref` operand on bar i);
  eq/ne compare exactly, as floats.
- between [lo, hi]: lo <= left[i] <= hi (inclusive); outside: left[i] < lo or left[i] > hi.
- crosses_above: left[i-1] <= right[i-1] and left[i] > right[i]; crosses_below:
  left[i-1] >= right[i-1] and left[i] < right[i]. Bar i-1 is the symbol's previous closed bar
  of the timeframe, in the previous session when bar i opens one (overnight gaps cross).
  Without a known previous bar a crossing is unknown, unless bar i alone rules it out
  (left[i] <= right[i] for crosses_above).

Firing and re-arming. A rule starts ARMED for a symbol. On each bar:
1. `consecutive_true` counts the bars in a row, this one included, on which the condition
   was true (across sessions and across calls); a false or unknown bar resets it to 0.
2. ARMED and consecutive_true >= `persistence_bars` and the bar starts at least
   `cooldown_minutes` after the start of the bar the rule last fired on (wall-clock time;
   exactly `cooldown_minutes` later is allowed) -> the rule FIRES on this bar (one event) and
   becomes TRIGGERED. A bar fires at most once per rule and symbol.
3. TRIGGERED and the condition is re-arm-false on the bar -> ARMED again (it may fire on a
   later bar, once the cooldown allows). Re-arming does not wait for the cooldown.
Re-arm-false: with `hysteresis` 0, simply false. With hysteresis h > 0, false by at least h,
recursively: gt/gte left <= right - h (gte: and left < right); lt/lte the mirror; eq
|left - right| >= h; ne never (it is false only when equal); between: left at least h below
lo or above hi; outside: left at least h inside both bounds; crosses_above: left <= right - h
(the price came back under the level by h), crosses_below: left >= right + h. `all` is
re-arm-false when one part is, `any` when all parts are, and `not c` when c is true by at
least h (the same margins, the other way round). h is in the units of the compared values.
So a crossing rule with persistence_bars > 1 never fires (a crossing is never true twice in a
row), and a level rule such as `close gt 100` fires once per excursion above 100, not on
every bar of it.

The condition is computed with numpy over every bar of every symbol at once; only the
ARMED/TRIGGERED walk is a loop, and it visits only the bars where something can happen
(a run long enough to fire, or a re-arm-false bar).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.alerts.rules import (
    AlertRule,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    NotOf,
    Operand,
    RangeComparison,
)
from dgas_pipeline.alerts.state import (
    ARMED,
    TRIGGERED,
    AlertState,
    StateKey,
    StateName,
    initial_state,
)
from dgas_pipeline.analysis.parameters import DrummondParameters

_NS_PER_MINUTE = 60 * 10**9


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A rule firing (state TRIGGERED) or, when asked for, re-arming (state ARMED) on a bar.

    `value` is the left side of the rule's first comparison on that bar (e.g. the close that
    crossed), None when it is not known.
    """

    rule: str
    symbol: str
    bar_start: datetime
    bar_end: datetime
    timeframe: str
    state: StateName
    value: float | None
    channels: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """The replay contract: {"rule", "symbol", "bar_start", "state", "value"}."""
        return {
            "rule": self.rule,
            "symbol": self.symbol,
            "bar_start": _iso(self.bar_start),
            "state": self.state,
            "value": self.value,
        }


@dataclass(frozen=True)
class Evaluation:
    """Events in (bar_start, rule, symbol) order and the state of every (rule, symbol) seen."""

    events: list[AlertEvent]
    states: dict[StateKey, AlertState]


def evaluate_rules(
    rules: Iterable[AlertRule],
    bars: pd.DataFrame,
    states: Mapping[StateKey, AlertState],
    *,
    as_of: datetime,
    since: datetime | None = None,
    transitions: bool = False,
) -> Evaluation:
    """Evaluate `rules` on the closed bars after each state's `last_bar_evaluated`.

    `bars`: base bars of any symbols (`data.fetch_bars` output: symbol, ts, OHLCV, session
    columns), history included. Bars before `since` (and up to `last_bar_evaluated`) are
    only context: indicator warm-up and the previous bar of a crossing. `as_of` is the
    instant bars must have closed by. `transitions` also reports re-arms (state ARMED).
    Returns the events and the states to keep for the next call.
    """
    rules = list(rules)
    cutoff = _utc(as_of, "as_of")
    floor = _utc(since, "since").value if since is not None else None
    wanted = {s for rule in rules for s in rule.symbols}
    frames = _TimeframeFrames(_select(bars, wanted), cutoff)
    events: list[AlertEvent] = []
    new_states = dict(states)
    for rule in rules:
        frame = frames.bars(rule.timeframe_label)
        if frame.empty:
            continue
        truth = _evaluate(rule.when, frames, rule)
        first = rule.comparisons()[0]
        values = frames.operand(rule.timeframe_label, first.left)
        starts, ends = _ns(frame["ts"]), _ns(frame["end"])
        symbols = frame["symbol"].to_numpy(dtype=object)
        for symbol in rule.symbols:
            rows = np.flatnonzero(symbols == symbol)
            if not len(rows):
                continue
            before = new_states.get((rule.name, symbol)) or initial_state(rule.name, symbol)
            rows = rows[_after(starts[rows], before, floor)]
            if not len(rows):
                continue
            after, moves = scan(
                before,
                truth.true[rows],
                truth.rearm_false[rows],
                starts[rows],
                persistence_bars=rule.rearm.persistence_bars,
                cooldown_ns=rule.rearm.cooldown_minutes * _NS_PER_MINUTE,
                transitions=transitions,
            )
            new_states[after.key] = after
            for position, name in moves:
                row = rows[position]
                value = values[row]
                events.append(
                    AlertEvent(
                        rule=rule.name,
                        symbol=symbol,
                        bar_start=_instant(starts[row]),
                        bar_end=_instant(ends[row]),
                        timeframe=rule.timeframe_label,
                        state=name,
                        value=float(value) if np.isfinite(value) else None,
                        channels=tuple(rule.channels) if rule.channels else None,
                    )
                )
    events.sort(key=lambda e: (e.bar_start, e.rule, e.symbol, e.state != TRIGGERED))
    return Evaluation(events=events, states=new_states)


def scan(
    state: AlertState,
    true: np.ndarray,
    rearm_false: np.ndarray,
    starts_ns: np.ndarray,
    *,
    persistence_bars: int,
    cooldown_ns: int,
    transitions: bool = False,
) -> tuple[AlertState, list[tuple[int, StateName]]]:
    """Walk one symbol's new bars through ARMED/TRIGGERED (rules 1-3 of the module doc).

    Returns the state after the last bar and the (bar position, new state) of each firing
    (and re-arm when `transitions`).
    """
    n = len(true)
    if n == 0:
        return state, []
    positions = np.arange(n)
    last_false = np.maximum.accumulate(np.where(true, -1, positions))
    carried = positions + 1 + state.consecutive_true  # true since before this call
    streak = np.where(last_false < 0, carried, positions - last_false)
    current: StateName = state.state
    last_fired = (
        pd.Timestamp(state.last_fired_bar).value if state.last_fired_bar is not None else None
    )
    moves: list[tuple[int, StateName]] = []
    for i in np.flatnonzero((streak >= persistence_bars) | rearm_false):
        if current == TRIGGERED and rearm_false[i]:
            current = ARMED
            if transitions:
                moves.append((int(i), ARMED))
        elif (
            current == ARMED
            and streak[i] >= persistence_bars
            and (last_fired is None or starts_ns[i] - last_fired >= cooldown_ns)
        ):
            current = TRIGGERED
            last_fired = int(starts_ns[i])
            moves.append((int(i), TRIGGERED))
    after = state.advanced(
        state=current,
        consecutive_true=int(streak[-1]),
        last_fired_bar=_instant(last_fired) if last_fired is not None else None,
        last_bar_evaluated=_instant(starts_ns[-1]),
    )
    return after, moves


# -- condition truth -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Truth:
    """Per bar: definitely true, definitely false, and true/false by the hysteresis margin.

    Neither `true` nor `false` means unknown. With hysteresis 0 the margin arrays equal the
    plain ones.
    """

    true: np.ndarray
    false: np.ndarray
    rearm_true: np.ndarray
    rearm_false: np.ndarray

    def negated(self) -> Truth:
        return Truth(self.false, self.true, self.rearm_false, self.rearm_true)


def _evaluate(condition: Condition, frames: _TimeframeFrames, rule: AlertRule) -> Truth:
    node = condition.root
    if isinstance(node, AllOf | AnyOf):
        children = node.all if isinstance(node, AllOf) else node.any
        parts = [_evaluate(child, frames, rule) for child in children]
        both, either = np.logical_and.reduce, np.logical_or.reduce
        if isinstance(node, AllOf):
            return Truth(
                both([p.true for p in parts]),
                either([p.false for p in parts]),
                both([p.rearm_true for p in parts]),
                either([p.rearm_false for p in parts]),
            )
        return Truth(
            either([p.true for p in parts]),
            both([p.false for p in parts]),
            either([p.rearm_true for p in parts]),
            both([p.rearm_false for p in parts]),
        )
    if isinstance(node, NotOf):
        return _evaluate(node.not_, frames, rule).negated()
    return _compare(node, frames, rule.timeframe_label, rule.rearm.hysteresis)


def _compare(
    node: Comparison | RangeComparison, frames: _TimeframeFrames, timeframe: str, h: float
) -> Truth:
    left = frames.operand(timeframe, node.left)
    known = ~np.isnan(left)
    if isinstance(node, RangeComparison):
        lo, hi = node.values
        with np.errstate(invalid="ignore"):
            if node.op == "between":
                margin = np.minimum(left - lo, hi - left)  # >= 0 inside
                true = known & (margin >= 0)
            else:
                margin = np.maximum(lo - left, left - hi)  # > 0 outside
                true = known & (margin > 0)
        false = known & ~true
        return Truth(true, false, true & (np.abs(margin) >= h), false & (np.abs(margin) >= h))

    if node.ref is not None:
        right = frames.operand(timeframe, node.ref)
    else:
        right = np.full(len(left), float(node.value))  # type: ignore[arg-type]
    known &= ~np.isnan(right)
    with np.errstate(invalid="ignore"):
        diff = left - right
        gap = np.abs(diff)
        if node.op in ("crosses_above", "crosses_below"):
            return _cross(node.op, diff, known, frames.previous(timeframe), h)
        if node.op in ("gt", "gte", "lt", "lte"):
            margin = diff if node.op in ("gt", "gte") else -diff
            true = known & ((margin > 0) if node.op in ("gt", "lt") else (margin >= 0))
            false = known & ~true
            return Truth(true, false, true & (gap >= h), false & (gap >= h))
        equal = known & (diff == 0)
        unequal = known & ~equal
    if node.op == "eq":
        return Truth(equal, unequal, equal, unequal & (gap >= h))
    return Truth(unequal, equal, unequal & (gap >= h), equal)  # ne


def _cross(op: str, diff: np.ndarray, known: np.ndarray, previous: np.ndarray, h: float) -> Truth:
    """Crossings from left - right on this bar and the symbol's previous bar."""
    sign = 1.0 if op == "crosses_above" else -1.0
    now = sign * diff  # > 0: on the far side of the level this bar
    before = sign * _shifted(diff, previous)
    known_before = ~np.isnan(before)
    with np.errstate(invalid="ignore"):
        true = known & known_before & (before <= 0) & (now > 0)
        false = known & ((now <= 0) | (known_before & (before > 0)))
        rearm_true = true & (now >= h)
        rearm_false = false if h == 0 else known & (now <= -h)
    return Truth(true, false, rearm_true, rearm_false)


def _shifted(values: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """values[previous row of the same symbol], NaN where there is none."""
    out = np.full(len(values), np.nan)
    has = previous >= 0
    out[has] = values[previous[has]]
    return out


# -- bars and operands -----------------------------------------------------------------------


class _TimeframeFrames:
    """Closed bars per timeframe and indicator columns per parameter set, each built once."""

    def __init__(self, bars: pd.DataFrame, cutoff: pd.Timestamp) -> None:
        self._base = bars
        self._cutoff = cutoff
        self._bars: dict[str, pd.DataFrame] = {}
        self._indicators: dict[tuple[str, DrummondParameters], pd.DataFrame] = {}
        self._previous: dict[str, np.ndarray] = {}
        self._operands: dict[tuple[str, str], np.ndarray] = {}

    def bars(self, timeframe: str) -> pd.DataFrame:
        if timeframe not in self._bars:
            if self._base.empty:
                frame = pd.DataFrame()
            else:
                frame = analysis.closed_bars(
                    analysis.resample_bars(self._base, timeframe), self._cutoff
                )
            self._bars[timeframe] = frame
        return self._bars[timeframe]

    def previous(self, timeframe: str) -> np.ndarray:
        """Row of each bar's previous bar of the same symbol (-1 on a symbol's first)."""
        if timeframe not in self._previous:
            codes = self.bars(timeframe)["symbol"].to_numpy(dtype=object)
            rows = np.arange(len(codes)) - 1
            same = np.zeros(len(codes), dtype=bool)
            same[1:] = codes[1:] == codes[:-1]
            self._previous[timeframe] = np.where(same, rows, -1)
        return self._previous[timeframe]

    def operand(self, timeframe: str, operand: Operand) -> np.ndarray:
        key = (timeframe, operand.model_dump_json())
        if key not in self._operands:
            if operand.indicator is None:
                column = self.bars(timeframe)[operand.field]
            else:
                frame = self._indicator_frame(timeframe, operand.indicator.drummond())
                column = frame[operand.indicator.column]
            self._operands[key] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return self._operands[key]

    def _indicator_frame(self, timeframe: str, params: DrummondParameters) -> pd.DataFrame:
        key = (timeframe, params)
        if key not in self._indicators:
            self._indicators[key] = analysis.compute_indicators(self.bars(timeframe), params)
        return self._indicators[key]


def _select(bars: pd.DataFrame, symbols: set[str]) -> pd.DataFrame:
    """The rules' symbols, sorted by (symbol, ts) as `analysis` expects."""
    if bars.empty:
        return bars
    chosen = bars[bars["symbol"].astype(str).isin(symbols)]
    return chosen.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)


def _after(starts: np.ndarray, state: AlertState, floor: int | None) -> np.ndarray:
    keep = np.ones(len(starts), dtype=bool)
    if state.last_bar_evaluated is not None:
        keep &= starts > pd.Timestamp(state.last_bar_evaluated).value
    if floor is not None:
        keep &= starts >= floor
    return keep


def _ns(column: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(column).as_unit("ns").asi8


def _instant(ns: int | np.integer) -> datetime:
    return pd.Timestamp(int(ns), tz=UTC).to_pydatetime()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc(at: datetime, name: str) -> pd.Timestamp:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name}: {at.isoformat()} is a naive time (expected tz-aware)")
    return pd.Timestamp(at).tz_convert(UTC)
