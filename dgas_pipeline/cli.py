"""`dgas`: the command line for people and scripts.

Every command takes `--json` (one JSON document on stdout, nothing else there) and
`--config F`. Bad input exits 2 with one line per problem on stderr naming the field and the
value, never a traceback: scripts parse our output, people read our errors.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn

from dgas_pipeline import clock, db_commands
from dgas_pipeline.alerts import commands as alert_commands
from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.errors import InvalidInput, cut, shown
from dgas_pipeline.location import market_for
from dgas_pipeline.market import (
    Launch,
    MarketHoursManager,
    PlanSettings,
    format_interval,
    parse_interval,
    plan_launches,
)
from dgas_pipeline.market.bars import Bar, cycle_bar_due_by
from dgas_pipeline.market.sessions import TradingSession
from dgas_pipeline.operate import signals as signal_commands
from dgas_pipeline.tickers import check_ticker, check_tickers
from dgas_pipeline.watchlists import commands as watchlist_commands

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1
MAX_DELAY_MINUTES = 24 * 60
MAX_PLANNED_LAUNCHES = 100_000
"""A year of 1-minute bars (about 98,500 launches) fits; the calendar's thirteen do not."""
# What a command needs of its environment, checked before it does anything (`main`): a
# DAGSTER_HOME or database URL that cannot work is bad input naming the variable, not a
# traceback from deep inside Dagster or SQLAlchemy halfway through the command.
NEEDS_DAGSTER_HOME = frozenset({"run-once", "backfill", "status"})
NEEDS_DATABASE = NEEDS_DAGSTER_HOME | {"watchlist", "api", "db", "signals"}

Handler = Callable[[argparse.Namespace], dict[str, Any]]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples keep their lines; every command's description starts on its name's line.

    argparse sizes the name column from the option strings only (`-h, --help`), so a
    command name longer than those (`watchlist`) would push its description to a line of
    its own; the column is made wide enough for every command name.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=24)
        self._action_max_length = max(self._action_max_length, 16)


