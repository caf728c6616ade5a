"""Every `dgas` command: its flags, its help line, and which handler runs it.

A handler and its renderer are named as `"module:function"` under this package, not
imported: `main.dispatch` imports the one command that runs. So `dgas --help` and a refused
flag cost argparse and this module, not pandas, the exchange calendars or Dagster.
"""

from __future__ import annotations

import argparse

from dgas_pipeline.cli.arguments import (
    DEFAULT_API_HOST,
    DEFAULT_API_PORT,
    DEFAULT_UI_HOST,
    DEFAULT_UI_PORT,
    port_flag,
    version_flag,
)

PACKAGE = "dgas_pipeline.cli"

SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]


def runs(parser: argparse.ArgumentParser, module: str, handler: str, render: str) -> None:
    """`parser`'s command runs `cli.<module>.<handler>`, printed by `<render>` without --json."""
    parser.set_defaults(
        handler=f"{PACKAGE}.{module}:{handler}", render=f"{PACKAGE}.{module}:{render}"
    )


def add_commands(
    commands: SubParsers,
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Register every command on the `dgas` sub-command group."""
    add_calendar_commands(commands, common)
    add_run_commands(commands, common)
    add_config_commands(commands, common, parser_class)
    add_watchlist_commands(commands, common, parser_class)
    add_alert_commands(commands, common, parser_class)
    add_db_commands(commands, common, parser_class)


def add_calendar_commands(commands: SubParsers, common: argparse.ArgumentParser) -> None:
    """`plan` and `calendar`: the exchange clock, nothing run."""
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
    runs(plan, "plan", "cmd_plan", "render_plan")

    cal = commands.add_parser(
        "calendar", parents=[common], help="what the exchange does on a date, and its launches"
    )
    cal.add_argument("date", nargs="?", metavar="DATE", help="YYYY-MM-DD or 'today' (default)")
    cal.add_argument("--overrides", metavar="F", help="closures/early closes file")
    runs(cal, "calendar", "cmd_calendar", "render_calendar")


def add_run_commands(commands: SubParsers, common: argparse.ArgumentParser) -> None:
    """`run-once`, `bars`, `backfill`, `status`, `signals`, `ui`: runs and their data."""
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
    runs(once, "run_once", "cmd_run_once", "render_run")

    bars = commands.add_parser(
        "bars", parents=[common], help="bars of one symbol from the configured provider chain"
    )
    bars.add_argument("symbol", metavar="SYMBOL")
    bars.add_argument("--start", metavar="D", required=True, help="first session date")
    bars.add_argument("--end", metavar="D", required=True, help="last session date")
    bars.add_argument("--timeframe", default=None, help="e.g. 30min, 1h, 4h (default: interval)")
    runs(bars, "bars", "cmd_bars", "render_bars")

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
    runs(backfill, "backfill", "cmd_backfill", "render_backfill")

    status = commands.add_parser(
        "status", parents=[common], help="scheduler state, the next launch, the last runs"
    )
    runs(status, "status", "cmd_status", "render_status")

    ui = commands.add_parser(
        "ui", parents=[common], help="the Dagster UI and daemon on the instance dgas uses"
    )
    ui.add_argument("--host", default=DEFAULT_UI_HOST, help="default 127.0.0.1 (loopback)")
    ui.add_argument("--port", default=DEFAULT_UI_PORT, type=port_flag, help="default 3000")
    runs(ui, "ui", "cmd_ui", "render_ui")

    signals = commands.add_parser(
        "signals", parents=[common], help="stored signals with their outcomes and deliveries"
    )
    signals.add_argument(
        "--date", metavar="D", help="the session's signals (YYYY-MM-DD or 'today')"
    )
    signals.add_argument("--symbol", metavar="S", help="one ticker's signals")
    signals.add_argument("--status", metavar="S", help="one outcome: PENDING|WIN|LOSS|NEUTRAL")
    runs(signals, "signals", "cmd_signals", "render_signals")


def add_config_commands(
    commands: SubParsers,
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """`config validate`."""
    config = commands.add_parser("config", help="configuration commands")
    config_commands = config.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=parser_class
    )
    validate = config_commands.add_parser(
        "validate", parents=[common], help="check a config file; every error with its field"
    )
    validate.add_argument("file", nargs="?", metavar="F", help="config file (default ./dgas.yaml)")
    runs(validate, "config", "cmd_config_validate", "render_config")


def add_watchlist_commands(
    commands: SubParsers,
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """`watchlist add|list|show|update|start|stop|remove|import` and `api`."""
    group = commands.add_parser("watchlist", help="watchlists run by the scheduler")
    sub = group.add_subparsers(title="commands", metavar="COMMAND", parser_class=parser_class)

    add = sub.add_parser("add", parents=[common], help="create a watchlist")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--symbols", metavar="A,B", required=True, help="tickers, comma-separated")
    add.add_argument(
        "--schedule",
        help="every_bar (default: joins every cycle) or HH:MM exchange-local on sessions",
    )
    add.add_argument("--disabled", action="store_true", help="create it stopped")
    runs(add, "watchlists", "cmd_add", "render_watchlist")

    ls = sub.add_parser("list", parents=[common], help="every watchlist")
    runs(ls, "watchlists", "cmd_list", "render_list")

    show = sub.add_parser("show", parents=[common], help="one watchlist")
    show.add_argument("name", metavar="NAME")
    runs(show, "watchlists", "cmd_show", "render_watchlist")

    update = sub.add_parser(
        "update", parents=[common], help="change a watchlist's symbols or schedule"
    )
    update.add_argument("name", metavar="NAME")
    update.add_argument("--symbols", metavar="A,B", help="the new tickers, comma-separated")
    update.add_argument("--schedule", help="every_bar or HH:MM")
    update.add_argument(
        "--version",
        metavar="N",
        type=version_flag,
        help="apply only if the watchlist is still at version N (as last shown)",
    )
    runs(update, "watchlists", "cmd_update", "render_watchlist")

    for verb, handler, text in (
        ("start", "cmd_start", "enable a watchlist"),
        ("stop", "cmd_stop", "disable a watchlist (kept, not run)"),
    ):
        toggle = sub.add_parser(verb, parents=[common], help=text)
        toggle.add_argument("name", metavar="NAME")
        runs(toggle, "watchlists", handler, "render_watchlist")

    remove = sub.add_parser("remove", parents=[common], help="delete a watchlist")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--version", metavar="N", type=version_flag, help="delete only if still at version N"
    )
    runs(remove, "watchlists", "cmd_remove", "render_removed")

    load = sub.add_parser(
        "import",
        parents=[common],
        help="create the watchlists of a YAML or JSON file, all or none",
    )
    load.add_argument(
        "file",
        metavar="F",
        help="{watchlists: [{name, symbols, schedule, enabled}, ...]} (JSON if *.json)",
    )
    load.add_argument(
        "--replace",
        action="store_true",
        help="overwrite watchlists that already exist under the same name (default: an error)",
    )
    runs(load, "watchlists", "cmd_import", "render_imported")

    api = commands.add_parser(
        "api",
        parents=[common],
        help="serve the watchlist REST API (token: DGAS_API_TOKEN)",
    )
    api.add_argument("--host", default=DEFAULT_API_HOST, help="default 127.0.0.1 (loopback)")
    api.add_argument("--port", default=DEFAULT_API_PORT, type=port_flag, help="default 8001")
    runs(api, "api", "cmd_api", "render_api")


def add_alert_commands(
    commands: SubParsers,
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """`alerts validate | schema | replay`."""
    alerts = commands.add_parser("alerts", help="alert rules: check, publish the schema, replay")
    group = alerts.add_subparsers(title="commands", metavar="COMMAND", parser_class=parser_class)

    check = group.add_parser(
        "validate", parents=[common], help="check an alert-rules file; every error with its path"
    )
    check.add_argument("file", metavar="F", help="rules file (YAML, or JSON if *.json)")
    runs(check, "alerts", "cmd_validate", "render_validate")

    schema = group.add_parser(
        "schema", parents=[common], help="print the JSON Schema of alert-rules files"
    )
    runs(schema, "alerts", "cmd_schema", "render_schema")

    replay = group.add_parser(
        "replay",
        parents=[common],
        help="the alerts a rules file gives on past bars of the configured provider",
    )
    replay.add_argument("file", metavar="F", help="rules file (YAML, or JSON if *.json)")
    replay.add_argument("--start", metavar="D", required=True, help="first session date")
    replay.add_argument("--end", metavar="D", required=True, help="last session date")
    replay.add_argument(
        "--transitions", action="store_true", help="also list re-arms (state ARMED)"
    )
    runs(replay, "alerts", "cmd_replay", "render_replay")


def add_db_commands(
    commands: SubParsers,
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """`db upgrade | downgrade | current`: our tables' Alembic revisions."""
    group = commands.add_parser("db", help="migrate the pipeline's tables (Alembic)")
    sub = group.add_subparsers(title="commands", metavar="COMMAND", parser_class=parser_class)
    up = sub.add_parser("upgrade", parents=[common], help="migrate to the newest revision")
    runs(up, "db", "cmd_upgrade", "render")
    down = sub.add_parser("downgrade", parents=[common], help="migrate back to REVISION")
    down.add_argument("revision", metavar="REVISION", help="e.g. 0002, or base")
    runs(down, "db", "cmd_downgrade", "render")
    current = sub.add_parser("current", parents=[common], help="the revision the tables are at")
    runs(current, "db", "cmd_current", "render")
    # Says which revision the tables are at, even one this release does not know.
    current.set_defaults(any_revision=True)
