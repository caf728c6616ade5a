"""The `executor` section: bad settings named precisely, the choice reaching the jobs, and the
shipped scale-out files agreeing with the code."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from dgas_pipeline.config import validate_config
from dgas_pipeline.defs.runtime.executors import celery_executor_config, celery_worker_app
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.executor_settings import ExecutorSettings
from dgas_pipeline_tests.defs.conftest import code_location as code_location

REPO = Path(__file__).resolve().parents[2]
CELERY_DIR = REPO / "deploy" / "celery"
SECRET = "s3cret-sentinel"  # noqa: S105  (a sentinel that must never be shown)

CELERY = {"kind": "celery"}
REDIS = "redis://redis.internal:6379/0"

# (executor section, field, value shown, what the message says is expected)
BAD_SETTINGS: list[tuple[Any, str, Any, str]] = [
    ({"kind": "kubernetes"}, "executor.kind", "kubernetes", "'in_process', 'multiprocess' or"),
    ("kubernetes", "executor.kind", "kubernetes", "'in_process', 'multiprocess' or"),
    (CELERY, "executor.celery.broker_url", None, "is required when kind is celery"),
    (
        {**CELERY, "celery": {"broker_url": f"redis://:{SECRET}@redis.internal:6379/0"}},
        "executor.celery.broker_url",
        "redis://:***@redis.internal:6379/0",
        "contains a password; secrets never go in the config file",
    ),
    (
        {**CELERY, "celery": {"broker_url": f"amqp://a:{SECRET}@h1//;amqp://a:{SECRET}@h2//"}},
        "executor.celery.broker_url",
        "amqp://a:***@h1//;amqp://a:***@h2//",
        "name it in executor.celery.broker_url_env",
    ),
    (
        {**CELERY, "celery": {"broker_url": "http://redis.internal"}},
        "executor.celery.broker_url",
        "http://redis.internal",
        "expected redis://, rediss://, amqp://, amqps://, pyamqp://",
    ),
    (
        {**CELERY, "celery": {"broker_url": "redis://[oops"}},
        "executor.celery.broker_url",
        "redis://[oops",
        "is not a URL",
    ),
    (
        {**CELERY, "celery": {"broker_url": REDIS, "broker_url_env": "DGAS_CELERY_BROKER_URL"}},
        "executor.celery.broker_url_env",
        "DGAS_CELERY_BROKER_URL",
        "is set together with executor.celery.broker_url",
    ),
    (
        {**CELERY, "celery": {"broker_url_env": "amqp://mq.internal//"}},
        "executor.celery.broker_url_env",
        "amqp://mq.internal//",
        "is not an environment variable name",
    ),
    (
        {**CELERY, "celery": {"broker_url": REDIS, "backend_url": "amqp://mq.internal//"}},
        "executor.celery.backend_url",
        "amqp://mq.internal//",
        "expected redis://, rediss://, rpc://",
    ),
    (
        {**CELERY, "celery": {"broker_url": REDIS, "backend_url": f"redis://:{SECRET}@r:6379/1"}},
        "executor.celery.backend_url",
        "redis://:***@r:6379/1",
        "name it in executor.celery.backend_url_env",
    ),
    (
        {**CELERY, "celery": {"broker_url": REDIS, "queue": "steps for dgas"}},
        "executor.celery.queue",
        "steps for dgas",
        "is not a queue name",
    ),
    (
        {**CELERY, "celery": {"broker_url": REDIS, "include": ["ok.module", "2fast"]}},
        "executor.celery.include[1]",
        "2fast",
        "is not a Python module name",
    ),
    (
        {**CELERY, "celery": {"broker_url": REDIS, "brokr_url": REDIS}},
        "executor.celery.brokr_url",
        "<not shown>",
        "is not a known field",
    ),
    (
        {"celery": {"broker_url": REDIS}},
        "executor.celery.broker_url",
        REDIS,
        "is set but executor.kind is in_process (expected kind: celery",
    ),
    (
        {"kind": "multiprocess", "max_concurrent": 0},
        "executor.max_concurrent",
        0,
        "greater than or equal to 1",
    ),
    (
        {"kind": "celery", "max_concurrent": 2, "celery": {"broker_url": REDIS}},
        "executor.max_concurrent",
        2,
        "applies only to kind multiprocess",
    ),
]


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    BAD_SETTINGS,
    ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD_SETTINGS)],
)
def test_bad_executor_settings_name_field_value_and_expectation(
    section: Any, field: str, value: Any, expected: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_config({"executor": section})
    (problem,) = [p for p in getattr(err.value, "problems", [err.value]) if p.field == field]
    assert problem.value == value
    assert expected in problem.expected
    assert SECRET not in str(err.value)


def test_a_kind_alone_is_short_for_the_section() -> None:
    assert validate_config({"executor": "multiprocess"}).executor == ExecutorSettings(
        kind="multiprocess"
    )


def test_a_password_url_is_named_by_its_variable_and_handed_to_dagster_as_env() -> None:
    settings = validate_config(
        {"executor": {**CELERY, "celery": {"broker_url_env": "DGAS_CELERY_BROKER_URL"}}}
    ).executor.celery
    assert celery_executor_config(settings) == {
        "broker": {"env": "DGAS_CELERY_BROKER_URL"},
        "backend": "rpc://",
        "include": [],
        "config_source": {"task_default_queue": "dgas"},
    }


def test_a_worker_without_its_broker_variable_says_which_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DGAS_TEST_UNSET_BROKER", raising=False)
    settings = ExecutorSettings.model_validate(
        {**CELERY, "celery": {"broker_url_env": "DGAS_TEST_UNSET_BROKER"}}
    )
    with pytest.raises(InvalidInput) as err:
        celery_worker_app(settings)
    assert err.value.field == "executor.celery.broker_url_env"
    assert err.value.value == "DGAS_TEST_UNSET_BROKER"
    assert "not set" in err.value.expected


def test_a_worker_refuses_a_config_that_does_not_use_celery() -> None:
    with pytest.raises(InvalidInput) as err:
        celery_worker_app(ExecutorSettings())
    assert (err.value.field, err.value.value) == ("executor.kind", "in_process")


def test_the_worker_consumes_the_configured_queue_on_the_configured_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DGAS_TEST_BROKER", "amqp://dgas:pw@mq.internal:5672/dgas")
    settings = ExecutorSettings.model_validate(
        {**CELERY, "celery": {"broker_url_env": "DGAS_TEST_BROKER", "queue": "dgas-steps"}}
    )
    app = celery_worker_app(settings)
    assert app.conf.broker_url == "amqp://dgas:pw@mq.internal:5672/dgas"
    assert app.conf.result_backend == "rpc://"
    assert [q.name for q in app.conf.task_queues] == ["dgas-steps"]
    assert app.conf.task_default_queue == "dgas-steps"
    assert "execute_plan" in app.tasks


# -- the choice reaches the jobs when the code location loads ------------------------------------


@pytest.mark.parametrize(
    ("section", "name", "config"),
    [
        (None, "in_process", {}),
        ({"kind": "multiprocess", "max_concurrent": 3}, "multiprocess", {"max_concurrent": 3}),
        (
            {**CELERY, "celery": {"broker_url": REDIS, "queue": "dgas-steps"}},
            "celery",
            {"broker": REDIS, "config_source": {"task_default_queue": "dgas-steps"}},
        ),
    ],
)
def test_the_pipeline_jobs_run_with_the_configured_executor(
    code_location: Callable[..., dg.Definitions],
    section: dict[str, Any] | None,
    name: str,
    config: dict[str, Any],
) -> None:
    defs = code_location({"executor": section} if section else {})
    for job in ("prediction_cycle", "eod_job"):
        executor = defs.resolve_job_def(job).executor_def
        assert executor.name == name, job
        if config:
            # What `configured` fixed, as Dagster hands it to the executor.
            applied = executor.config_schema.resolve_config({}).value["config"]
            assert config.items() <= applied.items(), applied
    assert defs.resolve_job_def("watchlist_job").executor_def == dg.in_process_executor


# -- the shipped scale-out files ---------------------------------------------------------------


def test_the_example_celery_configs_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (CELERY_DIR / "dgas.celery.yaml").read_text(encoding="utf-8")
    redis = validate_config(yaml.safe_load(text)).executor
    assert (redis.kind, redis.celery.queue) == ("celery", "dgas")
    assert redis.celery.broker_url and redis.celery.broker_url.startswith("redis://")
    commented = "\n".join(
        line.removeprefix("# ") for line in text.splitlines() if line.startswith("# ")
    )
    rabbit_yaml = commented[commented.index("executor:") :]
    rabbit = validate_config(yaml.safe_load(rabbit_yaml)).executor
    assert rabbit.celery.broker_url_env == "DGAS_CELERY_BROKER_URL"


def test_the_worker_unit_starts_the_worker_app_with_a_literal_host_name() -> None:
    unit = (CELERY_DIR / "dgas-celery-worker.service").read_text(encoding="utf-8")
    exec_start = unit[unit.index("ExecStart=") :].split("\n#")[0].replace("\\\n", " ")
    module = re.search(r"-A (\S+)", exec_start)
    assert module and importlib.util.find_spec(module.group(1)) is not None
    assert "%%h" in exec_start and "%h" not in exec_start.replace("%%h", "")
    assert "EnvironmentFile=/etc/dgas/dgas.env" in unit  # the broker URL's variable