class _Parser(argparse.ArgumentParser):
    """argparse, but its complaints follow our one-line `field: value expected` rule, and
    name the flag or argument: `--bogus: is not an option of dgas plan`, `--end: is required`.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        # The innermost (sub)command parsed first: its name is what a complaint refers to.
        if not getattr(parsed, PROG_ATTR, None):
            setattr(parsed, PROG_ATTR, self.prog)
        return parsed, extras

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            prog = getattr(parsed, PROG_ATTR, self.prog)
            first = extras[0]
            if first.startswith("-"):
                refuse_usage(f"{shown_flag(first)}: is not an option of {prog}", prog=prog)
            refuse_usage(f"ARGUMENT: {shown(first)} is one argument too many", prog=prog)
        return parsed

    def error(self, message: str) -> NoReturn:
        required = "the following arguments are required: "
        if message.startswith(required):
            # One line per missing flag or argument, each naming it.
            names = message.removeprefix(required).split(", ")
            refuse_usage(*(f"{name}: is required" for name in names), prog=self.prog)
        # "argument --start: expected one argument" -> "--start: expected one argument"
        refuse_usage(message.removeprefix("argument "), prog=self.prog)


PROG_ATTR = "dgas_prog"


def shown_flag(flag: str) -> str:
    """A flag as a field name: `--x=value` shows as `--x`, and never very long."""
    return cut(flag.split("=", 1)[0], 60)


def refuse_usage(*problems: str, prog: str) -> NoReturn:
    """Exit 2 with a line per problem, each pointing at the command's help."""
    for problem in problems:
        sys.stderr.write(f"dgas: {problem} (see {prog} --help)\n")
    raise SystemExit(EXIT_BAD_INPUT)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):  # `dgas`, `dgas watchlist`: which command?
        refuse_usage("COMMAND: is required", prog=getattr(args, PROG_ATTR, "dgas"))
    try:
        check_environment(args)
        result = args.handler(args)
    except InvalidInput as err:
        for line in err.lines:
            sys.stderr.write(f"dgas: {line}\n")
        return EXIT_BAD_INPUT
    emit(result, as_json=args.json, render=args.render)
    # A run that failed (`run-once`) or any failed run of `backfill --wait` is exit 1.
    failed = result.get("status") == "FAILED" or bool(result.get("failed_runs"))
    return EXIT_RUN_FAILED if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument(
        "--config", metavar="F", help="config file (default ./dgas.yaml, then built-in defaults)"
    )
    parser = _Parser(
        prog="dgas",
        description=(
            "Market-hours-aware Drummond Geometry prediction cycles on the exchange clock.\n"
            "Every command takes --json (one JSON document on stdout) and --config F;\n"
            "`dgas COMMAND --help` shows its options and examples."
        ),
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Parser, dest="command"
    )

    plan = commands.add_parser(
        "plan", parents=[common], help="list planned cycle and EOD launches between two dates"
    )
    plan.add_argument("--start", metavar="D", help="first session date (default: today)")
    plan.add_argument("--end", metavar="D", help="last session date (default: start + 6 days)")
    plan.add_argument("--interval", help="bar interval, e.g. 15min, 30min, 1h (default: config)")
    plan.add_argument(
        "--data-delay", metavar="MIN", help="minutes after a bar's end (default: config)"
    )
    plan.add_argument(
        "--eod-delay", metavar="MIN", help="minutes after the close (default: config)"
    )
    plan.add_argument("--overrides", metavar="F", help="closures/early closes file")
    plan.set_defaults(handler=cmd_plan, render=render_plan)

    cal = commands.add_parser(
        "calendar", parents=[common], help="what the exchange does on a date, and its launches"
    )
    cal.add_argument("date", nargs="?", metavar="DATE", help="YYYY-MM-DD or 'today' (default)")
    cal.add_argument("--overrides", metavar="F", help="closures/early closes file")
    cal.set_defaults(handler=cmd_calendar, render=render_calendar)

    once = commands.add_parser(
        "run-once",
        parents=[common],
        help="run one cycle now on the Dagster instance in $DAGSTER_HOME",
    )
    once.add_argument(
        "--at", metavar="ISO", help="run the bar last due by this instant (default now)"
    )
    once.add_argument(
        "--symbols", metavar="A,B", help="tickers instead of the configured watchlist"
    )
    once.set_defaults(handler=cmd_run_once, render=render_run)

    bars = commands.add_parser(
        "bars", parents=[common], help="bars of one symbol from the configured provider chain"
    )
    bars.add_argument("symbol", metavar="SYMBOL")
    bars.add_argument("--start", metavar="D", required=True, help="first session date")
    bars.add_argument("--end", metavar="D", required=True, help="last session date")
    bars.add_argument("--timeframe", default=None, help="e.g. 30min, 1h, 4h (default: interval)")
    bars.set_defaults(handler=cmd_bars, render=render_bars)

    backfill = commands.add_parser(
        "backfill",
        parents=[common],
        help="run a date range's planned cycles and EODs not yet done",
    )
    backfill.add_argument("--start", metavar="D", required=True, help="first session date")
    backfill.add_argument("--end", metavar="D", required=True, help="last session date")
    backfill.add_argument(
        "--wait", action="store_true", help="execute here and now, without a daemon"
    )
    backfill.set_defaults(handler=cmd_backfill, render=render_backfill)

    status = commands.add_parser(
        "status", parents=[common], help="scheduler state, the next launch, the last runs"
    )
    status.set_defaults(handler=cmd_status, render=render_status)

    config = commands.add_parser("config", help="configuration commands")
    config_commands = config.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Parser
    )
    validate = config_commands.add_parser(
        "validate", parents=[common], help="check a config file; every error with its field"
    )
    validate.add_argument("file", nargs="?", metavar="F", help="config file (default ./dgas.yaml)")
    validate.set_defaults(handler=cmd_config_validate, render=render_config)

    # `watchlist add|list|show|update|start|stop|remove` and `api`
    watchlist_commands.add_commands(commands, common, _Parser)
    # `alerts validate|schema|replay`
    alert_commands.add_commands(commands, common, _Parser)
    # `db upgrade|downgrade|current`
    db_commands.add_commands(commands, common, _Parser)
    # `signals [--date D] [--symbol S] [--status S]`
    signal_commands.add_commands(commands, common, _Parser)
    add_examples(parser)
    return parser


# The epilog of each command's --help ("" is `dgas --help`), by command path; a test parses
# every one, so they stay valid as the commands change.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "dgas calendar 2026-11-27              # the early close after Thanksgiving",
        "dgas plan --start 2026-11-23 --end 2026-11-30 --data-delay 2 --json",
        "dgas run-once --symbols AAPL,MSFT     # one cycle now, no daemon needed",
        "dgas backfill --start 2026-11-16 --end 2026-11-20 --wait",
        "dgas status                           # state, next launch, last runs",
        "dgas config validate dgas.yaml",
    ),
    "plan": (
        "dgas plan                             # today and the next six days",
        "dgas plan --start 2026-11-23 --end 2026-11-30 --data-delay 2 --json",
        "dgas plan --start 2026-11-27 --end 2026-11-27 --interval 15min",
        "dgas plan --start 2026-12-07 --end 2026-12-11 --overrides overrides.yaml",
    ),
    "calendar": (
        "dgas calendar                         # today",
        "dgas calendar 2026-11-26              # closed: Thanksgiving",
        "dgas calendar 2026-11-27 --json       # early close at 13:00 ET",
    ),
    "run-once": (
        "dgas run-once",
        "dgas run-once --at 2026-11-20T15:05:00-05:00 --symbols AAPL,MSFT --json",
    ),
    "bars": (
        "dgas bars AAPL --start 2026-11-20 --end 2026-11-20",
        "dgas bars SPY --start 2026-11-16 --end 2026-11-20 --timeframe 1h --json",
    ),
    "backfill": (
        "dgas backfill --start 2026-11-16 --end 2026-11-20       # the daemon runs it",
        "dgas backfill --start 2026-11-20 --end 2026-11-20 --wait  # runs it here",
    ),
    "status": (
        "dgas status",
        "dgas status --json --config /etc/dgas/dgas.yaml",
    ),
    "config": ("dgas config validate",),
    "config validate": (
        "dgas config validate                  # ./dgas.yaml, else the defaults",
        "dgas config validate dgas.example.yaml --json",
    ),
    "watchlist": (
        "dgas watchlist add tech --symbols AAPL,MSFT,NVDA",
        "dgas watchlist list",
    ),
    "watchlist add": (
        "dgas watchlist add tech --symbols AAPL,MSFT,NVDA      # joins every cycle",
        "dgas watchlist add open --symbols SPY,QQQ --schedule 09:45 --disabled",
    ),
    "watchlist list": ("dgas watchlist list", "dgas watchlist list --json"),
    "watchlist show": ("dgas watchlist show tech --json",),
    "watchlist update": (
        "dgas watchlist update tech --symbols AAPL,MSFT",
        "dgas watchlist update tech --schedule 15:30 --version 2",
    ),
    "watchlist start": ("dgas watchlist start tech",),
    "watchlist stop": ("dgas watchlist stop tech",),
    "watchlist remove": ("dgas watchlist remove tech", "dgas watchlist remove tech --version 3"),
    "watchlist import": (
        "dgas watchlist import watchlists.yaml   # all or none; a name taken: error",
        "dgas watchlist import watchlists.json --replace --json",
    ),
    "api": (
        "dgas api                              # 127.0.0.1, no token needed",
        "dgas api --host 0.0.0.0 --port 8080   # needs DGAS_API_TOKEN",
    ),
    "alerts": ("dgas alerts validate alerts.yaml",),
    "alerts validate": (
        "dgas alerts validate alerts.yaml",
        "dgas alerts validate rules.json --json",
    ),
    "alerts schema": ("dgas alerts schema > alert-rules.schema.json",),
    "alerts replay": (
        "dgas alerts replay alerts.yaml --start 2026-11-16 --end 2026-11-20",
        "dgas alerts replay alerts.yaml --start 2026-11-20 --end 2026-11-20 --json",
    ),
    "signals": (
        "dgas signals --date 2026-11-27        # a session's signals and outcomes",
        "dgas signals --symbol AAPL --status WIN --json",
    ),
    "db": ("dgas db upgrade",),
    "db upgrade": ("dgas db upgrade",),
    "db downgrade": ("dgas db downgrade base",),
    "db current": ("dgas db current --json",),
}


