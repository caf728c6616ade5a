"""Run logs: the console and the rotating file are the jobs' loggers, and no secret reaches them.

A real cycle on a real instance, its bars from a loopback Polygon that fails (so errors are
logged) with a sentinel key in the environment; the file is configured small enough to
rotate. A second job logs the secret on purpose, in its message and in the exception it
raises, to prove the filter masks what a careless step would write.
"""

import json
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dgas_pipeline.config import validate_config
from dgas_pipeline.defs.names import LAUNCHED_BY_TAG
from dgas_pipeline.defs.runtime.logs import with_logs
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline_tests.data.fake_polygon import FakePolygon, Reply
from dgas_pipeline_tests.defs.conftest import SESSION, CycleEnv, session_bars

SENTINEL = "pk-SENTINEL-logs-3b9e1d7c55"
HOOK_TOKEN = "SENTINEL-hook-token-a1b2c3d4"  # noqa: S105 - a test value
JSON_FIELDS = {"timestamp", "level", "run_id", "step_key", "message"}


@pytest.fixture
def failing_polygon() -> Iterator[FakePolygon]:
    """A Polygon that refuses every request, echoing the key it was sent."""
    server = FakePolygon()
    server.reply(Reply(500, {"status": "ERROR", "error": f"key {SENTINEL} refused"}))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def log_lines(directory: Path) -> dict[str, list[str]]:
    return {p.name: p.read_text(encoding="utf-8").splitlines() for p in directory.iterdir()}


