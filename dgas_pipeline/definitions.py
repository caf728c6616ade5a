"""The code location: `dagster dev`, `dagster definitions validate`, the code server, its run
workers and a Celery worker's steps load it from here, calling `defs` when they load it.

Nothing is built when this module is imported: the definitions are built from the location
of `DGAS_CONFIG` (`defs.build_definitions`), so tests build other deployments from config
objects without touching the module.
"""

import dagster as dg

from dgas_pipeline.dagster_home import check_dagster_postgres_url
from dgas_pipeline.defs import build_definitions
from dgas_pipeline.defs.runtime.event_batching import batch_event_writes
from dgas_pipeline.defs.runtime.notices import hide_deliberate_notices
from dgas_pipeline.location import current_location


@dg.definitions
def defs() -> dg.Definitions:
    """The definitions of the location `DGAS_CONFIG` names (else `./dgas.yaml`, defaults)."""
    check_dagster_postgres_url()
    hide_deliberate_notices()
    batch_event_writes()  # the run worker's asset events (the code server's runs inherit it)
    return build_definitions(current_location())
