"""Where one rule stands for one symbol, between two evaluations.

A plain value: the evaluator takes the state left by the previous bar and returns the state
after the last bar it read, so evaluation resumes exactly where it stopped whether the
state was kept in memory (replay) or written to the `alert_state` table and read back by the
next run (live). Everything a later bar's outcome depends on is here and nothing else:
ARMED/TRIGGERED, how many bars in a row the condition has been true (persistence), when it
last fired (cooldown) and the last bar read (so a retried run never evaluates a bar twice).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, Literal

ARMED: Final = "ARMED"
TRIGGERED: Final = "TRIGGERED"
ALERT_STATES: Final = (ARMED, TRIGGERED)

StateName = Literal["ARMED", "TRIGGERED"]
StateKey = tuple[str, str]
"""(rule name, symbol)."""


@dataclass(frozen=True, slots=True)
class AlertState:
    """The state of `rule` for `symbol` after `last_bar_evaluated` (None: never evaluated).

    Instants are bar starts, tz-aware; they are normalised to UTC so a state read back from
    either database compares equal to the one written.
    """

    rule: str
    symbol: str
    state: StateName = ARMED
    consecutive_true: int = 0
    last_fired_bar: datetime | None = None
    last_bar_evaluated: datetime | None = None

    def __post_init__(self) -> None:
        if self.state not in ALERT_STATES:
            raise ValueError(f"state: {self.state!r} is not one of {', '.join(ALERT_STATES)}")
        if self.consecutive_true < 0:
            raise ValueError(f"consecutive_true: {self.consecutive_true!r} must be >= 0")
        for name in ("last_fired_bar", "last_bar_evaluated"):
            at = getattr(self, name)
            if at is None:
                continue
            if at.tzinfo is None or at.utcoffset() is None:
                raise ValueError(f"{name}: {at.isoformat()} is a naive time (expected tz-aware)")
            object.__setattr__(self, name, _plain_utc(at))

    @property
    def key(self) -> StateKey:
        return (self.rule, self.symbol)

    def advanced(self, **changes: object) -> AlertState:
        """A copy with `changes` applied (the dataclass stays immutable)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def initial_state(rule: str, symbol: str) -> AlertState:
    """A rule never evaluated for a symbol starts ARMED, with nothing counted."""
    return AlertState(rule=rule, symbol=symbol)


def _plain_utc(at: datetime) -> datetime:
    # A plain datetime even when a pandas Timestamp came in: equality and repr stay simple.
    utc = at.astimezone(UTC)
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )
