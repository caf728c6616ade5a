"""Watchlist operations and their validation: the one place `dgas watchlist` and the REST API
share, so both accept exactly the same input and fail with exactly the same messages.

Payloads are pydantic models (the API declares them in its OpenAPI document too); every
error names the field and the value, e.g. `symbols[1]: 'BRK B' is not a ticker ...`. Tickers
follow the one rule of `dgas_pipeline.tickers`, so a watchlist accepts what `dgas.yaml`
accepts. An `HH:MM` schedule must fall inside the exchange's regular session: a watchlist runs
on the session's clock, and a time the market is never open at would be skipped every day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from sqlalchemy.engine import Connection, Engine

from dgas_pipeline.errors import InvalidInput, InvalidInputs, from_validation_error, nested
from dgas_pipeline.store.engine import make_engine, write_transaction
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.store.tables import WATCHLIST_EVERY_BAR
from dgas_pipeline.tickers import INPUT_PATTERN, MAX_LENGTH, check_tickers
from dgas_pipeline.watchlists import store
from dgas_pipeline.watchlists.limits import MAX_VERSION
from dgas_pipeline.watchlists.store import Watchlist

if TYPE_CHECKING:
    from dgas_pipeline.market import MarketHoursManager

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
SCHEDULE_PATTERN = r"^(every_bar|([01][0-9]|2[0-3]):[0-5][0-9])$"
# What the OpenAPI document promises of a ticker; `check_tickers` enforces the same rule.
Ticker = Annotated[
    str, WithJsonSchema({"type": "string", "pattern": INPUT_PATTERN, "maxLength": MAX_LENGTH})
]
# Bounds a request's size; a cycle processes at most `max_symbols_per_cycle` anyway.
MAX_SYMBOLS = 500
# Watchlists in one import file.
MAX_IMPORTED = 1000

_NAME = re.compile(NAME_PATTERN.strip("^$"))
_SCHEDULE = re.compile(SCHEDULE_PATTERN.strip("^$"))
_NAME_EXPECTED = "is not a watchlist name (expected 1 to 64 letters, digits, '_', '.' or '-')"

Model = TypeVar("Model", bound=BaseModel)


def check_name(value: Any) -> str:
    """A watchlist name, or `InvalidInput` naming the field `name`."""
    # fullmatch, not `$`: `$` would also accept a trailing newline.
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInput("name", value, _NAME_EXPECTED)
    if value in (".", ".."):
        raise InvalidInput("name", value, "cannot be addressed in a URL path (pick another name)")
    return value


class WatchlistCreate(BaseModel):
    """A new watchlist."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="Unique; letters, digits, '_', '.', '-'.",
        json_schema_extra={"pattern": NAME_PATTERN, "minLength": 1, "maxLength": 64},
    )
    symbols: list[Ticker] = Field(
        description='Tickers, e.g. ["SPY", "AAPL"].', min_length=1, max_length=MAX_SYMBOLS
    )
    schedule: str = Field(
        WATCHLIST_EVERY_BAR,
        description="`every_bar` (joins every cycle) or `HH:MM` exchange-local on sessions.",
        json_schema_extra={"pattern": SCHEDULE_PATTERN},
    )
    enabled: bool = True

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return check_name(value)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        return _check_symbols(value)

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return _check_schedule(value)


class WatchlistUpdate(BaseModel):
    """A change to a watchlist: the fields given change, the others stay.

    `version` is the version the client last read; the change applies only if the watchlist
    is still at that version (409 otherwise), so concurrent edits cannot overwrite each other.
    A null field means "leave as is".
    """

    model_config = ConfigDict(extra="forbid")

    version: int = Field(
        ge=1, le=MAX_VERSION, description="The `version` you last read (optimistic lock)."
    )
    symbols: list[Ticker] | None = Field(None, min_length=1, max_length=MAX_SYMBOLS)
    schedule: str | None = Field(None, json_schema_extra={"pattern": SCHEDULE_PATTERN})
    enabled: bool | None = None

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        return None if value is None else _check_symbols(value)

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return None if value is None else _check_schedule(value)


