"""Where the pipeline's run logs go: the `logging` section of the app config.

```yaml
logging:
  level: INFO              # the console's threshold
  file:
    path: /var/log/dgas/dgas.log   # default $DAGSTER_HOME/logs/dgas.log
    level: DEBUG           # the file's threshold (every Dagster event)
    max_bytes: 10485760    # rotate past 10 MiB ...
    backup_count: 5        # ... keeping dgas.log.1 .. dgas.log.5
    json_lines: true       # one JSON object a line, for log shippers
```
Both destinations are Dagster loggers (`defs/logs.py`); a run's `loggers:` config overrides
these values for that run. Kept free of Dagster so `dgas config validate` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from dgas_pipeline.strict_numbers import NumbersNotBooleans

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_MAX_BYTES = 1024 * 1024 * 1024  # a bigger log file is one nobody rotates


class _Strict(NumbersNotBooleans):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    @field_validator("level", mode="before", check_fields=False)
    @classmethod
    def _upper(cls, value: object) -> object:
        # `level: info` is what people write; Python's names are upper case.
        return value.upper() if isinstance(value, str) else value


class FileLogSettings(_Strict):
    """The rotating file: on by default, as the seed's scheduler wrote one next to the console.

    DEBUG by default: Dagster logs its events (step started, asset materialised, ...) at
    DEBUG, and the file is the record of what every run did; rotation bounds its size.
    """

    enabled: bool = True
    path: Path | None = None
    level: LogLevel = "DEBUG"
    max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1024, le=MAX_MAX_BYTES)
    backup_count: int = Field(5, ge=1, le=1000)
    json_lines: bool = False


class LogSettings(_Strict):
    """The console (stderr) and the rotating file."""

    level: LogLevel = "INFO"
    json_lines: bool = False
    file: FileLogSettings = FileLogSettings()
