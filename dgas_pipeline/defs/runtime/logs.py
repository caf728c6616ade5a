"""Run logs: the console and a rotating file, as Dagster loggers, with every secret masked.

The seed's scheduler logged to the console and to a file; here both are Dagster loggers, the
default loggers of the code location (`build_loggers`), configured by the `logging:` section
of the app config (`log_settings.py`) and, per run, by `loggers:` run config.

Dagster only starts the loggers a run's config names (with none named it falls back to its
own console logger), so every launch path names ours: the jobs' default config
(`LOG_RUN_CONFIG`, which sensors, the UI and daemon backfills use), `with_logs` for the
run config our own code passes.

Secrets: the values of every environment variable the config names as a secret (provider key,
`${NAME}`s of channel URLs, the API token, the database password) are replaced by `***` in
each record before any handler formats it, message, traceback and JSON fields alike.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel, ValidationError

from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.dagster_home import ensure_dagster_home
from dgas_pipeline.errors import InvalidInput, from_validation_error
from dgas_pipeline.location import Location
from dgas_pipeline.log_settings import FileLogSettings, LogSettings
from dgas_pipeline.notify.redact import Redactor
from dgas_pipeline.secrets import secret_values

CONSOLE = "console"
FILE = "file"
LOG_RUN_CONFIG: dict[str, Any] = {"loggers": {CONSOLE: {}, FILE: {}}}
"""Run config that starts both loggers with the app config's settings."""

DEFAULT_LOG_FILE = Path("logs") / "dgas.log"  # under DAGSTER_HOME
TEXT_FORMAT = "%(asctime)s [%(levelname)s] %(message)s"
# Where Dagster puts a record's run, step and event (its own JSON formatter reads it too).
DAGSTER_META = "dagster_meta"
_PLAIN = logging.Formatter()


def with_logs(run_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`run_config` with both loggers named; a logger it already configures keeps its config.

    A run config given at launch replaces the job's default one, `loggers:` included, so
    code that passes its own run config goes through here.
    """
    config = dict(run_config or {})
    config["loggers"] = {**LOG_RUN_CONFIG["loggers"], **(config.get("loggers") or {})}
    return config


# -- the loggers -----------------------------------------------------------------------------

_LEVEL = dg.Field(str, is_required=False, description="threshold (default: app config)")
_JSON_LINES = dg.Field(bool, is_required=False, description="one JSON object a line")


def build_loggers(location: Location) -> dict[str, dg.LoggerDefinition]:
    """The console and file loggers of a code location, on its config's `logging:`."""

    @dg.logger(
        config_schema={
            "log_level": _LEVEL,
            "json_lines": _JSON_LINES,
            "name": dg.Field(str, is_required=False, default_value="dgas"),
        },
        description="Run logs on stderr, secrets masked (app config: logging.level, .json_lines).",
    )
    def console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
        settings = location.config
        console = _merged(
            LogSettings,
            settings.logging,
            init_context.logger_config,
            CONSOLE,
            drop=("name", "file"),
        )
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLinesFormatter() if console.json_lines else _text_formatter())
        return _run_logger(init_context.logger_config["name"], console.level, handler, settings)

    @dg.logger(
        config_schema={
            "log_level": _LEVEL,
            "json_lines": _JSON_LINES,
            "path": dg.Field(
                str, is_required=False, description="default $DAGSTER_HOME/logs/dgas.log"
            ),
            "max_bytes": dg.Field(int, is_required=False, description="rotate past this size"),
            "backup_count": dg.Field(int, is_required=False, description="rotated files kept"),
            "enabled": dg.Field(bool, is_required=False),
        },
        description="Run logs in a rotating file, secrets masked (app config: logging.file).",
    )
    def file_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
        settings = location.config
        file = _merged(FileLogSettings, settings.logging.file, init_context.logger_config, FILE)
        if not file.enabled:
            return _run_logger("dgas.file", file.level, logging.NullHandler(), settings)
        handler = rotating_handler(log_path(file))
        # The handler is the file's, shared: the latest run's settings are the file's settings.
        handler.maxBytes, handler.backupCount = file.max_bytes, file.backup_count
        handler.setFormatter(JsonLinesFormatter() if file.json_lines else _text_formatter())
        return _run_logger("dgas.file", file.level, handler, settings)

    return {CONSOLE: console_logger, FILE: file_logger}