class WatchlistImport(BaseModel):
    """A file of watchlists (`dgas watchlist import`): each entry as `WatchlistCreate`."""

    model_config = ConfigDict(extra="forbid")

    watchlists: list[Any] = Field(min_length=1, max_length=MAX_IMPORTED)


@dataclass(frozen=True)
class Imported:
    """What an import did: every watchlist of the file as stored now, by name."""

    watchlists: list[Watchlist]
    created: list[str]
    replaced: list[str]


class WatchlistService:
    """The watchlist operations over one database, for one exchange.

    The exchange clock may be given as a function that builds it: only an `HH:MM` schedule
    needs it, and building it (pandas, exchange_calendars, the calendar's sessions) costs more
    than a whole `dgas watchlist list`, which then never pays for it.
    """

    def __init__(
        self,
        engine: Engine,
        market: MarketHoursManager | Callable[[], MarketHoursManager] | None = None,
    ) -> None:
        self.engine = engine
        self._market = market

    @classmethod
    def open(
        cls, url: str, market: MarketHoursManager | Callable[[], MarketHoursManager]
    ) -> WatchlistService:
        """The service over the tables at `url`, migrated first if they are behind: how
        `dgas watchlist` and the REST API both reach them, so they never disagree on it."""
        ensure_schema(url)
        return cls(make_engine(url), market)

    @property
    def market(self) -> MarketHoursManager:
        """The exchange clock, built on first use when given as a function (or the default
        exchange's when none was given)."""
        from dgas_pipeline.market import MarketHoursManager

        if not isinstance(self._market, MarketHoursManager):
            self._market = self._market() if self._market is not None else MarketHoursManager()
        return self._market

    def add(self, payload: WatchlistCreate | Mapping[str, Any]) -> Watchlist:
        new = validate(WatchlistCreate, payload)
        self._check_session_time(new.schedule)
        with write_transaction(self.engine) as conn:
            return store.add_watchlist(conn, new.name, new.symbols, new.schedule, new.enabled)

    def import_all(self, payload: Mapping[str, Any], *, replace: bool = False) -> Imported:
        """Every watchlist of `payload` (`{watchlists: [...]}`) in one transaction: all or none.

        Each entry is checked as `add` checks it, and a name may appear once in the file;
        errors name the entry (`watchlists[2].symbols[0]`). A name that is already a
        watchlist is an error unless `replace`, which overwrites its symbols, schedule and
        enabled flag (keeping its history and bumping its version).
        """
        document = validate(WatchlistImport, payload)
        entries: list[WatchlistCreate] = []
        problems: list[InvalidInput] = []
        first: dict[str, int] = {}
        for i, raw in enumerate(document.watchlists):
            where = f"watchlists[{i}]"
            if not isinstance(raw, Mapping):
                problems.append(
                    InvalidInput(
                        where,
                        raw,
                        "is not a watchlist (expected a mapping of name, symbols, schedule, "
                        "enabled)",
                    )
                )
                continue
            name = raw.get("name")
            if isinstance(name, str) and name in first:
                problems.append(
                    InvalidInput(
                        f"{where}.name", name, f"is listed twice (also watchlists[{first[name]}])"
                    )
                )
            elif isinstance(name, str):
                first[name] = i
            try:
                # Strictly typed, as the API reads the same payload: `enabled: "yes"` in a
                # file is text, not a boolean someone meant.
                entry = validate(WatchlistCreate, raw, strict=True)
                self._check_session_time(entry.schedule)
            except InvalidInput as err:
                problems.extend(nested(where, err))
                continue
            entries.append(entry)
        if problems:
            raise InvalidInputs(problems)
        with write_transaction(self.engine) as conn:
            return self._import(conn, entries, first, replace)

    def _import(
        self,
        conn: Connection,
        entries: list[WatchlistCreate],
        index: dict[str, int],
        replace: bool,
    ) -> Imported:
        stored: list[Watchlist] = []
        created: list[str] = []
        replaced: list[str] = []
        problems: list[InvalidInput] = []
        for entry in entries:
            where = f"watchlists[{index[entry.name]}]"
            current = store.find_watchlist(conn, entry.name)
            try:
                if current is None:
                    stored.append(
                        store.add_watchlist(
                            conn, entry.name, entry.symbols, entry.schedule, entry.enabled
                        )
                    )
                    created.append(entry.name)
                elif replace:
                    stored.append(
                        store.update_watchlist(
                            conn,
                            entry.name,
                            expected_version=current.version,
                            symbols=entry.symbols,
                            schedule=entry.schedule,
                            enabled=entry.enabled,
                        )
                    )
                    replaced.append(entry.name)
                else:
                    problems.append(
                        InvalidInput(
                            f"{where}.name",
                            entry.name,
                            "is already a watchlist (import --replace overwrites it, or "
                            "rename it in the file)",
                        )
                    )
            except InvalidInput as err:  # a concurrent writer got there between our steps
                problems.extend(nested(where, err))
        if problems:
            raise InvalidInputs(problems)  # rolls the whole import back
        return Imported(stored, created, replaced)

    def list_all(self) -> list[Watchlist]:
        with self.engine.connect() as conn:
            return store.list_watchlists(conn)

    def show(self, name: str) -> Watchlist:
        check_name(name)
        with self.engine.connect() as conn:
            return store.get_watchlist(conn, name)

    def update(self, name: str, payload: WatchlistUpdate | Mapping[str, Any]) -> Watchlist:
        check_name(name)
        change = validate(WatchlistUpdate, payload)
        if change.schedule is not None:
            self._check_session_time(change.schedule)
        with write_transaction(self.engine) as conn:
            return store.update_watchlist(
                conn,
                name,
                expected_version=change.version,
                symbols=change.symbols,
                schedule=change.schedule,
                enabled=change.enabled,
            )

    def start(self, name: str) -> Watchlist:
        return self._set_enabled(name, True)

    def stop(self, name: str) -> Watchlist:
        return self._set_enabled(name, False)

    def remove(self, name: str, version: int | None = None) -> Watchlist:
        check_name(name)
        if version is not None and (isinstance(version, bool) or not 1 <= version <= MAX_VERSION):
            raise InvalidInput(
                "version", version, f"must be a whole number from 1 to {MAX_VERSION}"
            )
        with write_transaction(self.engine) as conn:
            return store.remove_watchlist(conn, name, expected_version=version)

    def _set_enabled(self, name: str, enabled: bool) -> Watchlist:
        check_name(name)
        with write_transaction(self.engine) as conn:
            return store.set_enabled(conn, name, enabled)

    def _check_session_time(self, schedule: str) -> None:
        if schedule == WATCHLIST_EVERY_BAR:
            return
        at = time.fromisoformat(schedule)
        opens, closes = self.market.regular_hours()
        if not opens <= at <= closes:
            raise InvalidInput(
                "schedule",
                schedule,
                f"is outside the {self.market.exchange} regular session "
                f"({opens:%H:%M}-{closes:%H:%M} exchange-local); an HH:MM watchlist runs while "
                "the market is open",
            )


