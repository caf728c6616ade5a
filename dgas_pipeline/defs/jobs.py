"""The cycle and EOD jobs, and the hook that mirrors a failed step as a FAILED run row."""

import dagster as dg

from dgas_pipeline.defs.alerts import alerts
from dgas_pipeline.defs.assets import CYCLE_PARTITIONS, bars, indicators, notifications, signals
from dgas_pipeline.defs.eod import SESSION_PARTITIONS, eod_consolidation
from dgas_pipeline.defs.executors import pipeline_executor
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.logs import LOG_RUN_CONFIG
from dgas_pipeline.defs.reconcile import CYCLE_JOB, EOD_JOB, KIND_TAG, fail_run

# Only one cycle at a time (the run queue limits this tag), and a run past
# `timeout_seconds` is failed by run monitoring.
CONCURRENCY_TAG = "dgas/concurrency"
_timeout = str(current_location().config.timeout_seconds)
# `executor.kind` of the config; in_process by default: steps are light (~0.2 s of work each),
# and one process per step made a daemon-launched cycle take a minute of interpreter start-ups.
_executor = pipeline_executor(current_location().config.executor)


@dg.failure_hook(required_resource_keys={"pipeline"})
def mirror_failure(context: dg.HookContext) -> None:
    """A step failed for good: its run's rows become FAILED and scheduler_state ERROR.

    The message is the exception's type and first line: enough to act on, and it never
    carries a secret (providers and channels redact theirs before raising).
    """
    error = context.op_exception
    first_line = str(error).splitlines()[0] if error and str(error) else ""
    message = f"{context.op.name}: {type(error).__name__}: {first_line}"
    fail_run(context.resources.pipeline, context.instance, context.run_id, message)


prediction_cycle_job = dg.define_asset_job(
    CYCLE_JOB,
    selection=[bars, indicators, signals, notifications, alerts],
    partitions_def=CYCLE_PARTITIONS,
    tags={KIND_TAG: "cycle", CONCURRENCY_TAG: "pipeline", "dagster/max_runtime": _timeout},
    hooks={mirror_failure},
    config=LOG_RUN_CONFIG,  # our console and rotating-file loggers (defs/logs.py)
    executor_def=_executor,
)
eod_job = dg.define_asset_job(
    EOD_JOB,
    selection=[eod_consolidation],
    partitions_def=SESSION_PARTITIONS,
    tags={KIND_TAG: "eod", CONCURRENCY_TAG: "pipeline", "dagster/max_runtime": _timeout},
    hooks={mirror_failure},
    config=LOG_RUN_CONFIG,  # our console and rotating-file loggers (defs/logs.py)
    executor_def=_executor,
)
