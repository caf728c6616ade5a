"""The alert rule file, as a pydantic model: the one place its shape is written down.

```yaml
alerts:
  - name: spy-breakout
    symbols: [SPY]
    timeframe: 30min
    when:
      all:
        - {field: close, op: crosses_above, ref: {indicator: {type: envelope, output: upper}}}
        - {not: {field: volume, op: lt, value: 100000}}
    rearm: {cooldown_minutes: 120, hysteresis: 0.25, persistence_bars: 1}
    channels: [console]
```

A condition (`when`) is a tree: `all` / `any` of conditions, `not` of one, or a comparison.
A comparison has a left side (`field`: open/high/low/close/volume, or `indicator`: one output
of an `analysis/` indicator), an `op` and a right side: `value` (a number) or `ref` (another
field or indicator) for gt/gte/lt/lte/eq/ne/crosses_above/crosses_below, `values: [lo, hi]`
for between/outside. What the operators mean on bars is in `evaluate.py`.

The published JSON Schema (`schema.json`, `dgas alerts schema`) is generated from these
models (`rule_file_schema`), so the file users' editors check against and the model the
evaluator runs can never disagree; a test holds the shipped file to the generated one.
Unions are tagged so the schema can point at the branch a person meant: comparisons by
`op`, indicators by `type` (both carry a `discriminator`), conditions by their key.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, ClassVar, Final, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from dgas_pipeline.analysis.parameters import ENVELOPE_METHODS, DrummondParameters
from dgas_pipeline.analysis.patterns import PATTERN_COLUMNS
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market.intervals import format_interval, parse_interval
from dgas_pipeline.notify.settings import CHANNEL_NAME_PATTERN
from dgas_pipeline.tickers import MAX_LENGTH as MAX_TICKER_LENGTH
from dgas_pipeline.tickers import TICKER_PATTERN

SCHEMA_ID: Final = "https://dgas-pipeline.invalid/schemas/alert-rules.json"
SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

FIELDS: Final = ("open", "high", "low", "close", "volume")
# Crossings first: they are what alerts are mostly written with, and error messages list
# the operators in this order.
LEVEL_OPS: Final = ("gt", "gte", "lt", "lte")
EXACT_OPS: Final = ("eq", "ne")
CROSS_OPS: Final = ("crosses_above", "crosses_below")
BINARY_OPS: Final = (*CROSS_OPS, *LEVEL_OPS, *EXACT_OPS)
RANGE_OPS: Final = ("between", "outside")
OPS: Final = (*BINARY_OPS, *RANGE_OPS)

RULE_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
TIMEFRAME_PATTERN: Final = r"^[1-9][0-9]{0,3}(min|h)$"

# Tags of the condition union; pydantic puts them in error locations, so they must never
# collide with a key of the file (see `validation.py`, which drops them).
ALL_TAG, ANY_TAG, NOT_TAG, COMPARISON_TAG = "all()", "any()", "not()", "comparison"

_DEFAULTS: Final = DrummondParameters()


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently disable a condition)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# -- indicators ------------------------------------------------------------------------------


class _Params(_Strict):
    """Indicator parameters: DrummondParameters fields, defaulted as the cycle uses them."""

    def drummond(self) -> DrummondParameters:
        """The full parameter set (defaults for everything not listed here)."""
        return DrummondParameters(**self.model_dump())

    @model_validator(mode="after")
    def _consistent(self) -> _Params:
        self.drummond()  # DrummondParameters refuses contradicting values (ValueError)
        return self


class PldotParams(_Params):
    pldot_window: int = Field(_DEFAULTS.pldot_window, ge=1, le=100)
    slope_dead_band: float = Field(_DEFAULTS.slope_dead_band, ge=0)
    side_tolerance: float = Field(_DEFAULTS.side_tolerance, ge=0)


class EnvelopeParams(_Params):
    pldot_window: int = Field(_DEFAULTS.pldot_window, ge=1, le=100)
    envelope_method: Literal[ENVELOPE_METHODS] = _DEFAULTS.envelope_method  # type: ignore[valid-type]
    envelope_period: int = Field(_DEFAULTS.envelope_period, ge=1, le=100)
    envelope_multiplier: float = Field(_DEFAULTS.envelope_multiplier, ge=0)
    envelope_percent: float = Field(_DEFAULTS.envelope_percent, ge=0)

    @field_validator("envelope_period")
    @classmethod
    def _deviation_needs_two_bars(cls, period: int, info: ValidationInfo) -> int:
        if period < 2 and info.data.get("envelope_method") == "pldot_range":
            raise ValueError(
                "is too short for envelope_method pldot_range (expected >= 2: it is a "
                "standard deviation)"
            )
        return period


class LinesParams(_Params):
    pass


class StateParams(_Params):
    pldot_window: int = Field(_DEFAULTS.pldot_window, ge=1, le=100)
    slope_dead_band: float = Field(_DEFAULTS.slope_dead_band, ge=0)
    side_tolerance: float = Field(_DEFAULTS.side_tolerance, ge=0)
    trend_closes: int = Field(_DEFAULTS.trend_closes, ge=2, le=100)


class PatternParams(_Params):
    pldot_window: int = Field(_DEFAULTS.pldot_window, ge=1, le=100)
    push_bars: int = Field(_DEFAULTS.push_bars, ge=1, le=100)
    refresh_lookback: int = Field(_DEFAULTS.refresh_lookback, ge=1, le=100)
    c_wave_bars: int = Field(_DEFAULTS.c_wave_bars, ge=1, le=100)
    oscillation_bars: int = Field(_DEFAULTS.oscillation_bars, ge=2, le=100)
    termination_approach: float = Field(_DEFAULTS.termination_approach, ge=0)


# output name -> column of `analysis.compute_indicators`
PLDOT_OUTPUTS: Final = {
    "value": "pldot",
    "slope": "pldot_slope",
    "trend": "pldot_trend",
    "side": "side",
}
ENVELOPE_OUTPUTS: Final = {
    "upper": "env_upper",
    "lower": "env_lower",
    "width": "env_width",
    "position": "position",
}
LINES_OUTPUTS: Final = {"support": "support_line", "resistance": "resistance_line"}
STATE_OUTPUTS: Final = {
    "direction": "direction",
    "bars_in_state": "bars_in_state",
    "confidence": "state_confidence",
    "strength": "trend_strength",
}
PATTERN_OUTPUTS: Final = {column: column for column in PATTERN_COLUMNS.values()}


class _Indicator(_Strict):
    """One indicator of `analysis/`: its `type`, `params` and which `output` to read.

    Each subclass names its outputs in `outputs` (output -> `compute_indicators` column);
    a ClassVar, so it stays out of the model's fields and its JSON Schema.
    """

    outputs: ClassVar[dict[str, str]]

    @property
    def column(self) -> str:
        """The `compute_indicators` column this output is read from."""
        return self.outputs[self.output]  # type: ignore[attr-defined]

    def drummond(self) -> DrummondParameters:
        return self.params.drummond()  # type: ignore[attr-defined]


class PldotIndicator(_Indicator):
    """PLdot (3-bar mean of typical prices), its slope, trend (+1/0/-1) or the close's side."""

    outputs: ClassVar[dict[str, str]] = PLDOT_OUTPUTS
    type: Literal["pldot"]
    params: PldotParams = PldotParams()
    output: Literal[tuple(PLDOT_OUTPUTS)] = "value"  # type: ignore[valid-type]