def add_examples(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Give `parser` and every command under it its examples and our help layout."""
    parser.formatter_class = _HelpFormatter
    examples = EXAMPLES.get(" ".join(path), ())
    if examples:
        parser.epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    for name, sub in subcommands(parser).items():
        add_examples(sub, (*path, name))


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of `parser`'s commands, by name."""
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }


# -- commands --------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    market = market_for(config, args.overrides)
    # `is not None`: an empty value (`--start=`) is bad input, not a request for the default.
    start = parse_date(args.start, "--start", market) if args.start is not None else today(market)
    end = (
        parse_date(args.end, "--end", market)
        if args.end is not None
        else min(start + timedelta(days=6), market.last_day)
    )
    settings = PlanSettings(
        interval=parse_interval(args.interval, "--interval")
        if args.interval is not None
        else config.interval_delta,
        data_delay=minutes(args.data_delay, "--data-delay")
        if args.data_delay is not None
        else config.plan_settings.data_delay,
        eod_delay=minutes(args.eod_delay, "--eod-delay")
        if args.eod_delay is not None
        else config.plan_settings.eod_delay,
    )
    if end < start:
        raise InvalidInput("--end", end.isoformat(), f"is before --start {start.isoformat()}")
    check_plan_size(market, start, end, settings.interval)
    return {"launches": [x.to_json() for x in plan_launches(market, start, end, settings)]}


