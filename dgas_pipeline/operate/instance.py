"""The Dagster instance the CLI works on, and the code location loaded beside it.

Commands load the code location once, after DAGSTER_HOME is settled; runs they start execute
in this process (no daemon needed) and are recorded on the instance like any other run, so
they show in the UI and are mirrored by the same assets and hooks.
"""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
import yaml

from dgas_pipeline.dagster_home import check_dagster_postgres_url, ensure_dagster_home
from dgas_pipeline.defs import build_definitions
from dgas_pipeline.defs.runtime.logs import with_logs
from dgas_pipeline.defs.runtime.notices import hide_deliberate_notices
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import Location, current_location

# Runs started here keep their full event log on the instance (and in the UI); the terminal
# only gets warnings and the command's summary.
QUIET = with_logs({"loggers": {"console": {"config": {"log_level": "WARNING"}}}})

hide_deliberate_notices()


def load_code_location() -> tuple[Location, dg.Definitions, dg.DagsterInstance]:
    """The location of `DGAS_CONFIG`, its definitions, and the instance in DAGSTER_HOME."""
    check_dagster_postgres_url()
    home = ensure_dagster_home()
    location = current_location()
    defs = definitions_of(location)
    try:
        instance = dg.DagsterInstance.get()
    except (dg.DagsterError, yaml.YAMLError, OSError) as err:
        # An operator's own dagster.yaml in the home that Dagster cannot load. Its first two
        # lines say what is wrong ("Errors whilst loading ...", "Error 1: ..."); cut long ones.
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        why = " ".join(lines[:2]) or type(err).__name__
        raise InvalidInput(
            "DAGSTER_HOME",
            str(home),
            f"holds a dagster.yaml Dagster cannot load: {why[:300]}",
        ) from None
    return location, defs, instance


@lru_cache(maxsize=2)
def definitions_of(location: Location) -> dg.Definitions:
    """The definitions of a location, built once per location in this process (a location
    is cached per config file, `location.load_location`)."""
    return build_definitions(location)