class EnvelopeIndicator(_Indicator):
    """Envelope bands around the PLdot; `position` is where the close sits, 0 to 1."""

    outputs: ClassVar[dict[str, str]] = ENVELOPE_OUTPUTS
    type: Literal["envelope"]
    params: EnvelopeParams = EnvelopeParams()
    output: Literal[tuple(ENVELOPE_OUTPUTS)]  # type: ignore[valid-type]


class LinesIndicator(_Indicator):
    """Drummond lines: the two-bar support / resistance projections for the next bar."""

    outputs: ClassVar[dict[str, str]] = LINES_OUTPUTS
    type: Literal["lines"]
    params: LinesParams = LinesParams()
    output: Literal[tuple(LINES_OUTPUTS)]  # type: ignore[valid-type]


class StateIndicator(_Indicator):
    """Market state numbers: direction (+1/0/-1), bars in state, confidence, trend strength."""

    outputs: ClassVar[dict[str, str]] = STATE_OUTPUTS
    type: Literal["state"]
    params: StateParams = StateParams()
    output: Literal[tuple(STATE_OUTPUTS)]  # type: ignore[valid-type]


class PatternIndicator(_Indicator):
    """A Drummond pattern seen on the bar: +1 (up), -1 (down) or 0."""

    outputs: ClassVar[dict[str, str]] = PATTERN_OUTPUTS
    type: Literal["pattern"]
    params: PatternParams = PatternParams()
    output: Literal[tuple(PATTERN_OUTPUTS)]  # type: ignore[valid-type]


Indicator = Annotated[
    PldotIndicator | EnvelopeIndicator | LinesIndicator | StateIndicator | PatternIndicator,
    Field(discriminator="type"),
]
INDICATOR_TYPES: Final = ("pldot", "envelope", "lines", "state", "pattern")

FieldName = Literal[FIELDS]  # type: ignore[valid-type]

# Exactly one of two keys; written into the schema of the models that need it.
_LEFT_SIDE: Final = {"oneOf": [{"required": ["field"]}, {"required": ["indicator"]}]}
_RIGHT_SIDE: Final = {"oneOf": [{"required": ["value"]}, {"required": ["ref"]}]}


def _exactly_one(model: BaseModel, *names: str) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        found = " and ".join(given) if given else "none"
        raise ValueError(f"needs exactly one of {', '.join(names)} (found {found})")


# -- operands and comparisons ----------------------------------------------------------------


class Operand(_Strict):
    """A bar field or an indicator output: the left side, or the right side of a `ref`."""

    model_config = ConfigDict(json_schema_extra=_LEFT_SIDE)

    field: FieldName | SkipJsonSchema[None] = Field(None, description="a bar field")
    indicator: Indicator | SkipJsonSchema[None] = Field(
        None, description="an indicator output from analysis/"
    )

    @model_validator(mode="after")
    def _one_side(self) -> Operand:
        _exactly_one(self, "field", "indicator")
        return self

    @property
    def label(self) -> str:
        """How the operand reads in messages: `close`, `envelope.upper`."""
        if self.indicator is not None:
            return f"{self.indicator.type}.{self.indicator.output}"
        return str(self.field)


class _Comparison(_Strict):
    """The left side both comparison shapes share: exactly one of `field` and `indicator`."""

    field: FieldName | SkipJsonSchema[None] = Field(None, description="left side: a bar field")
    indicator: Indicator | SkipJsonSchema[None] = Field(
        None, description="left side: an indicator output from analysis/"
    )

    # Runs before a subclass's own after-validators, so the left side is reported first.
    @model_validator(mode="after")
    def _left_side(self) -> _Comparison:
        _exactly_one(self, "field", "indicator")
        return self

    @property
    def left(self) -> Operand:
        return Operand(field=self.field, indicator=self.indicator)


class Comparison(_Comparison):
    """`left op right` with a single right side: a `value` or a `ref` to a field/indicator."""

    model_config = ConfigDict(json_schema_extra={"allOf": [_LEFT_SIDE, _RIGHT_SIDE]})

    op: Literal[BINARY_OPS]  # type: ignore[valid-type]
    value: float | SkipJsonSchema[None] = Field(None, description="right side: a number")
    ref: Operand | SkipJsonSchema[None] = Field(
        None, description="right side: a bar field or an indicator output"
    )

    @model_validator(mode="after")
    def _right_side(self) -> Comparison:
        _exactly_one(self, "value", "ref")
        return self


class RangeComparison(_Comparison):
    """`left between [lo, hi]` (inclusive) or `left outside [lo, hi]` (strictly)."""

    model_config = ConfigDict(json_schema_extra=_LEFT_SIDE)

    op: Literal[RANGE_OPS]  # type: ignore[valid-type]
    values: tuple[float, float] = Field(description="[lo, hi], lo <= hi")

    @field_validator("values")
    @classmethod
    def _ordered(cls, values: tuple[float, float]) -> tuple[float, float]:
        if values[0] > values[1]:
            raise ValueError("has lo above hi (expected [lo, hi] with lo <= hi)")
        return values


AnyComparison = Annotated[Comparison | RangeComparison, Field(discriminator="op")]


# -- conditions ------------------------------------------------------------------------------


class AllOf(_Strict):
    """True when every condition is."""

    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    """True when at least one condition is."""

    any: list[Condition] = Field(min_length=1)


class NotOf(_Strict):
    """True when the condition is false."""

    not_: Condition = Field(alias="not")


def _condition_tag(value: Any) -> str:
    if isinstance(value, dict):
        for key, tag in (("all", ALL_TAG), ("any", ANY_TAG), ("not", NOT_TAG)):
            if key in value:
                return tag
        return COMPARISON_TAG
    return {AllOf: ALL_TAG, AnyOf: ANY_TAG, NotOf: NOT_TAG}.get(type(value), COMPARISON_TAG)


class Condition(RootModel[Any]):
    """{all: [...]}, {any: [...]}, {not: ...} or a comparison {field|indicator, op, ...}."""

    model_config = ConfigDict(frozen=True)

    root: Annotated[
        Union[  # noqa: UP007 - tagged members read better in a Union[...] block
            Annotated[AllOf, Tag(ALL_TAG)],
            Annotated[AnyOf, Tag(ANY_TAG)],
            Annotated[NotOf, Tag(NOT_TAG)],
            Annotated[AnyComparison, Tag(COMPARISON_TAG)],
        ],
        Discriminator(_condition_tag),
    ]


AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()

Node = AllOf | AnyOf | NotOf | Comparison | RangeComparison