def validate(
    model: type[Model], payload: Model | Mapping[str, Any], *, strict: bool | None = None
) -> Model:
    """`payload` as `model`, or `InvalidInputs` with one problem per field."""
    if isinstance(payload, model):
        return payload
    try:
        return model.model_validate(payload, strict=strict)
    except ValidationError as err:
        raise from_validation_error(err, prefix="") from None


def _check_symbols(value: Any) -> Any:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError('must be a list of tickers, e.g. ["SPY", "AAPL"]')
    if len(value) > MAX_SYMBOLS:
        raise ValueError(f"has {len(value)} tickers (at most {MAX_SYMBOLS})")
    # JSON has no YAML booleans to explain: a non-string is simply not a ticker.
    not_text = {
        f"symbols[{i}]": InvalidInput(f"symbols[{i}]", raw, "is not a ticker (expected a string)")
        for i, raw in enumerate(value)
        if not isinstance(raw, str)
    }
    try:
        return list(check_tickers(value, "symbols"))
    except InvalidInputs as err:
        raise InvalidInputs([not_text.get(p.field, p) for p in err.problems]) from None


def _check_schedule(value: Any) -> Any:
    if not isinstance(value, str) or not _SCHEDULE.fullmatch(value):
        raise InvalidInput(
            "schedule", value, "is not a schedule (expected every_bar or HH:MM, e.g. 15:45)"
        )
    return value
