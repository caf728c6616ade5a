"""How a pipeline run runs: the executor of its steps, the tags the run queue and run
monitoring read, and the Celery app of a scale-out worker.

Chosen when the code location is built (`executor` in the config), like every other setting, so
the code server, the run worker and a Celery worker that load the same config file agree.
Both sides of Celery are built from the same `executor.celery` section: the run publishes
each step to `queue` on the broker, a worker started on this module consumes that queue.

A URL with a password is only ever an environment variable name here: the run passes it to
Dagster as `{"env": NAME}` (what `dagster.EnvVar` stands for in config), so the run's config
records the name; the worker reads the variable with `dagster.EnvVar` when it starts.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.defs.names import (
    CONCURRENCY_GROUP,
    CONCURRENCY_TAG,
    KIND_TAG,
    MAX_RUNTIME_TAG,
)
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.executor_settings import DEFAULT_BACKEND, FIELD, CelerySettings, ExecutorSettings

# dagster-celery's name for the Celery setting holding the queue a step is published to.
QUEUE_SETTING = "task_default_queue"


def pipeline_tags(kind: str, config: SchedulerConfig) -> dict[str, str]:
    """Tags of a cycle or EOD run: its kind; one pipeline run at a time (the run queue
    limits the concurrency tag); failed by run monitoring past `timeout_seconds`."""
    return {
        KIND_TAG: kind,
        CONCURRENCY_TAG: CONCURRENCY_GROUP,
        MAX_RUNTIME_TAG: str(config.timeout_seconds),
    }


def pipeline_executor(settings: ExecutorSettings) -> dg.ExecutorDefinition:
    """The Dagster executor of the cycle and EOD jobs for `settings`: in_process by default,
    as steps are light (~0.2 s of work each) and one process per step made a
    daemon-launched cycle take a minute of interpreter start-ups."""
    if settings.kind == "in_process":
        return dg.in_process_executor
    if settings.kind == "multiprocess":
        if settings.max_concurrent is None:
            return dg.multiprocess_executor
        return dg.multiprocess_executor.configured(
            {"max_concurrent": settings.max_concurrent}, name="multiprocess"
        )
    from dagster_celery import celery_executor  # the optional `celery` extra

    return celery_executor.configured(celery_executor_config(settings.celery), name="celery")


def celery_executor_config(settings: CelerySettings) -> dict[str, Any]:
    """`celery_executor`'s config; URLs held in the environment stay `{"env": NAME}`."""
    return {
        "broker": _source(settings.broker_url, settings.broker_url_env),
        "backend": _source(settings.backend_url, settings.backend_url_env) or DEFAULT_BACKEND,
        "include": list(settings.include),
        "config_source": {QUEUE_SETTING: settings.queue},
    }


def celery_worker_app(settings: ExecutorSettings) -> Any:
    """The Celery app of a dgas worker: dagster-celery's step task, on our broker and queue.

    The queue is declared the way the publishing run declares it (a direct exchange named
    after the queue), so a worker started without `-Q` consumes exactly the configured queue.
    """
    if settings.kind != "celery":
        raise InvalidInput(
            f"{FIELD}.kind",
            settings.kind,
            "is not celery, so there is nothing for a Celery worker to do "
            "(expected kind: celery in the file DGAS_CONFIG names)",
        )
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task
    from kombu import Exchange, Queue

    celery = settings.celery
    executor = CeleryExecutor.for_cli(
        broker=_env_value(celery.broker_url, celery.broker_url_env, "broker_url_env"),
        backend=_env_value(celery.backend_url, celery.backend_url_env, "backend_url_env")
        or DEFAULT_BACKEND,
        include=list(celery.include),
        config_source={QUEUE_SETTING: celery.queue},
    )
    app = make_app(executor.app_args())
    app.conf.task_queues = [Queue(celery.queue, Exchange(celery.queue), routing_key=celery.queue)]
    create_task(app)
    return app


def _source(url: str | None, env: str | None) -> str | dict[str, str] | None:
    return {"env": env} if env else url


def _env_value(url: str | None, env: str | None, field: str) -> str | None:
    if not env:
        return url
    value = dg.EnvVar(env).get_value()
    if not value:
        raise InvalidInput(
            f"{FIELD}.celery.{field}",
            env,
            "names an environment variable that is not set (expected it to hold the URL)",
        )
    return value
