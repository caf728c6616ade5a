"""`SchedulerConfig`: every setting of the pipeline, validated in one place.

Loaded from `--config F`, else `./dgas.yaml`, else built-in defaults. Unknown keys are errors
(a typo must not silently fall back to a default). Secrets never live here: the file names
the environment variables that hold them, and the Dagster layer reads those with `EnvVar`.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from dgas_pipeline.data.settings import ProviderSettings
from dgas_pipeline.errors import InvalidInput, InvalidInputs, from_validation_error
from dgas_pipeline.executor_settings import ExecutorSettings
from dgas_pipeline.input_files import read_mapping
from dgas_pipeline.log_settings import LogSettings
from dgas_pipeline.market.intervals import format_interval, parse_interval
from dgas_pipeline.market.overrides import not_a_number
from dgas_pipeline.market.window import DEFAULT_HISTORY_START
from dgas_pipeline.notify.settings import NotificationSettings
from dgas_pipeline.strict_numbers import NumbersNotBooleans
from dgas_pipeline.tickers import check_tickers

if TYPE_CHECKING:
    from dgas_pipeline.market.planner import PlanSettings

DEFAULT_CONFIG_FILE = Path("dgas.yaml")
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "SPY", "QQQ")
PATTERNS = (
    "PLDOT_PUSH",
    "PLDOT_REFRESH",
    "EXHAUST",
    "C_WAVE",
    "CONGESTION_OSCILLATION",
    "TERMINATION_APPROACH",
    "TERMINATION_TOUCH",
)
# Dagster's time-window partitions follow one cron grid; NYSE sessions open at :30 and close on
# the hour (13:00 on early closes), so only intervals dividing 30 minutes keep every partition
# window equal to the planner's bar. See defs/partitions.py.
PARTITION_GRID = timedelta(minutes=30)
# Upper bounds keep every duration inside datetime arithmetic and every count sensible: a
# value past them is a typo, and would otherwise fail (OverflowError) only at run time.
MAX_SYMBOLS_PER_CYCLE = 10_000  # a 5,000-symbol cycle is a benchmarked use
MAX_TIMEOUT_SECONDS = 24 * 60 * 60
MAX_STALE_AFTER_MINUTES = 7 * 24 * 60
_USERINFO = re.compile(r"(?<=://)([^:/?#@]*)(:)?[^/?#]*@")


class _Strict(NumbersNotBooleans):
    # allow_inf_nan=False: `.nan` or "1e400" is never a threshold.
    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False
    )


class CalendarSettings(_Strict):
    """Which exchange clock, and the operator's overrides file (DESIGN.md §3)."""

    exchange: str = "XNYS"
    overrides_file: Path | None = None
    # The calendar's first day: the earliest partition, backfill or replay. A fixed date, so
    # the covered range never shrinks when the year turns.
    history_start: date = DEFAULT_HISTORY_START

    _history_start_text = field_validator("history_start", mode="before")(not_a_number)

    @field_validator("exchange")
    @classmethod
    def _known_exchange(cls, value: str) -> str:
        # Checked here so `dgas config validate` catches it, not the first `dgas plan`.
        # exchange_calendars (and pandas) only when a file names an exchange: importing the
        # config, or loading the defaults, imports neither.
        from dgas_pipeline.market.calendar import UNKNOWN_EXCHANGE, is_known_exchange

        if not is_known_exchange(value):
            raise ValueError(UNKNOWN_EXCHANGE)
        return value