def check_plan_size(market: MarketHoursManager, start: date, end: date, step: timedelta) -> None:
    """A plan is a list a person or a script reads: thirteen years of 1-minute bars (1.3
    million launches, 250 MB of JSON, a gigabyte of memory) is a mistake, refused up front."""
    count = sum(
        -(-(session.close - session.open) // step) + 1  # its bars (the last cut), its EOD
        for session in market.sessions_between(start, end)
        if session.open is not None and session.close is not None
    )
    if count > MAX_PLANNED_LAUNCHES:
        raise InvalidInput(
            "--end",
            end.isoformat(),
            f"makes {count:,} launches from --start {start.isoformat()} at "
            f"{format_interval(step)} bars, more than the {MAX_PLANNED_LAUNCHES:,} one plan "
            "lists (expected a shorter range or a longer --interval)",
        )


def check_environment(args: argparse.Namespace) -> None:
    """DAGSTER_HOME and the database of a command that needs them, probed once: the home
    can be created and written, the database URL parses, its driver is installed and the
    server answers within seconds. Nothing is created, so a refusal leaves nothing behind."""
    command = getattr(args, "command", None)
    if command not in NEEDS_DATABASE:
        return
    from dgas_pipeline.dagster_home import check_dagster_home, check_dagster_postgres_url
    from dgas_pipeline.store.engine import DAGSTER_HOME_ENV, check_database, database_in_use

    database = database_in_use(load_config(args.config).database_url)
    if command in NEEDS_DAGSTER_HOME:
        check_dagster_postgres_url()  # before the home is set up, not when the location loads
    if command in NEEDS_DAGSTER_HOME or database.field == DAGSTER_HOME_ENV:
        check_dagster_home()
    check_database(database, any_revision=getattr(args, "any_revision", False))


def cmd_calendar(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    market = market_for(config, args.overrides)
    day = parse_date(args.date, "DATE", market) if args.date is not None else today(market)
    session = market.session(day)
    launches: list[Launch] = []
    if session.is_trading_day:
        launches = plan_launches(market, day, day, config.plan_settings)
    return calendar_json(market, session, launches)


def cmd_config_validate(args: argparse.Namespace) -> dict[str, Any]:
    path = args.file or args.config
    config = check_files_of(load_config(path))
    return {
        "valid": True,
        "file": str(path) if path else None,
        "config": config.model_dump(mode="json"),
    }


def cmd_run_once(args: argparse.Namespace) -> dict[str, Any]:
    use_config_file(args.config)
    # Bad config is bad input here, not a failed run.
    config = check_files_of(load_config(args.config))
    market = market_for(config, None)
    now = clock.now()
    at = parse_instant(args.at, "--at") if args.at is not None else now
    if at > now:
        raise InvalidInput("--at", args.at, "is in the future (expected a past instant)")
    bar = bar_due_by(at, args.at if args.at is not None else f"now ({iso(now)})", config, market)
    symbols = None
    if args.symbols is not None:
        symbols = list(check_tickers(args.symbols.split(","), "symbols"))
        if len(symbols) > config.max_symbols_per_cycle:
            raise InvalidInput(
                "--symbols",
                f"{len(symbols)} tickers",
                f"exceed max_symbols_per_cycle ({config.max_symbols_per_cycle}): "
                "run them in several cycles, or raise the limit in the config",
            )
    from dgas_pipeline.operate.run_once import run_once

    args.render = functools.partial(render_run, tz_name=market.tz.key)
    with progress_note(f"run-once: running the cycle of the bar closed by {_local(iso(at))}"):
        return run_once(bar, symbols)


def bar_due_by(
    at: datetime, shown: str, config: SchedulerConfig, market: MarketHoursManager
) -> Bar:
    """The bar `run-once` runs at `at`: the newest due by then. It must be a partition (from
    partitions_start on), or Dagster would refuse the key after the run was created."""
    plan = config.plan_settings
    sessions = market.sessions_between(config.partitions_start, market.last_day)
    first = plan_launches(market, sessions[0].date, sessions[0].date, plan)[0] if sessions else None
    if first is None or at < first.due:
        when = f"bar {first.partition_key}, due {iso(first.due)}" if first else "there is none"
        raise InvalidInput(
            "--at",
            shown,
            f"is before the first partition: {when} "
            f"(partitions cover {partitions_covered(config, market)})",
        )
    try:
        return cycle_bar_due_by(market, at, plan)
    except InvalidInput as err:  # no bar in the two weeks before: a long closure
        raise InvalidInput("--at", shown, err.expected) from None


def partitions_covered(config: SchedulerConfig, market: MarketHoursManager) -> str:
    return (
        f"{config.partitions_start.isoformat()} to {market.last_day.isoformat()}: "
        f"partitions_start to the end of the {market.exchange} calendar"
    )


def parse_partition_date(
    text: str, field: str, config: SchedulerConfig, market: MarketHoursManager
) -> date:
    """A date of a command that runs partitions: Dagster has none before partitions_start,
    and a run launched for one would fail after it was created (and stored)."""
    day = parse_date(text, field, market)
    if day < config.partitions_start:
        covered = partitions_covered(config, market)
        raise InvalidInput(
            field, day.isoformat(), f"is before partitions_start (expected a date from {covered})"
        )
    return day


def cmd_backfill(args: argparse.Namespace) -> dict[str, Any]:
    use_config_file(args.config)
    config = check_files_of(load_config(args.config))
    market = market_for(config, None)
    start = parse_partition_date(args.start, "--start", config, market)
    end = parse_partition_date(args.end, "--end", config, market)
    if end < start:
        raise InvalidInput("--end", end.isoformat(), f"is before --start {start.isoformat()}")
    from dgas_pipeline.operate.backfill import backfill

    # Loading the code location and planning take seconds; `--wait` then draws its own bar.
    with progress_note(f"backfill: planning {start} .. {end}"):
        result = backfill(start, end, args.wait)
    if result.get("runs"):  # `--wait`: what each session's runs found (operate/backfill_report)
        from dgas_pipeline.location import current_location
        from dgas_pipeline.operate.backfill_report import session_summaries

        result["sessions"] = session_summaries(current_location().engine(), result["runs"])
    return result


def cmd_status(args: argparse.Namespace) -> dict[str, Any]:
    use_config_file(args.config)
    market = market_for(load_config(args.config), None)
    args.render = functools.partial(render_status, tz_name=market.tz.key)
    from dgas_pipeline.operate.status import status

    return status()


def check_files_of(config: SchedulerConfig) -> SchedulerConfig:
    """What a config names outside itself is part of it: a bad overrides or alert-rules file,
    partitions Dagster could not build, a log file that cannot be written are bad input
    before anything runs, not a run that fails (or half-runs) later (`config_check`)."""
    from dgas_pipeline.config_check import check_config

    check_config(config)
    return config


def use_config_file(path: str | None) -> None:
    """Commands that load the code location read the config through DGAS_CONFIG."""
    if path:
        os.environ["DGAS_CONFIG"] = path


def cmd_bars(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    market = market_for(config, None)
    start = parse_date(args.start, "--start", market)
    end = parse_date(args.end, "--end", market)
    if end < start:
        raise InvalidInput("--end", end.isoformat(), f"is before --start {start.isoformat()}")
    symbol = check_ticker(args.symbol, "SYMBOL")
    timeframe = None
    if args.timeframe is not None:  # `--timeframe=` is bad input, not the default
        timeframe = whole_bars(args.timeframe, "--timeframe", config.interval_delta)
    sessions = market.sessions_between(start, end)
    if not sessions:
        return {"bars": []}
    from dgas_pipeline import analysis
    from dgas_pipeline.data import build_providers, close_providers, fetch_bars
    from dgas_pipeline.secrets import provider_api_key

    providers = build_providers(config.provider, provider_api_key(config), market)
    try:
        fetched = fetch_bars(
            providers, [symbol], sessions[0].open, sessions[-1].close, config.interval_delta, market
        )
    finally:
        close_providers(providers)
    if symbol in fetched.errors:
        raise InvalidInput("SYMBOL", symbol, f"has no bars: {fetched.errors[symbol]}")
    frame = fetched.bars
    if timeframe and timeframe != config.interval_delta:
        frame = analysis.resample_bars(frame, timeframe)
    return {
        "bars": [
            {
                "ts": iso(row.ts.to_pydatetime()),
                "open": row.open,
                "high": row.high,
                "low": row.low,
                "close": row.close,
                "volume": row.volume,
            }
            for row in frame.itertuples()
        ]
    }


# -- shared pieces ---------------------------------------------------------------------------


def whole_bars(text: str, field: str, base: timedelta) -> timedelta:
    """A timeframe bars of `base` can be resampled to: a whole multiple of it, no finer."""
    timeframe = parse_interval(text, field)
    if timeframe < base or timeframe % base:
        raise InvalidInput(
            field,
            text,
            f"is not a whole multiple of the interval {format_interval(base)} the bars come in "
            f"(expected e.g. {format_interval(base)}, {format_interval(2 * base)})",
        )
    return timeframe


def today(market: MarketHoursManager) -> date:
    return market.local(clock.now()).date()


def parse_date(text: str, field: str, market: MarketHoursManager) -> date:
    if text == "today":
        return today(market)
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(field, text, "is not a date (expected YYYY-MM-DD)") from None
    market.check_in_range(day, field)
    return day


def parse_instant(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            field, text, "is not an ISO instant (e.g. 2026-11-20T15:05:00-05:00)"
        ) from None
    if at.tzinfo is None:
        raise InvalidInput(field, text, "has no UTC offset (e.g. 2026-11-20T15:05:00-05:00)")
    try:
        return at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise InvalidInput(
            field, text, "is out of range (expected a year from 1 to 9999 in UTC)"
        ) from None


def minutes(text: str, field: str) -> timedelta:
    # ASCII digits only: `int()` also reads `١٢` and ` 12 `, and takes quadratic time on
    # thousands of digits, so a number longer than the bound is refused before converting.
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(field, text, "is not a whole number of minutes (expected e.g. 5)")
    if digits != text and digits.strip("0"):
        raise InvalidInput(field, text, "must be >= 0 minutes")
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(MAX_DELAY_MINUTES)) or int(digits) > MAX_DELAY_MINUTES:
        # The config's bound; larger values would also overflow datetime arithmetic.
        raise InvalidInput(field, text, f"must be <= {MAX_DELAY_MINUTES} minutes (one day)")
    return timedelta(minutes=int(digits))


def calendar_json(
    market: MarketHoursManager, session: TradingSession, launches: list[Launch]
) -> dict[str, Any]:
    after = session.open or datetime.combine(session.date, datetime.min.time(), market.tz)
    return {
        "date": session.date.isoformat(),
        "is_trading_day": session.is_trading_day,
        "open": iso(session.open),
        "close": iso(session.close),
        "early_close": session.early_close,
        "reason": session.reason,
        # None on the calendar's last days: their next open is not known yet.
        "next_open": iso(market.next_open_in_calendar(after)),
        "launches": [x.to_json() for x in launches],
    }


def iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


# -- output ----------------------------------------------------------------------------------


@contextmanager
def progress_note(text: str) -> Iterator[None]:
    """`text` on stderr while a long step runs, erased when it ends, on a terminal only:
    in a pipe or a log, stderr carries errors and nothing else."""
    if not sys.stderr.isatty():
        yield
        return
    sys.stderr.write(f"{text} ...")
    sys.stderr.flush()
    try:
        yield
    finally:
        sys.stderr.write("\r\033[K")  # back to the line's start, erase it
        sys.stderr.flush()


def emit(result: dict[str, Any], *, as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    if as_json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(result) + "\n")


def _local(
    text: str | None, tz_name: str = "America/New_York", fmt: str = "%a %Y-%m-%d %H:%M %Z"
) -> str:
    if text is None:
        return "-"
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).astimezone(ZoneInfo(tz_name)).strftime(fmt)


def render_plan(result: dict[str, Any]) -> str:
    rows = [f"{'due (ET)':<26} {'kind':<6} partition_key"]
    for x in result["launches"]:
        rows.append(f"{_local(x['due']):<26} {x['kind']:<6} {x['partition_key']}")
    rows.append(f"{len(result['launches'])} launches")
    return "\n".join(rows)


def render_calendar(result: dict[str, Any]) -> str:
    if result["is_trading_day"]:
        kind = "early close" if result["early_close"] else "regular session"
        why = f" ({result['reason']})" if result["reason"] else ""
        head = (
            f"{result['date']}: open {_local(result['open'])} - close {_local(result['close'])}, "
            f"{kind}{why}"
        )
    else:
        head = f"{result['date']}: market closed ({result['reason']})"
    lines = [head, f"next open: {_local(result['next_open'])}"]
    if result["launches"]:
        lines.append(render_plan({"launches": result["launches"]}))
    return "\n".join(lines)


def render_run(result: dict[str, Any], tz_name: str = "America/New_York") -> str:
    timings = ", ".join(f"{k} {v}" for k, v in result["timings_ms"].items() if v is not None)
    lines = [
        f"{result['status']}: cycle {result['partition_key']} (run {result['run_id']})",
        f"symbols {result['symbols_processed']}/{result['symbols_requested']}, "
        f"signals {result['signals']}; {timings}",
    ]
    lines.extend(f"error: {e}" for e in result["errors"])
    # The cycle's signals and their deliveries (operate/signals_report.py).
    from dgas_pipeline.operate.signals_report import render_signals

    lines += ["", *render_signals(result.get("signal_details", []), tz_name)]
    return "\n".join(lines)


def render_bars(result: dict[str, Any]) -> str:
    rows = [f"{'ts (UTC)':<22} {'open':>10} {'high':>10} {'low':>10} {'close':>10} {'volume':>12}"]
    for b in result["bars"]:
        rows.append(
            f"{b['ts']:<22} {b['open']:>10.2f} {b['high']:>10.2f} {b['low']:>10.2f} "
            f"{b['close']:>10.2f} {b['volume']:>12.0f}"
        )
    return "\n".join(rows)


def render_backfill(result: dict[str, Any]) -> str:
    line = f"launched {result['launched']}, already done {result['skipped_done']}"
    if result["backfill_id"]:
        line += f" (backfill {result['backfill_id']})"
    if result.get("failed_runs"):
        line += f"; {result['failed_runs']} runs failed"
    from dgas_pipeline.operate.backfill_report import render_session_summaries

    return "\n".join([line, *render_session_summaries(result.get("sessions", []))])


def render_status(result: dict[str, Any], tz_name: str = "America/New_York") -> str:
    """A few labelled lines and a table of the last runs, in the exchange's local time."""
    state = result["scheduler_state"]
    nxt = result["next_launch"]
    upcoming = (
        f"{_local(nxt['due'], tz_name)}  {nxt['kind']} {nxt['partition_key']}"
        if nxt
        else "- (none planned in the calendar's range)"
    )
    since = f" since {_local(state['updated_at'], tz_name)}" if state.get("updated_at") else ""
    lines = [f"{'scheduler':<12}{state.get('status')}{since}"]
    if state.get("error_message"):
        lines.append(f"{'error':<12}{state['error_message']}")
    lines += [
        f"{'last run':<12}{_local(state.get('last_run_timestamp'), tz_name)}",
        f"{'next launch':<12}{upcoming}",
    ]
    from dgas_pipeline.operate.status import render_late  # launches past due + grace

    lines += render_late(result.get("late", []), tz_name)
    if result.get("reconciled"):
        lines.append(f"{'reconciled':<12}{result['reconciled']} finished run(s) mirrored just now")
    for skipped in result.get("skipped_runs", []):
        lines.append(
            f"{'not mirrored':<12} run {skipped['run_id']} ({skipped['job']}): {skipped['reason']}"
        )
    runs = result["recent_runs"]
    if not runs:
        return "\n".join([*lines, "", "no runs yet"])
    lines += [
        "",
        f"last {len(runs)} run{'s' if len(runs) != 1 else ''} (times {_zone_label(tz_name)}):",
        f"{'launched':<16} {'partition':<17} {'kind':<5} {'status':<8} {'by':<9} "
        f"{'duration':>8} {'signals':>7}",
    ]
    for run in runs:
        lines.append(
            f"{_local(run.get('run_timestamp'), tz_name, '%a %m-%d %H:%M'):<16} "
            f"{_cell(run.get('partition_key')):<17} {_cell(run.get('kind')):<5} "
            f"{_cell(run.get('status')):<8} {_cell(run.get('launched_by')):<9} "
            f"{duration(run.get('execution_time_ms')):>8} {_cell(run.get('signals_generated')):>7}"
        )
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A table cell: a missing value shows as '-', never as a formatting error."""
    return "-" if value is None else str(value)


def _zone_label(tz_name: str) -> str:
    return "ET" if tz_name == "America/New_York" else tz_name


def duration(ms: int | None) -> str:
    """`850ms`, `12.3s`, `2m05s`, `1h02m`: short enough for a table column."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def render_config(result: dict[str, Any]) -> str:
    source = result["file"] or "built-in defaults"
    return f"{source}: valid"


def run() -> NoReturn:
    """Console-script entry point."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # `dgas plan | head` is normal use; the reader left, so say nothing more.
        sys.stdout = None  # type: ignore[assignment]
        code = EXIT_OK
    raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