def log_path(file: FileLogSettings) -> Path:
    """The configured path (relative to the working directory), else under DAGSTER_HOME."""
    path = file.path if file.path is not None else ensure_dagster_home() / DEFAULT_LOG_FILE
    return path.resolve()


@cache
def rotating_handler(path: Path) -> RotatingFileHandler:
    """One handler per file and process, shared by its runs: two handlers rotating the same
    file would each rename it under the other. Its level stays NOTSET; each run's logger
    applies that run's threshold and secret filter."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return RotatingFileHandler(path, encoding="utf-8")
    except OSError as err:
        raise InvalidInput(
            "logging.file.path", str(path), f"cannot be written ({err.strerror or err})"
        ) from None


def _merged(
    model: type[BaseModel],
    defaults: BaseModel,
    run_config: Mapping[str, Any],
    key: str,
    drop: Iterable[str] = (),
) -> Any:
    """The app config's settings with the run's logger config on top, checked by one model.

    Run config says `log_level` (Dagster's name for it); errors name the run config field.
    """
    given = {("level" if k == "log_level" else k): v for k, v in run_config.items()}
    given = {k: v for k, v in given.items() if k not in drop}
    base = defaults.model_dump()
    try:
        return model.model_validate({**base, **given})
    except ValidationError as err:
        raise from_validation_error(err, prefix=f"loggers.{key}.config") from None


def _run_logger(
    name: str, level: str, handler: logging.Handler, settings: SchedulerConfig
) -> logging.Logger:
    """A logger of this run only (not in logging's registry), masking the run's secrets.

    The filter sits on the logger, ahead of its handler: the file's handler is shared by the
    runs of a process, while secrets are read per run, from the run's environment.
    """
    run_logger = logging.Logger(name, level=level)
    run_logger.addFilter(SecretFilter(Redactor(secret_values(settings))))
    run_logger.addHandler(handler)
    return run_logger


def _text_formatter() -> logging.Formatter:
    return logging.Formatter(TEXT_FORMAT, datefmt="%Y-%m-%d %H:%M:%S %z")


class SecretFilter(logging.Filter):
    """Masks secrets in a record before formatting: its message, traceback and the Dagster
    fields the JSON lines carry. Records are per logger (Dagster re-logs each message to
    every logger), so rewriting one changes no other logger's output."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = self._redact(_PLAIN.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        fields = run_fields(record)
        record.dgas_fields = {
            k: self._redact(v) if isinstance(v, str) else v for k, v in fields.items()
        }
        return True


def run_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Run, job, step, event and message of a Dagster record (just the message otherwise)."""
    meta = record.__dict__.get(DAGSTER_META)
    if not isinstance(meta, Mapping):
        return {"message": record.getMessage()}
    event = meta.get("dagster_event")
    error = getattr(getattr(event, "event_specific_data", None), "error", None)
    return {
        "run_id": meta.get("run_id"),
        "job": meta.get("job_name"),
        "step_key": meta.get("step_key"),
        "event": event.event_type_value if event is not None else None,
        "message": meta.get("orig_message", record.getMessage()),
        "error": error.to_string() if error is not None else None,
    }


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: timestamp (UTC ISO-8601), level, run_id, step_key, message,
    plus job, event and error when Dagster knows them. Fields come from `SecretFilter`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "dgas_fields", None) or run_fields(record)
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "run_id": fields.get("run_id"),
            "step_key": fields.get("step_key"),
            "message": fields.get("message"),
        }
        line.update({k: v for k, v in fields.items() if k not in line and v is not None})
        if record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, default=str)
