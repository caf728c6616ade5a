"""Every constant of the Drummond analysis, named, defaulted and checked in one place.

Two frozen dataclasses: `DrummondParameters` for what is computed on one timeframe (PLdot,
envelopes, lines and zones, states, patterns) and `CoordinationParameters` for what combines
timeframes into a signal. Tolerances are fractions of price, never absolute amounts, so a $3
and a $3,000 stock are read the same way (the original's 0.0001 dead band was not).
User-facing cut-offs (minimum confidence, strength, alignment; enabled patterns) live in
`signals.SignalThresholds`, the part the configuration file maps onto.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

ENVELOPE_METHODS = ("pldot_range", "hl_range", "atr", "percentage")


@dataclass(frozen=True, slots=True)
class DrummondParameters:
    """Single-timeframe indicator constants.

    PLdot and trend
      pldot_window: bars averaged into the PLdot (Drummond's 3).
      slope_dead_band: |slope| at or below this fraction of PLdot reads as a flat PLdot.
      side_tolerance: |close - PLdot| at or below this fraction of PLdot counts as "on" the
        PLdot; only there to keep float noise (e.g. prices x 1000) from flipping a side.

    Envelopes
      envelope_method: "pldot_range" (multiplier x rolling std of PLdot, Drummond's default),
        "hl_range" (multiplier x mean high-low range), "atr" (multiplier x average true range)
        or "percentage" (envelope_percent x PLdot).
      envelope_period: bars in the rolling window of the first three methods.
      envelope_multiplier: half-width as a multiple of that rolling measure.
      envelope_percent: half-width as a fraction of PLdot for "percentage".

    Market state
      trend_closes: closes on one side of the PLdot that make a trend (Drummond's 3).
      confidence_*: base confidence of each state; confidence_per_bar is added for every bar
        the state has lasted beyond the first, up to confidence_duration_cap;
        confidence_slope_agreement is added to TREND / CONGESTION_EXIT / REVERSAL when the
        PLdot slopes the state's way, confidence_flat_congestion to the two congestion states
        when the PLdot is flat.
      strength_*: trend strength = min(per_bar x bars in state, duration_cap)
        + confidence_weight x confidence + slope_agreement (a TREND whose PLdot slopes its way);
        zero without a direction.

    Drummond lines and zones
      zone_lookback: bars whose two-bar projections (one support and one resistance line
        each) are pooled into the zones of a bar.
      zone_tolerance: lines closer than this fraction of the close merge into one zone.
      min_zone_weight: lines a zone needs to count (weight = lines that agree).

    Patterns
      push_bars: consecutive closes on the sloping side of the PLdot that make a PLDOT_PUSH.
      refresh_lookback: a bar touching the PLdot is a PLDOT_REFRESH if a push ended at most
        this many bars before.
      c_wave_bars: consecutive closes pushing one way with the envelope widening (C_WAVE).
      oscillation_bars: closes alternating sides inside the envelope (CONGESTION_OSCILLATION).
      termination_approach: a close within this fraction of price of a zone it does not touch
        is a TERMINATION_APPROACH.
    """

    pldot_window: int = 3
    slope_dead_band: float = 1e-4
    side_tolerance: float = 1e-9

    envelope_method: str = "pldot_range"
    envelope_period: int = 3
    envelope_multiplier: float = 1.5
    envelope_percent: float = 0.01

    trend_closes: int = 3
    confidence_trend: float = 0.55
    confidence_congestion_entrance: float = 0.40
    confidence_congestion_action: float = 0.35
    confidence_congestion_exit: float = 0.50
    confidence_reversal: float = 0.50
    confidence_per_bar: float = 0.05
    confidence_duration_cap: float = 0.20
    confidence_slope_agreement: float = 0.20
    confidence_flat_congestion: float = 0.15
    strength_per_bar: float = 0.10
    strength_duration_cap: float = 0.40
    strength_confidence_weight: float = 0.40
    strength_slope_agreement: float = 0.20

    zone_lookback: int = 10
    zone_tolerance: float = 0.002
    min_zone_weight: int = 2

    push_bars: int = 3
    refresh_lookback: int = 5
    c_wave_bars: int = 3
    oscillation_bars: int = 4
    termination_approach: float = 0.005

    def __post_init__(self) -> None:
        if self.envelope_method not in ENVELOPE_METHODS:
            raise ValueError(
                f"envelope_method: {self.envelope_method!r} is not one of {ENVELOPE_METHODS}"
            )
        _at_least(self, 1, "pldot_window", "envelope_period", "push_bars", "c_wave_bars")
        _at_least(self, 1, "zone_lookback", "min_zone_weight", "refresh_lookback")
        _at_least(self, 2, "trend_closes", "oscillation_bars")
        if self.envelope_method == "pldot_range" and self.envelope_period < 2:
            raise ValueError("envelope_period: a standard deviation needs at least 2 bars")
        _non_negative(self)


@dataclass(frozen=True, slots=True)
class CoordinationParameters:
    """Constants that combine higher, trading and lower timeframes into a signal.

    Alignment (DRUMMOND.md): align_same_direction if both directions agree (align_one_neutral
    if one of them is neutral), + align_same_state for equal states (align_compatible_state
    for compatible ones), + align_confidence_weight x mean state confidence.

    Confluence: zones of >= 2 timeframes whose levels lie within confluence_tolerance (fraction
    of the trading close) of each other, weighted weight_higher / weight_trading / weight_lower.

    Signal strength = strength_alignment_weight x alignment + strength_htf_weight x higher-TF
    trend strength + zone bonus (strength_zone_bonus_three when the best confluence zone is
    confirmed by three timeframes, strength_zone_bonus_two by two) + strength_pattern_bonus
    when a pattern confirms. A pattern confirms when an enabled pattern pointing the signal's
    way was seen on the trading timeframe within pattern_lookback_bars bars (the signal bar
    included) or on the higher timeframe's latest closed bar.

    Confidence = confidence_alignment_weight x alignment + (confidence_pattern_confirmed or
    confidence_pattern_unconfirmed) + confidence_htf_weight x higher-TF state confidence
    + confidence_zones_weight x min(zones, confidence_zones_cap) / confidence_zones_cap
    + confidence_strength_weight x strength.

    Levels: entry = the nearest confluence zone on the signal's side (support at or below the
    close for LONG, resistance at or above it for SHORT), else the close; buffer = the largest
    of the zone's half-height, the trading envelope's half-width and min_stop_buffer x entry;
    stop = zone bound -/+ stop_buffer_multiplier x buffer; target = entry +/- reward_risk x risk.

    duplicate_window_minutes: the aggregator drops a signal of the same symbol and type this close
    (inclusive) to the previous kept one.
    """

    weight_higher: float = 1.5
    weight_trading: float = 1.0
    weight_lower: float = 0.75
    confluence_tolerance: float = 0.003

    align_same_direction: float = 0.5
    align_one_neutral: float = 0.25
    align_same_state: float = 0.2
    align_compatible_state: float = 0.1
    align_confidence_weight: float = 0.3

    strength_alignment_weight: float = 0.4
    strength_htf_weight: float = 0.3
    strength_zone_bonus_two: float = 0.10
    strength_zone_bonus_three: float = 0.15
    strength_pattern_bonus: float = 0.15
    pattern_lookback_bars: int = 3

    confidence_alignment_weight: float = 0.30
    confidence_pattern_confirmed: float = 0.20
    confidence_pattern_unconfirmed: float = 0.10
    confidence_htf_weight: float = 0.25
    confidence_zones_weight: float = 0.15
    confidence_zones_cap: int = 5
    confidence_strength_weight: float = 0.10

    stop_buffer_multiplier: float = 1.5
    reward_risk: float = 2.0
    min_stop_buffer: float = 0.001

    duplicate_window_minutes: float = 60.0

    def __post_init__(self) -> None:
        _at_least(self, 1, "pattern_lookback_bars", "confidence_zones_cap")
        if self.reward_risk <= 0:
            raise ValueError(f"reward_risk: {self.reward_risk} must be > 0")
        _non_negative(self)


def _at_least(params: object, minimum: int, *names: str) -> None:
    for name in names:
        value = getattr(params, name)
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name}: {value!r} must be an integer >= {minimum}")


def _non_negative(params: object) -> None:
    for field in fields(params):  # type: ignore[arg-type]
        value = getattr(params, field.name)
        if isinstance(value, float) and not value >= 0:
            raise ValueError(f"{field.name}: {value!r} must be a number >= 0")
