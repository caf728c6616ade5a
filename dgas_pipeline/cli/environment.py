"""What a command needs of its environment and of its config's files, checked before it
does anything: a DAGSTER_HOME or database URL that cannot work is bad input naming the
variable, not a traceback from deep inside Dagster or SQLAlchemy halfway through the command.
"""

from __future__ import annotations

import argparse
import os

from dgas_pipeline.config import SchedulerConfig, load_config

NEEDS_DAGSTER_HOME = frozenset({"run-once", "backfill", "status"})
NEEDS_DATABASE = NEEDS_DAGSTER_HOME | {"watchlist", "api", "db", "signals"}


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