def test_a_failing_cycle_rotates_json_lines_and_logs_no_secret(
    cycle_env: CycleEnv,
    failing_polygon: FakePolygon,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", SENTINEL)
    cycle_env.configure(
        symbols=["AAPL", "MSFT"],
        provider={
            "chain": ["polygon"],
            "polygon_base_url": failing_polygon.base_url,
            "max_retries": 1,
            "backoff_base_seconds": 0,
            "backoff_max_seconds": 0,
        },
        logging={
            "level": "DEBUG",
            "file": {"level": "DEBUG", "json_lines": True, "max_bytes": 2048, "backup_count": 50},
        },
    )
    bar = session_bars(SESSION)[3]
    assert cycle_env.defs is not None
    # No run config: the job's own default names our loggers, as for sensor and UI runs.
    result = cycle_env.defs.resolve_job_def("prediction_cycle").execute_in_process(
        partition_key=bar.key,
        instance=cycle_env.instance,
        tags={LAUNCHED_BY_TAG: "cli"},
        raise_on_error=False,
    )
    assert failing_polygon.requests, "the cycle never asked Polygon"
    console = capfd.readouterr().err

    logs = log_lines(cycle_env.home / "logs")
    assert "dgas.log" in logs
    assert "dgas.log.1" in logs, f"no rotation at 2048 bytes: {sorted(logs)}"
    assert all(os.path.getsize(cycle_env.home / "logs" / n) <= 4096 for n in logs)
    records = [json.loads(line) for lines in logs.values() for line in lines]
    assert all(set(r) >= JSON_FIELDS for r in records)
    ours = [r for r in records if r["run_id"] == result.run_id]
    assert {r["step_key"] for r in ours} >= {"bars"}
    assert any(r["level"] in ("WARNING", "ERROR") for r in ours), "the failure was not logged"
    assert any("500" in json.dumps(r) for r in ours), "Polygon's error is not in the logs"

    # The console logger ran too, as text, with the same run.
    assert result.run_id in console
    assert "[DEBUG]" in console
    for where, text in [("console", console), *logs.items()]:
        assert SENTINEL not in str(text), f"the Polygon key is in {where}"


@dg.op
def leaky_step(context: dg.OpExecutionContext) -> None:
    """A careless step: logs the key and the channel token, then fails quoting them."""
    key, token = os.environ["POLYGON_API_KEY"], os.environ["HOOK_TOKEN"]
    context.log.info(f"calling with key={key} and token %s", token)
    raise RuntimeError(f"refused: {key} / {token}")


@dg.job
def leaky_job() -> None:
    leaky_step()


@dg.op
def greeting_step(context: dg.OpExecutionContext) -> None:
    context.log.info("hello from a step")


@dg.job
def greeting_job() -> None:
    greeting_step()


def with_our_loggers(env: CycleEnv, job: dg.JobDefinition) -> dg.JobDefinition:
    """`job` with the code location's loggers, as the location's own jobs have them."""
    return job.with_logger_defs(env.defs.loggers)


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
def test_secrets_a_step_logs_or_raises_are_masked_in_console_and_file(
    cycle_env: CycleEnv,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    json_lines: bool,
) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", SENTINEL)
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    cycle_env.configure(
        notifications={"channels": [{"name": "hook", "url": "json://127.0.0.1/h?t=${HOOK_TOKEN}"}]},
        logging={"json_lines": json_lines, "file": {"json_lines": json_lines}},
    )
    result = with_our_loggers(cycle_env, leaky_job).execute_in_process(
        instance=cycle_env.instance, run_config=with_logs(), raise_on_error=False
    )
    assert not result.success
    console = capfd.readouterr().err
    (log_file,) = (cycle_env.home / "logs").iterdir()
    written = log_file.read_text(encoding="utf-8")
    for where, text in [("console", console), ("file", written)]:
        assert "key=***" in text, where
        assert "refused: *** / ***" in text, where  # the step failure, with its traceback
        assert SENTINEL not in text, where
        assert HOOK_TOKEN not in text, where
    if json_lines:
        lines = [json.loads(x) for x in written.splitlines()]
        failure = next(x for x in lines if x.get("event") == "STEP_FAILURE")
        assert failure["step_key"] == "leaky_step"
        assert failure["run_id"] == result.run_id
        assert "refused: *** / ***" in failure["error"]


def test_logger_config_in_run_config_overrides_the_app_config(
    cycle_env: CycleEnv, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cycle_env.configure(logging={"level": "ERROR"})
    path = tmp_path / "elsewhere" / "run.log"
    run_config = {
        "loggers": {
            "console": {"config": {"log_level": "INFO"}},
            "file": {"config": {"path": str(path), "json_lines": True, "log_level": "INFO"}},
        }
    }
    result = with_our_loggers(cycle_env, greeting_job).execute_in_process(
        instance=cycle_env.instance, run_config=run_config
    )
    assert "[INFO] greeting_job - " in capfd.readouterr().err
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [(x["message"], x["step_key"], x["run_id"]) for x in lines] == [
        ("hello from a step", "greeting_step", result.run_id)
    ]
    assert not (cycle_env.home / "logs").exists()


def test_bad_logger_config_names_the_field(cycle_env: CycleEnv) -> None:
    run_config = {"loggers": {"file": {"config": {"max_bytes": 10}}}}
    with pytest.raises(Exception, match=r"loggers\.file\.config\.max_bytes: 10"):
        with_our_loggers(cycle_env, greeting_job).execute_in_process(
            instance=cycle_env.instance, run_config=run_config
        )


def test_a_disabled_file_logger_writes_nothing(cycle_env: CycleEnv) -> None:
    cycle_env.configure(logging={"file": {"enabled": False}})
    with_our_loggers(cycle_env, greeting_job).execute_in_process(
        instance=cycle_env.instance, run_config=with_logs()
    )
    assert not (cycle_env.home / "logs").exists()


@pytest.mark.parametrize(
    ("logging", "field", "value"),
    [
        ({"level": "LOUD"}, "logging.level", "LOUD"),
        ({"file": {"max_bytes": 10}}, "logging.file.max_bytes", "10"),
        ({"file": {"backup_count": 0}}, "logging.file.backup_count", "0"),
        ({"file": {"rotate": True}}, "logging.file.rotate", "<not shown>"),
        ({"file": {"json_lines": "maybe"}}, "logging.file.json_lines", "maybe"),
    ],
    ids=["level", "max-bytes", "backup-count", "unknown-key", "json-lines"],
)
def test_bad_logging_config_names_field_and_value(
    logging: dict[str, object], field: str, value: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_config({"logging": logging})
    (line,) = raised.value.lines
    assert line.startswith(f"{field}: "), line
    assert value in line, line


def test_level_names_are_case_insensitive() -> None:
    settings = validate_config({"logging": {"level": "warning", "file": {"level": "info"}}})
    assert (settings.logging.level, settings.logging.file.level) == ("WARNING", "INFO")


def test_an_unwritable_log_path_names_the_field(cycle_env: CycleEnv, tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("", encoding="utf-8")
    cycle_env.configure(logging={"file": {"path": str(tmp_path / "not-a-dir" / "dgas.log")}})
    with pytest.raises(Exception, match=r"logging\.file\.path: .*not-a-dir.* cannot be written"):
        with_our_loggers(cycle_env, greeting_job).execute_in_process(
            instance=cycle_env.instance, run_config=with_logs()
        )
