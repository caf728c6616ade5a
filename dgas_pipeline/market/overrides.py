"""Closures and early closes the library does not know yet.

A national day of mourning is announced days before it happens, long before a new
`exchange_calendars` release; operators put it in a small YAML file instead of waiting:

    closures:
      - {date: 2026-12-08, reason: "Day of mourning"}
    early_closes:
      - {date: 2026-12-09, close: "13:00", reason: "Exchange notice"}

`close` is exchange-local wall time. Each date must be a session of the exchange's calendar
(closing a Saturday or Christmas again is a mistake, probably a wrong date) inside the range
the process calendar covers, and an early close must fall inside that session: after its
open, before its scheduled close.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from dgas_pipeline.errors import InvalidInput, InvalidInputs, from_validation_error
from dgas_pipeline.input_files import read_mapping

if TYPE_CHECKING:
    import exchange_calendars as xcals


def not_a_number(value: Any) -> Any:
    """A date field's input, refused when it is a number: pydantic would read `0` or
    `1735776000` as seconds since 1970, a date nobody wrote (files keep dates as text)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("is a number, not a date (expected YYYY-MM-DD)")
    return value


class Closure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    reason: str

    _date_text = field_validator("date", mode="before")(not_a_number)

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must say why the exchange is closed (expected a non-empty text)")
        return value


class EarlyClose(Closure):
    close: time

    @field_validator("close", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        # YAML reads an unquoted 13:00 as the integer 780 (sexagesimal); accept only HH:MM text.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            raise ValueError(
                f"is how YAML reads an unquoted {value // 60:02d}:{value % 60:02d}; "
                'quote it (expected "HH:MM", e.g. "13:00")'
            )
        if isinstance(value, int | float) or (
            isinstance(value, str) and not _looks_like_hh_mm(value)
        ):
            raise ValueError('is not an exchange-local time (expected "HH:MM", e.g. "13:00")')
        return value


def _looks_like_hh_mm(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 2 and all(p.isdigit() and len(p) == 2 for p in parts)


class CalendarOverrides(BaseModel):
    """Validated overrides; a date may be listed once, in one list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    closures: tuple[Closure, ...] = ()
    early_closes: tuple[EarlyClose, ...] = ()

    @model_validator(mode="after")
    def _each_date_once(self) -> CalendarOverrides:
        seen: set[date] = set()
        for name, entries in (("closures", self.closures), ("early_closes", self.early_closes)):
            for i, entry in enumerate(entries):
                if entry.date in seen:
                    raise InvalidInput(
                        f"{name}[{i}].date", entry.date.isoformat(), "is listed more than once"
                    )
                seen.add(entry.date)
        return self

    def closure(self, day: date) -> Closure | None:
        return next((c for c in self.closures if c.date == day), None)

    def early_close(self, day: date) -> EarlyClose | None:
        return next((c for c in self.early_closes if c.date == day), None)

    def check_fits(
        self, calendar: xcals.ExchangeCalendar, exchange: str, first_day: date, last_day: date
    ) -> None:
        """Every date a session of `calendar` within first_day..last_day, every early close
        inside its session; `InvalidInputs` naming each entry that is not."""
        sessions = calendar.schedule
        tz = ZoneInfo(str(calendar.tz))
        problems: list[InvalidInput] = []
        for name, entries in (("closures", self.closures), ("early_closes", self.early_closes)):
            for i, entry in enumerate(entries):
                field, day = f"{name}[{i}]", entry.date
                if not first_day <= day <= last_day:
                    problems.append(
                        InvalidInput(
                            f"{field}.date",
                            day.isoformat(),
                            f"is outside the {exchange} calendar ({first_day.isoformat()} "
                            f"to {last_day.isoformat()})",
                        )
                    )
                    continue
                key = datetime.combine(day, time(0))
                if key not in sessions.index:
                    already = "closed that day anyway" if name == "closures" else "closed"
                    problems.append(
                        InvalidInput(
                            f"{field}.date",
                            day.isoformat(),
                            f"is not a session of {exchange} ({_closed_because(calendar, day)}"
                            f"): the exchange is {already} (expected a trading day)",
                        )
                    )
                    continue
                if isinstance(entry, EarlyClose):
                    opens = sessions.at[key, "open"].to_pydatetime().astimezone(tz)
                    closes = sessions.at[key, "close"].to_pydatetime().astimezone(tz)
                    if not opens < datetime.combine(day, entry.close, tz) < closes:
                        # An "early" close at or after the scheduled one would lengthen the day.
                        problems.append(
                            InvalidInput(
                                f"{field}.close",
                                entry.close.strftime("%H:%M"),
                                f"is not between the session's open ({opens:%H:%M}) and its "
                                f"scheduled close ({closes:%H:%M})",
                            )
                        )
        if problems:
            raise InvalidInputs(problems)


def _closed_because(calendar: xcals.ExchangeCalendar, day: date) -> str:
    if day.weekday() >= 5:
        return f"a {day:%A}"
    named = calendar.regular_holidays.holidays(start=day, end=day, return_name=True)
    return str(named.iloc[0]) if len(named) else "a holiday"


NO_OVERRIDES = CalendarOverrides()


def load_overrides(path: str | Path | None) -> CalendarOverrides:
    """Read and validate an overrides file; errors name the file's field and value."""
    if path is None:
        return NO_OVERRIDES
    raw = read_mapping(Path(path), "overrides", "must be a mapping with closures/early_closes")
    if not raw:
        return NO_OVERRIDES
    try:
        return CalendarOverrides.model_validate(raw)
    except ValidationError as err:
        raise from_validation_error(err, prefix="") from None