class SchedulerConfig(_Strict):
    """The seed's `SchedulerConfig` fields plus what the exchange clock and Dagster need."""

    interval: str = "30min"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    enabled_timeframes: tuple[str, ...] = ("4h", "1h", "30min")
    min_confidence: float = Field(0.6, ge=0, le=1)
    min_signal_strength: float = Field(0.5, ge=0, le=1)
    min_alignment: float = Field(0.6, ge=0, le=1)
    enabled_patterns: tuple[str, ...] = PATTERNS
    max_symbols_per_cycle: int = Field(50, ge=1, le=MAX_SYMBOLS_PER_CYCLE)
    timeout_seconds: int = Field(180, ge=1, le=MAX_TIMEOUT_SECONDS)
    run_on_startup: bool = False
    persist_state: bool = True
    data_delay_minutes: int = Field(0, ge=0, le=24 * 60)
    eod_delay_minutes: int = Field(20, ge=0, le=24 * 60)
    catchup_sessions: int = Field(5, ge=0, le=60)
    stale_after_minutes: int = Field(60, ge=1, le=MAX_STALE_AFTER_MINUTES)
    # A launch not materialised this long after its due time is a failed `on_time` check.
    late_grace_minutes: int = Field(5, ge=0, le=24 * 60)
    partitions_start: date = date(2025, 1, 2)
    history_sessions: int = Field(10, ge=2, le=250)
    calendar: CalendarSettings = CalendarSettings()
    provider: ProviderSettings = ProviderSettings()
    notifications: NotificationSettings = NotificationSettings()
    logging: LogSettings = LogSettings()
    alerts_file: Path | None = None
    database_url: str | None = None
    executor: ExecutorSettings = ExecutorSettings()

    _partitions_start_text = field_validator("partitions_start", mode="before")(not_a_number)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        delta = _parse(value, "interval")
        if PARTITION_GRID % delta:
            raise ValueError(
                "does not divide 30min, so Dagster partitions could not match the "
                "session's bars (expected 5min, 10min, 15min or 30min)"
            )
        return format_interval(delta)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        return check_tickers(value, "symbols")

    @field_validator("enabled_timeframes")
    @classmethod
    def _timeframes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        deltas = [_parse(tf, f"enabled_timeframes[{i}]") for i, tf in enumerate(value)]
        if len(deltas) < 2:
            raise ValueError(
                "needs a higher and a trading timeframe (expected e.g. [4h, 1h, 30min])"
            )
        if len(set(deltas)) != len(deltas) or deltas != sorted(deltas, reverse=True):
            raise ValueError(
                "must be distinct and ordered from highest to lowest, e.g. [4h, 1h, 30min]"
            )
        return tuple(format_interval(d) for d in deltas)

    @field_validator("enabled_patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = [
            InvalidInput(f"enabled_patterns[{i}]", name, f"is not one of {', '.join(PATTERNS)}")
            for i, name in enumerate(value)
            if name not in PATTERNS
        ]
        if problems:
            raise InvalidInputs(problems)
        return value

    @field_validator("database_url")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        if not value:
            return value
        try:
            has_password = bool(urlsplit(value).password)
        except ValueError:
            # Never echo a URL we cannot parse: it may hold a password.
            raise InvalidInput(
                "database_url", _redacted(value), "is not a URL (expected e.g. sqlite:///dgas.db)"
            ) from None
        if has_password:
            raise InvalidInput(
                "database_url",
                _redacted(value),
                "contains a password; secrets never go in the config file "
                "(put the URL in the DGAS_DATABASE_URL environment variable)",
            )
        return value

    @model_validator(mode="after")
    def _symbols_fit_a_cycle(self) -> SchedulerConfig:
        if len(self.symbols) > self.max_symbols_per_cycle:
            raise InvalidInput(
                "symbols",
                f"{len(self.symbols)} tickers",
                f"are more than max_symbols_per_cycle ({self.max_symbols_per_cycle}) allows "
                "in one cycle (expected at most that many, or a higher limit)",
            )
        return self

    @model_validator(mode="after")
    def _timeframes_fit_interval(self) -> SchedulerConfig:
        base = parse_interval(self.interval)
        for i, tf in enumerate(self.enabled_timeframes):
            if parse_interval(tf) % base:
                raise InvalidInput(
                    f"enabled_timeframes[{i}]", tf, f"is not a multiple of interval {self.interval}"
                )
        return self

    # -- derived views ---------------------------------------------------------------------

    @property
    def interval_delta(self) -> timedelta:
        return parse_interval(self.interval)

    @property
    def plan_settings(self) -> PlanSettings:
        from dgas_pipeline.market.planner import PlanSettings

        return PlanSettings(
            interval=self.interval_delta,
            data_delay=timedelta(minutes=self.data_delay_minutes),
            eod_delay=timedelta(minutes=self.eod_delay_minutes),
        )


def _redacted(url: str) -> str:
    """`url` with everything after the user name in its userinfo masked."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}:***@" if m.group(2) else "***@", url)


def _parse(value: str, field: str) -> timedelta:
    try:
        return parse_interval(value, field)
    except InvalidInput as err:
        raise ValueError(err.expected) from None


def load_config(path: str | Path | None = None) -> SchedulerConfig:
    """Config from `path`, else `./dgas.yaml` when present, else defaults.

    `DGAS_CONFIG` names the file when no path is given, so Dagster's code server (which has
    no command line) reads the same file as the CLI.
    """
    if path is None:
        env_path = os.environ.get("DGAS_CONFIG")
        if env_path:
            path = env_path
        elif os.path.lexists(DEFAULT_CONFIG_FILE):
            # lexists: a dangling or looping link named dgas.yaml is an error, not "no file".
            path = DEFAULT_CONFIG_FILE
        else:
            return SchedulerConfig()
    return parse_config_file(Path(path))


def parse_config_file(path: Path) -> SchedulerConfig:
    raw = read_mapping(path, "config", "must be a YAML mapping of field: value")
    return validate_config(raw)


def validate_config(raw: dict[str, Any]) -> SchedulerConfig:
    try:
        return SchedulerConfig.model_validate(raw)
    except ValidationError as err:
        raise from_validation_error(err, prefix="") from None
