"""The run queue of our deployments: Dagster's queue, and our job's run tags on every run of
our assets, whichever job Dagster runs them in.

The queue lets one pipeline run (tag `dgas/concurrency=pipeline`) go at a time, and run
monitoring fails a run past its `dagster/max_runtime` tag (the config's `timeout_seconds`).
Both read run tags, and those come from the job: `prediction_cycle` and `eod_job` carry them.
A backfill or a "Materialize" launched on the assets themselves (the UI's asset graph and
partitions pages) runs in Dagster's implicit asset job instead, whose runs carry no job tags:
such a run would start beside a live cycle and run for the instance's default hour.

`PipelineRunCoordinator` is Dagster's `QueuedRunCoordinator` that, as a run is submitted
(the webserver's launches, the backfill daemon's, the sensors'), gives a run of our cycle or
EOD assets the run tags of the job that owns those assets, as that job's code location
defines them now. A tag the run already has is kept (an operator's own `dagster/max_runtime`
wins). Named as the run coordinator in both shipped `dagster.yaml` files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import dagster as dg
from dagster._core.errors import DagsterError
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.workspace.context import BaseWorkspaceRequestContext

from dgas_pipeline.defs.names import JOB_OF_KIND
from dgas_pipeline.defs.runtime.runs import mirrored_kind

_log = logging.getLogger(__name__)


class PipelineRunCoordinator(QueuedRunCoordinator):
    """Dagster's run queue; a run of our assets outside our jobs gets our job's run tags."""

    def submit_run(self, context: SubmitRunContext) -> dg.DagsterRun:
        run = context.dagster_run
        missing = missing_job_tags(run, context.workspace)
        if missing:
            self._instance.add_run_tags(run.run_id, missing)
            run = self._instance.get_run_by_id(run.run_id) or run
            context = SubmitRunContext(run, context.workspace)
        return super().submit_run(context)


def missing_job_tags(
    run: dg.DagsterRun, workspace: BaseWorkspaceRequestContext
) -> Mapping[str, str]:
    """The run tags the job owning this run's assets gives its runs, and this run lacks.

    Empty for a run of our own job (Dagster tagged it), of other assets, or when the code
    location cannot answer: the run is then queued as Dagster would queue it, with a warning.
    """
    kind = mirrored_kind(run)
    job_name = JOB_OF_KIND.get(kind or "")
    origin = run.remote_job_origin
    if job_name is None or run.job_name == job_name or origin is None:
        return {}
    try:
        location = workspace.get_code_location(origin.location_name)
        repository = location.get_repository(origin.repository_origin.repository_name)
        if not repository.has_job(job_name):
            return {}
        job_tags = repository.get_full_job(job_name).run_tags
    except DagsterError as err:
        _log.warning(
            "run %s of the %s assets is queued without %s's run tags: %s",
            run.run_id,
            kind,
            job_name,
            err,
        )
        return {}
    return {key: value for key, value in job_tags.items() if key not in run.tags}