def comparisons(condition: Condition) -> list[Comparison | RangeComparison]:
    """Every comparison of a condition tree, in the order the file lists them."""
    node = condition.root
    if isinstance(node, AllOf):
        return [c for child in node.all for c in comparisons(child)]
    if isinstance(node, AnyOf):
        return [c for child in node.any for c in comparisons(child)]
    if isinstance(node, NotOf):
        return comparisons(node.not_)
    return [node]


# -- rules -----------------------------------------------------------------------------------


class Rearm(_Strict):
    """When a rule that fired may fire again (see `evaluate.py` for the exact rules)."""

    cooldown_minutes: int = Field(
        0, ge=0, le=525_600, description="no firing on a bar starting sooner after the last one"
    )
    hysteresis: float = Field(
        0, ge=0, description="re-arm only when a level comparison is false by this margin"
    )
    persistence_bars: int = Field(
        1, ge=1, le=1000, description="consecutive true bars needed to fire"
    )


Ticker = Annotated[
    str,
    Field(
        pattern=TICKER_PATTERN,
        max_length=MAX_TICKER_LENGTH,
        description="an upper-case ticker, e.g. SPY, BRK.B or I:SPX",
    ),
]
ChannelName = Annotated[
    str,
    Field(
        pattern=f"^{CHANNEL_NAME_PATTERN}$",
        description="a channel name: lowercase letters, digits, '_' or '-'",
    ),
]
ChannelNames = Annotated[
    list[ChannelName], Field(min_length=1, json_schema_extra={"uniqueItems": True})
]


class AlertRule(_Strict):
    """One named rule, evaluated per symbol on closed bars of its timeframe."""

    name: str = Field(
        pattern=RULE_NAME_PATTERN,
        description="1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit",
    )
    symbols: list[Ticker] = Field(
        min_length=1, json_schema_extra={"uniqueItems": True}, description="e.g. [SPY, QQQ]"
    )
    timeframe: str = Field(
        pattern=TIMEFRAME_PATTERN, description="a bar length such as 30min, 1h or 4h, at most 24h"
    )
    when: Condition
    rearm: Rearm = Rearm()
    channels: ChannelNames | SkipJsonSchema[None] = Field(
        None, description="notification channel names from the config (default: every channel)"
    )

    @field_validator("symbols", "channels")
    @classmethod
    def _unique(cls, values: list[str] | None) -> list[str] | None:
        seen: set[str] = set()
        for value in values or []:
            if value in seen:
                raise ValueError(f"lists {value!r} twice (expected each at most once)")
            seen.add(value)
        return values

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        try:
            parse_interval(value, "timeframe")
        except InvalidInput as err:
            raise ValueError(err.expected) from None
        return value

    @cached_property
    def timeframe_delta(self) -> timedelta:
        return parse_interval(self.timeframe, "timeframe")

    @property
    def timeframe_label(self) -> str:
        """The canonical spelling ("60min" -> "1h"), as keys and tables write it."""
        return format_interval(self.timeframe_delta)

    def comparisons(self) -> list[Comparison | RangeComparison]:
        return comparisons(self.when)


class RuleFile(_Strict):
    """An alert rule file: a list of rules with distinct names."""

    model_config = ConfigDict(
        title="dgas alert rules",
        json_schema_extra={
            "description": "Alert rules for dgas_pipeline (`dgas alerts validate F`).",
        },
    )

    schema_: str | SkipJsonSchema[None] = Field(
        None, alias="$schema", description="the schema this file follows (for editors)"
    )
    alerts: list[AlertRule] = Field(min_length=1)

    @field_validator("alerts")
    @classmethod
    def _distinct_names(cls, alerts: list[AlertRule]) -> list[AlertRule]:
        first: dict[str, int] = {}
        for i, rule in enumerate(alerts):
            if rule.name in first:
                raise InvalidInput(
                    f"alerts[{i}].name",
                    rule.name,
                    f"is already the name of alerts[{first[rule.name]}] (expected unique names)",
                )
            first[rule.name] = i
        return alerts

    def rule(self, name: str) -> AlertRule:
        for rule in self.alerts:
            if rule.name == name:
                return rule
        raise KeyError(name)


# -- the published schema --------------------------------------------------------------------


def rule_file_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, generated from `RuleFile` (what `schema.json` holds)."""
    schema = RuleFile.model_json_schema(by_alias=True, mode="validation")
    _tidy(schema)
    return {"$schema": SCHEMA_DIALECT, "$id": SCHEMA_ID, **schema}


def _tidy(node: Any) -> None:
    """Drop pydantic's per-field titles and `default: null` (not a valid value in the file)."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for prop in properties.values():
                if isinstance(prop, dict):
                    prop.pop("title", None)
                    if "default" in prop and prop["default"] is None:
                        del prop["default"]
        for value in node.values():
            _tidy(value)
    elif isinstance(node, list):
        for value in node:
            _tidy(value)
